"""The one-file model format: config, weights, the fitted data and its id maps, in one torch file.

The file is a ``torch.save`` dict of tensors and plain containers only (format ``seqrec-model``,
version 1), read with ``weights_only=True``, so loading one never runs code from it. Raw ids
are stored as an int64/uint64/float64 tensor (numbers) or a list of str.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrec.config import Config, from_dict
from seqrec.data.interactions import Interactions
from seqrec.io import safe_load, save_torch_atomic

FILE_FORMAT = "seqrec-model"
FILE_VERSION = 1


@dataclass(frozen=True)
class ModelFile:
    """What a model file holds."""

    config: Config
    state_dict: Mapping[str, torch.Tensor]
    data: Interactions
    popularity: np.ndarray  # [I + 1] item counts in the fitted data
    validation: bool


def _as_storable(ids: np.ndarray) -> torch.Tensor | list[str]:
    """Raw ids as a tensor (numbers) or a list of str: both load with ``weights_only=True``."""
    if ids.dtype.kind == "u" and len(ids) and int(ids.max()) > np.iinfo(np.int64).max:
        return torch.from_numpy(ids.astype(np.uint64))  # ids beyond int64 would wrap around as int64
    if ids.dtype.kind in "iub":
        return torch.from_numpy(ids.astype(np.int64))
    if ids.dtype.kind == "f":
        return torch.from_numpy(ids.astype(np.float64))
    return [str(x) for x in ids.tolist()]


def _from_storable(ids: torch.Tensor | list[str]) -> np.ndarray:
    return ids.numpy() if isinstance(ids, torch.Tensor) else np.array(ids, dtype=str)


def write_model_file(path: Path, contents: ModelFile) -> Path:
    """Write ``contents`` to ``path`` atomically (a temporary file, then a rename)."""
    data = contents.data
    payload: dict[str, Any] = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "config": contents.config.to_dict(),
        "validation": contents.validation,
        "state_dict": {k: v.detach().cpu() for k, v in contents.state_dict.items()},
        "user_ids": _as_storable(data.user_ids),
        "item_ids": _as_storable(data.item_ids),
        "offsets": torch.from_numpy(data.offsets.astype(np.int64)),
        "items": torch.from_numpy(data.items.astype(np.int64)),
        "popularity": torch.from_numpy(contents.popularity.astype(np.int64)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch_atomic(payload, path)
    return path


def read_model_file(path: Path) -> ModelFile:
    """Read a model file; ValueError naming the file when it is not one, is truncated or corrupt."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    payload = safe_load(path, "seqrec model file")  # truncated zip, not a torch file, a pickled class, ...
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ValueError(
            f"{path}: not a seqrec model file (a bare state dict such as a run's best.pt "
            "is loaded with load_run(run_dir))"
        )
    if payload.get("version") != FILE_VERSION:
        raise ValueError(
            f"{path}: seqrec model file version {payload.get('version')!r}, this seqrec reads version {FILE_VERSION}"
        )
    try:
        data = Interactions(
            offsets=payload["offsets"].numpy(),
            items=payload["items"].numpy(),
            user_ids=_from_storable(payload["user_ids"]),
            item_ids=_from_storable(payload["item_ids"]),
        )
        return ModelFile(
            config=from_dict(payload["config"], source=str(path)),
            state_dict=payload["state_dict"],
            data=data,
            popularity=payload["popularity"].numpy(),
            validation=bool(payload["validation"]),
        )
    except (KeyError, AttributeError, TypeError) as error:
        raise ValueError(f"{path}: incomplete seqrec model file ({type(error).__name__}: {error})") from None
