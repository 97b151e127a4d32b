"""Padded batches and negatives, built vectorised from CSR ranges (no loop over users).

Sequences are left-padded with 0, so a user's latest item is always in the last column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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


def seen_matrix(
    items: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_items: int, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """Boolean [R, n_items + 1]: True where item i occurs in ``items[starts[r]:ends[r]]``."""
    rows, seen = gather_ranges(items, starts, ends)
    mask = torch.zeros(len(starts), n_items + 1, dtype=torch.bool, device=device)
    mask[torch.from_numpy(rows).to(device), torch.from_numpy(seen).to(device)] = True
    return mask


def uniform_negatives(
    shape: tuple[int, ...], n_items: int, generator: torch.Generator
) -> torch.Tensor:
    """Items drawn uniformly with replacement from 1..n_items (the original SASRec sampler)."""
    return torch.randint(1, n_items + 1, shape, generator=generator)


def unseen_negatives(seen: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """Per row, ``n`` distinct items the row has not seen, uniformly without replacement.

    ``seen`` is [B, I + 1] with column 0 (padding) treated as seen. A row with fewer than
    ``n`` unseen items gets 0 (padding, "no negative") in the slots it cannot fill.
    Returns [B, n].
    """
    keys = torch.rand(seen.shape, generator=generator, device=seen.device)  # [B, I + 1]
    keys[:, 0] = 2.0
    keys[seen] = 2.0
    n = min(n, seen.shape[1] - 1)
    picked_keys, picked = torch.topk(keys, n, dim=1, largest=False)  # [B, n]
    return torch.where(picked_keys < 2.0, picked, torch.zeros_like(picked))


@dataclass
class CausalBatches:
    """Next-item training batches: one sequence per user, its last ``max_length + 1`` items.

    ``inputs[t]`` predicts ``targets[t]``; targets are 0 wherever the input is padding.
    """

    items: np.ndarray  # [N] CSR items
    starts: np.ndarray  # [U'] start of each trainable user's training range
    ends: np.ndarray  # [U'] end (exclusive) of that range
    max_length: int
    batch_size: int

    def __post_init__(self) -> None:
        keep = self.ends - self.starts >= 2
        self.starts, self.ends = self.starts[keep], self.ends[keep]
        seq = torch.from_numpy(padded_tails(self.items, self.starts, self.ends, self.max_length + 1))
        self.inputs = seq[:, :-1].contiguous()  # [U', L]
        self.targets = seq[:, 1:].masked_fill(seq[:, :-1] == 0, 0).contiguous()  # [U', L]

    def __len__(self) -> int:
        return (len(self.starts) + self.batch_size - 1) // self.batch_size

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
        """Yield ``(rows, inputs [B, L'], targets [B, L'])`` in a random order, padding trimmed."""
        order = torch.randperm(len(self.starts), generator=generator).numpy()
        for begin in range(0, len(order), self.batch_size):
            rows = order[begin : begin + self.batch_size]
            index = torch.from_numpy(rows)
            inputs, targets = trim_padding(self.inputs[index], self.targets[index])
            yield rows, inputs, targets

    def seen(self, rows: np.ndarray, n_items: int) -> torch.Tensor:
        """[B, I + 1] mask of the training items of the users behind ``rows``."""
        return seen_matrix(self.items, self.starts[rows], self.ends[rows], n_items)
