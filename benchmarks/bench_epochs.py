"""Seconds per training epoch of each ``seqrec reproduce`` run of one dataset, side by side.

The reproduction's own wall-clock times come from long runs on a shared machine; this script
times the same configs (``configs/{dataset}-{run}.toml``, as ``seqrec reproduce`` uses them)
one after another under the same conditions, so that their epoch costs can be compared.

Each run is measured in a fresh interpreter: one warm-up epoch, then the median of ``--epochs``
epochs; with ``--batches N`` every epoch is only the first N batches and the median is
extrapolated to the full epoch (``median * full_batches / N``). What is timed is
``seqrec.training.train_epoch``, what ``seqrec train`` runs (batching, negatives, forward,
backward, optimiser step); validation is not included.
Besides wall seconds, each epoch's CPU seconds of the child process are reported (``CPU
s/epoch``): with one torch thread they are the work itself, less sensitive to other processes
sharing the machine.

Run: ``SEQREC_DATA_DIR=../shared/data PYTHONPATH=src .venv/bin/python benchmarks/bench_epochs.py
--dataset beauty --batches 40``. Writes results/bench/epochs_{dataset}.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import _common as common
from bench_train import time_epochs

RUNS = ("bert4rec", "sasrec-bce", "sasrec-ce", "sasrec-sampled-ce")


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``train_epoch`` for one config; runs in its own interpreter."""
    import torch

    import seqrec
    from seqrec.config import load_config
    from seqrec.data.loading import load_data
    from seqrec.data.split import leave_one_out

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    config = load_config(spec["config"])
    data = load_data(config.data)
    timing = time_epochs(config, data, leave_one_out(data), spec)
    return timing | {
        "model": config.model.name,
        "loss": config.train.loss,
        "negatives": timing["n_negatives"],
        "max_length": config.model.max_length,
        "n_items": data.n_items,
        "seconds_per_epoch": common.median(timing["epoch_seconds_raw"][spec["warmup"] :])
        * timing["full_batches"]
        / timing["timed_batches"],
        "cpu_seconds_per_epoch": common.median(timing["epoch_cpu_seconds_raw"][spec["warmup"] :])
        * timing["full_batches"]
        / timing["timed_batches"],
        "peak_rss_mb": common.peak_rss_mb(),
        "versions": common.torch_info() | {"seqrec": seqrec.__version__},
    }


def report(dataset: str, rows: list[dict[str, Any]], args: argparse.Namespace, machine: dict[str, Any]) -> str:
    headers = ["run", "model", "loss", "negatives", "s/epoch", "CPU s/epoch", "peak MiB", "status"]
    table = [
        [
            r["run"],
            r.get("model", ""),
            r.get("loss", ""),
            r.get("negatives", ""),
            r.get("seconds_per_epoch"),
            r.get("cpu_seconds_per_epoch"),
            r.get("peak_rss_mb"),
            r["status"],
        ]
        for r in rows
    ]
    mode = (
        f"the first {args.batches} batches of each epoch, extrapolated to the full epoch"
        if args.batches
        else "full epochs"
    )
    return "\n".join(
        [
            f"# Seconds per training epoch of the `seqrec reproduce` runs on {dataset}",
            "",
            f"Configs `configs/{dataset}-RUN.toml`; median over {args.epochs} epoch(s) after {args.warmup} warm-up "
            f"epoch(s); {mode}; {args.threads or 'default'} torch thread(s); one run at a time.",
            "",
            common.markdown_table(headers, table),
            "",
            "## Machine",
            "",
            common.machine_markdown(machine),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="beauty")
    parser.add_argument("--runs", nargs="*", default=list(RUNS))
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs (median), after the warm-up")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--batches", type=int, default=40, help="time only this many batches per epoch (0: all)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        common.write_child_result(args.result_file, spec | child(spec))
        return

    machine = common.machine_info()
    rows = []
    for run in args.runs:
        config = common.REPO / "configs" / f"{args.dataset}-{run}.toml"
        if not config.exists():
            sys.exit(f"no config {config} (runs: {', '.join(RUNS)})")
        spec = {
            "run": run,
            "config": str(config),
            "epochs": args.epochs,
            "warmup": args.warmup,
            "batches": args.batches,
            "threads": args.threads,
            "seed": args.seed,
        }
        print(f"  {run:20s} ...", end="", flush=True)
        result = spec | common.run_child(sys.executable, __file__, spec, args.timeout)
        common.print_outcome(result)
        rows.append(result)
    payload = {
        "dataset": args.dataset,
        "settings": vars(args) | {"out": str(args.out)},
        "machine": machine,
        "runs": rows,
    }
    paths = common.write_outputs(f"epochs_{args.dataset}", payload, report(args.dataset, rows, args, machine), args.out)
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
