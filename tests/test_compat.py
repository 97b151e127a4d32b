"""Files written by seqrec 0.1.0 (before the objectives/estimator/runs layout) still load and resume.

``tests/fixtures`` holds a model file, its recommendations, and a run directory killed after
epoch 1 of 2 (config.toml, log.jsonl, checkpoint.pt) with the metrics the uninterrupted run
reported, all written by seqrec 0.1.0 on the tiny table ``tiny.csv``.
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import seqrec
from seqrec.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def test_model_file_of_0_1_0_loads_and_recommends_the_same() -> None:
    model = seqrec.load(FIXTURES / "model-v0.1.0.pt")
    expected = pd.read_csv(FIXTURES / "model-v0.1.0-recs.csv")
    got = model.recommend([0, 5], k=3)
    assert got["user_id"].tolist() == expected["user_id"].tolist()
    assert got["item_id"].tolist() == expected["item_id"].tolist()
    assert got["score"].tolist() == pytest.approx(expected["score"].tolist(), abs=1e-5)


def test_checkpoint_of_0_1_0_resumes_to_the_uninterrupted_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the run's config names its data relative to the repository root
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "run-v0.1.0", run)
    assert main(["train", "--resume", str(run)]) == 0
    keys = ("valid", "test", "best_epoch", "epochs")
    got = json.loads((run / "metrics.json").read_text())
    expected = json.loads((run / "metrics-uninterrupted.json").read_text())
    assert {k: got[k] for k in keys} == {k: expected[k] for k in keys}
