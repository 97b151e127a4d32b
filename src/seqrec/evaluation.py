"""Whole-catalog evaluation: score every item, remove the user's history, rank the target once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np
import torch

from seqrec.data.batches import padded_tails, seen_matrix, trim_padding
from seqrec.data.interactions import Interactions, item_counts
from seqrec.data.split import EvalSet
from seqrec.metrics import mean_metrics, target_ranks


class NextItemScorer(Protocol):
    """Anything that scores the next item of left-padded histories: [B, L] -> [B, I + 1]."""

    max_length: int

    def score_next(self, history: torch.Tensor) -> torch.Tensor: ...


class Popularity:
    """Baseline: every user gets the items ranked by their training-set frequency."""

    def __init__(self, counts: np.ndarray, max_length: int = 1) -> None:
        self.counts = torch.as_tensor(counts, dtype=torch.float32)  # [I + 1]
        self.max_length = max_length

    @classmethod
    def fit(cls, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_items: int) -> Popularity:
        return cls(item_counts(items, starts, ends, n_items))

    def score_next(self, history: torch.Tensor) -> torch.Tensor:
        return self.counts.expand(history.shape[0], -1)

    def eval(self) -> Popularity:
        return self


@torch.no_grad()
def score_histories(
    model: NextItemScorer,
    items: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    n_items: int,
    filter_seen: bool = True,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
    """Scores of every item as the next one after each history ``items[starts[r]:ends[r]]``.

    Yields ``(rows, scores [B, I + 1])`` batch by batch, histories of similar length together
    (so trimming padding saves work); padding, and with ``filter_seen`` every item of the
    history, score -inf.
    """
    if hasattr(model, "eval"):
        model.eval()
    order = np.argsort(ends - starts, kind="stable")
    for begin in range(0, len(order), batch_size):
        rows = order[begin : begin + batch_size]
        history = torch.from_numpy(padded_tails(items, starts[rows], ends[rows], model.max_length))  # [B, L]
        (history,) = trim_padding(history)
        scores = model.score_next(history.to(device)).float().clone()  # [B, I + 1]
        scores[:, 0] = float("-inf")
        if filter_seen:
            scores.masked_fill_(seen_matrix(items, starts[rows], ends[rows], n_items, device), float("-inf"))
        yield rows, scores


@torch.no_grad()
def evaluate(
    model: NextItemScorer,
    data: Interactions,
    eval_set: EvalSet,
    ks: list[int] | tuple[int, ...] = (10, 100),
    filter_seen: bool = True,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Mean HR@K, NDCG@K (for each K) and MRR over ``eval_set``'s users.

    Each user's input is the history before its target (``items[start:history_end]``); with
    ``filter_seen`` every item of that whole history is removed from the ranking.
    """
    return evaluate_with_lists(model, data, eval_set, ks, 0, filter_seen, batch_size, device)[0]


@torch.no_grad()
def evaluate_with_lists(
    model: NextItemScorer,
    data: Interactions,
    eval_set: EvalSet,
    ks: list[int] | tuple[int, ...],
    top_k: int,
    filter_seen: bool = True,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, float], np.ndarray]:
    """:func:`evaluate`'s metrics and, from the same scores, each user's top-``top_k`` internal items
    [E, top_k] (0 where fewer candidates remain; [E, 0] with ``top_k = 0``)."""
    ranks, lists = rank_targets(model, data, eval_set, top_k, filter_seen, batch_size, device)
    return mean_metrics(ranks, ks), lists


@torch.no_grad()
def rank_targets(
    model: NextItemScorer,
    data: Interactions,
    eval_set: EvalSet,
    top_k: int = 0,
    filter_seen: bool = True,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Each target's 0-based rank [E] (in ``eval_set``'s order; +inf for a target removed as seen)
    and, from the same scores, each user's top-``top_k`` internal items [E, top_k].

    Every metric derives from these ranks (:func:`seqrec.metrics.mean_metrics`), so they are
    what a run keeps per user (:mod:`seqrec.per_user`).
    """
    if len(eval_set) == 0:
        raise ValueError("no users to evaluate")
    starts = data.offsets[eval_set.users]
    ranks = np.zeros(len(eval_set), dtype=np.float64)  # [E]
    lists = np.zeros((len(eval_set), top_k), dtype=np.int64)  # [E, top_k]
    batches = score_histories(
        model, data.items, starts, eval_set.history_end, data.n_items, filter_seen, batch_size, device
    )
    for rows, scores in batches:
        targets = torch.from_numpy(eval_set.targets[rows]).to(device)
        ranks[rows] = target_ranks(scores, targets).cpu().numpy()  # [B]
        if top_k:
            values, items = scores.topk(min(top_k, scores.shape[1]), dim=1)  # [B, k]
            lists[rows, : items.shape[1]] = items.masked_fill(values == float("-inf"), 0).cpu().numpy()
    return ranks, lists
