"""Leave-one-out split: views over the same CSR arrays, nothing copied per user.

For a user with n >= 3 interactions, oldest first::

    items:      i_1  i_2  ...  i_{n-2}  i_{n-1}  i_n
    training:   [------ i_1 .. i_{n-2} -------]
    validation: input i_1 .. i_{n-2}           -> target i_{n-1}
    test:       input i_1 .. i_{n-1}           -> target i_n

The validation target is never a training target; at test time it is part of the input.

Users with fewer than 3 interactions have no held-out items: all their items are training
data (a user with 2 items still gives one next-item target), and they appear in neither
validation nor test::

    n = 2:   training: [i_1 i_2]    validation: -    test: -
    n = 1:   training: [i_1]        (nothing to predict; contributes no target)

The full-history view (:func:`full_history`, for training a final model on everything) holds
no items out::

    items:      i_1  i_2  ...  i_n
    training:   [------ i_1 .. i_n ------]      validation: -    test: -

The global temporal split (:func:`temporal`, ``eval.split = "temporal"``) cuts the time axis of
all users at once: the validation period starts at the valid cut, the test period at the test
cut (``eval.valid_from``, ``eval.test_from``: a quantile of all interaction times in (0, 1), or
a timestamp, > 1, in the data's own units; datetimes read from text are int64 nanoseconds)::

    time:        ----------------|valid cut----------|test cut------------>
    user A:      a1  a2  a3      |  a4   a5          |  a6  a7
      training:  [a1 a2 a3]
      validation: input a1 a2 a3 -> target a4         (targets = "all": also a1..a4 -> a5)
      test:       input a1 .. a5 -> target a6         (targets = "all": also a1..a6 -> a7)
    user B:      b1              |                   |  b2
      training:  [b1]    validation: -    test: input b1 -> target b2
    user C:                      |  c1  c2           |  c3
      training:  -       validation: -    test: input c1 c2 -> target c3
    user D:                                          |  d1  d2
      left out: no history before either cut

Training holds only interactions before the valid cut. Validation and test inputs are
everything before the target, so items of the validation period are test history, never
training data. A user without any interaction before a cut is left out of that cut's set
(nothing to predict from). Needs timestamps (:attr:`Interactions.timestamps`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqrec.config import EvalConfig
from seqrec.data.interactions import DataError, Interactions, gather_ranges
from seqrec.data.temporal import counts_before, resolve_cut, show_time


@dataclass(frozen=True)
class EvalSet:
    """Users to evaluate, the end of each one's input history and its target item."""

    users: np.ndarray  # [E] internal user ids
    history_end: np.ndarray  # [E] absolute index into items: history is items[offsets[u]:history_end]
    targets: np.ndarray  # [E] internal item ids

    def __len__(self) -> int:
        return len(self.users)

    def subset(self, index: np.ndarray) -> EvalSet:
        return EvalSet(self.users[index], self.history_end[index], self.targets[index])


@dataclass(frozen=True)
class Split:
    """Training sequences (as CSR ends) plus validation and test sets (None: the split holds none out)."""

    data: Interactions
    train_end: np.ndarray  # [U] absolute index: training sequence of u is items[offsets[u]:train_end[u]]
    valid: EvalSet | None
    test: EvalSet | None

    @property
    def train_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        return self.data.offsets[:-1], self.train_end


@dataclass(frozen=True)
class LeaveOneOut(Split):
    """The leave-one-out split: validation and test sets always present."""

    valid: EvalSet
    test: EvalSet


def full_history(data: Interactions) -> Split:
    """Every item of every user is a training item; nothing is held out (no validation, no test)."""
    return Split(data=data, train_end=data.offsets[1:].copy(), valid=None, test=None)


def leave_one_out(data: Interactions) -> LeaveOneOut:
    """Split every user's sequence into training, validation target and test target."""
    starts, ends = data.offsets[:-1], data.offsets[1:]
    lengths = ends - starts
    held_out = lengths >= 3
    train_end = np.where(held_out, ends - 2, ends)
    users = np.flatnonzero(held_out)
    valid = EvalSet(users, ends[users] - 2, data.items[ends[users] - 2])
    test = EvalSet(users, ends[users] - 1, data.items[ends[users] - 1])
    return LeaveOneOut(data=data, train_end=train_end, valid=valid, test=test)


def temporal(data: Interactions, eval_config: EvalConfig) -> Split:
    """Global temporal split at the cuts ``eval.valid_from`` < ``eval.test_from`` (see the module docstring).

    DataError, naming the key, when the data has no timestamps, when a cut leaves no training
    data or no test or validation users, or when the valid cut is not before the test cut.
    """
    times = data.timestamps
    if times is None:
        raise DataError(
            "eval.split = 'temporal' needs interaction timestamps and this data has none "
            "(formats with times: udata, grouplens, tables with data.timestamp_col)"
        )
    valid_cut = resolve_cut(eval_config.valid_from, times)
    test_cut = resolve_cut(eval_config.test_from, times)
    valid_at, test_at = show_time(valid_cut), show_time(test_cut)
    first, last = show_time(times.min()), show_time(times.max())
    if valid_cut >= test_cut:
        raise DataError(f"eval.valid_from (cut at {valid_at}) is not before eval.test_from (cut at {test_at})")
    if valid_cut <= times.min():
        raise DataError(
            f"eval.valid_from cuts at {valid_at}, at or before the earliest interaction ({first}): no training data"
        )
    if test_cut > times.max():
        raise DataError(f"eval.test_from cuts at {test_at}, after the latest interaction ({last}): no test targets")
    starts, ends = data.offsets[:-1], data.offsets[1:]
    before_valid = counts_before(data, valid_cut)  # [U] items of each user before the valid cut
    before_test = counts_before(data, test_cut)  # [U]
    train_end = starts + before_valid
    all_targets = eval_config.targets == "all"
    valid = _targets(data, starts + before_valid, starts + before_test, before_valid > 0, all_targets)
    test = _targets(data, starts + before_test, ends, before_test > 0, all_targets)
    for key, eval_set in (("eval.valid_from", valid), ("eval.test_from", test)):
        if len(eval_set) == 0:
            raise DataError(f"{key}: no user has interactions both before and at or after this cut")
    return Split(data=data, train_end=train_end, valid=valid, test=test)


def _targets(data: Interactions, lo: np.ndarray, hi: np.ndarray, has_history: np.ndarray, every: bool) -> EvalSet:
    """Targets at positions ``[lo[u], hi[u])`` of users with history: the first one, or ``every`` one."""
    users = np.flatnonzero(has_history & (hi > lo))  # [E] users with a target
    if every:
        row, positions = gather_ranges(np.arange(data.n_interactions), lo[users], hi[users])
        users = users[row]  # [E'] one row per target, a user repeated for each of its targets
    else:
        positions = lo[users]
    return EvalSet(users, positions, data.items[positions])


# Splits a config can name (``eval.split``): each takes the data and the ``[eval]`` config (a
# split that needs no settings ignores it) and returns validation and test sets. Adding a
# split is one function above plus its entry here.
SPLITS: dict[str, Callable[[Interactions, EvalConfig], Split]] = {
    "leave_one_out": lambda data, _: leave_one_out(data),
    "temporal": temporal,
}


def make_split(name: str, data: Interactions, eval_config: EvalConfig, source: str = "") -> Split:
    """The split ``name`` of ``data``; ValueError listing the known splits for an unknown name.

    A DataError of the split (e.g. no timestamps) is prefixed with ``source`` when given.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; known: {', '.join(sorted(SPLITS))}")
    try:
        return SPLITS[name](data, eval_config)
    except DataError as error:
        raise DataError(f"{source}: {error}" if source else str(error)) from None
