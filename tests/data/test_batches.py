"""Padded tails, causal and cloze batches, negative samplers."""

import numpy as np
import torch

from seqrec.data.batches import CausalBatches, ClozeBatches, padded_tails, trim_padding
from seqrec.objectives.samplers import unseen_negatives

ITEMS = np.array([1, 2, 3, 4, 5, 6, 7])
# user 0: items 1 2 3 4 5; user 1: items 6 7
STARTS, ENDS = np.array([0, 5]), np.array([5, 7])


def test_padded_tails_keep_the_latest_items_left_padded() -> None:
    tails = padded_tails(ITEMS, STARTS, ENDS, 3)
    assert tails.tolist() == [[3, 4, 5], [0, 6, 7]]
    assert padded_tails(ITEMS, STARTS, ENDS, 6).tolist() == [[0, 1, 2, 3, 4, 5], [0, 0, 0, 0, 6, 7]]


def test_causal_batches_shift_by_one_and_ignore_padding_inputs() -> None:
    batches = CausalBatches(ITEMS, STARTS, ENDS, max_length=4, batch_size=8)
    # user 0: last 5 items 1..5 -> inputs 1 2 3 4, targets 2 3 4 5
    # user 1: 0 0 0 6 7 -> inputs 0 0 0 6, targets 0 0 0 7 (the 6 after a padding input is dropped)
    assert batches.inputs.tolist() == [[1, 2, 3, 4], [0, 0, 0, 6]]
    assert batches.targets.tolist() == [[2, 3, 4, 5], [0, 0, 0, 7]]


def test_trim_padding_drops_columns_that_are_padding_everywhere() -> None:
    inputs = torch.tensor([[0, 0, 1, 2], [0, 0, 0, 3]])
    targets = torch.tensor([[0, 0, 2, 9], [0, 0, 0, 4]])
    trimmed = trim_padding(inputs, targets)
    assert trimmed[0].tolist() == [[1, 2], [0, 3]]
    assert trimmed[1].tolist() == [[2, 9], [0, 4]]


def test_cloze_batches_mask_only_real_items_and_always_one() -> None:
    batches = ClozeBatches(ITEMS, STARTS, ENDS, max_length=6, batch_size=8, mask_token=99, mask_prob=0.5)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        for rows, inputs, targets in batches.epoch(generator):
            originals = torch.from_numpy(padded_tails(ITEMS, STARTS[rows], ENDS[rows], inputs.shape[1]))
            masked = inputs == 99
            assert masked.any(1).all()  # every sequence has a target
            assert torch.equal(targets[masked], originals[masked])
            assert (targets[~masked] == 0).all()
            assert (originals[masked] != 0).all()  # padding is never masked


def test_cloze_batches_without_the_fallback_leave_unmasked_sequences_without_target() -> None:
    # 64 one-item sequences, mask probability 0.5: about half get no mask and then no target
    items = np.arange(1, 65)
    starts, ends = np.arange(64), np.arange(1, 65)
    batches = ClozeBatches(
        items, starts, ends, max_length=4, batch_size=64, mask_token=99, mask_prob=0.5, mask_last_if_none=False
    )
    rows, inputs, targets = next(batches.epoch(torch.Generator().manual_seed(0)))
    masked = inputs[:, -1] == 99  # [64]
    assert 16 < int(masked.sum()) < 48
    assert torch.equal(targets[:, -1] != 0, masked)
    assert torch.equal(targets[masked, -1], torch.from_numpy(items[rows])[masked])
    # a batch in which nothing was drawn still gets targets: every last item
    never = ClozeBatches(
        items, starts, ends, max_length=4, batch_size=64, mask_token=99, mask_prob=1e-9, mask_last_if_none=False
    )
    _, inputs, targets = next(never.epoch(torch.Generator().manual_seed(0)))
    assert (inputs[:, -1] == 99).all() and (targets[:, -1] != 0).all()


def test_unseen_negatives_are_distinct_and_never_seen() -> None:
    seen = torch.zeros(2, 11, dtype=torch.bool)
    seen[0, [1, 2, 3]] = True
    seen[1, 1:9] = True  # only items 9 and 10 unseen
    negatives = unseen_negatives(seen, 4, torch.Generator().manual_seed(0))
    row0 = negatives[0].tolist()
    assert len(set(row0)) == 4 and not set(row0) & {0, 1, 2, 3}
    # row 1 has only 2 unseen items: both drawn, the other slots are 0 ("no negative")
    assert sorted(negatives[1].tolist()) == [0, 0, 9, 10]


def test_unseen_negatives_are_uniform() -> None:
    seen = torch.zeros(4000, 6, dtype=torch.bool)
    seen[:, 1] = True
    negatives = unseen_negatives(seen, 1, torch.Generator().manual_seed(0))
    counts = torch.bincount(negatives[:, 0], minlength=6)
    # items 2..5 each expected 1000 times; 4 sigma ~ 110
    assert counts[0] == 0 and counts[1] == 0
    assert ((counts[2:] - 1000).abs() < 110).all()
