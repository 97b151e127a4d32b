"""`seqrec reproduce` and `seqrec report` on the synthetic data with the quick budget."""

import os
import signal
import subprocess
import sys
import time
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


def test_sigterm_to_reproduce_stops_its_run() -> None:
    """A run started by reproduce does not outlive it: SIGTERM to the parent ends the child."""
    script = (
        "import sys\n"
        "from seqrec.reproduce import run_child\n"
        "sleeper = [sys.executable, '-c', 'import os, time; print(os.getpid(), flush=True); time.sleep(60)']\n"
        "run_child(sleeper, {})\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": src}
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=20) == 143
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the parent waited on it, so it is reaped, not a zombie
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child_pid, signal.SIGKILL)
        raise AssertionError(f"the run (pid {child_pid}) outlived its reproduce process")
