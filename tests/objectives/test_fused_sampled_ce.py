"""The sampled softmax that gathers and scatters the output rows itself, chunk by chunk, with the
leading positions without a target skipped: values by hand, gradients as the plain reference."""

from __future__ import annotations

import math

import pytest
import torch

from seqrec.objectives.fused_ce import sampled_cross_entropy
from seqrec.objectives.losses import bce_loss, logq_correction, sampled_ce_loss_plain

WEIGHTS = torch.tensor([[0.0], [1.0], [2.0], [-1.0], [0.5]], dtype=torch.float64)  # [I + 1, D]: 4 items, D = 1
HIDDEN = torch.tensor([[[9.0], [9.0], [1.0]], [[9.0], [2.0], [-1.0]]], dtype=torch.float64)  # [B, L, D]
TARGETS = torch.tensor([[0, 0, 1], [0, 2, 3]])  # sequence 0: one target, sequence 1: two
NEGATIVES = torch.tensor([[2, 3], [1, 4]])  # [B, n]


def test_value_by_hand_with_sequences_of_different_lengths() -> None:
    # (0, 2): h = 1, target 1 -> 1, negatives 2, 3 -> 2, -1: log(e^1 + e^2 + e^-1) - 1
    # (1, 1): h = 2, target 2 -> 4, negatives 1, 4 -> 2, 1: log(e^4 + e^2 + e^1) - 4
    # (1, 2): h = -1, target 3 -> 1, negatives 1, 4 -> -1, -0.5: log(e^1 + e^-1 + e^-0.5) - 1
    expected = (
        math.log(math.e + math.e**2 + math.e**-1)
        - 1
        + math.log(math.e**4 + math.e**2 + math.e)
        - 4
        + math.log(math.e + math.e**-1 + math.e**-0.5)
        - 1
    ) / 3
    for chunk_bytes in (1, 10**6):  # one sequence per chunk (each trimmed to its own targets), or both
        loss = sampled_cross_entropy(HIDDEN, WEIGHTS, TARGETS, NEGATIVES, chunk_bytes=chunk_bytes)
        assert loss.item() == pytest.approx(expected, abs=1e-12)  # 0.6364...


def test_gradients_equal_the_plain_reference_and_padding_gets_none() -> None:
    torch.manual_seed(3)
    weights = torch.randn(40, 5, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(4, 6, 5, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(1, 40, (4, 6))
    targets[0, :4], targets[1, :1], targets[2] = 0, 0, 0  # left padding of several lengths, no target in row 2
    negatives = torch.randint(1, 40, (4, 7))
    negatives[3, 5:] = 0  # empty slots
    negatives[1, 0] = targets[1, 3]  # a negative that is a target there: left out of that softmax
    bias = torch.randn(4, 7, dtype=torch.float64)
    for log_q in (None, bias):
        plain = sampled_ce_loss_plain(hidden, weights, targets, negatives, log_q=log_q)
        expected = torch.autograd.grad(2.5 * plain, (hidden, weights))
        shift = None if log_q is None else logq_correction(negatives, log_q)  # [B, n]
        for chunk_bytes in (1, 8 * 7 * (6 + 5) * 2, 10**6):  # 1, 2 or all 4 sequences per chunk
            loss = sampled_cross_entropy(
                hidden, weights, targets, negatives, negative_bias=shift, chunk_bytes=chunk_bytes
            )
            assert loss.item() == pytest.approx(plain.item(), abs=1e-12)
            got = torch.autograd.grad(2.5 * loss, (hidden, weights))
            for a, b in zip(expected, got, strict=True):
                torch.testing.assert_close(a, b)
            assert not got[0][0, :4].any() and not got[0][2].any()  # no target, no gradient


def test_a_second_backward_through_the_same_loss_is_refused() -> None:
    weights = WEIGHTS.clone().requires_grad_()
    loss = sampled_cross_entropy(HIDDEN, weights, TARGETS, NEGATIVES)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="a second time"):
        loss.backward()


def test_bce_by_hand_on_the_shared_case() -> None:
    # bce on (1, 1) and (1, 2) of sequence 1 only: h = 2, target 2 (s = 4), negative 1 (s = 2);
    # h = -1, target 3 (s = 1), negative 4 (s = -0.5):
    # (softplus(-4) + softplus(2) + softplus(-1) + softplus(-0.5)) / 2
    targets = torch.tensor([[0, 0, 0], [0, 2, 3]])
    negatives = torch.tensor([[[1], [1], [1]], [[1], [1], [4]]])
    softplus = [math.log1p(math.exp(s)) for s in (-4.0, 2.0, -1.0, -0.5)]
    assert bce_loss(HIDDEN, WEIGHTS, targets, negatives).item() == pytest.approx(sum(softplus) / 2, abs=1e-12)
