"""Leave-one-out split on hand-built histories."""

import numpy as np

from seqrec.data.interactions import Interactions
from seqrec.data.split import leave_one_out


def _data() -> Interactions:
    # user 10: a b c d e (5 items); user 20: f g (2 items); user 30: h i j (3 items)
    users = [10] * 5 + [20] * 2 + [30] * 3
    items = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    return Interactions.from_arrays(np.array(users), np.array(items))


def _raw(data: Interactions, internal: np.ndarray) -> list[str]:
    return [str(x) for x in data.item_ids[internal]]


def test_timeline() -> None:
    data = _data()
    split = leave_one_out(data)
    starts, ends = split.train_offsets
    # training: a b c | f g (user with 2 items keeps both) | h
    assert _raw(data, data.items[starts[0] : ends[0]]) == ["a", "b", "c"]
    assert _raw(data, data.items[starts[1] : ends[1]]) == ["f", "g"]
    assert _raw(data, data.items[starts[2] : ends[2]]) == ["h"]
    # only users with >= 3 items are evaluated
    assert data.user_ids[split.valid.users].tolist() == [10, 30]
    assert _raw(data, split.valid.targets) == ["d", "i"]
    assert _raw(data, split.test.targets) == ["e", "j"]

    # the validation input ends before its target; the test input includes the validation item
    def inputs(users: np.ndarray, ends: np.ndarray) -> list[list[str]]:
        return [_raw(data, data.items[data.offsets[u] : e]) for u, e in zip(users, ends, strict=True)]

    valid_inputs = inputs(split.valid.users, split.valid.history_end)
    test_inputs = inputs(split.test.users, split.test.history_end)
    assert valid_inputs == [["a", "b", "c"], ["h"]]
    assert test_inputs == [["a", "b", "c", "d"], ["h", "i"]]


def test_validation_target_is_never_a_training_item() -> None:
    split = leave_one_out(_data())
    starts, ends = split.train_offsets
    for user, target in zip(split.valid.users, split.valid.targets, strict=False):
        assert target not in split.data.items[starts[user] : ends[user]]


def test_splits_are_chosen_by_name() -> None:
    import pytest

    from seqrec.config import Config, ConfigError, EvalConfig
    from seqrec.data.split import SPLITS, make_split
    from seqrec.validation import check_config

    data = Interactions.from_arrays(np.array([0, 0, 0, 1, 1]), np.array([1, 2, 3, 1, 2]))
    split = make_split("leave_one_out", data, EvalConfig())
    assert split.test is not None and split.test.targets.tolist() == [3]  # user 0: 1 2 | 3 held out
    assert sorted(SPLITS) == ["leave_one_out", "temporal"]
    with pytest.raises(ValueError, match="unknown split 'random'; known: leave_one_out, temporal"):
        make_split("random", data, EvalConfig())
    config = Config()
    config.eval.split = "random"
    with pytest.raises(ConfigError, match="eval.split 'random' is not a split; known: leave_one_out, temporal"):
        check_config(config)
