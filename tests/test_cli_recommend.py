"""``seqrec recommend`` and ``seqrec evaluate`` on a tiny run trained through ``seqrec train``."""

import json
from pathlib import Path

import pandas as pd
import pytest

from seqrec.cli import main
from seqrec.data.synthetic import synthetic_interactions
from seqrec.runs import load_run

TRAIN = [
    "data.dataset=synthetic",
    "train.max_epochs=2",
    "model.hidden=16",
    "model.max_length=20",
    "eval.valid_users=300",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    argv = ["train", "--out", str(out)]
    for override in TRAIN:
        argv += ["--set", override]
    assert main(argv) == 0
    return out


def test_evaluate_reproduces_metrics_json(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run)]) == 0
    printed = json.loads(capsys.readouterr().out)
    recorded = json.loads((run / "metrics.json").read_text())
    assert printed["test"] == recorded["test"]  # exactly: same weights, users and batches
    assert printed["valid"] == recorded["valid"]
    assert printed["popularity_test"] == recorded["popularity_test"]


def test_recommend_all_users_csv(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(run), "--users", "all", "--k", "5", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    data = synthetic_interactions()
    assert list(table.columns) == ["user", "item", "score", "rank"]
    assert len(table) == 5 * data.n_users and table["rank"].tolist() == [1, 2, 3, 4, 5] * data.n_users
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recs.csv"]  # no temporary file left
    first = table[table["user"] == 0]["item"]  # raw ids; the user's whole history is filtered out
    assert not set(first) & set(data.item_ids[data.sequence(0)].tolist())


def test_recommend_users_file_parquet_keep_seen_and_saved_model(run: Path, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("7\n3\n\n")
    by_dir = tmp_path / "by_dir.parquet"
    assert main(["recommend", "--model", str(run), "--users", str(users), "--out", str(by_dir), "--keep-seen"]) == 0
    table = pd.read_parquet(by_dir)
    assert table["user"].tolist() == [7] * 10 + [3] * 10

    saved = load_run(run).save(tmp_path / "model.pt")
    users_csv = tmp_path / "users.csv"
    users_csv.write_text("user_id,other\n7,a\n3,b\n")
    by_file = tmp_path / "by_file.parquet"
    argv = ["recommend", "--model", str(saved), "--users", str(users_csv), "--out", str(by_file), "--keep-seen"]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(by_file), table)


def test_recommend_unknown_users(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users.txt"
    users.write_text("3\nnobody\n")
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(run), "--users", str(users), "--out", str(out)]) == 2
    assert "unknown user id(s): 'nobody'" in capsys.readouterr().err
    assert not out.exists()
    argv = ["recommend", "--model", str(run), "--users", str(users), "--out", str(out), "--on-unknown", "popular"]
    assert main(argv) == 0
    assert pd.read_csv(out)["user"].tolist() == ["3"] * 10 + ["nobody"] * 10


def test_recommend_bad_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    assert main(["recommend", "--model", str(bad), "--out", str(tmp_path / "x.csv")]) == 2
    assert f"{bad}: not a readable seqrec model file" in capsys.readouterr().err
