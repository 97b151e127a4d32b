"""The training state written after every epoch, so that an interrupted run resumes exactly.

On disk it is one ``torch.save`` dict (format ``seqrec-training-checkpoint-v1``) of tensors and
plain containers only, read back with ``weights_only=True``; the keys are those of
:class:`TrainingState` plus ``format``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqrec.io import safe_load, save_torch_atomic

CHECKPOINT_FORMAT = "seqrec-training-checkpoint-v1"
OPTIONAL = {"scheduler"}  # fields later versions added; checkpoints of seqrec 0.1.0 lack them


@dataclass
class TrainingState:
    """Everything the loop needs to continue: weights, optimizer, random generators, early stopping."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    torch_rng: torch.Tensor
    batch_rng: torch.Tensor
    best_metric: float = -1.0
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None  # None when training without validation
    best_valid: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    stopped_early: bool = False
    scheduler: dict[str, Any] | None = None  # the learning-rate schedule's state (None: no schedule)


def save_checkpoint(path: Path, state: TrainingState) -> None:
    """Write the state atomically (a temporary file, then a rename)."""
    save_torch_atomic({"format": CHECKPOINT_FORMAT, **dataclasses.asdict(state)}, path)


def load_checkpoint(path: Path) -> TrainingState:
    """Read a training checkpoint without executing code from it (``weights_only=True``)."""
    raw = safe_load(path, "seqrec checkpoint")
    if not isinstance(raw, dict) or raw.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a seqrec training checkpoint")
    names = {f.name for f in dataclasses.fields(TrainingState)}
    missing = sorted(names - set(raw) - OPTIONAL)
    if missing:
        raise ValueError(f"{path}: incomplete seqrec training checkpoint (no {', '.join(missing)})")
    return TrainingState(**{name: raw[name] for name in names if name in raw})
