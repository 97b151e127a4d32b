"""The results table as markdown (for people) and CSV (for programs), both from :func:`columns`."""

from __future__ import annotations

import csv
import io
from typing import Any

from seqrec.report.columns import columns


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The results table: our metrics, time and memory, then the paper's figures and our difference."""
    spec = [c for c in columns(rows) if not c.csv_only]
    lines = ["| " + " | ".join(c.header for c in spec) + " |", "|" + "---|" * len(spec)]
    lines += ["| " + " | ".join(c.text(row) for c in spec) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The columns of :func:`to_markdown` and the machine-readable ones it leaves out (``csv_only``),
    headed by their row keys, values unformatted; a metric's spread over seeds (the markdown's
    "± std") is the column ``"<metric> std"`` beside it, an interval's upper end (the markdown's
    "[low, high]") the column after its lower end."""
    keys = [key for c in columns(rows) for key in c.csv_keys()]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(keys)
    writer.writerows([row.get(key, "") for key in keys] for row in rows)
    return buffer.getvalue()
