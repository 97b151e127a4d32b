"""Model registry: build, check and configure a model by the name used in configs."""

from __future__ import annotations

import torch

from seqrec.config import ConfigError, ModelConfig
from seqrec.models.base import SequenceModel
from seqrec.models.bert4rec import BERT4Rec
from seqrec.models.sasrec import SASRec

MODELS: dict[str, type[SequenceModel]] = {model.name: model for model in (SASRec, BERT4Rec)}

__all__ = ["MODELS", "BERT4Rec", "SASRec", "SequenceModel", "build_model", "check_model_config", "variant_values"]


def build_model(config: ModelConfig, n_items: int, seed: int | None = None) -> SequenceModel:
    """Instantiate the model named in ``config`` for a catalog of ``n_items`` items.

    With ``seed``, the initial weights are drawn from ``torch.manual_seed(seed)``.
    """
    if seed is not None:
        torch.manual_seed(seed)
    if config.name not in MODELS:
        raise ValueError(f"unknown model {config.name!r}; known: {', '.join(sorted(MODELS))}")
    try:
        return MODELS[config.name].from_config(config, n_items)
    except RuntimeError as error:  # e.g. torch's allocator refusing a huge max_length or hidden
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise ValueError(
            f"cannot build a {config.name!r} model with model.hidden={config.hidden}, "
            f"model.max_length={config.max_length} and {n_items} items ({first})"
        ) from None


def check_model_config(config: ModelConfig) -> None:
    """ConfigError unless ``config`` names a known model (and variant) that can run with it."""
    if config.name not in MODELS:
        raise ConfigError(f"unknown model {config.name!r}; known: {', '.join(sorted(MODELS))}")
    MODELS[config.name].check_config(config)
    if config.variant:
        variant_values(config.name, config.variant)


def variant_values(name: str, variant: str) -> dict[str, object]:
    """The switch values of ``variant`` of model ``name`` (a fresh dict, for the config to fill in)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    variants = MODELS[name].VARIANTS
    if variant not in variants:
        known = ", ".join(sorted(variants)) or "none"
        raise ConfigError(f"model.variant {variant!r} is not a variant of {name}; known: {known}")
    return dict(variants[variant])
