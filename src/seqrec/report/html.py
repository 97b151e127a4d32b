"""report.html: the whole report in one self-contained file, for people to read in a browser.

It holds the results table (the same columns and rows as results.md, from
:func:`seqrec.report.columns.columns`), our test figures beside the paper's, the learning curves
against time and epochs (PNGs inlined as ``data:`` URIs, so the file needs no network and no
other file), and a few test users' recommendations by title where a trained run and titles
exist. Every text taken from runs or data is escaped; nothing is loaded from elsewhere.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from seqrec.io import write_text_atomic
from seqrec.report.columns import MISSING, columns
from seqrec.report.html_examples import TitleSource, examples_section
from seqrec.report.plots import curves_png, paper_png
from seqrec.report.runs import Run, summarise

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 20px 24px;
       color: #1d232b; background: #fff; max-width: 1400px; }
h1 { font-size: 1.6em; margin-bottom: 4px; } h2 { margin-top: 1.6em; border-bottom: 1px solid #d5dae0; }
p.note { color: #4d5966; margin: 4px 0 8px; }
div.wide { overflow-x: auto; } table.results { border-collapse: collapse; font-size: 12px; }
table.results th, table.results td { border: 1px solid #d5dae0; padding: 3px 5px; }
table.results td:last-child { min-width: 12em; }
table.results th { background: #eef1f5; text-align: left; vertical-align: bottom; }
table.results td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.results tr:nth-child(even) td { background: #f8f9fb; }
td.up { color: #17703a; } td.down { color: #a3261c; }
img.figure { max-width: 100%; border: 1px solid #e3e7eb; }
div.user { border: 1px solid #d5dae0; border-radius: 6px; padding: 6px 12px; margin: 10px 0; }
div.user h4 { margin: 4px 0; } div.user h5 { margin: 4px 0; color: #4d5966; }
div.lists { display: flex; gap: 40px; } div.lists ol { margin: 2px 0; padding-left: 24px; font-size: 14px; }
li.hit { background: #d9f2e1; font-weight: 600; } span.id { color: #8a949e; font-size: 12px; }
span.hit-tag { background: #17703a; color: #fff; padding: 0 6px; border-radius: 4px; }
span.miss-tag { background: #8a949e; color: #fff; padding: 0 6px; border-radius: 4px; }
"""
NO_MATPLOTLIB = "Plots need matplotlib, which is not installed (pip install 'seqrec[plots]')."


class NoFinishedRunError(ValueError):
    """A report asked of directories whose runs have none finished (no metrics.json)."""


def require_finished(runs: list[Run], where: str) -> None:
    """NoFinishedRunError naming ``where`` unless at least one run has finished."""
    if not any(run.metrics is not None for run in runs):
        names = ", ".join(run.path.name for run in runs) or "none"
        raise NoFinishedRunError(
            f"{where}: no finished run (none of its run directories has metrics.json; found: {names}); "
            "the HTML report needs at least one finished run"
        )


def _cell_class(fmt: str, text: str) -> str:
    """Numbers right-aligned; a signed difference (e.g. vs the paper) green when up, red when down."""
    if not fmt:
        return ""
    if fmt.startswith("+") and text != MISSING:
        return ' class="num up"' if text.startswith("+") else ' class="num down"'
    return ' class="num"'


def results_table(rows: list[dict[str, Any]]) -> str:
    """The markdown table's columns and rows (``csv_only`` columns left out) as an HTML table."""
    spec = [c for c in columns(rows) if not c.csv_only]
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in spec)
    body = "\n".join(
        "<tr>"
        + "".join(f"<td{_cell_class(c.fmt, c.text(row))}>{html.escape(c.text(row))}</td>" for c in spec)
        + "</tr>"
        for row in rows
    )
    table = f'<table class="results">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>'
    return f'<div class="wide">{table}</div>\n'


def image(png: bytes | None, alt: str) -> str:
    """An inline ``<img>`` of PNG bytes (a base64 ``data:`` URI); the matplotlib note when None."""
    if png is None:
        return f'<p class="note">{html.escape(NO_MATPLOTLIB)}</p>\n'
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="figure" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">\n'


def _paper_section(rows: list[dict[str, Any]]) -> str:
    with_paper = [row for row in rows if "paper ndcg@10" in row]
    if not with_paper:
        return '<p class="note">The paper (Table 2) has no figures for these datasets and models.</p>\n'
    text = (
        f"{len(with_paper)} of {len(rows)} rows have the paper's figures (Klenitskiy &amp; Vasilev, "
        "RecSys 2023, Table 2: full-catalog ranking; its training seconds were measured on a GPU it does not "
        "name). Bars: our test figure (error bar: the spread over seeds) beside the paper's."
    )
    png = paper_png(rows)
    return f'<p class="note">{text}</p>\n' + (
        image(png, "our test HR@10 and NDCG@10 beside the paper's") if png else ""
    )


def render_html(
    runs: list[Run],
    rows: list[dict[str, Any]],
    title: str,
    curves: bytes | None,
    examples: str,
) -> str:
    """The whole document: results table, paper comparison, learning curves, example users."""
    finished = sum(run.metrics is not None for run in runs)
    run_items = "".join(
        f"<li>{html.escape(run.path.name)}: {html.escape(run.label)} on {html.escape(run.dataset)}"
        f"{'' if run.metrics is not None else ' (unfinished)'}</li>"
        for run in runs
    )
    sections = [
        f"<h1>{html.escape(title)}</h1>\n",
        f'<p class="note">{len(runs)} run director{"y" if len(runs) == 1 else "ies"}, {finished} finished; '
        "one row per dataset and model, "
        "metrics on the test users (mean &plusmn; std over seeds).</p>\n",
        "<h2>Results</h2>\n",
        results_table(rows),
        f"<details><summary>run directories</summary><ul>{run_items}</ul></details>\n",
        "<h2>Ours beside the paper</h2>\n",
        _paper_section(rows),
        "<h2>Validation curves</h2>\n",
        '<p class="note">Validation metric after each evaluated epoch, against training seconds and '
        "against epochs.</p>\n",
        image(curves, "validation metric against training time and against epochs"),
        "<h2>Example recommendations</h2>\n",
        examples,
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{html.escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n" + "".join(sections) + "</body>\n</html>\n"
    )


def write_html_report(
    runs: list[Run],
    out: Path,
    quick: bool = False,
    title: str = "",
    curves: bytes | None = None,
    titles_of: TitleSource | None = None,
) -> Path:
    """Write ``out/report.html`` atomically and return its path; ``curves`` are the PNG bytes of
    :func:`~seqrec.report.plots.curves_png` when already drawn. NoFinishedRunError naming ``out``
    when no run has finished. ``titles_of`` replaces the catalog's item titles (for data without them)."""
    require_finished(runs, str(out))
    rows = summarise(runs, quick)
    curves = curves if curves is not None else curves_png(runs)
    document = render_html(
        runs,
        rows,
        title or "seqrec report: " + ", ".join(dict.fromkeys(run.dataset for run in runs)),
        curves,
        examples_section(runs, titles_of),
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.html"
    write_text_atomic(path, document)
    return path
