"""A few test users of a trained run: their last items, the model's top-K, and where the held-out
test item landed, for the HTML report to show what the model recommends.

Users are picked deterministically (evenly spaced over the test set, in user order), the lists
are scored exactly as the test metrics are (same history, ``eval.filter_seen``, ties counted
against the target), so a hit here is a hit in HR@K.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from seqrec.data.split import make_split
from seqrec.estimator import SequentialRecommender
from seqrec.evaluation import score_histories
from seqrec.metrics import target_ranks


@dataclass(frozen=True)
class Example:
    """One test user: raw ids of the last history items (oldest first), the top-K and the test target."""

    user: Any
    history: list[Any]
    top: list[Any]
    target: Any
    rank: float  # 1-based rank of the target among the candidates (inf: it was filtered out)

    @property
    def hit(self) -> bool:
        return self.target in self.top


def pick(n_candidates: int, n: int) -> np.ndarray:
    """``n`` evenly spaced indices into ``n_candidates`` (all of them when there are no more)."""
    if n_candidates <= n:
        return np.arange(n_candidates)
    return np.linspace(0, n_candidates - 1, n).round().astype(np.int64)


def _raw(value: Any) -> Any:
    """A numpy scalar as the plain Python value (so ids compare and print as in the data file)."""
    return value.item() if isinstance(value, np.generic) else value


@torch.no_grad()
def examples(est: SequentialRecommender, n_users: int = 4, last: int = 5, k: int = 10) -> list[Example]:
    """``n_users`` test users of the run's own split, their ``last`` items and top-``k``."""
    model, data, _ = est._fitted()
    config = est.config
    split = make_split(config.eval.split, data, config.eval, config.data.path or config.data.dataset)
    if split.test is None or len(split.test) == 0:
        raise ValueError(f"split {config.eval.split!r} holds no test users")
    chosen = split.test.subset(pick(len(split.test), n_users))
    starts = data.offsets[chosen.users]
    device = torch.device(config.train.device)
    found: dict[int, Example] = {}  # by row of chosen
    batches = score_histories(
        model, data.items, starts, chosen.history_end, data.n_items, config.eval.filter_seen, len(chosen), device
    )
    for rows, scores in batches:  # scores [B, I + 1]
        targets = torch.from_numpy(chosen.targets[rows]).to(device)  # [B]
        ranks = target_ranks(scores, targets).cpu().numpy() + 1  # [B], 1-based
        values, indices = scores.topk(min(k, data.n_items), dim=1)  # [B, k]
        top = indices.masked_fill(values == float("-inf"), 0).cpu().numpy()  # [B, k], 0: no candidate left
        for row, rank, items in zip(rows, ranks, top, strict=True):
            history = data.items[max(starts[row], chosen.history_end[row] - last) : chosen.history_end[row]]
            found[int(row)] = Example(
                user=_raw(data.user_ids[chosen.users[row]]),
                history=[_raw(data.item_ids[i]) for i in history],
                top=[_raw(data.item_ids[i]) for i in items if i > 0],
                target=_raw(data.item_ids[chosen.targets[row]]),
                rank=float(rank),
            )
    return [found[row] for row in range(len(chosen))]
