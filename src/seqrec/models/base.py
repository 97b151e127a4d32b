"""The typed interface that the trainer and the evaluator use, whatever the model."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import torch
from torch import nn

from seqrec.config import ConfigError, ModelConfig
from seqrec.data.batches import SequenceBatches

SHARED_FIELDS = ("hidden", "blocks", "heads", "dropout", "max_length", "ff_hidden")
"""ModelConfig fields that every model takes as constructor arguments."""

FORMER_DEFAULTS: dict[str, tuple[object, ...]] = {"init": ("xavier",), "mask_last_if_none": (True,)}
"""Defaults of seqrec 0.1, which wrote them into every resolved ``config.toml``: such a file of
another model still loads (a SASRec run of 0.1 holds ``mask_last_if_none = true``)."""


def _show(value: object) -> str:
    """A config value as TOML writes it (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class SequenceModel(nn.Module, ABC):
    """A sequence encoder with an output item matrix, built from a ``ModelConfig``.

    The output matrix (``output_embeddings``) scores items: every caller that scores or compares
    items (losses, ``score_next``, ``seqrec similar``, ``seqrec export``'s ``items.npy``) reads it
    there, and only the model's own forward reads the input table. They are one table unless a
    model offers ``tie_embeddings = False`` (SASRec).

    A subclass declares its ``name`` in configs, its training ``objective`` (``causal``: next
    item; ``cloze``: masked items), its own switch fields of ModelConfig with their allowed
    values (``OPTIONS``, also its constructor argument names), its own other fields
    (``OWN_FIELDS``, e.g. BERT4Rec's ``mask_prob``) and named presets of switch values
    (``VARIANTS``). ``check_config`` rejects a config the model cannot run before any work.
    """

    name: ClassVar[str]
    objective: ClassVar[str]
    OPTIONS: ClassVar[dict[str, tuple[object, ...]]]
    OWN_FIELDS: ClassVar[tuple[str, ...]] = ()
    VARIANTS: ClassVar[dict[str, dict[str, object]]] = {}

    n_items: int
    max_length: int

    def __init__(self, n_items: int, max_length: int) -> None:
        super().__init__()
        self.n_items = n_items
        self.max_length = max_length

    # ------------------------------------------------------------------ what training and scoring use

    @abstractmethod
    def encode(self, items: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """items [B, L] (left-padded) -> hidden states [B, L, D] ([B, 1, D] with ``last_only``)."""

    @abstractmethod
    def output_embeddings(self) -> torch.Tensor:
        """Output matrix [I + 1, D] (the input item table when tied); row 0 is padding and never a candidate."""

    @abstractmethod
    def score_next(self, history: torch.Tensor) -> torch.Tensor:
        """history [B, L] (left-padded) -> scores of every item as the next one [B, I + 1]."""

    @abstractmethod
    def training_batches(
        self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, batch_size: int
    ) -> SequenceBatches:
        """Batches for this model's objective from the ranges ``items[starts[u]:ends[u]]``."""

    def forward(self, items: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Same as ``encode`` (what DistributedDataParallel and torch.compile call)."""
        return self.encode(items, last_only)

    # ------------------------------------------------------------------ construction from a config

    @classmethod
    def from_config(cls, config: ModelConfig, n_items: int) -> Self:
        """The model for a catalog of ``n_items`` items, with the config's arguments."""
        return cls(n_items, **cls.config_arguments(config))

    @classmethod
    def config_arguments(cls, config: ModelConfig) -> dict[str, Any]:
        """Constructor arguments taken from the config: the shared fields and the model's own."""
        fields = (*SHARED_FIELDS, *cls.OPTIONS, *cls.OWN_FIELDS)
        return {field: getattr(config, field) for field in fields}

    @classmethod
    def owned_fields(cls) -> tuple[str, ...]:
        """The ModelConfig fields that only some models use, this one among them."""
        return (*cls.OPTIONS, *cls.OWN_FIELDS)

    @classmethod
    def check_options(cls, **values: object) -> None:
        """ValueError for a constructor switch value not in ``OPTIONS``."""
        for field, value in values.items():
            if not _allowed(value, cls.OPTIONS[field]):
                known = ", ".join(map(_show, cls.OPTIONS[field]))
                raise ValueError(f"unknown {field} {value!r} for {cls.__name__}; known: {known}")

    @classmethod
    def check_config(cls, config: ModelConfig) -> None:
        """ConfigError for a config this model cannot run: sizes out of range, a switch value
        not in ``OPTIONS``, or a field of another model set away from its default."""
        for field in ("hidden", "blocks", "heads", "max_length"):
            if getattr(config, field) < 1:
                raise ConfigError(f"model.{field} must be at least 1, got {getattr(config, field)}")
        if config.ff_hidden < 0:
            raise ConfigError(f"model.ff_hidden must be at least 0, got {config.ff_hidden}")
        if config.hidden % config.heads:
            raise ConfigError(f"model.hidden ({config.hidden}) must be divisible by model.heads ({config.heads})")
        if not 0.0 <= config.dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {config.dropout}")
        for field, allowed in cls.OPTIONS.items():
            value = getattr(config, field)
            if not _allowed(value, allowed):
                raise ConfigError(f"model.{field} must be one of {', '.join(map(_show, allowed))}; got {value!r}")
        defaults = ModelConfig()
        for field, owners in field_owners().items():
            value = getattr(config, field)
            unused = (getattr(defaults, field), *FORMER_DEFAULTS.get(field, ()))
            if cls.name not in owners and not _allowed(value, unused):
                raise ConfigError(f"model.{field} applies to {' and '.join(owners)} only")


def _allowed(value: object, allowed: tuple[object, ...]) -> bool:
    """``value`` is one of ``allowed``, of the same type (so that 1 is no stand-in for True)."""
    return any(type(value) is type(choice) and value == choice for choice in allowed)


def concrete_models() -> list[type[SequenceModel]]:
    """Every SequenceModel subclass that declares a ``name`` (those imported so far)."""
    found, pending = [], [SequenceModel]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if "name" in vars(subclass):
                found.append(subclass)
    return found


def field_owners() -> dict[str, list[str]]:
    """Each model-specific ModelConfig field -> the names of the models that use it."""
    owners: dict[str, list[str]] = {}
    for model in concrete_models():
        for field in model.owned_fields():
            owners.setdefault(field, []).append(model.name)
    known = [field.name for field in dataclasses.fields(ModelConfig)]
    return {field: sorted(owners[field]) for field in known if field in owners}
