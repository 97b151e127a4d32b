"""Measured float32 matmul throughput and the analytic training FLOPs of an ML-1M epoch.

Part 1, the hardware: GFLOP/s of ``torch.matmul`` / ``torch.bmm`` at torch's thread count
(``--threads`` to set it) for a square 2048 x 2048 x 2048 product and for the shapes that
dominate training: the full-catalog logits [n, 64] x [64, 3416] (n = one chunk of seqrec's
chunked cross-entropy, and a whole batch of 128 x 200 positions), their two backward products,
the linear layers and the attention scores. A product [M, K] x [K, N] counts 2MKN FLOPs; each
figure is the median of ``--trials`` trials, each repeating the product for at least
``--min-seconds``.

Part 2, the work: FLOPs of one training epoch, counted from seqrec's own batches of ML-1M
(``seqrec.training.make_batches``, one epoch in its seeded order). Counting a multiply-add as
2 FLOPs, with D = 64 hidden units, F the feed-forward width (64 for SASRec, 256 for BERT4Rec),
I = 3416 items, per block and per position that attends to c keys, the forward pass costs::

    QKV projection 6 D^2  +  attention output projection 2 D^2  +  feed-forward 4 D F
    +  scores Q K^T 2 D c  +  weighted values A V 2 D c                = 8 D^2 + 4 D F + 4 D c

and the output layer costs, per target position, 2 D C with C = I (full softmax ``ce``),
1 + n (``bce``: the target and n = 1 negative) or 1 + n (``sampled_ce``, n = 3000). The backward
pass costs twice the forward (a gradient for the input and one for the weights of every
product), so training = 3 x forward. Embedding look-ups, layer norms, dropout, softmax/exp and
the optimizer are element-wise and not counted (a few per cent at D = 64, except the I
exponentials per position of ``ce``, which are memory- rather than FLOP-bound).

Two counts are given. *useful*: only real positions; a causal (SASRec) position t of a
sequence attends to c = t keys, a bidirectional (BERT4Rec) one to all r real positions of its
sequence. *executed*: what seqrec computes: every position of the batch (or of each of its
``length_groups`` parts of similar length, as ``train_epoch`` runs it) after trimming common
leading padding (B x L'), dense L' x L' attention, output layer on target positions only
(``sampled_ce``: on all B x L' positions, as it scores the shared negatives before selecting).
The same count for RecTools (sequences padded to 200, every position scored, full softmax over
I + its extra tokens) is given for comparison. Dividing by an epoch time from
``bench_train.py`` (read from ``--train-json`` when present) gives the achieved GFLOP/s and
the fraction of the measured matmul throughput.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_flops.py``. Writes results/bench/flops.json and .md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import _common as common
from _train_settings import BATCH, BLOCKS, FF_HIDDEN, HEADS, HIDDEN, MASK_PROB, MAX_LENGTH, RECTOOLS_LOSS

N_ITEMS = 3416  # ML-1M (BERT4Rec version)
RECTOOLS_EXTRA_TOKENS = {"sasrec": 1, "bert4rec": 2}  # PAD (and MASK) rows of RecTools' item table
ROWS = [("sasrec", "bce", 1), ("sasrec", "ce", 0), ("sasrec", "sampled_ce", 3000), ("bert4rec", "ce", 0)]


# ===================================================================== part 1: throughput


def matmul_shapes(chunk: int) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape): (M, K, N) for [M, K] x [K, N], or (B, M, K, N) for a batched product."""
    n = BATCH * MAX_LENGTH
    return [
        ("square 2048", (2048, 2048, 2048)),
        (f"ce logits, one chunk [{chunk},64]x[64,{N_ITEMS}]", (chunk, HIDDEN, N_ITEMS)),
        (f"ce grad hidden [{chunk},{N_ITEMS}]x[{N_ITEMS},64]", (chunk, N_ITEMS, HIDDEN)),
        (f"ce grad weights [{N_ITEMS},{chunk}]x[{chunk},64]", (N_ITEMS, chunk, HIDDEN)),
        (f"logits, whole batch [{n},64]x[64,{N_ITEMS}]", (n, HIDDEN, N_ITEMS)),
        (f"QKV projection [{n},64]x[64,192]", (n, HIDDEN, 3 * HIDDEN)),
        (f"linear [{n},64]x[64,64]", (n, HIDDEN, HIDDEN)),
        (f"feed-forward [{n},64]x[64,256]", (n, HIDDEN, 4 * HIDDEN)),
        (f"attention scores {BATCH}x[{MAX_LENGTH},64]x[64,{MAX_LENGTH}]", (BATCH, MAX_LENGTH, HIDDEN, MAX_LENGTH)),
    ]


def gflops(shape: tuple[int, ...], trials: int, min_seconds: float) -> dict[str, Any]:
    """Median GFLOP/s of one float32 product of ``shape`` over ``trials`` timed trials."""
    import torch

    *batch, m, k, n = shape
    a = torch.randn(*batch, m, k)
    b = torch.randn(*batch, k, n)
    out = torch.empty(*batch, m, n)
    product = (lambda: torch.bmm(a, b, out=out)) if batch else (lambda: torch.matmul(a, b, out=out))
    flops = 2 * m * k * n * (batch[0] if batch else 1)
    product()  # warm-up
    started = time.perf_counter()
    product()
    once = max(time.perf_counter() - started, 1e-6)
    repeats = max(1, int(min_seconds / once))
    rates = []
    for _ in range(trials):
        started = time.perf_counter()
        for _ in range(repeats):
            product()
        rates.append(flops * repeats / (time.perf_counter() - started) / 1e9)
    return {
        "shape": list(shape),
        "gflop": flops / 1e9,
        "repeats": repeats,
        "gflops_trials": rates,
        "gflops": common.median(rates),
    }


# ====================================================================== part 2: the work


def per_position(model: str) -> float:
    """Forward FLOPs per position and block that do not depend on the attention span."""
    return 8 * HIDDEN**2 + 4 * HIDDEN * FF_HIDDEN[model]


def output_width(loss: str, negatives: int, n_items: int) -> int:
    return n_items if loss == "ce" else 1 + negatives


def epoch_flops(model: str, loss: str, negatives: int, seed: int, length_groups: int) -> dict[str, Any]:
    """Useful, executed (seqrec) and RecTools-executed training FLOPs of one ML-1M epoch."""
    import torch
    from _ml1m import load_ml1m_split

    from seqrec.config import Config
    from seqrec.data.batches import split_by_length
    from seqrec.models import build_model
    from seqrec.training import make_batches

    data, split = load_ml1m_split()
    config = Config()
    config.model.name, config.model.hidden, config.model.blocks = model, HIDDEN, BLOCKS
    config.model.heads, config.model.max_length = HEADS[model], MAX_LENGTH
    config.model.ff_hidden, config.model.mask_prob = FF_HIDDEN[model], MASK_PROB
    config.train.batch_size = BATCH
    network = build_model(config.model, data.n_items)
    batches = make_batches(network, split, config.train.batch_size)
    causal = model == "sasrec"
    width = output_width(loss, negatives, data.n_items)

    useful = executed = 0.0
    positions = targets = executed_positions = 0
    for rows, batch_inputs, batch_targets in batches.epoch(torch.Generator().manual_seed(seed)):
        # a batch as ``train_epoch`` runs it: ``length_groups`` parts of similar length
        for _, inputs, target in split_by_length(rows, batch_inputs, batch_targets, length_groups):
            real = (inputs != 0).sum(1).double()  # [B] real positions per row
            b, length = inputs.shape
            n_targets = int((target > 0).sum())
            span = (real * (real + 1) / 2) if causal else real**2  # sum over positions of the keys attended
            useful += BLOCKS * (per_position(model) * float(real.sum()) + 4 * HIDDEN * float(span.sum()))
            executed += BLOCKS * (per_position(model) * b * length + 4 * HIDDEN * b * length**2)
            useful += 2 * HIDDEN * width * n_targets
            # sampled_ce scores its shared negatives at every position of the part, then keeps the targets
            executed += 2 * HIDDEN * width * (b * length if loss == "sampled_ce" else n_targets)
            positions, targets = positions + int(real.sum()), targets + n_targets
            executed_positions += b * length

    sessions = len(batches.starts)
    rectools_width = data.n_items + RECTOOLS_EXTRA_TOKENS[model] if loss == "ce" else 1 + negatives
    rectools_positions = sessions * MAX_LENGTH
    rectools = BLOCKS * (per_position(model) * rectools_positions + 4 * HIDDEN * sessions * MAX_LENGTH**2)
    rectools += 2 * HIDDEN * rectools_width * rectools_positions
    return {
        "batches": len(batches),
        "real_positions": positions,
        "target_positions": targets,
        "executed_positions": executed_positions,
        "output_width": width,
        "useful_tflop": 3 * useful / 1e12,
        "executed_tflop": 3 * executed / 1e12,
        "rectools_executed_tflop": 3 * rectools / 1e12,
        "output_layer_share_of_useful": 2 * HIDDEN * width * targets / useful,
    }


def epoch_seconds(train_json: Path) -> dict[tuple[str, str, int], dict[str, float | None]]:
    """seqrec and RecTools seconds per epoch by (model, loss, negatives) from bench_train's output."""
    if not train_json.exists():
        return {}
    rows = json.loads(train_json.read_text()).get("comparisons", [])
    return {
        (r["model"], r["loss"], r["negatives"]): {
            "seqrec": r["seqrec_seconds_per_epoch"],
            "rectools": r["rectools_seconds_per_epoch"],
        }
        for r in rows
    }


# ================================================================================= parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.5, help="per trial")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--length-groups",
        type=int,
        default=None,
        help="seqrec's train.length_groups for the executed count (default: the config's)",
    )
    parser.add_argument("--train-json", type=Path, default=common.RESULTS / "train_ml1m.json")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args()

    import torch

    from seqrec.objectives.fused_ce import chunk_rows

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from seqrec.config import Config

    length_groups = args.length_groups or Config().train.length_groups
    machine = common.machine_info() | common.torch_info()

    print(f"matmul throughput, float32, {torch.get_num_threads()} torch thread(s):")
    throughput = []
    for name, shape in matmul_shapes(chunk_rows(N_ITEMS)):
        result = {"name": name} | gflops(shape, args.trials, args.min_seconds)
        print(f"  {name:55s} {result['gflops']:8.1f} GFLOP/s", flush=True)
        throughput.append(result)
    peak = max(r["gflops"] for r in throughput)
    dominant = throughput[1]["gflops"]  # the ce logits chunk

    print("\ntraining FLOPs per ML-1M epoch (forward x 3):")
    seconds = epoch_seconds(args.train_json)
    work = []
    for model, loss, negatives in ROWS:
        row: dict[str, Any] = {"model": model, "loss": loss, "negatives": negatives}
        row |= epoch_flops(model, loss, negatives, args.seed, length_groups)
        times = seconds.get((model, loss, negatives), {})
        row["seqrec_seconds_per_epoch"] = times.get("seqrec")
        row["rectools_seconds_per_epoch"] = times.get("rectools")
        if row["seqrec_seconds_per_epoch"]:
            row["seqrec_executed_gflops"] = row["executed_tflop"] * 1e3 / row["seqrec_seconds_per_epoch"]
            row["seqrec_fraction_of_peak"] = row["seqrec_executed_gflops"] / peak
        if row["rectools_seconds_per_epoch"]:
            row["rectools_executed_gflops"] = row["rectools_executed_tflop"] * 1e3 / row["rectools_seconds_per_epoch"]
            row["rectools_fraction_of_peak"] = row["rectools_executed_gflops"] / peak
        row["seconds_at_peak_useful"] = row["useful_tflop"] * 1e3 / peak
        print(
            f"  {model} {loss}{f' ({negatives})' if loss == 'sampled_ce' else ''}: useful "
            f"{row['useful_tflop']:.3f} TFLOP, executed {row['executed_tflop']:.3f} TFLOP "
            f"(RecTools {row['rectools_executed_tflop']:.3f}), {row['target_positions']:,} targets; "
            f"{row['seconds_at_peak_useful']:.1f} s at {peak:.0f} GFLOP/s",
            flush=True,
        )
        work.append(row)

    t_headers = ["product", "GFLOP per call", "GFLOP/s"]
    t_rows = [[r["name"], r["gflop"], r["gflops"]] for r in throughput]
    w_headers = [
        "model",
        "loss",
        "target positions",
        "useful TFLOP",
        "seqrec executed TFLOP",
        "RecTools executed TFLOP",
        "output layer share",
        "s at peak (useful)",
        "seqrec s/epoch",
        "seqrec GFLOP/s",
        "seqrec % of peak",
        "RecTools s/epoch",
        "RecTools GFLOP/s",
        "RecTools % of peak",
    ]
    w_rows = []
    for r in work:
        name = f"{r['loss']} ({r['negatives']})" if r["loss"] == "sampled_ce" else r["loss"]
        pct = [
            None if r.get(k) is None else 100 * r[k] for k in ("seqrec_fraction_of_peak", "rectools_fraction_of_peak")
        ]
        w_rows.append(
            [
                r["model"],
                f"{name} / {RECTOOLS_LOSS[r['loss']]}",
                r["target_positions"],
                r["useful_tflop"],
                r["executed_tflop"],
                r["rectools_executed_tflop"],
                r["output_layer_share_of_useful"],
                r["seconds_at_peak_useful"],
                r["seqrec_seconds_per_epoch"],
                r.get("seqrec_executed_gflops"),
                pct[0],
                r["rectools_seconds_per_epoch"],
                r.get("rectools_executed_gflops"),
                pct[1],
            ]
        )
    markdown = "\n".join(
        [
            "# Matmul throughput and training FLOPs (ML-1M)",
            "",
            f"float32, {torch.get_num_threads()} torch thread(s); median of {args.trials} trials. Peak = the best "
            f"product below ({peak:.1f} GFLOP/s).",
            "",
            common.markdown_table(t_headers, t_rows),
            "",
            "Training FLOPs per epoch = 3 x forward (see the docstring of benchmarks/bench_flops.py for the formula). "
            "'useful' counts real positions and causal spans only; 'executed' what the library computes (seqrec: "
            f"batches run as {length_groups} part(s) of similar length, each trimmed to its longest sequence, dense "
            "attention; RecTools: every sequence padded to 200 and "
            "every position scored). GFLOP/s = executed FLOPs / the epoch time of bench_train "
            f"({args.train_json.name if args.train_json.exists() else 'not found: run bench_train.py first'}).",
            "",
            common.markdown_table(w_headers, w_rows),
            "",
            "## Machine",
            "",
            common.machine_markdown(machine),
        ]
    )
    payload = {
        "machine": machine,
        "length_groups": length_groups,
        "peak_gflops": peak,
        "ce_chunk_gflops": dominant,
        "throughput": throughput,
        "epoch": work,
        "train_json": str(args.train_json),
    }
    paths = common.write_outputs("flops", payload, markdown, args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
