"""The unseen draw's first-occurrence table and byte-summed seen counts: equal to the sort-based
draw they replace (same candidates, same picks), and uniform over subsets."""

from __future__ import annotations

import itertools

import pytest
import torch

from seqrec.objectives import samplers
from seqrec.objectives.samplers import first_draws, rejection_draws, seen_counts, unseen_negatives


def sorted_first_draws(candidates: torch.Tensor) -> torch.Tensor:
    """The former way: a stable sort per row, repeats of the item before dropped, back in draw order."""
    ordered, order = candidates.sort(dim=1, stable=True)
    repeat = torch.zeros_like(ordered, dtype=torch.bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    return torch.empty_like(repeat).scatter_(1, order, ~repeat)


def test_first_draws_marks_each_ids_first_occurrence_in_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    candidates = torch.tensor([[3, 1, 3, 2, 1], [4, 4, 4, 0, 2], [1, 2, 3, 4, 0]])
    # row 0: 3 and 1 come back at positions 2 and 4; row 1: 4 repeats twice; row 2: all distinct
    expected = torch.tensor(
        [[True, True, False, True, False], [True, False, False, True, True], [True, True, True, True, True]]
    )
    assert torch.equal(first_draws(candidates, 5), expected)
    monkeypatch.setattr(samplers, "FIRST_DRAW_ENTRIES", 5)  # a table of one row at a time: 3 passes
    assert torch.equal(first_draws(candidates, 5), expected)


def test_first_draws_equal_the_stable_sort_on_random_rows() -> None:
    generator = torch.Generator().manual_seed(0)
    for n_columns, m in ((7, 30), (1000, 300), (50_000, 40_000)):  # the last needs int32 indices
        candidates = torch.randint(1, n_columns, (6, m), generator=generator)
        assert torch.equal(first_draws(candidates, n_columns), sorted_first_draws(candidates))


def test_rejection_draw_picks_what_the_sort_based_draw_picked() -> None:
    for seed in range(5):
        generator = torch.Generator().manual_seed(seed)
        seen = torch.rand(9, 2001, generator=generator) < 0.02
        seen[:, 0] = False
        unseen = 2000 - int(seen_counts(seen).max())
        draws = rejection_draws(2000, unseen, 100)
        picked = samplers.unseen_negatives_by_rejection(seen, 100, torch.Generator().manual_seed(seed), draws)
        # the former implementation, from the same generator state
        candidates = torch.randint(1, 2001, (9, draws), generator=torch.Generator().manual_seed(seed))
        keep = sorted_first_draws(candidates) & ~seen.gather(1, candidates)
        rank = keep.cumsum(1)
        assert picked is not None and torch.equal(picked, candidates[keep & (rank <= 100)].view(9, 100))


def test_seen_counts_leave_out_the_padding_column() -> None:
    seen = torch.tensor([[True, True, True, False], [False, False, False, True], [False] * 4])
    # row 0: items 1 and 2 (column 0 is padding); row 1: item 3; row 2: none
    assert seen_counts(seen).tolist() == [2, 1, 0]


def test_unseen_draw_is_uniform_over_pairs() -> None:
    # 12 items, items 1..4 seen: 8 unseen, n = 2 <= 8 // 4, so the rejection draw is used; each
    # of the C(8, 2) = 28 pairs is expected 5600 / 28 = 200 times; chi-square with 27 degrees of
    # freedom, 99.9% quantile 55.5
    seen = torch.zeros(400, 13, dtype=torch.bool)
    seen[:, 1:5] = True
    generator = torch.Generator().manual_seed(0)
    counts = dict.fromkeys(itertools.combinations(range(5, 13), 2), 0)
    for _ in range(14):
        for row in unseen_negatives(seen, 2, generator).tolist():
            counts[tuple(sorted(row))] += 1
    assert sum(counts.values()) == 5600
    assert sum((c - 200) ** 2 / 200 for c in counts.values()) < 55.5
