"""Global temporal split on hand-built timed histories, its bad input, and runs on real files."""

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from seqrec.cli import main
from seqrec.config import Config, ConfigError, EvalConfig
from seqrec.data.interactions import DataError, Interactions
from seqrec.data.split import EvalSet, Split, make_split, temporal
from seqrec.validation import check_config

DATA_DIR = Path("/work/shared/data")


def _data() -> Interactions:
    # Cuts used below: valid cut 50, test cut 80 (as timestamps; as quantiles 0.3 and 0.6).
    # All 14 times sorted: 10 15 20 30 50 55 60 70 80 82 85 88 90 95; numpy's "higher"
    # quantile picks index ceil(q * 13): q=0.3 -> 3.9 -> 4 -> 50, q=0.6 -> 7.8 -> 8 -> 80.
    #   user 1: a@10 b@20 c@30 | d@50 e@60 | f@80 g@90
    #   user 2: h@15           |           | i@85
    #   user 3:                | j@55 k@70 | l@95      (no history before the valid cut)
    #   user 4:                |           | m@82 n@88 (no history before either cut)
    rows = [
        (1, "a", 10), (1, "b", 20), (1, "c", 30), (1, "d", 50), (1, "e", 60), (1, "f", 80), (1, "g", 90),
        (2, "h", 15), (2, "i", 85), (3, "j", 55), (3, "k", 70), (3, "l", 95), (4, "m", 82), (4, "n", 88),
    ]  # fmt: skip
    rows = rows[::-1]  # input order is not time order: from_arrays sorts each user by time
    users, items, times = zip(*rows, strict=True)
    return Interactions.from_arrays(np.array(users), np.array(items), np.array(times))


def _split(data: Interactions, valid_from: float = 50, test_from: float = 80, targets: str = "first") -> Split:
    return temporal(data, EvalConfig(split="temporal", valid_from=valid_from, test_from=test_from, targets=targets))


def _rows(data: Interactions, eval_set: EvalSet | None) -> list[tuple[int, str, str]]:
    """(raw user, input items, target) per row."""
    assert eval_set is not None
    out = []
    for user, end, target in zip(eval_set.users, eval_set.history_end, eval_set.targets, strict=True):
        history = "".join(str(x) for x in data.item_ids[data.items[data.offsets[user] : end]])
        out.append((int(data.user_ids[user]), history, str(data.item_ids[target])))
    return out


def _training(split: Split) -> dict[int, str]:
    data, (starts, ends) = split.data, split.train_offsets
    ranges = {int(data.user_ids[u]): data.items[starts[u] : ends[u]] for u in range(data.n_users)}
    return {user: "".join(str(x) for x in data.item_ids[items]) for user, items in ranges.items()}


def test_timestamps_are_kept_in_sequence_order_through_filters() -> None:
    data = _data()
    assert data.timestamps is not None
    assert data.timestamps.tolist() == [10, 20, 30, 50, 60, 80, 90, 15, 85, 55, 70, 95, 82, 88]
    filtered = Interactions.from_arrays(
        np.array([1, 1, 1, 2]), np.array(["x", "y", "x", "z"]), np.array([3, 1, 2, 9]), min_user_interactions=2
    )  # user 2 (one item) is dropped; user 1 sorted by time: y@1 x@2 x@3
    assert filtered.timestamps is not None and filtered.timestamps.tolist() == [1, 2, 3]
    assert Interactions.from_arrays(np.array([1, 1]), np.array([1, 2])).timestamps is None


def test_first_targets() -> None:
    data = _data()
    split = _split(data)
    assert _training(split) == {1: "abc", 2: "h", 3: "", 4: ""}
    assert _rows(data, split.valid) == [(1, "abc", "d")]
    # validation-period items are test history; user 3 has only them; user 4 has none: left out
    assert _rows(data, split.test) == [(1, "abcde", "f"), (2, "h", "i"), (3, "jk", "l")]


def test_all_targets() -> None:
    data = _data()
    split = _split(data, targets="all")
    assert _training(split) == {1: "abc", 2: "h", 3: "", 4: ""}
    assert _rows(data, split.valid) == [(1, "abc", "d"), (1, "abcd", "e")]
    assert _rows(data, split.test) == [(1, "abcde", "f"), (1, "abcdef", "g"), (2, "h", "i"), (3, "jk", "l")]


def test_quantile_cuts_equal_the_timestamp_cuts() -> None:
    data = _data()
    by_time, by_quantile = _split(data, 50, 80, "all"), _split(data, 0.3, 0.6, "all")
    assert np.array_equal(by_time.train_end, by_quantile.train_end)
    assert _rows(data, by_time.valid) == _rows(data, by_quantile.valid)
    assert _rows(data, by_time.test) == _rows(data, by_quantile.test)
    # a mixed pair (quantile valid cut, timestamp test cut) works too
    assert _rows(data, _split(data, 0.3, 80, "all").test) == _rows(data, by_time.test)


@pytest.mark.parametrize(
    ("valid_from", "test_from", "message"),
    [
        (5, 80, r"eval.valid_from cuts at 5, at or before the earliest interaction \(10\): no training data"),
        (50, 100, r"eval.test_from cuts at 100, after the latest interaction \(95\): no test targets"),
        (0.9, 80, r"eval.valid_from \(cut at 90\) is not before eval.test_from \(cut at 80\)"),
        (71, 79, r"eval.valid_from: no user has interactions both before and at or after this cut"),
    ],
)
def test_cuts_that_leave_nothing_fail_naming_the_key(valid_from: float, test_from: float, message: str) -> None:
    with pytest.raises(DataError, match=message):
        _split(_data(), valid_from, test_from)


def test_data_without_timestamps_fails_naming_the_source() -> None:
    data = Interactions.from_arrays(np.array([1, 1, 1]), np.array([1, 2, 3]))
    config = EvalConfig(split="temporal", valid_from=0.5, test_from=0.8)
    with pytest.raises(DataError, match=r"^plays.csv: eval.split = 'temporal' needs interaction timestamps"):
        make_split("temporal", data, config, "plays.csv")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"valid_from": 0.5}, "eval.test_from must be set for eval.split = 'temporal'"),
        ({"test_from": 0.9}, "eval.valid_from must be set for eval.split = 'temporal'"),
        ({"valid_from": 0.5, "test_from": 1.0}, r"eval.test_from must be a quantile in \(0, 1\) or a timestamp"),
        ({"valid_from": -0.5, "test_from": 0.9}, r"eval.valid_from must be a quantile in \(0, 1\)"),
        ({"valid_from": 0.5, "test_from": math.inf}, r"eval.test_from must be a quantile in \(0, 1\)"),
        ({"valid_from": 0.9, "test_from": 0.8}, r"eval.valid_from \(0.9\) must be before eval.test_from \(0.8\)"),
        ({"valid_from": 900.0, "test_from": 800.0}, r"eval.valid_from \(900.0\) must be before"),
        ({"valid_from": 0.5, "test_from": 0.9, "targets": "last"}, 'eval.targets must be "first" or "all"'),
        ({"split": "leave_one_out", "test_from": 0.9}, "eval.test_from is used only by eval.split = 'temporal'"),
        ({"split": "leave_one_out", "targets": "all"}, "eval.targets is used only by eval.split = 'temporal'"),
    ],
)
def test_bad_settings_fail_before_any_data(settings: dict[str, object], message: str) -> None:
    config = Config()
    config.eval.split = "temporal"
    for key, value in settings.items():
        setattr(config.eval, key, value)
    with pytest.raises(ConfigError, match=message):
        check_config(config)


def _train(tmp_path: Path, path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out = tmp_path / "run"
    args = [f"data.path={json.dumps(str(path))}", f"data.format={fmt}", "eval.split=temporal"]
    args += ["eval.test_from=0.9", "eval.valid_from=0.8", "train.max_epochs=1", "train.threads=1"]
    args += ["model.hidden=8", "model.max_length=20", "train.batch_size=256", "eval.batch_size=512"]
    code = main(["train", *[a for arg in args for a in ("--set", arg)], "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    return dict(json.loads((out / "metrics.json").read_text()))


@pytest.mark.parametrize(("name", "fmt"), [("ml-100k.data", "udata"), ("ml-1m-ratings-part.dat.gz", "grouplens")])
def test_temporal_run_on_real_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, fmt: str) -> None:
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"{path} not present")
    started = time.perf_counter()
    metrics = _train(tmp_path, path, fmt, capsys)
    test = metrics["test"]
    assert isinstance(test, dict) and test and all(math.isfinite(v) for v in test.values())
    # training ends at the valid cut, before every test target
    assert metrics["leakage"] == {"test_targets_before_latest_training": 0.0}
    assert time.perf_counter() - started < 60
