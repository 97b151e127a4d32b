"""Training losses as pure functions, chosen by name from ``LOSSES``.

Every loss takes ``hidden`` [B, L, D], the tied output matrix ``weights`` [I + 1, D] (row 0 is
padding), ``targets`` [B, L] (0 = no target at that position) and the negatives its sampler
drew, and returns the mean over target positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from seqrec.fused_ce import linear_cross_entropy, sampled_cross_entropy

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def bce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None
) -> torch.Tensor:
    """-log σ(h·e_pos) - Σ_k log(1 - σ(h·e_neg_k)); negatives [B, L, n] drawn per position."""
    assert negatives is not None, "bce needs per-position negatives"
    where = targets > 0
    h = hidden[where]  # [N, D]
    positive = (h * weights[targets[where]]).sum(-1)  # [N]
    negative = torch.einsum("nd,nkd->nk", h, weights[negatives[where]])  # [N, n]
    return (F.softplus(-positive) + F.softplus(negative).sum(-1)).mean()


def ce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None = None
) -> torch.Tensor:
    """Softmax cross-entropy over the whole catalog (padding excluded)."""
    where = targets > 0
    return linear_cross_entropy(hidden[where], weights[1:], targets[where] - 1)


def ce_loss_plain(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None = None
) -> torch.Tensor:
    """``ce_loss`` with all N x I logits materialised: the reference the chunked version must match."""
    where = targets > 0
    logits = hidden[where] @ weights[1:].T  # [N, I]
    return F.cross_entropy(logits, targets[where] - 1)


def sampled_ce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None
) -> torch.Tensor:
    """Softmax over the target and the sequence's shared negatives [B, n] (0 = empty slot)."""
    assert negatives is not None, "sampled_ce needs per-sequence negatives"
    return sampled_cross_entropy(
        hidden, weights[targets], weights[negatives], targets > 0, negatives != 0
    )  # [B, L, D], [B, L, D], [B, n, D]


def sampled_ce_loss_plain(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor | None
) -> torch.Tensor:
    """``sampled_ce_loss`` with all [B, L, n] logits kept for autograd: the reference it must match."""
    assert negatives is not None, "sampled_ce needs per-sequence negatives"
    where = targets > 0  # [B, L]
    positive = (hidden * weights[targets]).sum(-1)  # [B, L]
    negative = hidden @ weights[negatives].transpose(1, 2)  # [B, L, n]
    negative = negative.masked_fill((negatives == 0)[:, None, :], float("-inf"))
    logits = torch.cat([positive[..., None], negative], dim=-1)[where]  # [N, 1 + n]
    return (torch.logsumexp(logits, dim=-1) - logits[:, 0]).mean()


@dataclass(frozen=True)
class LossSpec:
    """A loss and the negatives it needs: none, ``n`` per position, or ``n`` per sequence."""

    fn: LossFn
    sampler: Literal["none", "per_position", "per_sequence"]
    default_negatives: int


LOSSES: dict[str, LossSpec] = {
    "bce": LossSpec(bce_loss, "per_position", 1),
    "ce": LossSpec(ce_loss, "none", 0),
    "sampled_ce": LossSpec(sampled_ce_loss, "per_sequence", 3000),
}


def get_loss(name: str) -> LossSpec:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(sorted(LOSSES))}") from None
