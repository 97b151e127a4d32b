"""Training objectives: a loss (``train.loss``, ``train.loss_args``) and the sampler that feeds it
negatives (``train.sampler``, ``train.negatives``; both default to the loss's own).

:func:`build_objective` turns a train config into an :class:`Objective`; :func:`check_objective`
rejects combinations that cannot work before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from seqrec.config import ConfigError, TrainConfig
from seqrec.objectives.losses import LOSSES, Loss
from seqrec.objectives.samplers import SAMPLERS, Negatives, Sampler, SamplerBatch

__all__ = [
    "LOSSES",
    "SAMPLERS",
    "Loss",
    "Negatives",
    "Objective",
    "Sampler",
    "SamplerBatch",
    "build_objective",
    "check_objective",
    "loss_class",
    "resolved_negatives",
]


@dataclass(frozen=True)
class Objective:
    """What the trainer minimises: ``loss`` on negatives drawn by ``sampler`` (None: the loss needs none)."""

    loss: Loss
    sampler: Sampler | None

    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives | None:
        return None if self.sampler is None else self.sampler.draw(batch, generator)

    def compute_loss(
        self,
        hidden: torch.Tensor,
        weights: torch.Tensor,
        targets: torch.Tensor,
        negatives: Negatives | None,
        seen: Callable[[], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``loss`` on a batch: hidden [B, L, D], weights [I + 1, D], targets [B, L]. ``seen``
        (() -> [B, I + 1] bool, as in ``SamplerBatch``) is built only for a loss that ``needs_seen``."""
        if not self.loss.needs_seen:
            return self.loss(hidden, weights, targets, negatives)
        if seen is None:
            raise ValueError(f"loss {self.loss.name!r} needs the sequences' seen items, and none were given")
        return self.loss(hidden, weights, targets, negatives, seen().to(hidden.device))  # seen [B, I + 1]


def loss_class(name: str) -> type[Loss]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ConfigError(f"unknown loss {name!r}; known: {', '.join(sorted(LOSSES))}") from None


def resolved_negatives(train: TrainConfig) -> int:
    """Negatives the loss actually uses: ``train.negatives``, or the loss's default (0: it needs none)."""
    cls = loss_class(train.loss)
    return 0 if cls.negatives is None else train.negatives or cls.default_negatives


def _sampler_class(train: TrainConfig, loss: type[Loss]) -> type[Sampler] | None:
    name = train.sampler or loss.default_sampler
    if loss.negatives is None:
        if train.sampler:
            raise ConfigError(f"train.sampler {train.sampler!r}: loss {loss.name!r} uses no negatives")
        return None
    if name not in SAMPLERS:
        raise ConfigError(f"unknown train.sampler {name!r}; known: {', '.join(sorted(SAMPLERS))}")
    sampler = SAMPLERS[name]
    if sampler.shape != loss.negatives:
        raise ConfigError(
            f"train.sampler {name!r} draws negatives {sampler.shape.replace('_', ' ')}, "
            f"loss {loss.name!r} needs them {loss.negatives.replace('_', ' ')}"
        )
    return sampler


def check_objective(train: TrainConfig) -> None:
    """Raise ConfigError for an unknown loss or sampler, a mismatched pair or a bad loss parameter."""
    build_objective(train)


def build_objective(train: TrainConfig) -> Objective:
    """The loss and sampler a train config names, with their parameters."""
    loss_cls = loss_class(train.loss)
    sampler_cls = _sampler_class(train, loss_cls)
    try:
        loss = loss_cls.from_args(dict(train.loss_args))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"train.loss_args: {error}") from None
    if train.negatives < 0:
        raise ConfigError(f"train.negatives must be at least 0, got {train.negatives}")
    if sampler_cls is None:
        if train.sampler_args:
            raise ConfigError(f"train.sampler_args: loss {loss_cls.name!r} uses no negatives")
        return Objective(loss, None)
    try:
        sampler = sampler_cls.from_args(resolved_negatives(train), dict(train.sampler_args))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"train.sampler_args: {error}") from None
    return Objective(loss, sampler)
