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

from seqrec.objectives.binary_ce import binary_cross_entropy
from seqrec.objectives.fused_ce import linear_cross_entropy, sampled_cross_entropy
from seqrec.objectives.samplers import Negatives, Shape


def bce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    """-log σ(h·e_pos) - Σ_k log(1 - σ(h·e_neg_k)), averaged over target positions; negatives [B, L, n]."""
    where = targets > 0
    return binary_cross_entropy(hidden[where], weights, targets[where], negatives[where])  # [N, D], [N], [N, n]


def gbce_beta(k: int, n_items: int, t: float) -> float:
    """gSASRec's exponent β = α (t (1 - 1/α) + 1/α) = 1 + t (α - 1), α = k / (|I| - 1)."""
    alpha = k / max(n_items - 1, 1)
    return alpha * (t * (1 - 1 / alpha) + 1 / alpha)


def gbce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor, t: float
) -> torch.Tensor:
    """-β log σ(s⁺) - Σ_k log(1 - σ(s⁻_k)) = β softplus(-s⁺) + Σ_k softplus(s⁻_k), averaged over
    target positions; negatives [B, L, k], β = ``gbce_beta(k, |I|, t)`` (|I| = weights rows - 1)."""
    beta = gbce_beta(negatives.shape[-1], weights.shape[0] - 1, t)
    where = targets > 0
    return binary_cross_entropy(hidden[where], weights, targets[where], negatives[where], beta)  # [N, D], [N], [N, k]


def _sequence_of_rows(targets: torch.Tensor) -> torch.Tensor:
    """For each target position (row-major, as ``hidden[targets > 0]``) its sequence index: [N]."""
    rows = torch.arange(targets.shape[0], device=targets.device)[:, None].expand_as(targets)  # [B, L], a view
    return rows[targets > 0]  # [N]


def ce_loss(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, seen: torch.Tensor | None = None
) -> torch.Tensor:
    """Softmax cross-entropy over the whole catalog (padding excluded), chunked. With ``seen``
    [B, I + 1] (bool), a row's seen items other than the position's target are left out of its softmax."""
    where = targets > 0
    if seen is None:
        return linear_cross_entropy(hidden[where], weights[1:], targets[where] - 1)
    return linear_cross_entropy(
        hidden[where], weights[1:], targets[where] - 1, seen=seen[:, 1:], sequence=_sequence_of_rows(targets)
    )


def ce_loss_plain(
    hidden: torch.Tensor, weights: torch.Tensor, targets: torch.Tensor, seen: torch.Tensor | None = None
) -> torch.Tensor:
    """``ce_loss`` with all N x I logits materialised: the reference the chunked version must match."""
    where = targets > 0
    logits = hidden[where] @ weights[1:].T  # [N, I]
    if seen is not None:
        mask = seen[_sequence_of_rows(targets), 1:].clone()  # [N, I]
        mask[torch.arange(len(mask)), targets[where] - 1] = False
        logits = logits.masked_fill(mask, float("-inf"))
    return F.cross_entropy(logits, targets[where] - 1)


def logq_correction(negatives: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """-log(m q(j)) per slot, m = the row's non-empty slots (0 at empty ones): [B, n].

    m q(j) is the expected number of times j is among the row's negatives when each slot is one
    draw with replacement from q, and j's inclusion probability for a draw of m distinct items
    uniform without replacement (``unseen``: q = 1 / U, m = min(n, U)). Either way
    Σ_slots exp(s_j - log(m q(j))) is an unbiased estimate of Σ_candidates exp(s_j), the
    denominator of the full softmax over the sampler's candidates.
    """
    valid = negatives != 0  # [B, n]
    slots = valid.sum(1, keepdim=True).clamp(min=1).to(log_q.dtype)  # [B, 1]
    return torch.where(valid, -(log_q + slots.log()), torch.zeros_like(log_q))  # [B, n]


def sampled_ce_loss(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    may_hit_targets: bool = True,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax over the target and the sequence's shared negatives [B, n] (0 = empty slot); a negative
    equal to a position's target is left out there (a check skipped when ``may_hit_targets`` is False:
    the caller knows there is none). With ``log_q`` [B, n], each negative's logit is corrected by
    ``logq_correction`` (-log(m q(j)); Yi et al., RecSys 2019)."""
    bias = None if log_q is None else logq_correction(negatives, log_q)  # [B, n]
    return sampled_cross_entropy(hidden, weights, targets, negatives, check_targets=may_hit_targets, negative_bias=bias)


def sampled_ce_loss_plain(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    targets: torch.Tensor,
    negatives: torch.Tensor,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """``sampled_ce_loss`` with all [B, L, n] logits kept for autograd: the reference it must match."""
    where = targets > 0  # [B, L]
    positive = (hidden * weights[targets]).sum(-1)  # [B, L]
    negative = hidden @ weights[negatives].transpose(1, 2)  # [B, L, n]
    if log_q is not None:
        negative = negative + logq_correction(negatives, log_q)[:, None, :]
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

    @property
    def needs_seen(self) -> bool:
        """Whether the loss needs each sequence's seen items (``seen`` [B, I + 1] in ``__call__``)."""
        return False

    @abstractmethod
    def __call__(
        self,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: Negatives | None,
        seen: torch.Tensor | None = None,
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
        self,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: Negatives | None,
        seen: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return bce_loss(hidden, weights, targets, _items(negatives, self.name))


@dataclass(frozen=True)
class CE(Loss):
    """Softmax cross-entropy over the whole catalog (SASRec+, BERT4Rec). With ``exclude_seen``, the
    sequence's training items other than the position's target get logit -inf in its softmax."""

    name = "ce"
    negatives = None
    default_sampler = None
    default_negatives = 0
    exclude_seen: bool = False

    @property
    def needs_seen(self) -> bool:
        return self.exclude_seen

    def __call__(
        self,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: Negatives | None,
        seen: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if self.exclude_seen:
            if seen is None:
                raise ValueError("loss 'ce' with exclude_seen needs the sequences' seen items")
            return ce_loss(hidden, weights, targets, seen)
        return ce_loss(hidden, weights, targets)


@dataclass(frozen=True)
class SampledCE(Loss):
    """Softmax over the target and negatives shared by the sequence's positions (SASRec+ 3000).

    With ``logq``, each negative's logit s_j becomes s_j - log(m q(j)) (``logq_correction``; Yi et
    al., "Sampling-Bias-Corrected Neural Modeling for Large Corpus Item Recommendations", RecSys 2019).
    """

    name = "sampled_ce"
    negatives = "per_sequence"
    default_sampler = "unseen"
    default_negatives = 3000
    logq: bool = False

    def __call__(
        self,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: Negatives | None,
        seen: torch.Tensor | None = None,
    ) -> torch.Tensor:
        items = _items(negatives, self.name)
        return sampled_ce_loss(
            hidden,
            weights,
            targets,
            items,
            may_hit_targets=negatives is None or negatives.may_hit_targets,
            log_q=negatives.log_q if self.logq and negatives is not None else None,
        )


@dataclass(frozen=True)
class GBCE(Loss):
    """Generalised BCE (Petrov & Macdonald, "gSASRec: Reducing Overconfidence in Sequential
    Recommendation Trained with Negative Sampling", RecSys 2023): k uniform negatives per position,

        loss = -log σ(s⁺)^β - Σ_k log(1 - σ(s⁻_k)) = β softplus(-s⁺) + Σ_k softplus(s⁻_k),
        β = α (t (1 - 1/α) + 1/α),  α = k / (|I| - 1),

    averaged over target positions like ``bce``; t = 0 is BCE with k negatives, t = 1 gives β = α.
    """

    name = "gbce"
    negatives = "per_position"
    default_sampler = "uniform"
    default_negatives = 256
    t: float = 0.75

    def __post_init__(self) -> None:
        if not 0.0 <= self.t <= 1.0:
            raise ValueError(f"loss 'gbce': t must be in [0, 1], got {self.t}")

    def __call__(
        self,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: Negatives | None,
        seen: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return gbce_loss(hidden, weights, targets, _items(negatives, self.name), self.t)


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (BCE, CE, SampledCE, GBCE)}
