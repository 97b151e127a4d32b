"""Whole-catalog evaluation with a scorer whose scores are fixed by hand."""

import numpy as np
import pytest
import torch

from seqrec.data.interactions import Interactions
from seqrec.data.split import leave_one_out
from seqrec.evaluation import Popularity, evaluate


class FixedScores:
    """Scores every item by a fixed vector, whatever the history."""

    max_length = 5

    def __init__(self, scores: list[float]) -> None:
        self.scores = torch.tensor(scores)

    def score_next(self, history: torch.Tensor) -> torch.Tensor:
        return self.scores.expand(history.shape[0], -1)


def _data() -> Interactions:
    # user 0: items 1 2 3 4 (test target 4, history 1 2 3); user 1: items 5 6 2 (test target 2, history 5 6)
    users = np.array([0, 0, 0, 0, 1, 1, 1])
    items = np.array([1, 2, 3, 4, 5, 6, 2])
    return Interactions.from_arrays(users, items)


def test_seen_items_are_removed_before_ranking() -> None:
    split = leave_one_out(_data())
    # scores by item id 0..6: the history items 1, 2, 3 (user 0) score highest
    scorer = FixedScores([0.0, 9.0, 8.0, 7.0, 1.0, 6.0, 5.0])
    # user 0, filtered: candidates 4 (1.0), 5 (6.0), 6 (5.0) -> target 4 rank 2 -> hr@1 0, hr@3 1, ndcg@3 1/log2(4)=0.5
    # user 1, filtered (history 5, 6): candidates 1 (9), 2 (8), 3 (7), 4 (1) -> target 2 rank 1 -> ndcg@3 1/log2(3)
    m = evaluate(scorer, split.data, split.test, ks=[1, 3])
    assert m["hr@1"] == 0.0
    assert m["hr@3"] == 1.0
    assert m["ndcg@3"] == pytest.approx((0.5 + 1 / np.log2(3)) / 2)
    assert m["mrr"] == pytest.approx((1 / 3 + 1 / 2) / 2)


def test_keeping_seen_items() -> None:
    split = leave_one_out(_data())
    scorer = FixedScores([0.0, 9.0, 8.0, 7.0, 1.0, 6.0, 5.0])
    # unfiltered: user 0 target 4 is last of 6 -> rank 5; user 1 target 2 behind item 1 -> rank 1
    m = evaluate(scorer, split.data, split.test, ks=[3], filter_seen=False)
    assert m["mrr"] == pytest.approx((1 / 6 + 1 / 2) / 2)
    assert m["hr@3"] == 0.5


def test_validation_uses_history_before_its_target() -> None:
    split = leave_one_out(_data())
    scorer = FixedScores([0.0, 9.0, 8.0, 7.0, 1.0, 6.0, 5.0])
    # user 0: target 3, history 1 2 -> candidates 3 (7), 4 (1), 5 (6), 6 (5) -> rank 0
    # user 1: target 6, history 5 -> candidates 1 (9), 2 (8), 3 (7), 4 (1), 6 (5) -> rank 3
    m = evaluate(scorer, split.data, split.valid, ks=[1])
    assert m["hr@1"] == 0.5 and m["mrr"] == pytest.approx((1 + 1 / 4) / 2)


def test_popularity_counts_training_items_only() -> None:
    split = leave_one_out(_data())
    starts, ends = split.train_offsets
    popularity = Popularity.fit(split.data.items, starts, ends, split.data.n_items)
    # training ranges: user 0 -> 1 2; user 1 -> 5
    assert popularity.counts.tolist() == [0, 1, 1, 0, 0, 1, 0]
