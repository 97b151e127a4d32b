"""A run's per-user test results: ``per_user.npz`` beside metrics.json, for paired comparisons of runs.

One row per test target, in the order the split holds them (leave-one-out: one per user;
``eval.split = "temporal"`` with ``eval.targets = "all"``: a user's targets in time order)::

    users  [E] str      raw user id (the data's own label, as text)
    items  [E] str      raw id of the target item
    ranks  [E] float64  1-based rank of the target among the candidates (the user's history
                        removed as in evaluation, ties counted against the target); +inf for
                        a target that was itself removed as seen (a miss at every K)

HR@K, NDCG@K (any K) and MRR follow from the ranks exactly as the evaluation derives them
(:func:`seqrec.metrics.mean_metrics`), so the test metrics of metrics.json can be recomputed
from the file bit for bit. Plain numpy (``np.savez_compressed``, no pickles): no optional
dependency, and the file is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqrec.data.interactions import Interactions
from seqrec.data.split import EvalSet
from seqrec.io import replace_atomic
from seqrec.metrics import mean_metrics, metric_values

PER_USER_FILE = "per_user.npz"
FIELDS = ("users", "items", "ranks")


@dataclass(frozen=True)
class PerUser:
    """Per-target test results of one run (see the module docstring)."""

    users: np.ndarray  # [E] str raw user ids
    items: np.ndarray  # [E] str raw target item ids
    ranks: np.ndarray  # [E] float64 1-based ranks, +inf: the target was not rankable

    def __len__(self) -> int:
        return len(self.ranks)

    def values(self, metric: str) -> np.ndarray:
        """Each target's value [E] of ``metric`` (``ndcg@K``, ``hr@K`` or ``mrr``)."""
        return metric_values(self.ranks - 1, metric)

    def metrics(self, ks: list[int] | tuple[int, ...]) -> dict[str, float]:
        """Mean HR@K, NDCG@K and MRR: the test figures of metrics.json for the same ``ks``."""
        return mean_metrics(self.ranks - 1, ks)


def from_eval_set(data: Interactions, eval_set: EvalSet, ranks: np.ndarray) -> PerUser:
    """The per-target results of ``eval_set`` from its 0-based ranks [E], internal ids mapped to raw ones."""
    return PerUser(
        users=data.user_ids[eval_set.users].astype(str),
        items=data.item_ids[eval_set.targets].astype(str),
        ranks=np.asarray(ranks, dtype=np.float64) + 1,
    )


def write_per_user(path: Path, per_user: PerUser) -> None:
    """Write ``per_user`` to ``path`` atomically (a temporary file renamed over it)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a bare name
            np.savez_compressed(f, users=per_user.users, items=per_user.items, ranks=per_user.ranks)

    replace_atomic(path, write)


def read_per_user(path: Path) -> PerUser:
    """Read a per-user file; ValueError naming the file when it is unreadable or malformed."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array
            raise ValueError("a single array, not an .npz archive")
        with loaded as npz:
            found = list(npz.files)
            arrays = {name: npz[name] for name in FIELDS if name in found}
    except FileNotFoundError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable per-user results file ({type(error).__name__}: {error})") from None
    missing = [name for name in FIELDS if name not in arrays]
    if missing:
        raise ValueError(f"{path}: not a per-user results file (no {', '.join(missing)}; it holds {found})")
    users, items, ranks = (arrays[name] for name in FIELDS)
    if not len(users) == len(items) == len(ranks) or ranks.dtype.kind != "f" or users.ndim != 1:
        raise ValueError(f"{path}: malformed per-user results (users, items and ranks must be 1-d of one length)")
    if len(ranks) == 0 or bool(np.any(ranks < 1)):
        raise ValueError(f"{path}: malformed per-user results (no rows, or a rank below 1)")
    return PerUser(users.astype(str), items.astype(str), ranks.astype(np.float64))
