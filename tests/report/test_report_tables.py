"""Markdown and CSV come from one column spec: the same columns in the same order."""

import csv
import io
from collections.abc import Callable
from pathlib import Path

from seqrec.report import find_runs, summarise, to_csv, to_markdown
from seqrec.report.columns import columns, metric_order

MakeRun = Callable[..., Path]  # the make_run fixture of conftest.py


def test_markdown_and_csv_have_the_same_columns_in_the_same_order(make_run: MakeRun, tmp_path: Path) -> None:
    make_run("sasrec-ce", ks=[10])
    make_run("sasrec-bce", ks=[5, 10, 100], loss="bce")
    make_run("other", dataset="synthetic")
    rows = summarise(find_runs([tmp_path / "runs"]))
    every = columns(rows)
    spec = [c for c in every if not c.csv_only]  # the markdown's columns
    markdown = [[cell.strip() for cell in line.strip("|").split("|")] for line in to_markdown(rows).splitlines()]
    table = list(csv.reader(io.StringIO(to_csv(rows))))
    assert markdown[0] == [c.header for c in spec]
    # the CSV: every column's key in the same order (the markdown's plus the csv-only ones),
    # each metric followed by its spread over seeds
    assert table[0] == [key for c in every for key in ((c.key, c.key + " std") if c.std else (c.key,))]
    assert [c.key for c in every if c.csv_only] == ["key", "hr@10 vs paper", "paper best_epoch"]
    assert len(markdown) - 2 == len(table) - 1 == len(rows)
    csv_only = {c.key for c in every if c.csv_only}
    spread = [i for i, key in enumerate(table[0]) if key.endswith(" std") or key in csv_only]
    for md_row, csv_row in zip(markdown[2:], table[1:], strict=True):
        values = [cell for i, cell in enumerate(csv_row) if i not in spread]
        assert len(md_row) == len(values) == len(spec)
        assert [cell == "-" for cell in md_row] == [cell == "" for cell in values]
    hr5 = table[0].index("hr@5")
    assert float(table[1][hr5]) == rows[0]["hr@5"]  # unformatted in the CSV
    assert table[0][hr5 + 1] == "hr@5 std" and float(table[1][hr5 + 1]) == 0.0  # one seed: no spread


def test_metric_columns_are_ordered_by_k_then_hr_ndcg_then_mrr() -> None:
    names = ["mrr", "ndcg@100", "hr@100", "ndcg@10", "hr@10", "ndcg@5", "hr@5"]
    expected = ["hr@5", "ndcg@5", "hr@10", "ndcg@10", "hr@100", "ndcg@100", "mrr"]
    assert sorted(names, key=metric_order) == expected
