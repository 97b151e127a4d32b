"""Loss values worked out by hand on a two-dimensional toy, plus consistency checks."""

import math

import pytest
import torch

from seqrec.config import ConfigError
from seqrec.objectives import LOSSES, Negatives, loss_class
from seqrec.objectives.fused_ce import linear_cross_entropy
from seqrec.objectives.losses import bce_loss, ce_loss, ce_loss_plain, sampled_ce_loss

# Item embeddings: row 0 is padding (huge, must never matter), e1 = [2, 0], e2 = [0, 1], e3 = [-1, 0].
WEIGHTS = torch.tensor([[100.0, 100.0], [2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
# One sequence, two positions: the first has hidden [1, 0] and target item 1; the second is padding.
HIDDEN = torch.tensor([[[1.0, 0.0], [5.0, 5.0]]])
TARGETS = torch.tensor([[1, 0]])


def test_bce_by_hand() -> None:
    # positive logit h.e1 = 2, negative (item 2) logit h.e2 = 0
    # loss = -log s(2) - log(1 - s(0)) = log(1 + e^-2) + log 2 = 0.126928 + 0.693147
    negatives = torch.tensor([[[2], [3]]])
    loss = bce_loss(HIDDEN, WEIGHTS, TARGETS, negatives)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-2)) + math.log(2), abs=1e-6)
    assert loss.item() == pytest.approx(0.820075, abs=1e-6)


def test_bce_averages_several_negatives_per_position_summed() -> None:
    # negatives items 2 and 3: logits 0 and -1 -> log 2 + log(1 + e^-1) = 0.693147 + 0.313262
    negatives = torch.tensor([[[2, 3], [1, 1]]])
    loss = bce_loss(HIDDEN, WEIGHTS, TARGETS, negatives)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-2)) + 0.693147 + 0.313262, abs=1e-5)


def test_ce_by_hand() -> None:
    # logits over items 1..3 = [2, 0, -1]; padding excluded
    # loss = log(e^2 + e^0 + e^-1) - 2 = log(8.756935) - 2 = 0.169846
    for fn in (ce_loss, ce_loss_plain):
        assert fn(HIDDEN, WEIGHTS, TARGETS).item() == pytest.approx(0.169846, abs=1e-6)


def test_sampled_ce_by_hand() -> None:
    # negatives {3} (and an empty slot 0): logits [2, -1] -> log(1 + e^-3) = 0.048587
    negatives = torch.tensor([[3, 0]])
    loss = sampled_ce_loss(HIDDEN, WEIGHTS, TARGETS, negatives)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-3)), abs=1e-6)
    assert loss.item() == pytest.approx(0.048587, abs=1e-6)


def test_sampled_ce_with_all_unseen_items_equals_ce_restricted_to_them() -> None:
    torch.manual_seed(0)
    n_items, dim = 12, 4
    weights = torch.randn(n_items + 1, dim)
    hidden = torch.randn(2, 5, dim)
    targets = torch.tensor([[0, 1, 2, 3, 4], [0, 0, 5, 6, 7]])
    # every item a sequence did not interact with, padded with 0 to a common width
    seen = [{1, 2, 3, 4}, {5, 6, 7}]
    unseen = [sorted(set(range(1, n_items + 1)) - s) for s in seen]
    width = max(map(len, unseen))
    negatives = torch.tensor([u + [0] * (width - len(u)) for u in unseen])
    sampled = sampled_ce_loss(hidden, weights, targets, negatives)

    losses = []
    for b in range(2):
        for t in range(5):
            target = int(targets[b, t])
            if target == 0:
                continue
            candidates = [target] + unseen[b]  # the CE restricted to the target and unseen items
            logits = weights[candidates] @ hidden[b, t]
            losses.append(torch.logsumexp(logits, 0) - logits[0])
    assert sampled.item() == pytest.approx(torch.stack(losses).mean().item(), abs=1e-5)


def test_chunked_ce_matches_plain_value_and_gradients() -> None:
    torch.manual_seed(1)
    hidden = torch.randn(37, 8, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(23, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 23, (37,))
    plain = torch.nn.functional.cross_entropy(hidden @ weights.T, targets)
    plain_grads = torch.autograd.grad(2.5 * plain, (hidden, weights))
    # 5 rows per chunk: 37 rows -> 8 chunks, the last one partial
    chunked = linear_cross_entropy(hidden, weights, targets, rows=5)
    chunked_grads = torch.autograd.grad(2.5 * chunked, (hidden, weights))
    assert chunked.item() == pytest.approx(plain.item(), abs=1e-12)
    for a, b in zip(plain_grads, chunked_grads, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_reach_hidden_and_item_embeddings(name: str) -> None:
    torch.manual_seed(2)
    weights = torch.randn(9, 4, requires_grad=True)
    hidden = torch.randn(2, 3, 4, requires_grad=True)
    targets = torch.tensor([[1, 2, 0], [3, 4, 5]])
    loss = loss_class(name)()
    items = {
        "per_position": torch.randint(1, 9, (2, 3, 2)),
        "per_sequence": torch.tensor([[6, 7, 8], [1, 2, 0]]),
        None: None,
    }[loss.negatives]
    negatives = None if items is None else Negatives(items, torch.zeros(items.shape))
    loss(hidden, weights, targets, negatives).backward()
    assert hidden.grad is not None and weights.grad is not None
    assert hidden.grad[0, :2].abs().sum() > 0 and weights.grad[1:].abs().sum() > 0
    assert hidden.grad[0, 2].abs().sum() == 0  # padding position gets no gradient
    assert weights.grad[0].abs().sum() == 0  # padding row is never a candidate


def test_chunked_sampled_ce_matches_plain_value_and_gradients() -> None:
    from seqrec.objectives.losses import sampled_ce_loss_plain

    torch.manual_seed(4)
    weights = torch.randn(30, 8, dtype=torch.float64, requires_grad=True)
    hidden = torch.randn(5, 6, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 30, (5, 6))
    targets[0] = 0  # a sequence without targets
    negatives = torch.randint(1, 30, (5, 7))
    negatives[1, 3:] = 0  # empty slots
    results = []
    for fn in (sampled_ce_loss_plain, sampled_ce_loss):
        loss = fn(hidden, weights, targets, negatives)
        results.append((loss, torch.autograd.grad(1.7 * loss, (hidden, weights))))
    (plain, plain_grads), (chunked, chunked_grads) = results
    assert chunked.item() == pytest.approx(plain.item(), abs=1e-12)
    for a, b in zip(plain_grads, chunked_grads, strict=True):
        torch.testing.assert_close(a, b)
    # several chunks of sequences (2 per chunk: 2 x 8 bytes x 7 negatives x (6 positions + 8 dims))
    # give the same value and gradients as one
    from seqrec.objectives.fused_ce import sampled_cross_entropy

    small = sampled_cross_entropy(hidden, weights, targets, negatives, chunk_bytes=2 * 8 * 7 * (6 + 8))
    assert small.item() == pytest.approx(plain.item(), abs=1e-12)
    for a, b in zip(plain_grads, torch.autograd.grad(1.7 * small, (hidden, weights)), strict=True):
        torch.testing.assert_close(a, b)


def test_chunk_rows_follow_the_memory_budget_with_a_floor() -> None:
    from seqrec.objectives.fused_ce import chunk_rows

    assert chunk_rows(3416) == 16 * 2**20 // (4 * 3416)  # 1227 rows of ML-1M logits in 16 MiB
    assert chunk_rows(1_000_000) == 64  # the floor: 64 rows x 1M items = 256 MB


def test_unknown_loss_lists_known_names() -> None:
    with pytest.raises(ConfigError, match="known: bce, ce, gbce, sampled_ce"):
        loss_class("softmax")


def test_length_groups_give_the_same_gradient_as_one_batch() -> None:
    import numpy as np

    from seqrec.data.batches import split_by_length
    from seqrec.models.sasrec import SASRec

    torch.manual_seed(3)
    model = SASRec(20, hidden=8, blocks=1, dropout=0.0, max_length=6)
    inputs = torch.tensor([[0, 0, 0, 0, 1, 2], [3, 4, 5, 6, 7, 8], [0, 0, 0, 9, 10, 11], [0, 0, 0, 0, 0, 12]])
    targets = torch.tensor([[0, 0, 0, 0, 2, 3], [4, 5, 6, 7, 8, 9], [0, 0, 0, 10, 11, 12], [0, 0, 0, 0, 0, 13]])

    def gradients(groups: int) -> list[torch.Tensor]:
        model.zero_grad()
        total = int((targets > 0).sum())
        for _, part_inputs, part_targets in split_by_length(np.arange(4), inputs, targets, groups):
            share = int((part_targets > 0).sum()) / total
            (ce_loss(model.encode(part_inputs), model.output_embeddings(), part_targets) * share).backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    for a, b in zip(gradients(1), gradients(3), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


# Two sequences, three positions each, five target positions in all. Items e1 = [1, 0],
# e2 = [0, 1], e3 = [1, 1]; row 0 (padding) is huge and must never matter.
WEIGHTS_2 = torch.tensor([[100.0, 100.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
# sequence A: h = [1,0] -> item 1, [0,1] -> item 2, [1,1] -> item 3
# sequence B: position 0 is padding (h = [9,9], no target), then [0,1] -> item 1, [1,0] -> item 3
HIDDEN_2 = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[9.0, 9.0], [0.0, 1.0], [1.0, 0.0]]])
TARGETS_2 = torch.tensor([[1, 2, 3], [0, 1, 3]])


def test_bce_two_sequences_averages_over_all_target_positions() -> None:
    # one negative per position: A -> items 2, 1, 1; B -> (padding), 3, 2. sp(x) = log(1 + e^x)
    # A0: pos h.e1 = 1, neg h.e2 = 0 -> sp(-1) + sp(0) = 0.313262 + 0.693147 = 1.006409
    # A1: pos h.e2 = 1, neg h.e1 = 0 -> 1.006409
    # A2: pos h.e3 = 2, neg h.e1 = 1 -> sp(-2) + sp(1) = 0.126928 + 1.313262 = 1.440190
    # B1: pos h.e1 = 0, neg h.e3 = 1 -> sp(0) + sp(1) = 0.693147 + 1.313262 = 2.006409
    # B2: pos h.e3 = 1, neg h.e2 = 0 -> 1.006409
    # mean over the 5 positions = 6.465825 / 5 = 1.293165 (a sum would give 6.4658; a mean of the
    # two sequences' means (1.151003 + 1.506409) / 2 = 1.328706)
    negatives = torch.tensor([[[2], [1], [1]], [[1], [3], [2]]])
    assert bce_loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, negatives).item() == pytest.approx(1.293165, abs=1e-6)


def test_ce_two_sequences_by_hand() -> None:
    # logits over items 1..3; lse = log-sum-exp
    # A0: [1, 0, 1], target 1 -> lse - 1 = log(2e + 1) - 1 = 0.861995
    # A1: [0, 1, 1], target 2 -> 0.861995;  A2: [1, 1, 2], target 3 -> log(2e + e^2) - 2 = 0.551445
    # B1: [0, 1, 1], target 1 -> log(1 + 2e) - 0 = 1.861995;  B2: [1, 0, 1], target 3 -> 0.861995
    # mean = (3 * 0.861995 + 0.551445 + 1.861995) / 5 = 0.999885
    for fn in (ce_loss, ce_loss_plain):
        assert fn(HIDDEN_2, WEIGHTS_2, TARGETS_2).item() == pytest.approx(0.999885, abs=1e-6)


def test_sampled_ce_two_sequences_by_hand_with_a_negative_equal_to_the_target() -> None:
    from seqrec.objectives.losses import sampled_ce_loss_plain

    # shared negatives: A -> {2, empty}, B -> {2, 3}
    # A0: pos 1, neg e2 0 -> log(1 + e^-1) = 0.313262
    # A1: target 2 is the only negative: left out, softmax over the target alone -> 0
    # A2: pos 2, neg e2 1 -> 0.313262
    # B1: pos 0, negs e2 1, e3 1 -> log(1 + 2e) = 1.861995
    # B2: target 3 also a negative: left out; pos 1, neg e2 0 -> 0.313262
    # mean = (3 * 0.313262 + 1.861995) / 5 = 0.560356
    negatives = torch.tensor([[2, 0], [2, 3]])
    for fn in (sampled_ce_loss, sampled_ce_loss_plain):
        assert fn(HIDDEN_2, WEIGHTS_2, TARGETS_2, negatives).item() == pytest.approx(0.560356, abs=1e-6)


def test_sampled_ce_with_every_item_as_negative_is_full_ce() -> None:
    torch.manual_seed(5)
    n_items, dim = 15, 6
    weights = torch.randn(n_items + 1, dim, dtype=torch.float64)
    hidden = torch.randn(3, 4, dim, dtype=torch.float64)
    targets = torch.tensor([[0, 3, 7, 15], [1, 1, 2, 9], [0, 0, 4, 12]])
    every = torch.arange(1, n_items + 1).expand(3, n_items)  # [B, I]: every item, targets included
    sampled = sampled_ce_loss(hidden, weights, targets, every)
    assert sampled.item() == pytest.approx(ce_loss_plain(hidden, weights, targets).item(), abs=1e-12)
    assert sampled.item() == pytest.approx(ce_loss(hidden, weights, targets).item(), abs=1e-12)


def test_loss_parameters_come_from_loss_args() -> None:
    with pytest.raises(ValueError, match="loss 'bce' has no parameter"):
        loss_class("bce").from_args({"t": 0.75})
    assert loss_class("ce").from_args({}) == loss_class("ce")()
