"""The leave-one-out leakage figure: by hand on a tiny case, and in metrics.json of timed data only."""

import json
from pathlib import Path

import numpy as np
import pytest

from seqrec.cli import main
from seqrec.data.interactions import Interactions
from seqrec.data.split import leave_one_out
from seqrec.data.temporal import targets_before_latest_training


def test_share_by_hand() -> None:
    # user 1: a@1 b@2 | c@3 (valid) | d@10 (test)
    # user 2: e@4     | f@5 (valid) | g@6  (test)
    # user 3: h@7 i@8 (2 items: all training)
    # latest training interaction: i@8; test targets d@10 (after) and g@6 (before) -> share 1/2
    users = [1, 1, 1, 1, 2, 2, 2, 3, 3]
    items = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    times = [1, 2, 3, 10, 4, 5, 6, 7, 8]
    data = Interactions.from_arrays(np.array(users), np.array(items), np.array(times))
    assert targets_before_latest_training(leave_one_out(data)) == 0.5


def test_share_needs_timestamps() -> None:
    data = Interactions.from_arrays(np.array([1, 1, 1]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="no timestamps"):
        targets_before_latest_training(leave_one_out(data))


def _run(tmp_path: Path, name: str, timed: bool) -> dict[str, object]:
    # 20 users x 6 items; user u's k-th item at time 100 * k + u, user 19 1000 later: its training
    # items (k <= 3, up to 1319) are later than the test targets (k = 5) of users 0..18 (500 + u),
    # not than its own (1519): share 19 / 20
    csv = tmp_path / "plays.csv"
    rows = [f"{u},{(u + k) % 15},{100 * k + u + 1000 * (u == 19)}" for u in range(20) for k in range(6)]
    csv.write_text("user_id,item_id,ts\n" + "\n".join(rows) + "\n")
    out = tmp_path / name
    settings = [f"data.path={json.dumps(str(csv))}", "data.format=table", "train.max_epochs=1", "train.threads=1"]
    settings += ["model.hidden=8", "model.max_length=20"] + (['data.timestamp_col="ts"'] if timed else [])
    assert main(["train", *[a for s in settings for a in ("--set", s)], "--out", str(out)]) == 0
    return dict(json.loads((out / "metrics.json").read_text()))


def test_metrics_json_has_leakage_only_with_timestamps(tmp_path: Path) -> None:
    assert _run(tmp_path, "timed", True)["leakage"] == {"test_targets_before_latest_training": 0.95}
    assert "leakage" not in _run(tmp_path, "untimed", False)
