"""Length groups cut where the estimated cost of the padded parts is least, and hold every row once."""

from __future__ import annotations

import itertools

import numpy as np
import torch

from seqrec.data.batches import POSITION_COST, length_bounds, split_by_length


def cost(lengths: np.ndarray, bounds: list[int]) -> float:
    """Each part: rows x L x (POSITION_COST + L), L its longest sequence."""
    return sum(
        (e - b) * lengths[e - 1] * (POSITION_COST + lengths[e - 1])
        for b, e in zip(bounds[:-1], bounds[1:], strict=True)
    )


def test_bounds_by_hand() -> None:
    # three short rows and two long ones: apart, 3 x 1 x 193 + 2 x 200 x 392 = 157,379; together
    # 5 x 200 x 392 = 392,000
    assert length_bounds(np.array([1, 1, 1, 200, 200]), 2) == [0, 3, 5]
    # equal lengths: splitting saves nothing, so one part (fewer parts, less overhead)
    assert length_bounds(np.array([50, 50, 50, 50]), 4) == [0, 4]
    assert length_bounds(np.array([10, 20, 30, 40]), 4) == [0, 1, 2, 3, 4]  # each row its own part
    assert length_bounds(np.array([7]), 3) == [0, 1]


def test_bounds_are_the_cheapest_of_all_splits() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, groups = int(rng.integers(1, 8)), int(rng.integers(1, 4))
        lengths = np.sort(rng.integers(1, 250, n))
        bounds = length_bounds(lengths, groups)
        assert bounds[0] == 0 and bounds[-1] == n and len(bounds) - 1 <= groups
        every = [[0, *cut, n] for k in range(groups) for cut in itertools.combinations(range(1, n), k)]
        assert cost(lengths, bounds) == min(cost(lengths, split) for split in every)


def test_parts_hold_every_row_once_trimmed_of_padding() -> None:
    # rows of lengths 1, 4, 2, 4, 1 (left padding): the long rows 1 and 3 apart from the rest
    inputs = torch.tensor([[0, 0, 0, 5], [1, 2, 3, 4], [0, 0, 6, 7], [8, 9, 1, 2], [0, 0, 0, 3]])
    targets = inputs.roll(-1, 1) * (inputs != 0)
    parts = split_by_length(np.arange(10, 15), inputs, targets, 2)
    rows = sorted(int(r) for part_rows, _, _ in parts for r in part_rows)
    assert rows == [10, 11, 12, 13, 14]
    # 1, 1, 2 | 4, 4: 3 x 2 x 194 + 2 x 4 x 196 = 2,732 against 5 x 4 x 196 = 3,920 together
    assert [part_inputs.shape for _, part_inputs, _ in parts] == [(3, 2), (2, 4)]
    for part_rows, part_inputs, part_targets in parts:
        for row, kept, target in zip(part_rows, part_inputs, part_targets, strict=True):
            assert torch.equal(kept, inputs[row - 10, -kept.shape[0] :])  # the trimmed columns were padding
            assert torch.equal(target, targets[row - 10, -kept.shape[0] :])
