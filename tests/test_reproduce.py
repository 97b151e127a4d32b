"""`seqrec reproduce` and `seqrec report` on the synthetic data with the quick budget."""

from pathlib import Path

import pytest

from seqrec.cli import main
from seqrec.report import find_runs, summarise


def test_quick_reproduction_skips_finished_runs_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "repro"
    args = ["reproduce", "--quick", "--models", "sasrec-bce,sasrec-ce", "--max-epochs", "2", "--out", str(out)]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| synthetic | SASRec |" in table and "| synthetic | SASRec+ |" in table
    assert "QUICK demo budget; stopped at max epochs (2), not converged" in table
    for name in ("results.md", "results.csv", "reproduce.json"):
        assert (out / name).exists()
    assert (out / "sasrec-ce" / "metrics.json").exists()

    # a second call skips both finished runs and gives the same table
    assert main(args) == 0
    again = capsys.readouterr().out
    assert again.count("[skip]") == 2
    assert again.split("\n| dataset")[1] == table.split("\n| dataset")[1]

    # the report rebuilt from the run directories alone agrees
    rows = summarise(find_runs([out]), quick=True)
    assert [r["model"] for r in rows] == ["SASRec", "SASRec+"]
    assert main(["report", str(out), "--quick"]) == 0
    assert (out / "results.md").read_text().endswith(capsys.readouterr().out.rstrip("\n") + "\n")


def test_finished_run_with_another_config_is_not_reused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "repro"
    base = ["reproduce", "--quick", "--models", "sasrec-bce", "--out", str(out)]
    assert main([*base, "--max-epochs", "1"]) == 0
    capsys.readouterr()
    assert main([*base, "--max-epochs", "2"]) == 2
    assert "holds a run with a different config" in capsys.readouterr().err


def test_unknown_model_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--models", "gru4rec"]) == 2
    assert "unknown model(s) ['gru4rec']" in capsys.readouterr().err
