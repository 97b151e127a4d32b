"""Learning curves of the runs: validation NDCG against wall-clock seconds and against epochs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqrec.report.columns import metric_order
from seqrec.report.runs import Run


def curve_metric(runs: list[Run]) -> str:
    """The validation metric to plot: ndcg@10, else the smallest-k ndcg@k every logged run has."""
    logged = [set(rows[0]["valid"]) for run in runs if (rows := validated(run))]
    common = set.intersection(*logged) if logged else set()
    ndcgs = sorted((name for name in common if name.startswith("ndcg@")), key=metric_order)
    return "ndcg@10" if "ndcg@10" in common or not ndcgs else ndcgs[0]


def validated(run: Run) -> list[dict[str, Any]]:
    """The log rows with validation metrics (with ``eval.every > 1`` not every epoch has them)."""
    return [row for row in run.log if row.get("valid")]


def plot_curves(runs: list[Run], path: Path) -> bool:
    """Validation NDCG against wall-clock seconds and against epochs; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    metric = curve_metric(runs)
    ylabel = f"validation {metric.upper()}"
    figure, (by_time, by_epoch) = plt.subplots(1, 2, figsize=(12, 4.5))
    for run in runs:
        rows = validated(run)
        if not rows:
            continue
        values = [row["valid"][metric] for row in rows]
        label = f"{run.label} ({run.dataset}, {run.path.name})"
        by_time.plot([row["elapsed_seconds"] for row in rows], values, label=label)
        by_epoch.plot([row["epoch"] for row in rows], values, label=label)
    by_time.set(xlabel="training seconds (incl. validation)", ylabel=ylabel, title="quality vs time")
    by_epoch.set(xlabel="epoch", ylabel=ylabel, title="quality vs epochs")
    for axes in (by_time, by_epoch):
        axes.grid(alpha=0.3)
    if any(run.log for run in runs):
        by_epoch.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
