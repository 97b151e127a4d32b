"""Padded training batches, built vectorised from CSR ranges (no loop over users).

Sequences are left-padded with 0, so a user's latest item is always in the last column.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from seqrec.data.interactions import gather_ranges


def padded_tails(items: np.ndarray, starts: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """The last ``length`` items of each range ``items[starts[r]:ends[r]]``, left-padded with 0."""
    positions = ends[:, None] - length + np.arange(length)  # [R, length]
    valid = positions >= starts[:, None]
    return np.where(valid, items[np.clip(positions, 0, None)], 0)


def trim_padding(inputs: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Drop leading columns that are padding in every row (outputs at real positions are unchanged)."""
    nonempty = (inputs != 0).any(0).nonzero()
    first = int(nonempty[0]) if len(nonempty) else inputs.shape[1] - 1
    return (inputs[:, first:],) + tuple(t[:, first:] for t in others)


POSITION_COST = 192
"""The work of one position outside attention (its linear layers), in units of one attention
score: about 3 x hidden for hidden 64. ``length_bounds`` weighs a part of ``rows`` sequences
of padded length L as rows x L x (POSITION_COST + L)."""


def length_bounds(lengths: np.ndarray, groups: int) -> list[int]:
    """Cut points 0 = c_0 < c_1 < ... < c_g = len(lengths) of ascending ``lengths`` into at most
    ``groups`` parts that minimise the summed cost of the parts, each part padded to its longest
    sequence (``POSITION_COST``): a dynamic programme over the sorted lengths, O(groups x n^2)."""
    n = len(lengths)
    groups = max(1, min(groups, n))
    padded = np.asarray(lengths, dtype=np.float64)  # [n], ascending
    per_row = padded * (POSITION_COST + padded)  # [n]: a row's cost when padded to lengths[j]
    size = np.arange(n + 1)[None, :] - np.arange(n + 1)[:, None]  # [n + 1, n + 1]: rows i..j-1
    cost = np.where(size > 0, size * np.concatenate([[0.0], per_row])[None, :], np.inf)  # part [i, j)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    starts = []  # per round: where the last part of the best split of [0, j) begins (j: no new part)
    for _ in range(groups):
        total = best[:, None] + cost  # [n + 1, n + 1]: the best split of [0, i), then the part [i, j)
        new_part = total.min(0) < best  # [n + 1]
        starts.append(np.where(new_part, total.argmin(0), np.arange(n + 1)))
        best = np.where(new_part, total.min(0), best)  # fewer parts stay allowed
    bounds, end = [n], n
    for start in reversed(starts):
        end = int(start[end])
        bounds.append(end)
    return sorted(set(bounds) | {0})


def split_by_length(
    rows: np.ndarray, inputs: torch.Tensor, targets: torch.Tensor, groups: int
) -> list[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """Cut a batch into at most ``groups`` parts of similar sequence length, each trimmed of its padding.

    Attention costs grow with the square of the padded length, so short sequences batched
    apart from long ones cost much less; the cut points minimise the estimated cost of the
    parts (``length_bounds``), and the parts together hold exactly the batch's rows.
    """
    if groups <= 1:
        return [(rows, inputs, targets)]
    lengths = (inputs != 0).sum(1)  # [B]
    order = torch.argsort(lengths, stable=True)
    bounds = length_bounds(lengths[order].numpy(), groups)
    parts = []
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        index = order[begin:end]
        part_inputs, part_targets = trim_padding(inputs[index], targets[index])
        parts.append((rows[index.numpy()], part_inputs, part_targets))
    return parts


def seen_matrix(
    items: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_items: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Boolean [R, n_items + 1]: True where item i occurs in ``items[starts[r]:ends[r]]``."""
    rows, seen = gather_ranges(items, starts, ends)
    mask = torch.zeros(len(starts), n_items + 1, dtype=torch.bool, device=device)
    mask[torch.from_numpy(rows).to(device), torch.from_numpy(seen).to(device)] = True
    return mask


class SequenceBatches:
    """One training sequence per user with at least ``min_length`` training items, batched."""

    min_length = 2

    def __init__(self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, max_length: int, batch_size: int):
        keep = ends - starts >= self.min_length
        self.items, self.starts, self.ends = items, starts[keep], ends[keep]
        self.max_length, self.batch_size = max_length, batch_size

    def __len__(self) -> int:
        return (len(self.starts) + self.batch_size - 1) // self.batch_size

    def batch_rows(self, generator: torch.Generator) -> Iterator[np.ndarray]:
        """Row indices of each batch, in a fresh random order."""
        order = torch.randperm(len(self.starts), generator=generator).numpy()
        for begin in range(0, len(order), self.batch_size):
            yield order[begin : begin + self.batch_size]

    def seen(self, rows: np.ndarray, n_items: int) -> torch.Tensor:
        """[B, I + 1] mask of the training items of the users behind ``rows``."""
        return seen_matrix(self.items, self.starts[rows], self.ends[rows], n_items)

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        raise NotImplementedError


class CausalBatches(SequenceBatches):
    """Next-item batches (SASRec): each user's last ``max_length + 1`` training items.

    ``inputs[t]`` predicts ``targets[t]``; targets are 0 wherever the input is padding.
    """

    def __init__(self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, max_length: int, batch_size: int):
        super().__init__(items, starts, ends, max_length, batch_size)
        seq = torch.from_numpy(padded_tails(self.items, self.starts, self.ends, max_length + 1))
        self.inputs = seq[:, :-1].contiguous()  # [U', L]
        self.targets = seq[:, 1:].masked_fill(seq[:, :-1] == 0, 0).contiguous()  # [U', L]

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        """Yield ``(rows, inputs [B, L'], targets [B, L'])`` in a random order, padding trimmed."""
        for rows in self.batch_rows(generator):
            index = torch.from_numpy(rows)
            inputs, targets = trim_padding(self.inputs[index], self.targets[index])
            yield rows, inputs, targets


class ClozeBatches(SequenceBatches):
    """Masked-item batches (BERT4Rec): each item is replaced by ``mask_token`` with ``mask_prob``.

    Targets are the original items at masked positions and 0 elsewhere. With
    ``mask_last_if_none`` a sequence in which no item was drawn gets its last item masked, so
    every sequence contributes a target; without it such a sequence has no target that epoch
    (as in the paper's code), unless no item of the whole batch was drawn.
    """

    min_length = 1

    def __init__(
        self,
        items: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        max_length: int,
        batch_size: int,
        mask_token: int,
        mask_prob: float,
        mask_last_if_none: bool = True,
    ):
        super().__init__(items, starts, ends, max_length, batch_size)
        self.sequences = torch.from_numpy(padded_tails(self.items, self.starts, self.ends, max_length))  # [U', L]
        self.mask_token, self.mask_prob, self.mask_last_if_none = mask_token, mask_prob, mask_last_if_none

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        """Yield ``(rows, inputs [B, L'], targets [B, L'])`` with fresh masks, padding trimmed."""
        for rows in self.batch_rows(generator):
            (sequences,) = trim_padding(self.sequences[torch.from_numpy(rows)])
            real = sequences != 0
            masked = (torch.rand(sequences.shape, generator=generator) < self.mask_prob) & real  # [B, L']
            if self.mask_last_if_none or not masked.any():  # a batch needs at least one target
                masked[:, -1] |= ~masked.any(1)
            inputs = sequences.masked_fill(masked, self.mask_token)
            targets = sequences.masked_fill(~masked, 0)
            yield rows, inputs, targets
