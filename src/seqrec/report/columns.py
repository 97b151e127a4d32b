"""The one column spec of the results table, shared by the markdown and the CSV writer.

The metric columns are the test metrics the summarised runs actually have (so a run evaluated
with ``eval.ks = [10]`` gets no @100 columns): hr@k then ndcg@k for each k ascending, then mrr,
then the beyond-accuracy metrics, then any other metric by name. When rows carry the paired
comparison with a reference row (see :func:`seqrec.compare.group_significance`), its difference,
95% interval and Holm-adjusted p follow the metrics; a row without them shows "-".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seqrec.compare import CI_HIGH, CI_LOW, DIFF, P_HOLM, REFERENCE, P
from seqrec.report.runs import STD
from seqrec.significance import format_p

MISSING = "-"  # a cell whose value the row does not have


@dataclass(frozen=True)
class Column:
    """One column: its markdown ``header``, the row ``key`` (also the CSV header) and format spec."""

    header: str
    key: str
    fmt: str = ""  # format() spec of the value in markdown, e.g. ".4f"
    std: bool = False  # markdown shows "mean ± std" when the row averages several seeds
    csv_only: bool = False  # a machine-readable column the markdown table leaves out
    upper: str = ""  # the key of an interval's upper end: markdown "[low, high]", CSV a column of its own
    formatter: Callable[[Any], str] | None = None  # the markdown text of a value, instead of ``fmt``

    def text(self, row: dict[str, Any]) -> str:
        """The markdown cell: the formatted value (± std over seeds, or "[low, high]"), or "-" when missing."""
        if self.key not in row:
            return MISSING
        text = self.formatter(row[self.key]) if self.formatter else format(row[self.key], self.fmt)
        if self.std and row["seeds"] > 1:
            text += f" ± {format(row[self.key + STD], self.fmt)}"
        if self.upper:
            text = f"[{text}, {format(row[self.upper], self.fmt)}]"
        return text

    def csv_keys(self) -> tuple[str, ...]:
        """The CSV columns of this column: its key, then its spread over seeds or its interval's upper end."""
        return (self.key, *((self.key + STD,) if self.std else ()), *((self.upper,) if self.upper else ()))

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


def significance_columns(rows: list[dict[str, Any]]) -> list[Column]:
    """The paired comparison's columns when any row has one: difference vs the reference row, its
    95% interval, the Holm-adjusted p in markdown; the unadjusted p and the reference's key in the CSV."""
    compared = [row for row in rows if REFERENCE in row]
    if not compared:
        return []
    metric = next(key[: -len(P_HOLM)] for key in compared[0] if key.endswith(P_HOLM))
    reference = compared[0][REFERENCE]
    label = next((row["model"] for row in rows if row["key"] == reference), reference)
    return [
        Column(f"Δ{metric.upper()} vs {label}", metric + DIFF, "+.4f"),
        Column("95% CI", metric + CI_LOW, "+.4f", upper=metric + CI_HIGH),
        Column("p (Wilcoxon)", metric + P, csv_only=True),
        Column("p (Holm)", metric + P_HOLM, formatter=format_p),
        Column("reference", REFERENCE, csv_only=True),
    ]


def columns(rows: list[dict[str, Any]]) -> list[Column]:
    """The table's columns for these summary rows: ours, the comparison with the reference row,
    time and memory, then the paper's."""
    metrics = [Column(name.upper(), name, ".4f", std=True) for name in metric_names(rows)]
    return [
        Column("dataset", "dataset"),
        Column("model", "model"),
        Column("key", "key", csv_only=True),
        *metrics,
        *significance_columns(rows),
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
