"""The chunked binary cross-entropy over per-position negatives: value by hand, gradients of both paths."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqrec.objectives.binary_ce import binary_cross_entropy, use_dense

# Items 1..4 with one-dimensional embeddings 1, 2, -1, 0.5 (row 0 is padding).
WEIGHTS = torch.tensor([[0.0], [1.0], [2.0], [-1.0], [0.5]], dtype=torch.float64)
# Three target positions (two from one sequence, one from another, flattened as the losses do).
HIDDEN = torch.tensor([[1.0], [2.0], [-1.0]], dtype=torch.float64)
TARGETS = torch.tensor([1, 2, 3])
NEGATIVES = torch.tensor([[2, 2], [4, 1], [4, 3]])  # a repeat, and a negative equal to its target


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize("dense", [False, True])
def test_value_by_hand(dense: bool) -> None:
    # position 1: h = 1, s+ = 1*1 = 1, negatives 2, 2 -> s = 2, 2
    # position 2: h = 2, s+ = 2*2 = 4, negatives 4, 1 -> s = 1, 2
    # position 3: h = -1, s+ = -1*-1 = 1, negatives 4, 3 -> s = -0.5, 1 (its own target counts as a negative)
    # beta = 0.5: loss = ([.5 sp(-1) + 2 sp(2)] + [.5 sp(-4) + sp(1) + sp(2)] + [.5 sp(-1) + sp(-.5) + sp(1)]) / 3
    by_hand = (
        (0.5 * softplus(-1) + 2 * softplus(2))
        + (0.5 * softplus(-4) + softplus(1) + softplus(2))
        + (0.5 * softplus(-1) + softplus(-0.5) + softplus(1))
    ) / 3
    loss = binary_cross_entropy(HIDDEN, WEIGHTS, TARGETS, NEGATIVES, beta=0.5, dense=dense, chunk_bytes=8)
    assert loss.item() == pytest.approx(by_hand, abs=1e-12)


def plain(h: torch.Tensor, w: torch.Tensor, t: torch.Tensor, ids: torch.Tensor, beta: float) -> torch.Tensor:
    positive = (h * w[t]).sum(-1)  # [N]
    negative = torch.einsum("nd,nkd->nk", h, w[ids])  # [N, k]
    return (beta * F.softplus(-positive) + F.softplus(negative).sum(-1)).mean()


@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("chunk_bytes", [1, 200, 1 << 20])  # one row per chunk, a few rows, all rows
def test_gradients_equal_those_of_the_plain_formula(dense: bool, chunk_bytes: int) -> None:
    torch.manual_seed(3)
    weights = torch.randn(12, 4, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 12, (9,))
    negatives = torch.randint(1, 12, (9, 5))
    expected = plain(hidden, weights, targets, negatives, 0.3)
    grads = torch.autograd.grad(expected * 2.0, (hidden, weights))  # an upstream factor of 2 as well
    loss = binary_cross_entropy(hidden, weights, targets, negatives, 0.3, dense=dense, chunk_bytes=chunk_bytes)
    got = torch.autograd.grad(loss * 2.0, (hidden, weights))
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(got[0], grads[0])
    torch.testing.assert_close(got[1], grads[1])


def test_no_positions_gives_zero_with_a_gradient() -> None:
    hidden = torch.zeros(0, 1, dtype=torch.float64, requires_grad=True)
    loss = binary_cross_entropy(hidden, WEIGHTS, TARGETS[:0], NEGATIVES[:0])
    loss.backward()
    assert loss.item() == 0.0 and hidden.grad is not None


def test_the_path_follows_the_share_of_the_catalog() -> None:
    # dense from k >= rows / 48: 256 of ML-1M's 3,417 rows (7.5%) is dense, 256 of Beauty's 54,543 (0.5%) and
    # BCE's single negative are gathered
    assert use_dense(256, 3417) and not use_dense(256, 54543) and not use_dense(1, 3417)
    assert use_dense(72, 3417) and not use_dense(71, 3417)  # 3417 / 48 = 71.2
