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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from seqrec.data.interactions import Interactions


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


# Splits a config can name (``eval.split``): each returns validation and test sets. Adding a
# split is one function above plus its entry here.
SPLITS: dict[str, Callable[[Interactions], Split]] = {"leave_one_out": leave_one_out}


def make_split(name: str, data: Interactions) -> Split:
    """The split ``name`` of ``data``; ValueError listing the known splits for an unknown name."""
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; known: {', '.join(sorted(SPLITS))}")
    return SPLITS[name](data)
