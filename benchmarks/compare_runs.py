"""Per-epoch losses and validation metrics, and test metrics, of the same runs made by two seqrec versions.

Usage: ``python benchmarks/compare_runs.py BEFORE_DIR AFTER_DIR --out results/renovation/ml-1m-3-epochs.md``
where each directory holds one run directory per model (``seqrec train`` outputs). Prints and
writes a markdown table with each figure before and after and the largest absolute difference.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def read(run: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    return log, json.loads((run / "metrics.json").read_text())


def compare(before: Path, after: Path) -> tuple[str, float]:
    lines = ["| run | epoch | figure | before | after | abs diff |", "|---|---|---|---|---|---|"]
    worst = 0.0
    for run in sorted(p.name for p in before.iterdir() if (p / "metrics.json").exists()):
        old_log, old_metrics = read(before / run)
        new_log, new_metrics = read(after / run)
        if len(old_log) != len(new_log):
            raise SystemExit(f"{run}: {len(old_log)} epochs before, {len(new_log)} after")
        pairs: list[tuple[str, str, float, float]] = []
        for old, new in zip(old_log, new_log, strict=True):
            pairs.append((str(old["epoch"]), "loss", old["loss"], new["loss"]))
            pairs += [(str(old["epoch"]), f"valid {k}", v, new["valid"][k]) for k, v in old["valid"].items()]
        pairs += [("test", k, v, new_metrics["test"][k]) for k, v in old_metrics["test"].items()]
        for epoch, name, old_value, new_value in pairs:
            diff = abs(old_value - new_value)
            worst = max(worst, diff)
            lines.append(f"| {run} | {epoch} | {name} | {old_value:.8f} | {new_value:.8f} | {diff:.2e} |")
    return "\n".join(lines) + "\n", worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--title", default="Per-epoch figures before and after")
    args = parser.parse_args()
    table, worst = compare(args.before, args.after)
    text = f"# {args.title}\n\nLargest absolute difference: {worst:.2e}\n\n{table}"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
