"""Beyond-accuracy metrics worked out by hand, and their place in a run's metrics.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from seqrec.beyond_accuracy import beyond_accuracy


def test_coverage_novelty_and_popularity_by_hand() -> None:
    # 5 items; training counts c = [pad, 6, 2, 1, 1, 0]: sum 10, shares .6 .2 .1 .1, item 5 counted as 1 -> .1
    counts = np.array([0, 6, 2, 1, 1, 0])
    # three users' top-2 lists; user 3 had one candidate only (slot 2 empty)
    lists = np.array([[1, 2], [1, 3], [5, 0]])
    got = beyond_accuracy(lists, counts, [1, 2])
    # @1: items 1, 1, 5 -> coverage 2/5; novelty mean(-log2 .6, -log2 .6, -log2 .1) = (0.736966*2 + 3.321928)/3
    assert got["coverage@1"] == pytest.approx(2 / 5)
    assert got["novelty@1"] == pytest.approx((2 * -math.log2(0.6) - math.log2(0.1)) / 3)
    assert got["arp@1"] == pytest.approx((6 + 6 + 0) / 3)  # raw counts, 4.0
    # @2: items 1, 2, 1, 3, 5 (the empty slot left out) -> coverage 4/5
    # novelty mean(.736966, 2.321928, .736966, 3.321928, 3.321928) = 10.439716 / 5 = 2.087943
    assert got["coverage@2"] == pytest.approx(4 / 5)
    assert got["novelty@2"] == pytest.approx(2.087943, abs=1e-6)
    assert got["arp@2"] == pytest.approx((6 + 2 + 6 + 1 + 0) / 5)  # 3.0


def test_a_run_reports_them_and_evaluate_repeats_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seqrec.cli import main

    out = tmp_path / "run"
    args = [
        "train.max_epochs=1",
        "model.hidden=8",
        "model.max_length=10",
        "train.threads=1",
        "eval.ks=[5]",
        "eval.metric=ndcg@5",
    ]
    assert main(["train", *[a for s in args for a in ("--set", s)], "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["beyond_accuracy"]) == {"coverage@5", "novelty@5", "arp@5"}
    assert 0 < metrics["beyond_accuracy"]["coverage@5"] <= 1
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["beyond_accuracy"] == pytest.approx(metrics["beyond_accuracy"])
