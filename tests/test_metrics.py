"""Metrics from ranks, with the arithmetic in comments."""

import math

import pytest
import torch

from seqrec.metrics import metrics_from_ranks, target_ranks

NEG = float("-inf")


def test_tie_counts_against_the_target() -> None:
    # column 0 is padding (-inf); item 4 (target) ties with item 2 at 0.9 -> rank 1 (0-based)
    scores = torch.tensor([[NEG, 0.5, 0.9, 0.1, 0.9]])
    ranks = target_ranks(scores, torch.tensor([4]))
    assert ranks.tolist() == [1.0]
    m = metrics_from_ranks(ranks, [1, 2])
    assert m["hr@1"].item() == 0.0
    assert m["hr@2"].item() == 1.0
    assert m["ndcg@2"].item() == pytest.approx(1 / math.log2(3))  # 0.630930
    assert m["mrr"].item() == pytest.approx(0.5)


def test_target_ranked_first() -> None:
    scores = torch.tensor([[NEG, 3.0, 1.0, 2.0]])
    m = metrics_from_ranks(target_ranks(scores, torch.tensor([1])), [1, 10])
    assert m["hr@1"].item() == 1.0 and m["ndcg@1"].item() == 1.0 and m["mrr"].item() == 1.0


def test_target_beyond_k() -> None:
    # target item 1 has the lowest of 5 real scores -> rank 4; @3 misses, MRR = 1/5
    scores = torch.tensor([[NEG, 0.0, 5.0, 4.0, 3.0, 2.0]])
    m = metrics_from_ranks(target_ranks(scores, torch.tensor([1])), [3, 5])
    assert m["hr@3"].item() == 0.0 and m["ndcg@3"].item() == 0.0
    assert m["hr@5"].item() == 1.0
    assert m["ndcg@5"].item() == pytest.approx(1 / math.log2(6))  # 0.386853
    assert m["mrr"].item() == pytest.approx(0.2)


def test_masked_target_is_a_miss_with_zero_reciprocal_rank() -> None:
    scores = torch.tensor([[NEG, NEG, 1.0]])
    m = metrics_from_ranks(target_ranks(scores, torch.tensor([1])), [10])
    assert m["hr@10"].item() == 0.0 and m["mrr"].item() == 0.0


def test_masked_items_do_not_count_ahead_of_the_target() -> None:
    # item 2 would beat the target but is masked out -> target ranks first
    scores = torch.tensor([[NEG, 1.0, NEG, 0.5]])
    assert target_ranks(scores, torch.tensor([1])).tolist() == [0.0]


def test_batch_of_users() -> None:
    scores = torch.tensor([[NEG, 1.0, 2.0, 3.0], [NEG, 3.0, 2.0, 1.0]])
    # user 0: target 1 is last of 3 -> rank 2; user 1: target 1 first -> rank 0
    ranks = target_ranks(scores, torch.tensor([1, 1]))
    assert ranks.tolist() == [2.0, 0.0]
    m = metrics_from_ranks(ranks, [2])
    assert m["hr@2"].tolist() == [0.0, 1.0]
    assert m["mrr"].tolist() == pytest.approx([1 / 3, 1.0])
