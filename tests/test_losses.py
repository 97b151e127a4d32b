"""Loss values worked out by hand on a two-dimensional toy, plus consistency checks."""

import math

import pytest
import torch

from seqrec.fused_ce import linear_cross_entropy
from seqrec.losses import LOSSES, bce_loss, ce_loss, ce_loss_plain, get_loss, sampled_ce_loss

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
        assert fn(HIDDEN, WEIGHTS, TARGETS, None).item() == pytest.approx(0.169846, abs=1e-6)


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
    spec = get_loss(name)
    negatives = {
        "per_position": torch.randint(1, 9, (2, 3, 2)),
        "per_sequence": torch.tensor([[6, 7, 8], [1, 2, 0]]),
        "none": None,
    }[spec.sampler]
    spec.fn(hidden, weights, targets, negatives).backward()
    assert hidden.grad is not None and weights.grad is not None
    assert hidden.grad[0, :2].abs().sum() > 0 and weights.grad[1:].abs().sum() > 0
    assert hidden.grad[0, 2].abs().sum() == 0  # padding position gets no gradient
    assert weights.grad[0].abs().sum() == 0  # padding row is never a candidate


def test_chunked_sampled_ce_matches_plain_value_and_gradients() -> None:
    from seqrec.losses import sampled_ce_loss_plain

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
    # several chunks of sequences (2 per chunk) give the same as one
    from seqrec.fused_ce import sampled_cross_entropy

    args = (hidden, weights[targets], weights[negatives], targets > 0, negatives != 0)
    small = sampled_cross_entropy(*args, chunk_bytes=2 * 4 * 6 * 7)
    assert small.item() == pytest.approx(plain.item(), abs=1e-12)


def test_chunk_rows_follow_the_memory_budget_with_a_floor() -> None:
    from seqrec.fused_ce import chunk_rows

    assert chunk_rows(3416) == 16 * 2**20 // (4 * 3416)  # 1227 rows of ML-1M logits in 16 MiB
    assert chunk_rows(1_000_000) == 64  # the floor: 64 rows x 1M items = 256 MB


def test_unknown_loss_lists_known_names() -> None:
    with pytest.raises(ValueError, match="known: bce, ce, sampled_ce"):
        get_loss("softmax")


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
