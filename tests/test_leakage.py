"""What leave-one-out costs on timed data: the leakage figure and the targets that tie order decides,
by hand on tiny cases, and in metrics.json of timed data only."""

import json
from pathlib import Path

import numpy as np
import pytest

from seqrec.cli import main
from seqrec.data.interactions import Interactions
from seqrec.data.split import leave_one_out
from seqrec.data.temporal import targets_before_latest_training, targets_sharing_time


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


def test_targets_sharing_time_by_hand() -> None:
    # user 1: a@1 b@2 | c@2 (valid, ties b before it) | d@3 (test, alone)
    # user 2: e@4 f@5 | g@6 (valid, ties h after it)  | h@6 (test, ties g before it)
    # user 3: i@7 j@8 | k@9 (valid)                    | l@10 (test)
    # user 4: m@1 n@1 (2 items: nothing held out, its tie counts nowhere)
    # valid: c and g tied -> 2 of 3; test: h tied -> 1 of 3
    users = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4]
    items = list("abcdefghijklmn")
    times = [1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 1, 1]
    data = Interactions.from_arrays(np.array(users), np.array(items), np.array(times))
    assert targets_sharing_time(leave_one_out(data)) == {
        "valid": {"targets": 3, "tied": 2, "share": 2 / 3},
        "test": {"targets": 3, "tied": 1, "share": 1 / 3},
    }
    with pytest.raises(ValueError, match="no timestamps"):
        targets_sharing_time(leave_one_out(Interactions.from_arrays(np.array([1, 1, 1]), np.array([1, 2, 3]))))


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
    timed = _run(tmp_path, "timed", True)
    assert timed["leakage"] == {"test_targets_before_latest_training": 0.95}
    # every user's times (100 k + u) are distinct: no target depends on tie order
    untied = {"targets": 20, "tied": 0, "share": 0.0}
    assert timed["targets_sharing_time"] == {"valid": untied, "test": untied}
    untimed = _run(tmp_path, "untimed", False)
    assert "leakage" not in untimed and "targets_sharing_time" not in untimed
