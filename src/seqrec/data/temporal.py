"""Interaction times: where a temporal cut falls, and how much "future" a split trains on.

Times are those of :attr:`Interactions.timestamps` (numbers in the data's own units; datetimes
read from text are int64 nanoseconds), ascending within each user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from seqrec.data.interactions import Interactions, gather_ranges

if TYPE_CHECKING:
    from seqrec.data.split import Split


def resolve_cut(value: float, times: np.ndarray) -> float:
    """The time a cut setting names: for ``0 < value < 1`` that quantile of all ``times``, else ``value``.

    The quantile is an actual interaction time (numpy's "higher" method), so interactions at
    or after the cut are at most a ``1 - value`` share of all (fewer when times tie at the cut).
    """
    if 0 < value < 1:
        return float(np.quantile(times, value, method="higher"))
    return float(value)


def counts_before(data: Interactions, cut: float) -> np.ndarray:
    """[U] how many of each user's interactions are earlier than ``cut`` (they come first in its sequence)."""
    assert data.timestamps is not None
    user_of = np.repeat(np.arange(data.n_users), data.lengths)  # [N] owner of each interaction
    return np.bincount(user_of[data.timestamps < cut], minlength=data.n_users).astype(np.int64)


def targets_before_latest_training(split: Split) -> float:
    """Share of test targets older than the latest training interaction of the whole training set.

    For leave-one-out this is how much of the test period the model trained on (0.0 for a global
    temporal split); 0.0 when there are no test targets. Needs timestamps.
    """
    times = split.data.timestamps
    if times is None:
        raise ValueError("the data has no timestamps")
    if split.test is None or len(split.test) == 0:
        return 0.0
    _, train_times = gather_ranges(times, *split.train_offsets)  # [T] times of all training items
    if len(train_times) == 0:
        return 0.0
    target_times = times[split.test.history_end]  # [E] a target sits right after its history
    return float(np.mean(target_times < train_times.max()))


def targets_sharing_time(split: Split) -> dict[str, dict[str, float | int]]:
    """How many validation and test targets share their timestamp with another item of their user.

    Such a target's place in the sequence, and so which item is held out, depends on how the
    file orders interactions given at the same time (ML-1M has many ratings per second): a
    different tie order changes these users' targets. Per held-out set: ``targets``, ``tied``
    (count) and ``share``. Needs timestamps.
    """
    times = split.data.timestamps
    if times is None:
        raise ValueError("the data has no timestamps")
    starts, ends = split.data.offsets[:-1], split.data.offsets[1:]
    shares: dict[str, dict[str, float | int]] = {}
    for name, held_out in (("valid", split.valid), ("test", split.test)):
        if held_out is None:
            continue
        at = held_out.history_end  # [E] the target's absolute index
        first, last = starts[held_out.users], ends[held_out.users] - 1  # [E] the user's range
        # times ascend within a user, so an equal time elsewhere in the user means an equal neighbour
        before = (at > first) & (times[np.maximum(at - 1, 0)] == times[at])
        after = (at < last) & (times[np.minimum(at + 1, len(times) - 1)] == times[at])
        tied = int(np.count_nonzero(before | after))
        shares[name] = {"targets": len(at), "tied": tied, "share": tied / len(at) if len(at) else 0.0}
    return shares


def show_time(value: float) -> str:
    """A cut or time for a message: whole numbers in full (unix seconds, nanoseconds), others short."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"
