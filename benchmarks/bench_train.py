"""Training speed and peak memory on ML-1M: seqrec vs RecTools 0.19, paper settings.

Settings (both libraries): max length 200, hidden 64, 2 blocks, batch 128, dropout 0.1, Adam
lr 1e-3; SASRec 1 head (feed-forward 64), BERT4Rec 2 heads, feed-forward 256, mask prob 0.2.
Both train on the same sequences: seqrec's leave-one-out training ranges of ML-1M.

Rows, run in pairs (seqrec, then RecTools, for the same model and loss) so that each pair
shares the machine's conditions:

- SASRec: seqrec ``bce`` vs RecTools ``BCE`` (1 negative per position, uniform over the catalog);
  seqrec ``ce`` vs RecTools ``softmax`` (full catalog); seqrec ``sampled_ce`` (n per sequence,
  unseen, without replacement) vs RecTools ``sampled_softmax`` (n per position, uniform with
  replacement) for each n of ``--sampled-negatives``. RecTools gathers a [B, L, n + 1, D]
  tensor of candidate embeddings (and its gradient); a row whose estimate exceeds the memory
  budget is skipped and reported, not run.
- BERT4Rec: seqrec ``ce`` vs RecTools ``softmax``.

Each measurement runs in a fresh interpreter (peak RSS = that child's ``VmHWM``). Timing:
one warm-up epoch, then the median of ``--epochs`` epochs. With ``--batches N`` every "epoch"
is only the first N batches (same warm-up and median), and the median is extrapolated to a
full epoch (48 batches on ML-1M) as ``median * full_batches / N``. seqrec is timed around
``seqrec.training.train_epoch`` (what ``seqrec train`` runs, batches and negatives included,
with the config's ``length_groups`` unless ``--length-groups`` is given);
RecTools by a Lightning callback from ``on_train_epoch_start`` to ``on_train_epoch_end``
(data loading, collation and negative sampling included; dataset preparation before the
first epoch is not, as for seqrec).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_train.py [--epochs 3] [--batches N]``
(after ``benchmarks/setup_rectools.sh``). Writes results/bench/train_ml1m.json and .md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common as common
from _rectools_train import rectools_child, rectools_sampled_gb
from _train_settings import (
    BATCH,
    BLOCKS,
    DROPOUT,
    FF_HIDDEN,
    HEADS,
    HIDDEN,
    LR,
    MASK_PROB,
    MAX_LENGTH,
    RECTOOLS_LOSS,
)

# ============================================================================ child: seqrec


class FirstBatches:
    """A batches object whose epoch is only its first ``n`` batches (for ``--batches``)."""

    def __init__(self, batches: Any, n: int) -> None:
        self.batches, self.n = batches, n

    def __len__(self) -> int:
        return min(self.n, len(self.batches))

    def epoch(self, generator: Any) -> Iterator[Any]:
        return itertools.islice(self.batches.epoch(generator), self.n)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.batches, name)


def time_epochs(config: Any, data: Any, split: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Build the config's model and time ``spec["warmup"] + spec["epochs"]`` calls of ``train_epoch``
    (each only the first ``spec["batches"]`` batches when that is set) from ``set_seed(spec["seed"])``."""
    import torch

    from seqrec.models import build_model
    from seqrec.objectives import build_objective, resolved_negatives
    from seqrec.training import make_batches, set_seed, train_epoch

    length_groups = config.train.length_groups
    generator = set_seed(spec["seed"])
    model = build_model(config.model, data.n_items)
    objective = build_objective(config.train)
    if objective.sampler is not None:  # as seqrec.training's trainer: the popularity sampler needs the counts
        from seqrec.data.interactions import item_counts

        objective.sampler.prepare(item_counts(split.data.items, *split.train_offsets, model.n_items))
    n_negatives = resolved_negatives(config.train)
    batches = make_batches(model, split, config.train.batch_size)
    timed = FirstBatches(batches, spec["batches"]) if spec["batches"] else batches
    device = torch.device("cpu")
    optimizer = seqrec_optimizer(model, config.train.lr, config.train.weight_decay, device)
    rss_before = common.rss_mb()

    seconds, cpu_seconds, losses = [], [], []
    for epoch in range(spec["warmup"] + spec["epochs"]):
        started, cpu_started = time.perf_counter(), time.process_time()
        loss = train_epoch(
            model, timed, objective, optimizer, generator, device, f"epoch {epoch}", length_groups=length_groups
        )
        losses.append(loss)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
    return {
        "n_negatives": n_negatives,
        "full_batches": len(batches),
        "timed_batches": len(timed),
        "epoch_seconds_raw": seconds,
        "epoch_cpu_seconds_raw": cpu_seconds,
        "losses": losses,
        "train_epoch_kwargs": {"length_groups": length_groups},
        "rss_before_training_mb": rss_before,
    }


def seqrec_optimizer(model: Any, lr: float, weight_decay: float, device: Any) -> Any:
    """The optimizer ``seqrec train`` builds (``seqrec.training.make_optimizer``); plain Adam for a
    seqrec that predates it, so that an older commit is timed as it trained."""
    try:
        from seqrec.training import make_optimizer
    except ImportError:
        import torch

        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    return make_optimizer(model, lr, weight_decay, device)


def seqrec_child(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from _ml1m import load_ml1m_split

    import seqrec
    from seqrec.config import Config

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    name = spec["model"]
    data, split = load_ml1m_split()
    config = Config()
    config.model.name, config.model.hidden, config.model.blocks = name, HIDDEN, BLOCKS
    config.model.heads, config.model.dropout, config.model.max_length = HEADS[name], DROPOUT, MAX_LENGTH
    config.model.ff_hidden, config.model.mask_prob = FF_HIDDEN[name], MASK_PROB
    config.train.loss, config.train.negatives, config.train.batch_size = spec["loss"], spec["negatives"], BATCH
    config.train.lr, config.train.seed = LR, spec["seed"]
    if spec.get("length_groups") is not None:
        config.train.length_groups = spec["length_groups"]
    for key, value in spec.get("overrides", {}).items():  # {"section.field": value}, from bench_losses.py
        section, name = key.split(".")
        setattr(getattr(config, section), name, value)
    return time_epochs(config, data, split, spec) | {
        "versions": common.torch_info() | {"seqrec": seqrec.__version__},
    }


def child_main(spec: dict[str, Any], result_file: str) -> None:
    result = seqrec_child(spec) if spec["impl"] == "seqrec" else rectools_child(spec)
    if result.get("status", "ok") == "ok":
        timed = result["epoch_seconds_raw"][spec["warmup"] :]
        result["seconds_per_epoch"] = common.median(timed) * result["full_batches"] / result["timed_batches"]
        cpu_timed = result["epoch_cpu_seconds_raw"][spec["warmup"] :]
        result["cpu_seconds_per_epoch"] = common.median(cpu_timed) * result["full_batches"] / result["timed_batches"]
        result["peak_rss_mb"] = common.peak_rss_mb()
    common.write_child_result(result_file, spec | result)


# ================================================================================== parent


def plan(args: argparse.Namespace) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(seqrec spec, RecTools spec) pairs in run order; a spec may carry a reason to skip it."""
    base = {
        "epochs": args.epochs,
        "warmup": args.warmup,
        "batches": args.batches,
        "threads": args.threads,
        "seed": args.seed,
        "length_groups": args.length_groups,
    }
    pairs: list[tuple[str, str, int]] = [("sasrec", "bce", 1), ("sasrec", "ce", 0)]
    pairs += [("sasrec", "sampled_ce", n) for n in args.sampled_negatives]
    pairs += [("bert4rec", "ce", 0)]
    budget = args.memory_budget_gb or 0.8 * common.mem_available_gb()
    out = []
    for model, loss, n in pairs:
        if args.only and f"{model}-{loss}" not in args.only:
            continue
        seqrec = base | {"impl": "seqrec", "model": model, "loss": loss, "negatives": n}
        rectools = base | {"impl": "rectools", "model": model, "loss": loss, "negatives": n}
        if loss == "sampled_ce" and rectools_sampled_gb(n) > budget:
            rectools["skip"] = (
                f"RecTools sampled_softmax with {n} negatives per position needs about "
                f"{rectools_sampled_gb(n):.1f} GiB for [B, L, n+1, D] candidate embeddings and their "
                f"gradient; budget {budget:.1f} GiB"
            )
        out.append((seqrec, rectools if args.rectools_python else None))
    return out


def measure(spec: dict[str, Any], python: str | Path, timeout: float) -> dict[str, Any]:
    label = f"{spec['impl']:8s} {spec['model']:8s} {spec['loss']:10s} n={spec['negatives']}"
    if "skip" in spec:
        print(f"  {label}: skipped ({spec['skip']})", flush=True)
        return spec | {"status": "skipped", "error": spec["skip"]}
    print(f"  {label} ...", end="", flush=True)
    result = common.run_child(python, __file__, spec, timeout)
    common.print_outcome(result)
    return spec | result


def row_name(r: dict[str, Any]) -> str:
    loss = r["loss"] if r["impl"] == "seqrec" else RECTOOLS_LOSS[r["loss"]]
    negatives = f" ({r['negatives']})" if r["loss"] == "sampled_ce" else ""
    return f"{r['model']} {loss}{negatives}"


def summarise(results: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> list[dict[str, Any]]:
    """One comparison per (model, loss, n): seconds and peak RSS of both, and seqrec / RecTools."""
    rows = []
    for seqrec, rectools in results:
        row: dict[str, Any] = {"model": seqrec["model"], "loss": seqrec["loss"], "negatives": seqrec["negatives"]}
        for impl, r in (("seqrec", seqrec), ("rectools", rectools)):
            ok = r is not None and r["status"] == "ok"
            row[f"{impl}_seconds_per_epoch"] = r["seconds_per_epoch"] if ok else None  # type: ignore[index]
            row[f"{impl}_cpu_seconds_per_epoch"] = r.get("cpu_seconds_per_epoch") if ok else None  # type: ignore[union-attr]
            row[f"{impl}_peak_rss_mb"] = r["peak_rss_mb"] if ok else None  # type: ignore[index]
            row[f"{impl}_status"] = "not run" if r is None else r["status"]
        both = row["seqrec_seconds_per_epoch"] is not None and row["rectools_seconds_per_epoch"] is not None
        row["time_ratio_seqrec_over_rectools"] = (
            row["seqrec_seconds_per_epoch"] / row["rectools_seconds_per_epoch"] if both else None
        )
        cpu = row["seqrec_cpu_seconds_per_epoch"], row["rectools_cpu_seconds_per_epoch"]
        row["cpu_time_ratio_seqrec_over_rectools"] = cpu[0] / cpu[1] if both and None not in cpu else None
        row["rss_ratio_seqrec_over_rectools"] = (
            row["seqrec_peak_rss_mb"] / row["rectools_peak_rss_mb"] if both else None
        )
        rows.append(row)
    return rows


def report(
    summary: list[dict[str, Any]], machine: dict[str, Any], args: argparse.Namespace, results: list[dict[str, Any]]
) -> str:
    headers = [
        "model",
        "loss (seqrec / RecTools)",
        "seqrec s/epoch",
        "RecTools s/epoch",
        "time ratio",
        "CPU time ratio",
        "seqrec peak MiB",
        "RecTools peak MiB",
        "RSS ratio",
    ]
    table = [
        [
            r["model"],
            f"{r['loss']} / {RECTOOLS_LOSS[r['loss']]}" + (f" ({r['negatives']})" if r["negatives"] > 1 else ""),
            r["seqrec_seconds_per_epoch"],
            r["rectools_seconds_per_epoch"],
            r["time_ratio_seqrec_over_rectools"],
            r["cpu_time_ratio_seqrec_over_rectools"],
            r["seqrec_peak_rss_mb"],
            r["rectools_peak_rss_mb"],
            r["rss_ratio_seqrec_over_rectools"],
        ]
        for r in summary
    ]
    mode = f"first {args.batches} batches per epoch, extrapolated to the full epoch" if args.batches else "full epochs"
    notes = [f"- {r['impl']} {row_name(r)}: {r['status']} ({r.get('error')})" for r in results if r["status"] != "ok"]
    versions = {r["impl"]: r["versions"] for r in results if r["status"] == "ok"}
    return "\n".join(
        [
            "# Training speed on ML-1M: seqrec vs RecTools",
            "",
            f"Median seconds per epoch over {args.epochs} epoch(s) after {args.warmup} warm-up epoch(s); {mode}.",
            "Peak RSS is each measurement's own process (VmHWM). Ratios are seqrec / RecTools (below 1: seqrec "
            "faster or smaller); the CPU time ratio is that of the children's own CPU seconds over the same "
            "epochs, less sensitive than wall time to other processes on the machine.",
            "",
            common.markdown_table(headers, table),
            "",
            *(["Not measured:", "", *notes, ""] if notes else []),
            "## Machine",
            "",
            common.machine_markdown(machine | {f"{impl} child": v for impl, v in versions.items()}),
            "",
        ]
    )


def add_timing_arguments(parser: argparse.ArgumentParser) -> None:
    """The epoch-timing options shared by this benchmark and bench_losses.py."""
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (median), after the warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--batches", type=int, default=0, help="time only this many batches per epoch, extrapolate")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in every child (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_timing_arguments(parser)
    parser.add_argument(
        "--length-groups",
        type=int,
        default=None,
        help="seqrec's train.length_groups (default: the config's default, as `seqrec train`)",
    )
    parser.add_argument(
        "--sampled-negatives",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[3000, 256],
        help="comma-separated negatives for the sampled softmax rows",
    )
    parser.add_argument("--only", nargs="*", help="rows to run, e.g. sasrec-ce bert4rec-ce")
    parser.add_argument("--no-rectools", action="store_true")
    parser.add_argument("--rectools-python", default=None, help="default: benchmarks/.venv-rectools/bin/python")
    parser.add_argument("--memory-budget-gb", type=float, default=0.0, help="default: 80%% of MemAvailable")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child), args.result_file)
        return

    args.rectools_python = None if args.no_rectools else common.rectools_python(args.rectools_python)
    machine = common.machine_info()
    from seqrec.config import Config

    results = []
    for seqrec_spec, rectools_spec in plan(args):
        seqrec = measure(seqrec_spec, sys.executable, args.timeout)
        rectools = None if rectools_spec is None else measure(rectools_spec, args.rectools_python, args.timeout)
        results.append((seqrec, rectools))

    summary = summarise(results)
    flat = [r for pair in results for r in pair if r is not None]
    headers = ["model", "loss", "seqrec s/ep", "RecTools s/ep", "ratio", "seqrec MiB", "RecTools MiB", "RSS ratio"]
    print()
    print(
        common.text_table(
            headers,
            [
                [
                    r["model"],
                    r["loss"] + (f"({r['negatives']})" if r["negatives"] > 1 else ""),
                    r["seqrec_seconds_per_epoch"],
                    r["rectools_seconds_per_epoch"],
                    r["time_ratio_seqrec_over_rectools"],
                    r["seqrec_peak_rss_mb"],
                    r["rectools_peak_rss_mb"],
                    r["rss_ratio_seqrec_over_rectools"],
                ]
                for r in summary
            ],
        )
    )
    payload = {
        "settings": {
            "max_length": MAX_LENGTH,
            "hidden": HIDDEN,
            "blocks": BLOCKS,
            "batch_size": BATCH,
            "dropout": DROPOUT,
            "lr": LR,
            "heads": HEADS,
            "ff_hidden": FF_HIDDEN,
            "mask_prob": MASK_PROB,
            "epochs": args.epochs,
            "warmup": args.warmup,
            "batches": args.batches,
            "seqrec_length_groups": args.length_groups or Config().train.length_groups,
            "timing": "extrapolated from the first N batches" if args.batches else "full epochs",
        },
        "machine": machine,
        "comparisons": summary,
        "measurements": flat,
    }
    paths = common.write_outputs("train_ml1m", payload, report(summary, machine, args, flat), args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
