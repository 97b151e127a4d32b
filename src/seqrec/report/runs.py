"""Run directories read into :class:`Run` objects and summarised into one row per (dataset, model).

A row is a plain dict: ``dataset``, ``model`` (display label), ``key`` (grid key), ``seeds``,
each test metric the runs have (mean over seeds, with ``"<metric> std"`` beside it), timing and
memory means, ``status``, and the paper's figures where Table 2 has the model and dataset. Where
the runs kept per-user results (per_user.npz), each row also gets its paired comparison of NDCG@10
with the reference row of its dataset (SASRec+, ``sasrec-ce``, by default; see :mod:`seqrec.compare`).
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqrec.compare import group_significance
from seqrec.config import Config, load_config
from seqrec.objectives import resolved_negatives
from seqrec.paper import PAPER, ROWS, run_key

STD = " std"  # suffix of a metric's standard deviation over seeds in a summary row
TIMINGS = ("best_epoch", "epochs", "train_seconds", "seconds_per_epoch", "peak_rss_mb")


@dataclass
class Run:
    """One finished (or interrupted) run directory, as the report needs it."""

    path: Path
    key: str  # model key, e.g. "sasrec-ce"
    label: str  # display name, e.g. "SASRec+"
    dataset: str
    metrics: dict[str, Any] | None  # None while the run has not finished
    log: list[dict[str, Any]] = field(default_factory=list)
    max_epochs: int = 0


def _label(config: Config, key: str) -> str:
    """The grid's label, with the negatives the run used where the label shows them; else the key."""
    row = ROWS.get(key)
    if row is None:
        return key
    return row.run_label(resolved_negatives(config.train) if row.negatives else 0)


def read_run(path: Path) -> Run:
    """Read config.toml, log.jsonl and (when finished) metrics.json of a run directory."""
    config = load_config(path / "config.toml")
    key = run_key(config)
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else None
    log_path = path / "log.jsonl"
    log = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()] if log_path.exists() else []
    dataset = config.data.dataset if not config.data.path else Path(config.data.path).name
    return Run(path, key, _label(config, key), dataset, metrics, log, config.train.max_epochs)


def find_runs(directories: list[Path]) -> list[Run]:
    """Every run directory (one holding config.toml) in or under the given directories."""
    found: list[Run] = []
    for directory in directories:
        candidates = [directory] if (directory / "config.toml").exists() else sorted(directory.iterdir())
        found += [read_run(p) for p in candidates if (p / "config.toml").exists()]
    return found


def _status(run: Run, quick: bool) -> str:
    if run.metrics is None:
        return f"unfinished ({len(run.log)} epochs so far)"
    if run.metrics["stopped_early"]:
        status = "converged (early stopping)"
    else:
        status = f"stopped at max epochs ({run.metrics['epochs']}), not converged"
    return ("QUICK demo budget; " if quick else "") + status


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _position(group: tuple[str, str]) -> tuple[str, int]:
    """Sort groups by dataset, then in grid order, models outside the grid last."""
    dataset, key = group
    order = list(ROWS)
    return dataset, order.index(key) if key in order else len(order)


def _test_metrics(done: list[Run]) -> dict[str, list[float]]:
    """Each test metric any of the runs has (ranking and beyond-accuracy), with its values over the
    runs that have it."""
    values: dict[str, list[float]] = {}
    for run in done:
        assert run.metrics is not None
        measured = {**run.metrics["test"], **run.metrics.get("beyond_accuracy", {})}
        for name, value in measured.items():
            values.setdefault(name, []).append(value)
    return values


def _add_significance(rows: list[dict[str, Any]], groups: dict[tuple[str, str], list[Run]], reference: str) -> None:
    """Each dataset's rows compared with its ``reference`` row on per-user NDCG@10 (Holm within the
    dataset); why a row could not be compared goes to stderr, its cells stay "-"."""
    for dataset in dict.fromkeys(row["dataset"] for row in rows):
        paths = {key: [r.path for r in g if r.metrics is not None] for (d, key), g in groups.items() if d == dataset}
        if reference not in paths:
            continue
        cells, notes = group_significance(paths, reference)
        for note in notes:
            print(f"seqrec: note: {dataset}: no significance for {note}", file=sys.stderr)
        for row in rows:
            if row["dataset"] == dataset:
                row.update(cells.get(row["key"], {}))


def summarise(runs: list[Run], quick: bool = False, reference: str = "sasrec-ce") -> list[dict[str, Any]]:
    """One row per (dataset, model): metrics averaged over seeds, time, the paper beside them, and the
    paired comparison with the ``reference`` row where per-user results exist."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.key), []).append(run)
    rows = []
    for (dataset, key), group in sorted(groups.items(), key=lambda g: _position(g[0])):
        done = [r for r in group if r.metrics is not None]
        row: dict[str, Any] = {"dataset": dataset, "model": group[0].label, "key": key, "seeds": len(done)}
        if done:
            for metric, values in _test_metrics(done).items():
                row[metric], row[metric + STD] = _mean_std(values)
            for name in TIMINGS:
                row[name] = statistics.fmean(r.metrics[name] for r in done)  # type: ignore[index]
        row["status"] = "; ".join(sorted({_status(r, quick) for r in group}))
        paper = PAPER.get(dataset, {}).get(key)
        if paper is not None:
            row.update(
                {
                    "paper hr@10": paper.hr10,
                    "paper ndcg@10": paper.ndcg10,
                    "paper seconds": paper.seconds,
                    "paper best_epoch": paper.best_epoch,
                }
            )
            if "ndcg@10" in row:
                row["ndcg@10 vs paper"] = row["ndcg@10"] / paper.ndcg10 - 1
            if "hr@10" in row:
                row["hr@10 vs paper"] = row["hr@10"] / paper.hr10 - 1
        rows.append(row)
    _add_significance(rows, groups, reference)
    return rows
