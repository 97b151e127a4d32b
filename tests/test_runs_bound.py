"""A run directory is tied to its data: a changed file is refused, a relative path works from anywhere.

The data record (``# seqrec-data: {...}`` in config.toml) holds the absolute path, size and
sha256 of the file a run was trained on; ``recommend``, ``evaluate`` and ``train --resume``
compare the file with it and refuse a changed one unless ``--allow-changed-data``.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import write_interrupted_state
from test_bad_input import TINY, clean_error, sets

import seqrec
from seqrec.cli import main
from seqrec.fingerprint import DataChangedError, read_record
from seqrec.runs import evaluate_run, load_run


def write_csv(path: Path, users: int = 40, items: int = 30, per_user: int = 8) -> Path:
    """A small user_id,item_id table; item ids are 2-digit (10..), so swapping two keeps the file size."""
    rng = np.random.default_rng(0)
    rows = [f"{u},{10 + i}\n" for u in range(users) for i in rng.choice(items, per_user, replace=False)]
    path.write_text("user_id,item_id\n" + "".join(rows))
    return path


def train_csv(data: str | Path, out: Path, *extra: str) -> int:
    return main(["train", "--out", str(out), *sets(f'data.path="{data}"', "data.format=table", *TINY), *extra])


def swap_items(path: Path, a: str = "11", b: str = "12") -> None:
    """Exchange two item ids: same catalog, same size, other contents (every a is now b and back)."""
    lines = path.read_text().splitlines(keepends=True)
    swapped = {a: b, b: a}
    out = [line if i == 0 else _swap(line, swapped) for i, line in enumerate(lines)]
    path.write_text("".join(out))


def _swap(line: str, swapped: dict[str, str]) -> str:
    user, item = line.rstrip("\n").split(",")
    return f"{user},{swapped.get(item, item)}\n"


def recommend(run: Path, tmp_path: Path, *extra: str) -> int:
    return main(["recommend", "--model", str(run), "--out", str(tmp_path / "recs.csv"), *extra])


def test_record_holds_path_size_sha256_and_version(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv")
    run = tmp_path / "run"
    assert train_csv(data, run) == 0
    record = read_record(run / "config.toml")
    assert record == {
        "seqrec": seqrec.__version__,
        "dataset": "",
        "path": str(data.resolve()),
        "size": data.stat().st_size,
        "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
    }
    assert sorted(p.name for p in run.iterdir()) == "best.pt config.toml log.jsonl metrics.json per_user.npz".split()


def test_changed_data_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "data.csv")
    run = tmp_path / "run"
    assert train_csv(data, run) == 0
    size = data.stat().st_size
    swap_items(data)
    assert data.stat().st_size == size  # only the sha256 tells
    capsys.readouterr()

    rc = recommend(run, tmp_path)
    clean_error(capsys, rc, f"{run} was trained on {data.resolve()} (sha256 ", "the file now differs")
    clean_error(capsys, main(["evaluate", "--model", str(run)]), "--allow-changed-data")
    assert not (tmp_path / "recs.csv").exists()
    with pytest.raises(DataChangedError, match="the file now differs"):
        load_run(run)

    assert recommend(run, tmp_path, "--allow-changed-data") == 0
    assert "seqrec: warning:" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(run), "--allow-changed-data"]) == 0
    assert set(evaluate_run(run, allow_changed_data=True)) == {"valid", "test", "popularity_test", "beyond_accuracy"}


def test_resume_on_changed_data_is_refused_unless_allowed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "data.csv")
    run = tmp_path / "run"
    assert train_csv(data, run, "--set", "train.max_epochs=2") == 0
    write_interrupted_state(run)
    with data.open("a") as f:
        f.write("999,10\n")  # another size: refused without hashing
    capsys.readouterr()
    rc = main(["train", "--resume", str(run)])
    clean_error(capsys, rc, "was trained on", "bytes); the file now differs", "--allow-changed-data", out=run)
    assert (run / "checkpoint.pt").exists()
    assert main(["train", "--resume", str(run), "--allow-changed-data"]) == 0
    assert (run / "metrics.json").exists()


def test_relative_data_path_works_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    write_csv(home / "data.csv")
    run = tmp_path / "run"
    monkeypatch.chdir(home)
    assert train_csv("data.csv", run) == 0
    assert 'path = "data.csv"' in (run / "config.toml").read_text()  # kept as given
    assert read_record(run / "config.toml")["path"] == str(home / "data.csv")  # type: ignore[index]

    monkeypatch.chdir(elsewhere)  # data.csv does not exist here: the recorded absolute path is read
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["test"] == json.loads((run / "metrics.json").read_text())["test"]
    assert recommend(run, tmp_path) == 0


def test_catalog_dataset_records_the_resolved_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    steam = data_dir / "steam.txt"  # a catalog dataset without a download: "user item" pairs
    rng = np.random.default_rng(1)
    steam.write_text("".join(f"{u} {10 + i}\n" for u in range(40) for i in rng.choice(30, 8, replace=False)))
    monkeypatch.delenv("SEQREC_DATA_DIR", raising=False)
    run = tmp_path / "run"
    overrides = sets("data.dataset=steam", f'data.data_dir="{data_dir}"', *TINY)
    assert main(["train", "--out", str(run), *overrides]) == 0
    record = read_record(run / "config.toml")
    assert record is not None and record["dataset"] == "steam" and record["path"] == str(steam.resolve())
    assert record["sha256"] == hashlib.sha256(steam.read_bytes()).hexdigest()

    steam.write_text(steam.read_text().replace("0 1", "0 9", 1))
    capsys.readouterr()
    clean_error(capsys, main(["evaluate", "--model", str(run)]), "steam.txt", "the file now differs")


def test_old_run_without_a_record_still_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(tmp_path / "data.csv")
    run = tmp_path / "run"
    assert train_csv(data, run) == 0
    config = run / "config.toml"
    config.write_text("".join(line for line in config.read_text().splitlines(True) if "seqrec-data" not in line))
    assert read_record(config) is None
    swap_items(data)  # unknown, not checked: no error
    assert recommend(run, tmp_path) == 0
    assert "seqrec:" not in capsys.readouterr().err
    assert os.path.exists(tmp_path / "recs.csv")
