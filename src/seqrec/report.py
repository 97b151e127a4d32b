"""Tables and plots from finished run directories: quality beside training time and the paper's figures."""

from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqrec.config import load_config
from seqrec.paper import MODEL_NAMES, PAPER

METRICS = ["hr@10", "ndcg@10", "hr@100", "ndcg@100", "mrr"]


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


def model_key(model: str, loss: str) -> str:
    """The grid's name for a model and loss: bert4rec, sasrec-bce, sasrec-ce, sasrec-sampled-ce."""
    if model == "bert4rec" and loss == "ce":
        return "bert4rec"
    return f"{model}-{loss.replace('_', '-')}"


def read_run(path: Path) -> Run:
    """Read config.toml, log.jsonl and (when finished) metrics.json of a run directory."""
    config = load_config(path / "config.toml")
    key = model_key(config.model.name, config.train.loss)
    label = MODEL_NAMES.get(key, key)
    if key == "sasrec-sampled-ce":
        label = f"SASRec+ {config.train.negatives or 3000}"
    metrics_path = path / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else None
    log_path = path / "log.jsonl"
    log = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()] if log_path.exists() else []
    dataset = config.data.dataset if not config.data.path else Path(config.data.path).name
    return Run(path, key, label, dataset, metrics, log, config.train.max_epochs)


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


def summarise(runs: list[Run], quick: bool = False) -> list[dict[str, Any]]:
    """One row per (dataset, model): metrics averaged over seeds, time, the paper beside them."""
    order = list(MODEL_NAMES)
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.dataset, run.key), []).append(run)
    rows = []
    def position(group_key: tuple[str, str]) -> tuple[str, int]:
        dataset, key = group_key
        return dataset, order.index(key) if key in order else len(order)

    for (dataset, key), group in sorted(groups.items(), key=lambda g: position(g[0])):
        done = [r for r in group if r.metrics is not None]
        row: dict[str, Any] = {"dataset": dataset, "model": group[0].label, "key": key, "seeds": len(done)}
        if done:
            for metric in METRICS:
                row[metric], row[f"{metric} std"] = _mean_std([r.metrics["test"][metric] for r in done])  # type: ignore[index]
            for name in ("best_epoch", "epochs", "train_seconds", "seconds_per_epoch", "peak_rss_mb"):
                row[name] = statistics.fmean(r.metrics[name] for r in done)  # type: ignore[index]
        row["status"] = "; ".join(sorted({_status(r, quick) for r in group}))
        paper = PAPER.get(dataset, {}).get(key)
        if paper is not None:
            row.update({"paper hr@10": paper.hr10, "paper ndcg@10": paper.ndcg10,
                        "paper seconds": paper.seconds, "paper best_epoch": paper.best_epoch})
            if done:
                row["ndcg@10 vs paper"] = row["ndcg@10"] / paper.ndcg10 - 1
                row["hr@10 vs paper"] = row["hr@10"] / paper.hr10 - 1
        rows.append(row)
    return rows


def _fmt(row: dict[str, Any], metric: str) -> str:
    if metric not in row:
        return "-"
    text = f"{row[metric]:.4f}"
    return text + (f" ± {row[metric + ' std']:.4f}" if row["seeds"] > 1 else "")


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The results table: our metrics, time and memory, then the paper's figures and our difference."""
    header = ["dataset", "model", "HR@10", "NDCG@10", "HR@100", "NDCG@100", "MRR", "best epoch", "epochs",
              "train s", "s/epoch", "peak MB", "paper HR@10", "paper NDCG@10", "NDCG@10 vs paper", "paper s",
              "seeds", "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        def num(name: str, spec: str, r: dict[str, Any] = r) -> str:
            return format(r[name], spec) if name in r else "-"

        cells = [r["dataset"], r["model"], _fmt(r, "hr@10"), _fmt(r, "ndcg@10"), _fmt(r, "hr@100"),
                 _fmt(r, "ndcg@100"), _fmt(r, "mrr"), num("best_epoch", ".0f"), num("epochs", ".0f"),
                 num("train_seconds", ".0f"), num("seconds_per_epoch", ".1f"), num("peak_rss_mb", ".0f"),
                 num("paper hr@10", ".4f"), num("paper ndcg@10", ".4f"), num("ndcg@10 vs paper", "+.1%"),
                 num("paper seconds", ".0f"), str(r["seeds"]), r["status"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def plot_curves(runs: list[Run], path: Path) -> bool:
    """Validation NDCG@10 against wall-clock seconds and against epochs; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (by_time, by_epoch) = plt.subplots(1, 2, figsize=(12, 4.5))
    for run in runs:
        if not run.log:
            continue
        ndcg = [row["valid"]["ndcg@10"] for row in run.log]
        label = f"{run.label} ({run.dataset}, {run.path.name})"
        by_time.plot([row["elapsed_seconds"] for row in run.log], ndcg, label=label)
        by_epoch.plot([row["epoch"] for row in run.log], ndcg, label=label)
    by_time.set(xlabel="training seconds (incl. validation)", ylabel="validation NDCG@10", title="quality vs time")
    by_epoch.set(xlabel="epoch", ylabel="validation NDCG@10", title="quality vs epochs")
    for axes in (by_time, by_epoch):
        axes.grid(alpha=0.3)
    by_epoch.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_report(runs: list[Run], out: Path, quick: bool = False, title: str = "") -> str:
    """Write results.md, results.csv and curves.png into ``out``; return the markdown table."""
    rows = summarise(runs, quick)
    table = to_markdown(rows)
    out.mkdir(parents=True, exist_ok=True)
    heading = f"# {title}\n\n" if title else ""
    (out / "results.md").write_text(heading + table, encoding="utf-8")
    (out / "results.csv").write_text(to_csv(rows), encoding="utf-8")
    if not plot_curves(runs, out / "curves.png"):
        print("matplotlib is not installed: curves.png skipped (pip install 'seqrec[plots]')")
    return table
