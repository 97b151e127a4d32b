"""Interactions: every user's items in chronological order, held as flat CSR arrays.

Internal ids are contiguous: users ``0..n_users-1``, items ``1..n_items`` (0 is padding).
``user_ids[u]`` and ``item_ids[i]`` map internal ids back to the raw ids of the source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DataError(ValueError):
    """Input data that cannot be turned into interactions (the message says where and why)."""


@dataclass(frozen=True)
class Interactions:
    """Users' item sequences in CSR form: ``items[offsets[u]:offsets[u+1]]`` is user ``u``'s history."""

    offsets: np.ndarray  # [U + 1] int64, offsets[0] == 0
    items: np.ndarray  # [N] int64, internal item ids in 1..n_items
    user_ids: np.ndarray  # [U] raw user ids
    item_ids: np.ndarray  # [n_items + 1] raw item ids; item_ids[0] is a padding placeholder
    # [N] time of each interaction, aligned with items (so ascending within each user); None: no times
    timestamps: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_items(self) -> int:
        return len(self.item_ids) - 1

    @property
    def n_interactions(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sequence(self, user: int) -> np.ndarray:
        """Internal item ids of one user, oldest first."""
        return self.items[self.offsets[user] : self.offsets[user + 1]]

    def stats(self) -> dict[str, int | float]:
        n = self.n_interactions
        return {
            "users": self.n_users,
            "items": self.n_items,
            "interactions": n,
            "density": n / max(1, self.n_users * self.n_items),
        }

    @classmethod
    def from_arrays(
        cls,
        users: np.ndarray,
        items: np.ndarray,
        timestamps: np.ndarray | None = None,
        *,
        min_item_interactions: int = 0,
        min_user_interactions: int = 0,
        drop_duplicates: bool = False,
        source: str = "<arrays>",
    ) -> Interactions:
        """Build from parallel arrays of raw user ids, raw item ids and optional timestamps.

        With timestamps, each user's items are ordered by a stable sort on time (ties keep
        input order); without, input order is kept. ``drop_duplicates`` keeps the first
        (earliest) occurrence of each user-item pair. The minimum-count filters on items and
        users are applied alternately until neither removes anything. The timestamps of the
        kept interactions are kept too (``timestamps``, aligned with ``items``).
        """
        users = np.asarray(users)
        items = np.asarray(items)
        if len(users) != len(items):
            raise DataError(f"{source}: {len(users)} user ids but {len(items)} item ids")
        if len(users) == 0:
            raise DataError(f"{source}: no interactions")
        if timestamps is not None:
            timestamps = np.asarray(timestamps)
            if len(timestamps) != len(users):
                raise DataError(f"{source}: {len(timestamps)} timestamps for {len(users)} rows")
            if timestamps.dtype.kind == "f" and np.isnan(timestamps).any():
                row = int(np.flatnonzero(np.isnan(timestamps))[0])
                raise DataError(f"{source}: timestamp is missing (NaN) in row {row + 1}")

        user_keys, user_codes = np.unique(users, return_inverse=True)
        if timestamps is None:
            order = np.argsort(user_codes, kind="stable")
        else:
            order = np.lexsort((timestamps, user_codes))  # lexsort is stable
        user_codes = user_codes[order]
        item_raw = items[order]
        item_keys, item_codes = np.unique(item_raw, return_inverse=True)

        keep = np.ones(len(user_codes), dtype=bool)
        if drop_duplicates:
            pair = user_codes.astype(np.int64) * len(item_keys) + item_codes
            _, first = np.unique(pair, return_index=True)
            keep[:] = False
            keep[first] = True
        while min_item_interactions > 1 or min_user_interactions > 1:
            before = int(keep.sum())
            if min_item_interactions > 1:
                counts = np.bincount(item_codes[keep], minlength=len(item_keys))
                keep &= counts[item_codes] >= min_item_interactions
            if min_user_interactions > 1:
                counts = np.bincount(user_codes[keep], minlength=len(user_keys))
                keep &= counts[user_codes] >= min_user_interactions
            if int(keep.sum()) == before:
                break
        if not keep.any():
            raise DataError(f"{source}: no interactions left after filtering")

        user_codes, item_codes = user_codes[keep], item_codes[keep]
        kept_times = None if timestamps is None else timestamps[order][keep]  # [N]
        kept_users, user_codes = np.unique(user_codes, return_inverse=True)
        kept_items, item_codes = np.unique(item_codes, return_inverse=True)
        counts = np.bincount(user_codes, minlength=len(kept_users))
        offsets = np.zeros(len(kept_users) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        raw_items = item_keys[kept_items]
        item_ids = np.concatenate([np.zeros(1, dtype=raw_items.dtype), raw_items])
        return cls(
            offsets=offsets,
            items=item_codes.astype(np.int64) + 1,
            user_ids=user_keys[kept_users],
            item_ids=item_ids,
            timestamps=kept_times,
        )


def gather_ranges(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``values[starts[r]:ends[r]]`` over rows r, vectorised.

    Returns ``(row_index, gathered)``: ``row_index[k]`` is the row that ``gathered[k]`` came from.
    """
    lengths = np.maximum(ends - starts, 0)
    row_index = np.repeat(np.arange(len(starts)), lengths)
    # position of each element inside its own row
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return row_index, values[np.repeat(starts, lengths) + within]


def item_counts(items: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_items: int) -> np.ndarray:
    """How often each item occurs in the ranges ``items[starts[r]:ends[r]]``: [n_items + 1], index 0 padding."""
    _, gathered = gather_ranges(items, starts, ends)
    return np.bincount(gathered, minlength=n_items + 1)
