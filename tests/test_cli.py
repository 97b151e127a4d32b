"""`seqrec train` end to end on tiny data, and its handling of bad input."""

import json
from pathlib import Path

import pytest
import torch

from seqrec.cli import main
from seqrec.config import load_config
from seqrec.data.loading import load_data
from seqrec.data.split import leave_one_out
from seqrec.evaluation import evaluate
from seqrec.models import build_model
from seqrec.training import validation_subset

TINY = [
    "--set",
    "train.max_epochs=3",
    "--set",
    "train.lr=0.005",
    "--set",
    "train.batch_size=64",
    "--set",
    "model.hidden=16",
    "--set",
    "model.max_length=20",
    "--set",
    "eval.valid_users=200",
]


def test_train_writes_a_complete_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", *TINY, "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"config.toml", "log.jsonl", "metrics.json", "best.pt", "per_user.npz"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"hr@10", "ndcg@10", "hr@100", "ndcg@100", "mrr"}
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == [1, 2, 3]
    assert metrics["best_epoch"] == max(log, key=lambda r: r["valid"]["ndcg@10"])["epoch"]

    # the checkpoint holds the best epoch's weights: re-scoring it reproduces the logged validation
    config = load_config(out / "config.toml")
    data = load_data(config.data)
    model = build_model(config.model, data.n_items)
    model.load_state_dict(torch.load(out / "best.pt", weights_only=True))
    valid = validation_subset(leave_one_out(data).valid, config.eval.valid_users, config.train.seed)
    again = evaluate(model, data, valid, config.eval.ks)
    assert again == pytest.approx(metrics["valid"])


def test_a_sequential_model_beats_popularity_on_synthetic_data(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", *TINY, "--set", "train.max_epochs=8", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["ndcg@10"] > 1.5 * metrics["popularity_test"]["ndcg@10"]


def test_config_typo_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[train]\nepochs = 3\n")
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: unknown key train.epochs" in err and "Traceback" not in err
    assert not out.exists()


def test_malformed_data_file_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "pairs.txt"
    data.write_text("1 1\n1 2\n1 x\n")
    out = tmp_path / "run"
    assert main(["train", "--set", f'data.path="{data}"', "--set", "data.format=pairs", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pairs.txt" in err and "line 3" in err
    assert not out.exists()


def test_unknown_loss_fails_before_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["train", *TINY, "--set", "train.loss=softmax", "--out", str(out)]) == 2
    assert "unknown loss 'softmax'" in capsys.readouterr().err
    assert not out.exists()
