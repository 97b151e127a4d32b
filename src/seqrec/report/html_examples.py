"""The HTML report's example section: a few test users' last items and top-10, by title, the
held-out test item marked; one run per dataset (the finished run with weights and the best test
NDCG@10). Without weights or titles the section is one line saying which is missing."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from seqrec.config import Config, load_config
from seqrec.data.interactions import DataError
from seqrec.report.examples import Example, examples
from seqrec.report.runs import Run
from seqrec.report.titles import item_titles

# (run config, run directory) -> titles by raw item id, or None and the reason there are none
TitleSource = Callable[[Config, Path], tuple[Mapping[Any, str] | None, str]]
USERS, LAST, TOP = 4, 5, 10


def example_runs(runs: list[Run]) -> list[Run]:
    """Per dataset (in first-seen order), the finished run with best.pt and the highest test NDCG@10."""
    chosen: dict[str, Run] = {}
    for run in runs:
        if run.metrics is None or not (run.path / "best.pt").is_file():
            continue
        best = chosen.get(run.dataset)
        if best is None or _quality(run) > _quality(best):
            chosen[run.dataset] = run
    return list(chosen.values())


def _quality(run: Run) -> float:
    assert run.metrics is not None
    return float(run.metrics["test"].get("ndcg@10", 0.0))


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>\n'


def _item(raw: Any, titles: Mapping[Any, str]) -> str:
    """A title (escaped) with its raw id beside it; the id alone for an item without a title."""
    title = titles.get(raw)
    label = html.escape(str(raw))
    return f'{html.escape(title)} <span class="id">#{label}</span>' if title else f"item #{label}"


def _user(example: Example, titles: Mapping[Any, str]) -> str:
    """One user's card: last items, top-K with the test item marked, and the verdict."""
    if example.hit:
        verdict = f'<span class="hit-tag">hit</span> test item at rank {example.rank:.0f}'
    else:
        where = f"ranked {example.rank:.0f}" if example.rank != float("inf") else "filtered out as seen"
        verdict = f'<span class="miss-tag">miss</span> test item {_item(example.target, titles)} {where}'
    history = "".join(f"<li>{_item(raw, titles)}</li>" for raw in example.history)
    top = "".join(
        f'<li class="hit">{_item(raw, titles)} <b>&#10003; test item</b></li>'
        if raw == example.target
        else f"<li>{_item(raw, titles)}</li>"
        for raw in example.top
    )
    return (
        f'<div class="user"><h4>user {html.escape(str(example.user))}: {verdict}</h4>\n'
        f'<div class="lists"><div><h5>last {len(example.history)} items (oldest first)</h5><ol>{history}</ol></div>\n'
        f"<div><h5>top-{len(example.top)}</h5><ol>{top}</ol></div></div></div>\n"
    )


def _run_examples(run: Run, titles_of: TitleSource) -> str:
    """The users of one run, or a note saying why there are none."""
    from seqrec.runs import load_run

    name = f"{run.label} on {run.dataset} ({run.path.name})"
    titles, why = titles_of(load_config(run.path / "config.toml"), run.path)
    if titles is None:
        return _note(f"{name}: no example users: {why}.")
    try:
        found = examples(load_run(run.path), USERS, LAST, TOP)
    except (DataError, ValueError, FileNotFoundError, RuntimeError) as error:
        return _note(f"{name}: no example users: {error}")
    hits = sum(e.hit for e in found)
    head = f"<h3>{html.escape(name)}</h3>\n" + _note(
        f"{len(found)} test users picked evenly over the test set; {hits} of them have the held-out test item "
        f"in the top-{TOP} (items they have seen are not recommended)."
    )
    return head + "".join(_user(e, titles) for e in found)


def examples_section(runs: list[Run], titles_of: TitleSource | None = None) -> str:
    """The section's HTML: each chosen run's users, or a one-line note saying why there are none."""
    titles_of = titles_of or (lambda config, path: item_titles(config, path))
    chosen = example_runs(runs)
    if not chosen:
        return _note(
            "No example users: they need a finished run directory with best.pt, and none of these runs has one."
        )
    return "".join(_run_examples(run, titles_of) for run in chosen)
