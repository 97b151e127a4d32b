"""gBCE, the logQ-corrected sampled softmax and the full softmax without the user's seen items:
values worked out by hand on two sequences, the reductions to the plain losses, gradients."""

import math

import pytest
import torch

from seqrec.config import ConfigError, TrainConfig
from seqrec.objectives import Negatives, build_objective, loss_class
from seqrec.objectives.fused_ce import linear_cross_entropy
from seqrec.objectives.losses import (
    bce_loss,
    ce_loss,
    ce_loss_plain,
    gbce_beta,
    gbce_loss,
    sampled_ce_loss,
    sampled_ce_loss_plain,
)

# Two sequences, three positions each, five target positions in all (as in test_losses.py).
# Items e1 = [1, 0], e2 = [0, 1], e3 = [1, 1]; row 0 (padding) is huge and must never matter.
WEIGHTS_2 = torch.tensor([[100.0, 100.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
# sequence A: h = [1,0] -> item 1, [0,1] -> item 2, [1,1] -> item 3
# sequence B: position 0 is padding (h = [9,9], no target), then [0,1] -> item 1, [1,0] -> item 3
HIDDEN_2 = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[9.0, 9.0], [0.0, 1.0], [1.0, 0.0]]])
TARGETS_2 = torch.tensor([[1, 2, 3], [0, 1, 3]])


def test_gbce_two_sequences_by_hand() -> None:
    # |I| = 3, k = 1 negative per position: alpha = 1 / (3 - 1) = 0.5,
    # beta = alpha (t (1 - 1/alpha) + 1/alpha) = 0.5 (0.75 * (1 - 2) + 2) = 0.625. sp(x) = log(1 + e^x)
    # negatives as in test_bce_two_sequences: A -> items 2, 1, 1; B -> (padding), 3, 2
    # A0: pos 1, neg 0 -> 0.625 sp(-1) + sp(0) = 0.625 * 0.313262 + 0.693147 = 0.888936;  A1: the same
    # A2: pos 2, neg 1 -> 0.625 * 0.126928 + 1.313262 = 1.392592
    # B1: pos 0, neg 1 -> 0.625 * 0.693147 + 1.313262 = 1.746479;  B2: pos 1, neg 0 -> 0.888936
    # mean = (3 * 0.888936 + 1.392592 + 1.746479) / 5 = 5.805878 / 5 = 1.161176
    negatives = torch.tensor([[[2], [1], [1]], [[1], [3], [2]]])
    assert gbce_beta(1, 3, 0.75) == pytest.approx(0.625)
    loss = loss_class("gbce")()(HIDDEN_2, WEIGHTS_2, TARGETS_2, Negatives(negatives, torch.zeros(negatives.shape)))
    assert loss.item() == pytest.approx(1.161176, abs=1e-6)


def test_gbce_with_t_zero_is_bce_and_with_t_one_weights_the_positive_by_alpha() -> None:
    torch.manual_seed(7)
    weights = torch.randn(21, 4, dtype=torch.float64)  # |I| = 20
    hidden = torch.randn(2, 5, 4, dtype=torch.float64)
    targets = torch.tensor([[0, 3, 7, 11, 20], [1, 1, 2, 9, 0]])
    negatives = torch.randint(1, 21, (2, 5, 6))  # k = 6: alpha = 6 / 19
    bce = bce_loss(hidden, weights, targets, negatives)
    assert gbce_loss(hidden, weights, targets, negatives, t=0.0).item() == pytest.approx(bce.item(), abs=1e-12)
    assert gbce_beta(6, 20, 1.0) == pytest.approx(6 / 19)
    # beta only scales the positive term: loss(t) = bce + (beta - 1) * mean softplus(-s+)
    where = targets > 0
    positive = (hidden[where] * weights[targets[where]]).sum(-1)
    expected = bce + (6 / 19 - 1) * torch.nn.functional.softplus(-positive).mean()
    assert gbce_loss(hidden, weights, targets, negatives, t=1.0).item() == pytest.approx(expected.item(), abs=1e-12)


def test_gbce_is_finite_for_huge_logits() -> None:
    weights = torch.tensor([[0.0, 0.0], [1000.0, 0.0], [-1000.0, 0.0], [0.0, 5.0]], requires_grad=True)
    hidden = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]], requires_grad=True)
    targets = torch.tensor([[2, 1]])  # positive logits -1000 and -1000, negatives +1000
    loss = gbce_loss(hidden, weights, targets, torch.tensor([[[1], [2]]]), t=0.75)
    loss.backward()
    # |I| = 3, k = 1: beta = 0.625; each position 0.625 sp(1000) + sp(1000) = 1625 (no overflow to inf)
    assert math.isfinite(loss.item()) and loss.item() == pytest.approx(0.625 * 1000 + 1000, rel=1e-6)
    assert hidden.grad is not None and torch.isfinite(hidden.grad).all()


def test_sampled_ce_logq_two_sequences_by_hand() -> None:
    # negatives A -> {2, 3} with q = 1/4, 1/2 (m = 2 slots); B -> {2, empty} with q = 1/2 (m = 1)
    # correction -log(m q): A: item 2 -log(0.5) = +log 2, item 3 -log(1) = 0; B: item 2 +log 2
    # A0: pos 1, negs 0 + log 2, 1 -> log(e + 2 + e) - 1 = 1.006409
    # A1: target 2 is a negative, left out; neg e3 1 -> log(e + e) - 1 = log 2 = 0.693147
    # A2: target 3 left out; neg e2 1 + log 2 -> log(e^2 + 2e) - 2 = 0.551445
    # B1: pos 0, neg e2 1 + log 2 -> log(1 + 2e) = 1.861995
    # B2: pos 1, neg e2 0 + log 2 -> log(e + 2) - 1 = 0.551445
    # mean = 4.664441 / 5 = 0.932888
    negatives = torch.tensor([[2, 3], [2, 0]])
    log_q = torch.tensor([[0.25, 0.5], [0.5, 1.0]]).log()
    loss = loss_class("sampled_ce").from_args({"logq": True})
    value = loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, Negatives(negatives, log_q))
    assert value.item() == pytest.approx(0.932888, abs=1e-6)
    plain = sampled_ce_loss_plain(HIDDEN_2, WEIGHTS_2, TARGETS_2, negatives, log_q=log_q)
    assert plain.item() == pytest.approx(0.932888, abs=1e-6)
    # logq off (the default): the uncorrected loss, whatever log_q says
    off = loss_class("sampled_ce")()(HIDDEN_2, WEIGHTS_2, TARGETS_2, Negatives(negatives, log_q))
    assert off.item() == sampled_ce_loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, negatives).item()


def test_sampled_ce_logq_with_uniform_q_is_plain_with_the_positive_lowered_by_log_u_over_m() -> None:
    # With q(j) = 1/U (U candidates) and m drawn slots, every negative logit gains log(U/m):
    #   L_logq = -s+ + log(e^{s+} + (U/m) Σ e^{s-}) = L_plain(s+ - log(U/m), s-),
    # i.e. plain sampled softmax with the positive's logit lowered by log(U/m) (equal when m = U).
    # By hand: e1 = [2, 0], e2 = [0, 1], e3 = [-1, 0], h = [1, 0], target 1, negatives {2, 3},
    # U = 4, m = 2: logits 2 | 0 + log 2, -1 + log 2 -> log(e^2 + 2 (1 + e^-1)) - 2 = 0.314989
    weights = torch.tensor([[100.0, 100.0], [2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    hidden = torch.tensor([[[1.0, 0.0], [5.0, 5.0]]])
    targets = torch.tensor([[1, 0]])
    negatives = torch.tensor([[2, 3]])
    log_q = torch.full((1, 2), -math.log(4))
    corrected = sampled_ce_loss(hidden, weights, targets, negatives, log_q=log_q)
    assert corrected.item() == pytest.approx(0.314989, abs=1e-6)
    # the same through the plain loss: an extra coordinate 1 in h, -log(U/m) on the target's row only
    lowered = torch.cat([weights, torch.zeros(4, 1)], 1)
    lowered[1, 2] = -math.log(4 / 2)
    extended = torch.cat([hidden, torch.ones(1, 2, 1)], 2)
    assert sampled_ce_loss(extended, lowered, targets, negatives).item() == pytest.approx(corrected.item(), abs=1e-6)
    # m = U (every candidate drawn): no change at all
    every = torch.tensor([[2, 3]])
    log_q_every = torch.full((1, 2), -math.log(2))
    assert sampled_ce_loss(hidden, weights, targets, every, log_q=log_q_every).item() == pytest.approx(
        sampled_ce_loss(hidden, weights, targets, every).item(), abs=1e-7
    )


def test_chunked_logq_matches_plain_value_and_gradients() -> None:
    torch.manual_seed(8)
    weights = torch.randn(30, 8, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(5, 6, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 30, (5, 6))
    negatives = torch.randint(1, 30, (5, 7))
    negatives[1, 3:] = 0  # empty slots
    log_q = torch.rand(5, 7, dtype=torch.float64).log()
    log_q[1, 3:] = float("-inf")  # whatever an empty slot says is ignored
    results = []
    for fn in (sampled_ce_loss_plain, sampled_ce_loss):
        loss = fn(hidden, weights, targets, negatives, log_q=log_q)
        results.append((loss, torch.autograd.grad(1.3 * loss, (hidden, weights))))
    (plain, plain_grads), (chunked, chunked_grads) = results
    assert math.isfinite(chunked.item()) and chunked.item() == pytest.approx(plain.item(), abs=1e-12)
    for a, b in zip(plain_grads, chunked_grads, strict=True):
        torch.testing.assert_close(a, b)


# seen items: A {1, 2}, B {1, 3} (column 0 padding)
SEEN_2 = torch.tensor([[False, True, True, False], [False, True, False, True]])


def test_ce_exclude_seen_two_sequences_by_hand() -> None:
    # logits over items 1..3; a seen item other than the position's target is left out
    # A0: [1, 0, 1], target 1, item 2 out -> log(e + e) - 1 = 0.693147
    # A1: [0, 1, 1], target 2, item 1 out -> log(e + e) - 1 = 0.693147
    # A2: [1, 1, 2], target 3, items 1 and 2 out -> 0
    # B1: [0, 1, 1], target 1, item 3 out -> log(1 + e) - 0 = 1.313262
    # B2: [1, 0, 1], target 3, item 1 out -> log(1 + e) - 1 = 0.313262
    # mean = 3.012818 / 5 = 0.602564 (without the exclusion 0.999885, test_ce_two_sequences_by_hand)
    for fn in (ce_loss, ce_loss_plain):
        assert fn(HIDDEN_2, WEIGHTS_2, TARGETS_2, SEEN_2).item() == pytest.approx(0.602564, abs=1e-6)
    loss = loss_class("ce").from_args({"exclude_seen": True})
    assert loss.needs_seen and not loss_class("ce")().needs_seen
    assert loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, None, SEEN_2).item() == pytest.approx(0.602564, abs=1e-6)
    with pytest.raises(ValueError, match="exclude_seen needs"):
        loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, None)


def test_objective_builds_seen_only_for_a_loss_that_needs_it() -> None:
    def refuse() -> torch.Tensor:
        raise AssertionError("seen built for a loss that does not need it")

    plain = build_objective(TrainConfig(loss="ce"))
    assert plain.compute_loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, None, refuse).item() == pytest.approx(0.999885, abs=1e-6)
    excluding = build_objective(TrainConfig(loss="ce", loss_args={"exclude_seen": True}))
    value = excluding.compute_loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, None, lambda: SEEN_2)
    assert value.item() == pytest.approx(0.602564, abs=1e-6)


def test_chunked_exclude_seen_matches_plain_value_and_gradients() -> None:
    torch.manual_seed(9)
    weights = torch.randn(23, 8, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(4, 9, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 23, (4, 9))
    seen = torch.rand(4, 23) < 0.4
    seen[:, 0] = False
    where = targets > 0
    sequence = torch.arange(4)[:, None].expand(4, 9)[where]
    results = []
    for value in (
        ce_loss_plain(hidden, weights, targets, seen),
        # 5 rows per chunk: several chunks, the last one partial
        linear_cross_entropy(
            hidden[where], weights[1:], targets[where] - 1, rows=5, seen=seen[:, 1:], sequence=sequence
        ),
    ):
        results.append((value, torch.autograd.grad(2.0 * value, (hidden, weights))))
    (plain, plain_grads), (chunked, chunked_grads) = results
    assert chunked.item() == pytest.approx(plain.item(), abs=1e-12)
    for a, b in zip(plain_grads, chunked_grads, strict=True):
        torch.testing.assert_close(a, b)
    assert plain.item() < ce_loss_plain(hidden, weights, targets).item()  # fewer competitors


@pytest.mark.parametrize(("name", "args"), [("sampled_ce", {"logq": True}), ("ce", {"exclude_seen": True})])
def test_gradients_of_the_new_options_reach_hidden_and_embeddings(name: str, args: dict[str, bool]) -> None:
    torch.manual_seed(2)
    weights = torch.randn(9, 4, requires_grad=True)
    hidden = torch.randn(2, 3, 4, requires_grad=True)
    targets = torch.tensor([[1, 2, 0], [3, 4, 5]])
    items = torch.tensor([[6, 7, 8], [1, 2, 0]])
    negatives = Negatives(items, torch.full(items.shape, -math.log(8)))
    seen = torch.zeros(2, 9, dtype=torch.bool)
    seen[0, [1, 2, 6]] = True
    seen[1, [3, 4, 5, 7]] = True
    loss_class(name).from_args(args)(hidden, weights, targets, negatives, seen).backward()
    assert hidden.grad is not None and weights.grad is not None
    assert hidden.grad[0, :2].abs().sum() > 0 and weights.grad[1:].abs().sum() > 0
    assert hidden.grad[0, 2].abs().sum() == 0  # padding position
    assert weights.grad[0].abs().sum() == 0  # padding row


def test_invalid_loss_parameters_are_refused_naming_the_keys() -> None:
    with pytest.raises(ConfigError, match="train.loss_args: loss 'gbce' has no parameter.*beta; its parameters: t"):
        build_objective(TrainConfig(loss="gbce", loss_args={"beta": 0.5}))
    with pytest.raises(ConfigError, match="train.loss_args: loss 'gbce': t must be in"):
        build_objective(TrainConfig(loss="gbce", loss_args={"t": 1.5}))
    with pytest.raises(ConfigError, match="train.loss_args: loss 'bce' has no parameter.*logq"):
        build_objective(TrainConfig(loss="bce", loss_args={"logq": True}))
    objective = build_objective(TrainConfig(loss="gbce"))
    assert objective.loss == loss_class("gbce").from_args({"t": 0.75}) and objective.sampler is not None
    assert objective.sampler.name == "uniform" and objective.sampler.n == 256
