"""Training objectives: a loss (``train.loss``, ``train.loss_args``) and the sampler that feeds it
negatives (``train.sampler``, ``train.negatives``; both default to the loss's own).

:func:`build_objective` turns a train config into an :class:`Objective`; :func:`check_objective`
rejects combinations that cannot work before anything runs. The shorthand keys ``train.gbce_t``
and ``train.logq`` are the loss arguments ``t`` of ``gbce`` and ``logq`` of ``sampled_ce``
(:data:`LOSS_ARG_KEYS`); giving one and the same entry of ``train.loss_args`` is an error naming
both. ``train.sampler = "uniform"`` for a loss that takes negatives per sequence is the uniform
part of ``mixed`` alone (``in_batch = false``): items uniform with replacement, shared by the
sequence's positions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    "loss_arguments",
    "loss_class",
    "resolved_negatives",
    "resolved_sampler",
]

LOSS_ARG_KEYS: dict[str, tuple[str, str]] = {"gbce_t": ("gbce", "t"), "logq": ("sampled_ce", "logq")}
"""``train.<key>`` -> (the loss it applies to, its name in ``train.loss_args``)."""

SAMPLER_STAND_INS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("uniform", "per_sequence"): ("mixed", {"in_batch": False}),
}
"""(sampler named, the shape the loss needs) -> (the sampler that draws it that way, its arguments)."""


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


def resolved_sampler(train: TrainConfig) -> str:
    """The sampler the loss draws from: ``train.sampler``, or the loss's own ("" for a loss without negatives)."""
    return train.sampler or loss_class(train.loss).default_sampler or ""


def loss_arguments(train: TrainConfig) -> dict[str, Any]:
    """``train.loss_args`` with the shorthand keys that are set (``train.gbce_t``, ``train.logq``) added.

    A shorthand for another loss, or one whose loss argument ``train.loss_args`` gives as well, is a
    ConfigError naming the keys."""
    args = dict(train.loss_args)
    for key, (loss, name) in LOSS_ARG_KEYS.items():
        value = getattr(train, key)
        if value is None:
            continue
        if train.loss != loss:
            raise ConfigError(f"train.{key} applies to train.loss = {loss!r} only, not {train.loss!r}")
        if name in args:
            raise ConfigError(
                f"train.{key} = {value!r} and train.loss_args.{name} = {args[name]!r} set the same parameter; keep one"
            )
        args[name] = value
    return args


def _sampler_class(train: TrainConfig, loss: type[Loss]) -> tuple[type[Sampler], dict[str, Any]] | None:
    """The sampler class for ``train`` and fixed arguments it gets besides ``train.sampler_args``."""
    name = train.sampler or loss.default_sampler
    if loss.negatives is None:
        if train.sampler:
            sampling = ", ".join(sorted(n for n, cls in LOSSES.items() if cls.negatives is not None))
            raise ConfigError(
                f"train.sampler {train.sampler!r}: loss {loss.name!r} uses no negatives; drop train.sampler "
                f"or choose a train.loss that samples ({sampling})"
            )
        return None
    if name not in SAMPLERS:
        raise ConfigError(f"unknown train.sampler {name!r}; known: {', '.join(sorted(SAMPLERS))}")
    sampler = SAMPLERS[name]
    if sampler.shape == loss.negatives:
        return sampler, {}
    if (name, loss.negatives) in SAMPLER_STAND_INS:
        stand_in, fixed = SAMPLER_STAND_INS[name, loss.negatives]
        return SAMPLERS[stand_in], fixed
    shape = loss.negatives
    fitting = sorted(n for n, s in SAMPLERS.items() if s.shape == shape or (n, shape) in SAMPLER_STAND_INS)
    raise ConfigError(
        f"train.sampler {name!r} draws negatives {sampler.shape.replace('_', ' ')}, "
        f"loss {loss.name!r} needs them {loss.negatives.replace('_', ' ')}: with train.loss = {loss.name!r} "
        f"choose train.sampler from {', '.join(fitting)}"
    )


def check_objective(train: TrainConfig) -> None:
    """Raise ConfigError for an unknown loss or sampler, a mismatched pair or a bad loss parameter."""
    build_objective(train)


def build_objective(train: TrainConfig) -> Objective:
    """The loss and sampler a train config names, with their parameters."""
    loss_cls = loss_class(train.loss)
    chosen = _sampler_class(train, loss_cls)
    args = loss_arguments(train)
    try:
        loss = loss_cls.from_args(args)
    except (TypeError, ValueError) as error:
        given = ["train.loss_args"] * bool(train.loss_args)
        given += [f"train.{key}" for key in LOSS_ARG_KEYS if getattr(train, key) is not None]
        raise ConfigError(f"{' / '.join(given or ['train.loss_args'])}: {error}") from None
    if train.negatives < 0:
        raise ConfigError(f"train.negatives must be at least 0, got {train.negatives}")
    if chosen is None:
        if train.sampler_args:
            raise ConfigError(f"train.sampler_args: loss {loss_cls.name!r} uses no negatives")
        return Objective(loss, None)
    sampler_cls, fixed = chosen
    named = SAMPLERS[resolved_sampler(train)]
    try:
        if named is not sampler_cls:  # a stand-in: the named sampler's own parameters are checked by its name
            named.from_args(1, dict(train.sampler_args))
        sampler = sampler_cls.from_args(resolved_negatives(train), {**train.sampler_args, **fixed})
    except (TypeError, ValueError) as error:
        raise ConfigError(f"train.sampler_args: {error}") from None
    return Objective(loss, sampler)
