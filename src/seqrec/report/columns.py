"""The one column spec of the results table, shared by the markdown and the CSV writer.

The metric columns are the test metrics the summarised runs actually have (so a run evaluated
with ``eval.ks = [10]`` gets no @100 columns): hr@k then ndcg@k for each k ascending, then mrr,
then the beyond-accuracy metrics, then any other metric by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqrec.report.runs import STD

MISSING = "-"  # a cell whose value the row does not have


@dataclass(frozen=True)
class Column:
    """One column: its markdown ``header``, the row ``key`` (also the CSV header) and format spec."""

    header: str
    key: str
    fmt: str = ""  # format() spec of the value in markdown, e.g. ".4f"
    std: bool = False  # markdown shows "mean ± std" when the row averages several seeds
    csv_only: bool = False  # a machine-readable column the markdown table leaves out

    def text(self, row: dict[str, Any]) -> str:
        """The markdown cell: the formatted value (± std over seeds), or "-" when missing."""
        if self.key not in row:
            return MISSING
        text = format(row[self.key], self.fmt)
        if self.std and row["seeds"] > 1:
            text += f" ± {format(row[self.key + STD], self.fmt)}"
        return text

    def value(self, row: dict[str, Any]) -> Any:
        """The CSV cell: the unformatted value, or empty when missing."""
        return row.get(self.key, "")


def metric_order(name: str) -> tuple[int, int, int, str]:
    """Sort key of a metric name: hr@k, ndcg@k by k ascending, then mrr, then the beyond-accuracy
    metrics (coverage@k, novelty@k, arp@k by k), then others by name."""
    base, _, k = name.partition("@")
    at = int(k) if k.isdigit() else 0
    if base in ("hr", "ndcg") and k.isdigit():
        return 0, at, {"hr": 0, "ndcg": 1}[base], base
    if name == "mrr":
        return 1, 0, 0, name
    return 2, at, {"coverage": 0, "novelty": 1, "arp": 2}.get(base, 3), base


def metric_names(rows: list[dict[str, Any]]) -> list[str]:
    """The metrics any row has (a metric is a key with a ``"<key> std"`` beside it), in column order."""
    names = {key for row in rows for key in row if key + STD in row}
    return sorted(names, key=metric_order)


def columns(rows: list[dict[str, Any]]) -> list[Column]:
    """The table's columns for these summary rows: ours, time and memory, then the paper's."""
    metrics = [Column(name.upper(), name, ".4f", std=True) for name in metric_names(rows)]
    return [
        Column("dataset", "dataset"),
        Column("model", "model"),
        Column("key", "key", csv_only=True),
        *metrics,
        Column("best epoch", "best_epoch", ".0f"),
        Column("epochs", "epochs", ".0f"),
        Column("train s", "train_seconds", ".0f"),
        Column("s/epoch", "seconds_per_epoch", ".1f"),
        Column("peak MB", "peak_rss_mb", ".0f"),
        Column("paper HR@10", "paper hr@10", ".4f"),
        Column("paper NDCG@10", "paper ndcg@10", ".4f"),
        Column("NDCG@10 vs paper", "ndcg@10 vs paper", "+.1%"),
        Column("HR@10 vs paper", "hr@10 vs paper", "+.1%", csv_only=True),
        Column("paper s", "paper seconds", ".0f"),
        Column("paper best epoch", "paper best_epoch", ".0f", csv_only=True),
        Column("seeds", "seeds"),
        Column("status", "status"),
    ]
