"""Training losses: the maths as pure functions, and a small class per loss that a config names.

Every loss takes ``hidden`` [B, L, D], the tied output matrix ``weights`` [I + 1, D] (row 0 is
padding), ``targets`` [B, L] (0 = no target at that position) and the negatives its sampler
drew, and returns the mean over target positions. A loss class declares the negatives it needs
(``negatives``: per position, per sequence or none), its default sampler and count, and its own
parameters as dataclass fields (set from ``train.loss_args``). Adding a loss is one function
and one class here plus its registration in ``LOSSES``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from seqrec.objectives.fused_ce import gather_rows, linear_cross_entropy, sampled_cross_entropy
from seqrec.objectives.samplers import Negatives, Shape


def bce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """-log σ(h·e_pos) - Σ_k log(1 - σ(h·e_neg_k)), averaged over target positions; negatives [B, L, n]."""
    where = targets > 0
    h = hidden[where]  # [N, D]
    positive = (h * weights[targets[where]]).sum(-1)  # [N]
    negative = torch.einsum("nd,nkd->nk", h, weights[negatives[where]])  # [N, n]
    return (F.softplus(-positive) + F.softplus(negative).sum(-1)).mean()


def ce_loss(hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy over the whole catalog (padding excluded), chunked."""
    where = targets > 0
    return linear_cross_entropy(hidden[where], weights[1:], targets[where] - 1)


def ce_loss_plain(hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``ce_loss`` with all N x I logits materialised: the reference the chunked version must match."""
    where = targets > 0
    logits = hidden[where] @ weights[1:].T  # [N, I]
    return F.cross_entropy(logits, targets[where] - 1)


def sampled_ce_loss(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    may_hit_targets: bool = True,
) -> torch.Tensor:
    """Softmax over the target and the sequence's shared negatives [B, n] (0 = empty slot); a negative
    equal to a position's target is left out there (a check skipped when ``may_hit_targets`` is False:
    the caller knows there is none)."""
    ids = (targets, negatives) if may_hit_targets else (None, None)
    return sampled_cross_entropy(
        hidden,
        gather_rows(weights, targets),
        gather_rows(weights, negatives),
        targets > 0,
        negatives != 0,
        target_ids=ids[0],
        negative_ids=ids[1],
    )  # [B, L, D], [B, L, D], [B, n, D]


def sampled_ce_loss_plain(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """``sampled_ce_loss`` with all [B, L, n] logits kept for autograd: the reference it must match."""
    where = targets > 0  # [B, L]
    positive = (hidden * weights[targets]).sum(-1)  # [B, L]
    negative = hidden @ weights[negatives].transpose(1, 2)  # [B, L, n]
    negative = negative.masked_fill((negatives == 0)[:, None, :], float("-inf"))
    negative = negative.masked_fill(targets[:, :, None] == negatives[:, None, :], float("-inf"))
    logits = torch.cat([positive[..., None], negative], dim=-1)[where]  # [N, 1 + n]
    return (torch.logsumexp(logits, dim=-1) - logits[:, 0]).mean()


@dataclass(frozen=True)
class Loss(ABC):
    """A loss as a config names it; its dataclass fields are its parameters (``train.loss_args``)."""

    name: ClassVar[str]
    negatives: ClassVar[Shape | None]  # the negatives it needs: per position, per sequence, or none
    default_sampler: ClassVar[str | None]
    default_negatives: ClassVar[int]

    @abstractmethod
    def __call__(
        self, hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: Negatives | None
    ) -> torch.Tensor: ...

    @classmethod
    def parameters(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> Loss:
        """Build with ``args``; unknown names raise ValueError listing the loss's parameters."""
        unknown = sorted(set(args) - set(cls.parameters()))
        if unknown:
            known = ", ".join(cls.parameters()) or "none"
            raise ValueError(f"loss {cls.name!r} has no parameter(s) {', '.join(unknown)}; its parameters: {known}")
        return cls(**args)


def _items(negatives: Negatives | None, loss: str) -> torch.Tensor:
    if negatives is None:
        raise ValueError(f"loss {loss!r} needs negatives, and none were drawn")
    return negatives.items


@dataclass(frozen=True)
class BCE(Loss):
    """Binary cross-entropy, one uniformly drawn negative per position by default (SASRec's loss)."""

    name = "bce"
    negatives = "per_position"
    default_sampler = "uniform"
    default_negatives = 1

    def __call__(
        self, hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: Negatives | None
    ) -> torch.Tensor:
        return bce_loss(hidden, weights, targets, _items(negatives, self.name))


@dataclass(frozen=True)
class CE(Loss):
    """Softmax cross-entropy over the whole catalog (SASRec+, BERT4Rec)."""

    name = "ce"
    negatives = None
    default_sampler = None
    default_negatives = 0

    def __call__(
        self, hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: Negatives | None
    ) -> torch.Tensor:
        return ce_loss(hidden, weights, targets)


@dataclass(frozen=True)
class SampledCE(Loss):
    """Softmax over the target and negatives shared by the sequence's positions (SASRec+ 3000)."""

    name = "sampled_ce"
    negatives = "per_sequence"
    default_sampler = "unseen"
    default_negatives = 3000

    def __call__(
        self, hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: Negatives | None
    ) -> torch.Tensor:
        items = _items(negatives, self.name)
        return sampled_ce_loss(
            hidden, weights, targets, items, may_hit_targets=negatives is None or negatives.may_hit_targets
        )


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (BCE, CE, SampledCE)}
