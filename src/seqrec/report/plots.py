"""The report's figures: learning curves (validation NDCG against wall-clock seconds and against
epochs) and our test figures beside the paper's, as PNG bytes (for curves.png and for inlining in
report.html); all of them need matplotlib, an optional dependency."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from seqrec.io import replace_atomic
from seqrec.report.columns import metric_order
from seqrec.report.runs import STD, Run

PAPER_METRICS = ("hr@10", "ndcg@10")  # the test metrics Table 2 of the paper gives


def curve_metric(runs: list[Run]) -> str:
    """The validation metric to plot: ndcg@10, else the smallest-k ndcg@k every logged run has."""
    logged = [set(rows[0]["valid"]) for run in runs if (rows := validated(run))]
    common = set.intersection(*logged) if logged else set()
    ndcgs = sorted((name for name in common if name.startswith("ndcg@")), key=metric_order)
    return "ndcg@10" if "ndcg@10" in common or not ndcgs else ndcgs[0]


def validated(run: Run) -> list[dict[str, Any]]:
    """The log rows with validation metrics (with ``eval.every > 1`` not every epoch has them)."""
    return [row for row in run.log if row.get("valid")]


def _pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _png(plt: Any, figure: Any) -> bytes:
    """The figure as PNG bytes (closed afterwards)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def curves_png(runs: list[Run]) -> bytes | None:
    """Validation NDCG against wall-clock seconds and against epochs; None without matplotlib."""
    plt = _pyplot()
    if plt is None:
        return None
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
    return _png(plt, figure)


def plot_curves(runs: list[Run], path: Path) -> bool:
    """Write :func:`curves_png` to ``path`` (atomically); False without matplotlib."""
    png = curves_png(runs)
    if png is None:
        return False
    write_png(path, png)
    return True


def write_png(path: Path, png: bytes) -> None:
    """Write PNG bytes to ``path`` atomically (a temporary file beside it, then a rename)."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(png)

    replace_atomic(path, write)


def paper_png(rows: list[dict[str, Any]]) -> bytes | None:
    """Bars of our test HR@10 and NDCG@10 beside the paper's, one group per summary row that has
    both; None without matplotlib or without such a row."""
    rows = [row for row in rows if all(m in row and f"paper {m}" in row for m in PAPER_METRICS)]
    plt = _pyplot() if rows else None
    if plt is None:
        return None
    figure, panels = plt.subplots(1, len(PAPER_METRICS), figsize=(12, 0.9 + 0.45 * len(rows) + 1.2))
    labels = [f"{row['model']} ({row['dataset']})" for row in rows]
    places = list(range(len(rows)))
    for axes, metric in zip(panels, PAPER_METRICS, strict=True):
        ours = [row[metric] for row in rows]
        spread = [row.get(metric + STD, 0.0) for row in rows]
        paper = [row[f"paper {metric}"] for row in rows]
        axes.barh([p - 0.2 for p in places], ours, height=0.38, xerr=spread, label="ours (test)", color="tab:blue")
        axes.barh([p + 0.2 for p in places], paper, height=0.38, label="paper (Table 2)", color="tab:gray")
        axes.set_yticks(places, labels, fontsize=8)
        axes.invert_yaxis()
        axes.set(xlabel=f"test {metric.upper()}", title=f"{metric.upper()}: ours beside the paper")
        axes.grid(axis="x", alpha=0.3)
    handles, names = panels[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="upper center", ncol=2, fontsize=9, frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / figure.get_figheight()))  # room for the legend on top
    return _png(plt, figure)
