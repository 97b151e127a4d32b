"""One run per directory: the lock, earlier runs, unfinished runs, a directory failing mid-run, OS errors.

Every refusal is one ``seqrec: error:`` line with exit code 2 (``clean_error``) and leaves the
directory as it was.
"""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_bad_input import TINY, clean_error, sets

import seqrec.io
from seqrec.checkpoint import load_checkpoint
from seqrec.cli import main
from seqrec.run_lock import RunDirError, RunLock
from seqrec.runs import load_run

SYNTHETIC = sets(*TINY)


def train(out: Path, *extra: str) -> int:
    return main(["train", "--out", str(out), *SYNTHETIC, *extra])


def write_lock(run: Path, pid: int) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / ".lock").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("lock") / "run"
    assert train(run) == 0
    return run


@pytest.fixture
def live_child() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


# ---------------------------------------------------------------- the lock


def test_run_into_a_directory_locked_by_a_live_process_is_refused(
    tmp_path: Path, live_child: int, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    write_lock(out, live_child)
    rc = train(out)
    clean_error(capsys, rc, f"{out} is in use by another seqrec train (pid {live_child} on ", out=out)
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing written, the lock kept
    assert json.loads((out / ".lock").read_text())["pid"] == live_child


def test_run_into_a_directory_locked_by_this_process_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    with RunLock(out):
        clean_error(capsys, train(out), f"pid {os.getpid()} on ", out=out)
        with pytest.raises(RunDirError, match="in use"):
            RunLock(out).acquire()
    assert not (out / ".lock").exists()
    assert train(out) == 0  # released: the directory is free again


def test_stale_lock_is_replaced_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "run"
    write_lock(out, gone.pid)
    assert train(out) == 0
    err = capsys.readouterr().err
    assert f"replacing the stale lock {out / '.lock'} (pid {gone.pid} is no longer running)" in err
    assert sorted(p.name for p in out.iterdir()) == "best.pt config.toml log.jsonl metrics.json per_user.npz".split()


# ---------------------------------------------------------------- earlier and unfinished runs


def test_fresh_run_into_an_earlier_run_is_refused_and_overwrite_clears_it(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / "notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    rc = train(out, "--set", "train.seed=7")
    clean_error(capsys, rc, f"{out} holds an earlier run (metrics.json", "use --overwrite to clear it or another --out")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # bad input with --overwrite fails before the directory is touched: the earlier run stays
    rc = train(out, "--overwrite", "--set", 'data.path="missing.csv"')
    clean_error(capsys, rc, "missing.csv")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    (out / "metrics.json").unlink()  # an earlier run stopped early is refused too (its best.pt is stale)
    clean_error(capsys, train(out, "--set", "train.seed=7"), "holds an earlier run (config.toml")

    assert train(out, "--set", "train.seed=7", "--overwrite") == 0
    assert (out / "notes.txt").read_text() == "mine"  # only seqrec's own files are removed
    assert "seed = 7" in (out / "config.toml").read_text()
    assert len((out / "log.jsonl").read_text().splitlines()) == 1


def test_unfinished_run_is_refused_unless_allowed(
    finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "metrics.json").unlink()
    capsys.readouterr()
    recs = tmp_path / "recs.csv"
    rc = main(["recommend", "--model", str(run), "--out", str(recs)])
    clean_error(capsys, rc, f"{run}: the run has not finished (no metrics.json", "--allow-unfinished")
    clean_error(capsys, main(["evaluate", "--model", str(run)]), "the run has not finished")
    with pytest.raises(RunDirError, match="has not finished"):
        load_run(run)
    assert not recs.exists()
    assert main(["recommend", "--model", str(run), "--out", str(recs), "--allow-unfinished"]) == 0
    assert main(["evaluate", "--model", str(run), "--allow-unfinished"]) == 0
    assert load_run(run, allow_unfinished=True).config.model.hidden == 8


# ---------------------------------------------------------------- a directory that fails mid-run

FAULT_ARGS = sets(*TINY[1:], "train.max_epochs=4", "train.patience=100", "train.lr=0.005")


def _metrics(out: Path) -> dict:
    metrics = json.loads((out / "metrics.json").read_text())
    return {k: metrics[k] for k in ("valid", "test", "best_epoch", "epochs")}


def _fail_third_checkpoint(monkeypatch: pytest.MonkeyPatch, out: Path, how: str) -> None:
    """The 3rd checkpoint write fails: ENOSPC after a partial write, or the directory turned read-only."""
    real: Callable[[Path, Callable[[Path], None]], None] = seqrec.io.replace_atomic
    count = 0

    def replace(path: Path, write: Callable[[Path], None]) -> None:
        nonlocal count
        count += path.name == "checkpoint.pt"
        if count == 3 and path.name == "checkpoint.pt":
            if how == "read-only":
                out.chmod(0o555)
            else:

                def write(tmp: Path) -> None:
                    tmp.write_bytes(b"partial")
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

        real(path, write)

    monkeypatch.setattr(seqrec.io, "replace_atomic", replace)


@pytest.mark.parametrize("how", ["disk-full", "read-only"])
def test_directory_failing_mid_run_keeps_the_last_checkpoint_and_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    if how == "read-only" and os.geteuid() == 0:
        pytest.skip("root writes into read-only directories; the disk-full case covers this")
    reference = tmp_path / "reference"
    assert main(["train", *FAULT_ARGS, "--out", str(reference)]) == 0

    out = tmp_path / "run"
    _fail_third_checkpoint(monkeypatch, out, how)
    capsys.readouterr()
    rc = main(["train", *FAULT_ARGS, "--out", str(out)])
    out.chmod(0o755)
    monkeypatch.undo()
    clean_error(capsys, rc, str(out), "No space left on device" if how == "disk-full" else "Permission denied", out=out)
    state = load_checkpoint(out / "checkpoint.pt")  # the last good one, whole
    assert [row["epoch"] for row in state.history] == [1, 2]
    assert not list(out.glob("*.tmp"))
    if how == "disk-full":
        assert not (out / ".lock").exists()

    assert main(["train", "--resume", str(out)]) == 0
    assert _metrics(out) == _metrics(reference)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2, 3, 4]
    assert not (out / ".lock").exists() and not (out / "checkpoint.pt").exists()


# ---------------------------------------------------------------- file-system errors: one line


def test_out_that_is_a_file_or_below_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    clean_error(capsys, train(file), f"{file}: exists and is not a directory")
    clean_error(capsys, train(file / "run"), f"{file / 'run'}: Not a directory")
    assert file.read_text() == "x"


def test_config_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["train", "--config", str(tmp_path), "--out", str(tmp_path / "run")])
    clean_error(capsys, rc, f"{tmp_path}: Is a directory")
    assert not (tmp_path / "run").exists()


def test_recommend_out_that_is_a_directory(finished: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["recommend", "--model", str(finished), "--out", str(tmp_path)])
    clean_error(capsys, rc, f"{tmp_path}: is a directory; --out names the file to write")


def test_read_only_out_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    if os.geteuid() == 0:  # root ignores the mode bits: refuse the lock file as a read-only directory would
        real_open = os.open

        def open_(path: str | Path, flags: int, mode: int = 0o777, **kwargs: object) -> int:
            if str(path).endswith(".lock"):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, mode)

        monkeypatch.setattr(os, "open", open_)
    out.chmod(0o555)
    try:
        rc = train(out)
    finally:
        out.chmod(0o755)
    clean_error(capsys, rc, f"{out / '.lock'}: Permission denied", out=out)
    assert list(out.iterdir()) == []


def test_out_of_memory_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_memory(*args: object) -> None:
        raise MemoryError

    monkeypatch.setattr("seqrec.runs.load_data", no_memory)
    clean_error(capsys, train(tmp_path / "run"), "out of memory")
    assert not (tmp_path / "run").exists()


def test_reproduce_restarts_its_own_run_stopped_before_the_first_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # config.toml and an empty log, no checkpoint: the plan's own run, restarted with --overwrite
    from seqrec.config import load_config, to_toml
    from seqrec.reproduce import execute, plan_runs

    (plan,) = plan_runs("synthetic", tmp_path, ["sasrec-ce"], 1, 1, True)
    plan.overrides += ["model.hidden=8", "model.max_length=10", "eval.valid_users=100"]
    plan.out.mkdir(parents=True)
    (plan.out / "config.toml").write_text(to_toml(load_config(plan.config_path, plan.overrides)))
    (plan.out / "log.jsonl").write_text("")
    assert execute(plan) == 0
    assert "[restart]" in capsys.readouterr().out
    assert (plan.out / "metrics.json").exists() and not (plan.out / ".lock").exists()
