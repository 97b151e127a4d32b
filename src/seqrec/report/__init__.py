"""Tables and plots from finished run directories: quality beside training time and the paper's figures.

:mod:`~seqrec.report.runs` reads run directories and summarises them into rows,
:mod:`~seqrec.report.columns` is the one column spec, :mod:`~seqrec.report.tables` writes it as
markdown and CSV, :mod:`~seqrec.report.plots` draws the learning curves, :mod:`~seqrec.report.html`
puts all of it (and example users' recommendations) into one self-contained report.html.
"""

from __future__ import annotations

from pathlib import Path

from seqrec.io import write_text_atomic
from seqrec.report.html import NoFinishedRunError, write_html_report
from seqrec.report.plots import curves_png, plot_curves, write_png
from seqrec.report.runs import Run, find_runs, read_run, summarise
from seqrec.report.tables import to_csv, to_markdown

__all__ = [
    "NoFinishedRunError",
    "Run",
    "find_runs",
    "plot_curves",
    "read_run",
    "summarise",
    "to_csv",
    "to_markdown",
    "write_html_report",
    "write_report",
]


def write_report(runs: list[Run], out: Path, quick: bool = False, title: str = "", html: bool = False) -> str:
    """Write results.md, results.csv (each atomically) and curves.png into ``out``; return the markdown table.

    With ``html`` also report.html (see :func:`write_html_report`), unless no run has finished
    (then a line says it was skipped: the tables still show the unfinished runs).
    """
    rows = summarise(runs, quick)
    table = to_markdown(rows)
    out.mkdir(parents=True, exist_ok=True)
    heading = f"# {title}\n\n" if title else ""
    write_text_atomic(out / "results.md", heading + table)
    write_text_atomic(out / "results.csv", to_csv(rows))
    curves = curves_png(runs)
    if curves is None:
        print("matplotlib is not installed: curves.png skipped (pip install 'seqrec[plots]')")
    else:
        write_png(out / "curves.png", curves)
    if html:
        try:
            write_html_report(runs, out, quick, title, curves)
        except NoFinishedRunError as error:
            print(f"report.html skipped: {error}")
    return table
