"""Learning-rate schedules, stepped once per optimizer step: a linear warm-up, then constant, linear
or cosine decay to zero at the last step of ``train.max_epochs``.

The default (``constant`` without warm-up) builds no scheduler at all, so the paper's runs keep
a fixed learning rate exactly as before.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("constant", "linear", "cosine")


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """The multiplier of the base learning rate at optimizer step ``step`` (0-based).

    Warm-up: (step + 1) / warmup_steps for the first ``warmup_steps`` steps; then ``constant``
    1, ``linear`` falling to 0 at ``total_steps``, ``cosine`` 0.5 (1 + cos(pi t)) with t the share
    of the decay steps done.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    decay = max(total_steps - warmup_steps, 1)
    done = min(max(step - warmup_steps, 0) / decay, 1.0)
    if schedule == "linear":
        return 1.0 - done
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * done))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}; known: {', '.join(SCHEDULES)}")


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, warmup_epochs: float, max_epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR | None:
    """A per-step scheduler for the config's schedule; None for ``constant`` without warm-up."""
    if schedule == "constant" and warmup_epochs <= 0:
        return None
    total = max_epochs * steps_per_epoch
    warmup = round(warmup_epochs * steps_per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, total, warmup, schedule))
