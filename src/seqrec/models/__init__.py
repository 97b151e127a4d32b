"""Model registry: build a model by the name used in configs."""

from __future__ import annotations

import torch
from torch import nn

from seqrec.config import ModelConfig
from seqrec.models.bert4rec import BERT4Rec
from seqrec.models.sasrec import SASRec
from seqrec.models.transformer import SequenceModel

MODELS: dict[str, type[SequenceModel]] = {"sasrec": SASRec, "bert4rec": BERT4Rec}


def build_model(config: ModelConfig, n_items: int, seed: int | None = None) -> nn.Module:
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
        raise ValueError(f"cannot build a {config.name!r} model with model.hidden={config.hidden}, "
                         f"model.max_length={config.max_length} and {n_items} items ({first})") from None
