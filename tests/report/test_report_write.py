"""write_report writes results.md and results.csv atomically, for runs at any ks."""

from collections.abc import Callable
from pathlib import Path

from seqrec.report import find_runs, write_report

MakeRun = Callable[..., Path]  # the make_run fixture of conftest.py


def test_write_report_leaves_no_temporary_files(make_run: MakeRun, tmp_path: Path) -> None:
    make_run("sasrec-ce", ks=[10])
    out = tmp_path / "report"
    table = write_report(find_runs([tmp_path / "runs"]), out, title="fake")
    assert (out / "results.md").read_text(encoding="utf-8") == "# fake\n\n" + table
    assert (
        (out / "results.csv")
        .read_text(encoding="utf-8")
        .startswith("dataset,model,key,hr@10,hr@10 std,ndcg@10,ndcg@10 std,mrr,mrr std,")
    )
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_write_report_replaces_an_earlier_report(make_run: MakeRun, tmp_path: Path) -> None:
    make_run("sasrec-ce", ks=[10])
    out = tmp_path / "report"
    out.mkdir()
    (out / "results.md").write_text("old and much longer than the new report " * 100, encoding="utf-8")
    table = write_report(find_runs([tmp_path / "runs"]), out)
    assert (out / "results.md").read_text(encoding="utf-8") == table
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".png") == ["results.csv", "results.md"]
