"""Training speed of seqrec's newer SASRec losses on ML-1M vs RecTools 0.19, paper settings.

Settings as ``bench_train.py`` (max length 200, hidden 64, 2 blocks, 1 head, feed-forward 64,
batch 128, dropout 0.1, Adam lr 1e-3, seqrec's leave-one-out training sequences of ML-1M), and
the measurements are ``bench_train.py``'s own children: each in a fresh interpreter, one
warm-up epoch, then the median of ``--epochs`` epochs; with ``--batches N`` every epoch is only
its first N batches and the median is extrapolated to a full epoch (``median * full / N``).

Rows, in groups run back-to-back so that each group shares the machine's conditions:

- ``gbce``: seqrec ``gbce`` (256 uniform negatives per position, t = 0.75) vs RecTools
  ``loss="gBCE"``, ``n_negatives=256``, ``gbce_t=0.75`` (also uniform per position).
- ``logq``: seqrec ``sampled_ce``, ``sampler = "popularity"``, ``logq = true``, 256 negatives
  per sequence vs RecTools ``loss="sampled_softmax"``, ``n_negatives=256``: RecTools draws 256
  uniform negatives per position (with replacement), without correction.
- ``in_batch``, ``mixed``, ``exclude_seen``, ``ligr``: seqrec ``sampled_ce`` with the
  ``in_batch`` sampler (at most 3000, logQ), with ``mixed`` (256 uniform per sequence + the
  batch's targets, logQ), ``ce`` with ``loss_args = {exclude_seen = true}``, and ``ce`` with
  ``model.block = "ligr"`` (feed-forward 256, as configs/ml-1m-sasrec-ligr-sampled-ce.toml).
  RecTools has none of these: each is compared with RecTools ``softmax`` and with seqrec's plain
  ``ce``, both measured once in the same group (RecTools softmax between the seqrec rows).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_losses.py [--threads 1] [--batches 8] [--epochs 3]``
(after ``benchmarks/setup_rectools.sh``). Writes results/bench/train_losses_ml1m.json and .md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import _common as common
import _train_settings as settings
import bench_train as bt
from _rectools_train import rectools_sampled_gb

Spec = dict[str, Any]

# row -> (seqrec loss, negatives, config overrides, seqrec description)
SEQREC_ROWS: dict[str, tuple[str, int, dict[str, Any], str]] = {
    "gbce": ("gbce", 256, {"train.gbce_t": 0.75}, "gbce, 256 uniform per position, t 0.75"),
    "logq": (
        "sampled_ce",
        256,
        {"train.sampler": "popularity", "train.logq": True},
        "sampled_ce, 256 per sequence by popularity, logQ",
    ),
    "ce": ("ce", 0, {}, "ce (full catalog)"),
    "in_batch": (
        "sampled_ce",
        3000,
        {"train.sampler": "in_batch", "train.logq": True},
        "sampled_ce, in-batch targets (at most 3000), logQ",
    ),
    "mixed": (
        "sampled_ce",
        256,
        {"train.sampler": "mixed", "train.logq": True},
        "sampled_ce, in-batch + 256 uniform per sequence, logQ",
    ),
    "exclude_seen": ("ce", 0, {"train.loss_args": {"exclude_seen": True}}, "ce, exclude_seen"),
    "ligr": ("ce", 0, {"model.block": "ligr", "model.ff_hidden": 256}, "ce, LiGR blocks (feed-forward 256)"),
}
# RecTools reference -> (bench_train loss key, negatives, extra constructor arguments, description)
RECTOOLS_ROWS: dict[str, tuple[str, int, dict[str, Any], str]] = {
    "gBCE": ("gbce", 256, {"gbce_t": 0.75}, "gBCE, 256 uniform per position, gbce_t 0.75"),
    "sampled_softmax": ("sampled_ce", 256, {}, "sampled_softmax, 256 uniform per position"),
    "softmax": ("ce", 0, {}, "softmax (full catalog)"),
}
# groups in run order: the measurements of each, back-to-back ("rectools:NAME" is a RecTools one)
GROUPS: list[list[str]] = [
    ["gbce", "rectools:gBCE"],
    ["logq", "rectools:sampled_softmax"],
    ["ce", "in_batch", "mixed", "rectools:softmax", "exclude_seen", "ligr"],
]
# table rows: (row, RecTools reference, seqrec reference or None)
TABLE: list[tuple[str, str, str | None]] = [
    ("gbce", "gBCE", None),
    ("logq", "sampled_softmax", None),
    ("ce", "softmax", None),
    ("in_batch", "softmax", "ce"),
    ("mixed", "softmax", "ce"),
    ("exclude_seen", "softmax", "ce"),
    ("ligr", "softmax", "ce"),
]
NOTES = [
    "gbce / gBCE: both draw 256 negatives per position uniformly over the catalog with replacement; "
    "RecTools computes the transformed positive logit in float64 and scores all 200 positions of every "
    "sequence, seqrec the target positions only.",
    "logq / sampled_softmax: RecTools draws 256 uniform negatives per position (with replacement, no logQ "
    "correction) and gathers a [B, L, 257, D] tensor of their embeddings; seqrec draws 256 per sequence "
    "by training popularity, shared by the sequence's positions, with the logQ correction. Same count, "
    "different sampler: the ratio is that of the two libraries' standard way to train with 256 negatives.",
    "in_batch, mixed, exclude_seen, ligr: RecTools 0.19 has no counterpart; the reference is RecTools' "
    "full softmax and seqrec's plain ce, each measured once in the same group.",
]


def loadavg() -> str:
    """``/proc/loadavg`` (1, 5, 15 minute load, running/total tasks), or os.getloadavg where absent."""
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def plan(args: argparse.Namespace) -> list[list[Spec]]:
    """The groups' specs in run order (``--only`` keeps a group's references with any row of it)."""
    base = {
        "model": "sasrec",
        "epochs": args.epochs,
        "warmup": args.warmup,
        "batches": args.batches,
        "threads": args.threads,
        "seed": args.seed,
        "length_groups": args.length_groups,
    }
    budget = args.memory_budget_gb or 0.8 * common.mem_available_gb()
    groups = []
    for group in GROUPS:
        names = [n for n in group if not n.startswith("rectools:")]
        if args.only and not set(args.only) & set(names):
            continue
        keep = set(args.only) | {"ce"} if args.only else set(names)
        specs: list[Spec] = []
        for name in group:
            if name.startswith("rectools:"):
                if not args.rectools_python:
                    continue
                ref = name.split(":", 1)[1]
                loss, n, extra, _ = RECTOOLS_ROWS[ref]
                spec = base | {"impl": "rectools", "row": ref, "loss": loss, "negatives": n, "rectools_extra": extra}
                if n > 1 and rectools_sampled_gb(n) > budget:
                    spec["skip"] = (
                        f"RecTools {ref} with {n} negatives per position needs about {rectools_sampled_gb(n):.1f} "
                        f"GiB for [B, L, n+1, D] candidate embeddings and their gradient; budget {budget:.1f} GiB"
                    )
            elif name in keep:
                loss, n, overrides, _ = SEQREC_ROWS[name]
                spec = base | {"impl": "seqrec", "row": name, "loss": loss, "negatives": n, "overrides": overrides}
            else:
                continue
            specs.append(spec)
        groups.append(specs)
    return groups


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summarise(results: list[Spec]) -> list[dict[str, Any]]:
    """One row per seqrec measurement: seconds and CPU seconds per epoch, ratios to its references."""
    ok = {(r["impl"], r["row"]): r for r in results if r["status"] == "ok"}

    def get(impl: str, row: str | None, key: str) -> float | None:
        r = ok.get((impl, row or ""))
        return None if r is None else r.get(key)

    rows = []
    for name, rectools, seqrec_ref in TABLE:
        if not any(r["impl"] == "seqrec" and r["row"] == name for r in results):
            continue
        s, rt, ce = (
            get(i, n, "seconds_per_epoch")
            for i, n in (("seqrec", name), ("rectools", rectools), ("seqrec", seqrec_ref))
        )
        cpu = [get(i, n, "cpu_seconds_per_epoch") for i, n in (("seqrec", name), ("rectools", rectools))]
        rows.append(
            {
                "row": name,
                "seqrec": SEQREC_ROWS[name][3],
                "rectools_reference": RECTOOLS_ROWS[rectools][3],
                "seqrec_seconds_per_epoch": s,
                "rectools_seconds_per_epoch": rt,
                "time_ratio_seqrec_over_rectools": ratio(s, rt),
                "cpu_time_ratio_seqrec_over_rectools": ratio(*cpu),
                "seqrec_ce_seconds_per_epoch": ce if seqrec_ref else None,
                "time_ratio_over_seqrec_ce": ratio(s, ce) if seqrec_ref else None,
                "seqrec_peak_rss_mb": get("seqrec", name, "peak_rss_mb"),
                "rectools_peak_rss_mb": get("rectools", rectools, "peak_rss_mb"),
            }
        )
    return rows


def report(summary: list[dict[str, Any]], payload: dict[str, Any], args: argparse.Namespace) -> str:
    headers = [
        "row",
        "seqrec",
        "RecTools reference",
        "seqrec s/epoch",
        "RecTools s/epoch",
        "ratio",
        "CPU ratio",
        "seqrec ce s/epoch",
        "ratio vs seqrec ce",
    ]
    keys = [
        "row",
        "seqrec",
        "rectools_reference",
        "seqrec_seconds_per_epoch",
        "rectools_seconds_per_epoch",
        "time_ratio_seqrec_over_rectools",
        "cpu_time_ratio_seqrec_over_rectools",
        "seqrec_ce_seconds_per_epoch",
        "time_ratio_over_seqrec_ce",
    ]
    mode = f"first {args.batches} batches per epoch, extrapolated to the full epoch" if args.batches else "full epochs"
    failed = [
        f"- {r['impl']} {r['row']}: {r['status']} ({r.get('error')})"
        for r in payload["measurements"]
        if r["status"] != "ok"
    ]
    versions = {r["impl"]: r["versions"] for r in payload["measurements"] if r["status"] == "ok"}
    machine = payload["machine"]
    return "\n".join(
        [
            "# Training speed of seqrec's newer SASRec losses on ML-1M vs RecTools 0.19",
            "",
            "```",
            payload["command"],
            "```",
            "",
            f"Median seconds per epoch over {args.epochs} epoch(s) after {args.warmup} warm-up epoch(s); {mode}. "
            "Ratios are seqrec / reference (below 1: seqrec faster); the CPU ratio is that of the children's own "
            "CPU seconds over the same epochs, less sensitive than wall time to other processes on the machine.",
            "",
            common.markdown_table(headers, [[r[k] for k in keys] for r in summary]),
            "",
            *[f"- {note}" for note in NOTES],
            "",
            *(["Not measured:", "", *failed, ""] if failed else []),
            "## Load",
            "",
            payload["load"]["statement"],
            "",
            "## Machine",
            "",
            common.machine_markdown(machine | {f"{impl} child": v for impl, v in versions.items()}),
            "",
        ]
    )


def load_statement(start: str, end: str, cpus: int, note: str) -> str:
    """A line on the machine's load: the 1-minute load average at start and end against the CPUs."""
    peak = max(float(start.split()[0]), float(end.split()[0]))
    state = "under load" if peak >= 0.5 else "on an idle machine"
    extra = f" {note}" if note else ""
    return (
        f"Measured {state}: /proc/loadavg {start!r} at the start and {end!r} at the end "
        f"({cpus} usable CPUs; the load includes this benchmark's own children).{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    bt.add_timing_arguments(parser)
    parser.add_argument("--length-groups", type=int, default=None, help="seqrec's train.length_groups")
    parser.add_argument("--only", nargs="*", choices=list(SEQREC_ROWS), help="rows to run (their references too)")
    parser.add_argument("--no-rectools", action="store_true")
    parser.add_argument("--rectools-python", default=None, help="default: benchmarks/.venv-rectools/bin/python")
    parser.add_argument("--memory-budget-gb", type=float, default=0.0, help="default: 80%% of MemAvailable")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--load-note", default="", help="a sentence on the load, added to the load line")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args()

    args.rectools_python = None if args.no_rectools else common.rectools_python(args.rectools_python)
    command = "PYTHONPATH=src .venv/bin/python " + shlex.join(["benchmarks/bench_losses.py", *sys.argv[1:]])
    machine = common.machine_info()
    load_start = loadavg()
    results: list[Spec] = []
    for specs in plan(args):
        for spec in specs:
            print(f"{spec['impl']} {spec['row']}:", flush=True)
            python = sys.executable if spec["impl"] == "seqrec" else args.rectools_python
            results.append(bt.measure(spec, python, args.timeout))
    load_end = loadavg()

    summary = summarise(results)
    print()
    print(
        common.text_table(
            ["row", "seqrec s/ep", "RecTools s/ep", "ratio", "CPU ratio", "seqrec ce s/ep", "vs ce"],
            [
                [
                    r["row"] + " / " + r["rectools_reference"].split(",")[0].split(" ")[0],
                    r["seqrec_seconds_per_epoch"],
                    r["rectools_seconds_per_epoch"],
                    r["time_ratio_seqrec_over_rectools"],
                    r["cpu_time_ratio_seqrec_over_rectools"],
                    r["seqrec_ce_seconds_per_epoch"],
                    r["time_ratio_over_seqrec_ce"],
                ]
                for r in summary
            ],
        )
    )
    statement = load_statement(load_start, load_end, machine["usable_cpus"], args.load_note)
    print("\n" + statement)
    payload = {
        "command": command,
        "settings": {
            "max_length": settings.MAX_LENGTH,
            "hidden": settings.HIDDEN,
            "blocks": settings.BLOCKS,
            "heads": settings.HEADS["sasrec"],
            "ff_hidden": settings.FF_HIDDEN["sasrec"],
            "batch_size": settings.BATCH,
            "dropout": settings.DROPOUT,
            "lr": settings.LR,
            "epochs": args.epochs,
            "warmup": args.warmup,
            "batches": args.batches,
            "threads": args.threads,
            "timing": "extrapolated from the first N batches" if args.batches else "full epochs",
            "seqrec_rows": {k: {"loss": v[0], "negatives": v[1], "overrides": v[2]} for k, v in SEQREC_ROWS.items()},
            "rectools_rows": {k: {"loss": v[0], "negatives": v[1], "extra": v[2]} for k, v in RECTOOLS_ROWS.items()},
        },
        "machine": machine,
        "load": {"loadavg_start": load_start, "loadavg_end": load_end, "statement": statement},
        "notes": NOTES,
        "comparisons": summary,
        "measurements": results,
    }
    paths = common.write_outputs("train_losses_ml1m", payload, report(summary, payload, args), args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
