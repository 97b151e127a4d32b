"""Tables and plots from finished run directories: quality beside training time and the paper's figures.

:mod:`~seqrec.report.runs` reads run directories and summarises them into rows,
:mod:`~seqrec.report.columns` is the one column spec, :mod:`~seqrec.report.tables` writes it as
markdown and CSV, :mod:`~seqrec.report.plots` draws the learning curves.
"""

from __future__ import annotations

from pathlib import Path

from seqrec.io import write_text_atomic
from seqrec.report.plots import plot_curves
from seqrec.report.runs import Run, find_runs, read_run, summarise
from seqrec.report.tables import to_csv, to_markdown

__all__ = ["Run", "find_runs", "plot_curves", "read_run", "summarise", "to_csv", "to_markdown", "write_report"]


def write_report(runs: list[Run], out: Path, quick: bool = False, title: str = "") -> str:
    """Write results.md, results.csv (each atomically) and curves.png into ``out``; return the markdown table."""
    rows = summarise(runs, quick)
    table = to_markdown(rows)
    out.mkdir(parents=True, exist_ok=True)
    heading = f"# {title}\n\n" if title else ""
    write_text_atomic(out / "results.md", heading + table)
    write_text_atomic(out / "results.csv", to_csv(rows))
    if not plot_curves(runs, out / "curves.png"):
        print("matplotlib is not installed: curves.png skipped (pip install 'seqrec[plots]')")
    return table
