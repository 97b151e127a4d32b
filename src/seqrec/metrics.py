"""Ranking metrics derived from the target's rank, computed once over the whole catalog."""

from __future__ import annotations

import math

import numpy as np
import torch


def target_ranks(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """0-based rank of each target among the candidates: scores [B, I + 1], targets [B] -> [B].

    Ties count against the target (a tied item ranks ahead of it), so a model that scores
    everything equally gets no credit. Candidates masked with -inf are not ranked; a masked
    target gets rank +inf (a miss at every cutoff, reciprocal rank 0).
    """
    target_scores = scores.gather(1, targets[:, None])  # [B, 1]
    ranks = (scores >= target_scores).sum(1).to(torch.float64) - 1  # [B]
    return torch.where(target_scores[:, 0] == float("-inf"), torch.inf, ranks)


def metrics_from_ranks(ranks: torch.Tensor, ks: list[int]) -> dict[str, torch.Tensor]:
    """Per-user HR@K, NDCG@K and MRR from 0-based ranks [B] (one relevant item per user)."""
    out: dict[str, torch.Tensor] = {"mrr": 1.0 / (ranks + 1)}
    gain = 1.0 / torch.log2(ranks + 2)
    for k in ks:
        hit = ranks < k
        out[f"hr@{k}"] = hit.to(torch.float64)
        out[f"ndcg@{k}"] = torch.where(hit, gain, torch.zeros_like(gain))
    return out


def exact_mean(values: np.ndarray | torch.Tensor) -> float:
    """Mean of ``values`` [E] from an exactly rounded sum (``math.fsum``): independent of order and device."""
    return math.fsum(values.tolist()) / len(values)


def mean_metrics(ranks: np.ndarray, ks: list[int] | tuple[int, ...]) -> dict[str, float]:
    """Mean HR@K, NDCG@K and MRR over 0-based ranks [E], each an exactly rounded sum (``math.fsum``).

    Computed on the CPU from the integer ranks, so the same ranks give the same figures bit for
    bit whatever the device or order: what makes metrics.json reproducible from per_user.npz.
    """
    if len(ranks) == 0:
        raise ValueError("no ranks to average")
    per_user = metrics_from_ranks(torch.from_numpy(np.asarray(ranks, dtype=np.float64)), list(ks))
    return {name: exact_mean(values) for name, values in per_user.items()}


def metric_values(ranks: np.ndarray, name: str) -> np.ndarray:
    """Per-target values [E] of one metric (``ndcg@K``, ``hr@K`` or ``mrr``) from 0-based ranks [E]."""
    base, _, k = name.partition("@")
    if not (name == "mrr" or (base in ("hr", "ndcg") and k.isdigit() and int(k) >= 1)):
        raise ValueError(f"unknown metric {name!r}; use ndcg@K, hr@K (K >= 1) or mrr")
    ks = [int(k)] if k else []
    ranks_t = torch.from_numpy(np.asarray(ranks, dtype=np.float64))
    return metrics_from_ranks(ranks_t, ks)[f"{base}@{ks[0]}" if ks else name].numpy()
