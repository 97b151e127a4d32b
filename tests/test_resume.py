"""A run killed with SIGKILL and resumed ends with exactly the metrics of an uninterrupted run."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import write_interrupted_state

from seqrec.cli import main

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--set",
    "train.max_epochs=6",
    "--set",
    "train.patience=100",
    "--set",
    "train.lr=0.005",
    "--set",
    "train.batch_size=64",
    "--set",
    "train.threads=1",
    "--set",
    "train.loss=sampled_ce",
    "--set",
    "train.negatives=50",
    "--set",
    "model.hidden=16",
    "--set",
    "model.max_length=20",
]


def _train_process(out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "seqrec", "train", *ARGS, "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _metrics(out: Path) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: metrics[k] for k in ("valid", "test", "best_epoch", "epochs")}


def test_killed_and_resumed_run_matches_uninterrupted(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert main(["train", *ARGS, "--out", str(reference)]) == 0

    interrupted = tmp_path / "interrupted"
    process = _train_process(interrupted)
    # wait for the first epoch's checkpoint, then kill at a random moment of a later epoch
    deadline = time.monotonic() + 120
    while not (interrupted / "checkpoint.pt").exists():
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(random.Random(os.getpid()).uniform(0.0, 0.4))  # an epoch here takes about 0.2 s
    if process.poll() is not None:
        pytest.skip("the run finished before it could be killed (machine too fast for this test)")
    process.send_signal(signal.SIGKILL)
    process.wait()
    if (interrupted / "metrics.json").exists():  # the kill landed after the run's last write
        pytest.skip("the run finished before it could be killed (machine too fast for this test)")

    assert main(["train", "--resume", str(interrupted)]) == 0
    assert _metrics(interrupted) == _metrics(reference)
    log = [json.loads(line) for line in (interrupted / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2, 3, 4, 5, 6]


def test_resume_of_a_finished_run_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", *ARGS, "--set", "train.max_epochs=1", "--out", str(out)]) == 0
    before = (out / "metrics.json").read_text()
    assert main(["train", "--resume", str(out)]) == 0
    assert (out / "metrics.json").read_text() == before


def test_half_written_checkpoint_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", *ARGS, "--set", "train.max_epochs=1", "--out", str(out)]) == 0
    assert not (out / "checkpoint.pt").exists()  # a finished run keeps best.pt and metrics.json only
    data = write_interrupted_state(out).read_bytes()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    assert main(["train", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt: not a readable seqrec checkpoint" in err and "Traceback" not in err
