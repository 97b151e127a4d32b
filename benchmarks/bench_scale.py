"""Full-catalog softmax at scale: seqrec's chunked ``ce`` vs the plain N x I logits, synthetic data.

One training step of SASRec (hidden 64, 2 blocks, 1 head, length 50, batch 64, so N = 3200
target positions) with full-catalog cross-entropy over catalogs of ``--catalogs`` items
(default 100k and 1M): ``seqrec.objectives.losses.ce_loss`` (chunked,
``seqrec.objectives.fused_ce.linear_cross_entropy``; one chunk of logits at a time, gradients
accumulated in the same pass) against ``seqrec.objectives.losses.ce_loss_plain`` (all N x I
logits, ``F.cross_entropy``). Step = encode, loss,
backward, Adam step; inputs and targets uniform over the catalog, no padding. Seconds per
step: the median of ``--steps`` steps after ``--warmup`` steps. Peak RSS: the child's VmHWM.

The plain 1M case needs N x I float32 logits = 12.8 GB, and two to three times that at its
peak (logits, log-softmax, their gradients in the backward pass); it runs only with
``--allow-plain-1m`` and is otherwise reported as skipped with that size. Every child runs
under an address-space limit (``--memory-limit-gb``, default 90% of MemAvailable), so that a
run that does not fit fails with an allocation error, reported as "out of memory", instead of
waking the kernel's OOM killer; a child killed anyway is reported too.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_scale.py``. Writes results/bench/scale.json and .md.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import _common as common

BATCH, LENGTH, HIDDEN, BLOCKS = 64, 50, 64, 2
PLAIN_LIMIT_ITEMS = 1_000_000  # plain runs with this many items or more need --allow-plain-1m


def logits_gb(items: int) -> float:
    """Size of the N x I float32 logits, in GB (10^9 bytes)."""
    return BATCH * LENGTH * items * 4 / 1e9


# ================================================================================== child


def child_main(spec: dict[str, Any], result_file: str) -> None:
    if spec["memory_limit_gb"] > 0:
        limit = int(spec["memory_limit_gb"] * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    result: dict[str, Any]
    try:
        result = run_steps(spec)
    except (RuntimeError, MemoryError) as error:  # torch reports a failed allocation as RuntimeError
        text = str(error)
        oom = isinstance(error, MemoryError) or "alloc" in text.lower() or "memory" in text.lower()
        result = {"status": "out of memory" if oom else "failed", "error": text.splitlines()[0][:300]}
    common.write_child_result(result_file, spec | result | {"peak_rss_mb": common.peak_rss_mb()})


def run_steps(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    from seqrec.models.sasrec import SASRec
    from seqrec.objectives.fused_ce import DEFAULT_CHUNK_BYTES, chunk_rows, linear_cross_entropy
    from seqrec.objectives.losses import ce_loss, ce_loss_plain

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    generator = torch.Generator().manual_seed(spec["seed"])
    torch.manual_seed(spec["seed"])
    items = spec["items"]
    model = SASRec(items, hidden=HIDDEN, blocks=BLOCKS, heads=1, dropout=0.1, max_length=LENGTH)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = ce_loss if spec["mode"] == "chunked" else ce_loss_plain
    if spec["mode"] == "chunked" and spec.get("chunk_mb"):

        def loss_fn(hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, _: Any) -> torch.Tensor:
            where = targets > 0  # ce_loss with another chunk size
            rows = chunk_rows(items, spec["chunk_mb"] * 2**20)
            return linear_cross_entropy(hidden[where], weights[1:], targets[where] - 1, rows)

    model.train()
    rss_before = common.rss_mb()
    seconds, losses = [], []
    for _ in range(spec["warmup"] + spec["steps"]):
        inputs = torch.randint(1, items + 1, (BATCH, LENGTH), generator=generator)
        targets = torch.randint(1, items + 1, (BATCH, LENGTH), generator=generator)
        started = time.perf_counter()
        loss = loss_fn(model.encode(inputs), model.output_embeddings(), targets, None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - started)
        losses.append(loss.item())
    timed = seconds[spec["warmup"] :]
    chunk_bytes = (spec.get("chunk_mb") or 0) * 2**20 or DEFAULT_CHUNK_BYTES
    return {
        "status": "ok",
        "seconds_per_step": common.median(timed),
        "step_seconds_raw": seconds,
        "chunk_rows": chunk_rows(items, chunk_bytes) if spec["mode"] == "chunked" else None,
        "losses": losses,
        "rss_before_steps_mb": rss_before,
        "versions": common.torch_info(),
    }


# ================================================================================= parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--catalogs",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[100_000, 1_000_000],
        help="comma-separated catalog sizes",
    )
    parser.add_argument(
        "--chunk-mb",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[0],
        help="chunk sizes (MiB of logits) for the chunked loss; 0: seqrec's default (ce_loss)",
    )
    parser.add_argument("--steps", type=int, default=3, help="timed steps (median)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--allow-plain-1m",
        action="store_true",
        help=f"also run the plain loss for catalogs of {PLAIN_LIMIT_ITEMS:,} items or more",
    )
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        default=0.0,
        help="address-space limit per child in GiB (default 90%% of MemAvailable; <0: none)",
    )
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child), args.result_file)
        return

    machine = common.machine_info()
    limit = args.memory_limit_gb or round(0.9 * common.mem_available_gb(), 1)
    results: list[dict[str, Any]] = []
    for items in args.catalogs:
        for mode, chunk_mb in [*(("chunked", c) for c in args.chunk_mb), ("plain", 0)]:
            spec = {
                "mode": mode,
                "chunk_mb": chunk_mb,
                "items": items,
                "batch": BATCH,
                "length": LENGTH,
                "hidden": HIDDEN,
                "blocks": BLOCKS,
                "steps": args.steps,
                "warmup": args.warmup,
                "threads": args.threads,
                "seed": args.seed,
                "memory_limit_gb": max(limit, 0.0),
                "logits_gb": logits_gb(items),
            }
            label = f"  {mode:8s} {chunk_mb or '':>4} {items:>10,} items"
            if mode == "plain" and items >= PLAIN_LIMIT_ITEMS and not args.allow_plain_1m:
                why = (
                    f"not run: needs {logits_gb(items):.1f} GB of N x I float32 logits (N = {BATCH * LENGTH}), "
                    "2-3x that at its peak; pass --allow-plain-1m to try"
                )
                print(f"{label}: skipped ({why})")
                results.append(spec | {"status": "skipped", "error": why})
                continue
            print(f"{label} ...", end="", flush=True)
            result = spec | common.run_child(sys.executable, __file__, spec, args.timeout)
            if result["status"] == "ok":
                print(f" {result['seconds_per_step']:.2f} s/step, peak RSS {result['peak_rss_mb']:.0f} MiB", flush=True)
            else:
                print(f" {result['status']}: {result.get('error')}", flush=True)
            results.append(result)

    headers = ["items", "loss", "chunk rows", "status", "s/step", "peak RSS MiB", "logits GB", "plain / chunked time"]
    table = []
    for r in results:
        chunked = next((c for c in results if c["items"] == r["items"] and c["mode"] == "chunked"), None)
        ratio = (
            r["seconds_per_step"] / chunked["seconds_per_step"]
            if r["mode"] == "plain" and r["status"] == "ok" and chunked and chunked["status"] == "ok"
            else None
        )
        mode = r["mode"] + (f" ({r['chunk_mb']} MiB chunks)" if r["chunk_mb"] else "")
        table.append(
            [
                r["items"],
                mode,
                r.get("chunk_rows"),
                r["status"],
                r.get("seconds_per_step"),
                r.get("peak_rss_mb"),
                r["logits_gb"],
                ratio,
            ]
        )
    print()
    print(common.text_table(headers, table))
    notes = [f"- {r['mode']} {r['items']:,} items: {r['status']}: {r['error']}" for r in results if r["status"] != "ok"]
    markdown = "\n".join(
        [
            "# Full-catalog cross-entropy at scale: chunked (seqrec) vs plain logits",
            "",
            f"Synthetic SASRec training steps: batch {BATCH}, length {LENGTH} (N = {BATCH * LENGTH} positions), hidden "
            f"{HIDDEN}, {BLOCKS} blocks; median of {args.steps} steps after {args.warmup} warm-up step(s). "
            f"'logits GB' is N x I float32. Children ran under an address-space limit of {limit:.1f} GiB.",
            "",
            common.markdown_table(headers, table),
            "",
            *(["Not measured:", "", *notes, ""] if notes else []),
            "## Machine",
            "",
            common.machine_markdown(machine),
        ]
    )
    payload = {
        "settings": {
            "batch": BATCH,
            "length": LENGTH,
            "hidden": HIDDEN,
            "blocks": BLOCKS,
            "steps": args.steps,
            "warmup": args.warmup,
            "memory_limit_gb": limit,
        },
        "machine": machine,
        "rows": dict(zip(("headers", "table"), (headers, table), strict=True)),
        "measurements": results,
    }
    paths = common.write_outputs("scale", payload, markdown, args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
