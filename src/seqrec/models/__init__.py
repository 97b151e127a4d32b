"""Model registry: build a model by the name used in configs."""

from __future__ import annotations

from torch import nn

from seqrec.config import ModelConfig
from seqrec.models.sasrec import SASRec

MODELS: dict[str, type[nn.Module]] = {"sasrec": SASRec}


def build_model(config: ModelConfig, n_items: int) -> nn.Module:
    """Instantiate the model named in ``config`` for a catalog of ``n_items`` items."""
    if config.name not in MODELS:
        raise ValueError(f"unknown model {config.name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[config.name].from_config(config, n_items)  # type: ignore[attr-defined]
