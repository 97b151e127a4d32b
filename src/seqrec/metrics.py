"""Ranking metrics derived from the target's rank, computed once over the whole catalog."""

from __future__ import annotations

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
