"""Multi-process data parallelism through PyTorch's DistributedDataParallel (``torchrun``).

Every process reads the same data and draws the same batch order; process ``r`` of ``W``
trains on rows ``r, r + W, ...`` of each global batch and DDP averages the gradients, so the
global batch size is the configured one. All processes validate the same (synchronised)
weights and so take the same early-stopping decisions; only rank 0 writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from seqrec.data.batches import trim_padding


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def context(device: str = "cpu") -> Distributed:
    """The process group torchrun describes in the environment (joined once), or a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Distributed(dist.get_rank(), dist.get_world_size())


def wrap(model: nn.Module, ctx: Distributed, device: torch.device) -> nn.Module:
    """DDP around ``model`` (its ``forward`` is ``encode``) when several processes train."""
    if not ctx.active:
        return model
    device_ids = [device.index or 0] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def shard(
    ctx: Distributed, rows: np.ndarray, inputs: torch.Tensor, targets: torch.Tensor
) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    """This process's share of a global batch: every ``world``-th row from ``rank``."""
    if not ctx.active:
        return rows, inputs, targets
    inputs, targets = trim_padding(inputs[ctx.rank :: ctx.world], targets[ctx.rank :: ctx.world])
    return rows[ctx.rank :: ctx.world], inputs, targets
