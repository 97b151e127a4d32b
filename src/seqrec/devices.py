"""Where and how the computation runs: the device check, bf16 autocast, the torch thread count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import torch

from seqrec.config import ConfigError


def check_device(name: str) -> None:
    """``train.device`` must name a device this machine has (checked without starting CUDA)."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as error:
        raise ConfigError(f"train.device {name!r} is not a torch device ({error})") from None
    if device.type == "cuda" and (device.index or 0) >= (torch.cuda.device_count() if torch.cuda.is_available() else 0):
        raise ConfigError(f"train.device {name!r}: no such CUDA device here (use train.device=cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device {name!r}: MPS is not available here (use train.device=cpu)")


def autocast(device: torch.device, amp: str) -> AbstractContextManager[Any]:
    """bf16 autocast when asked for (``train.amp = "bf16"``); losses still reduce in float32."""
    if amp == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run with ``threads`` torch threads (0: leave the setting alone), restored afterwards."""
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
