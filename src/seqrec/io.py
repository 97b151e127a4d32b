"""File writes that never leave a half-written file under the final name, and safe torch loads.

Every file seqrec writes goes to a temporary file beside its destination and is renamed over
it, so a reader sees the old file or the new one, never a torn one. Every torch file seqrec
reads is loaded with ``weights_only=True``: tensors and plain containers, never code.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def replace_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    replace_atomic(path, write)


def save_torch_atomic(obj: Any, path: Path) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    replace_atomic(path, lambda tmp: torch.save(obj, tmp))


def safe_load(path: Path, what: str) -> Any:
    """``torch.load(weights_only=True)``: tensors and plain containers only, never code from the file.

    Any failure (torn, truncated, foreign, or a pickle that would run code) is one ValueError
    line naming the file: torch's own message spans lines and advises ``weights_only=False``.
    """
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4" on plain pickles
            warnings.simplefilter("ignore")
            return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
        if "Weights only load failed" in text:
            found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            reason = f"it asks to call {found.group(1)}" if found else "it holds more than tensors and plain data"
            reason += "; refused: only tensors and plain data are loaded, no code is run"
        else:
            reason = (text.strip().splitlines() or [""])[0][:200]
        raise ValueError(f"{path}: not a readable {what} ({type(error).__name__}: {reason})") from None


def mismatch(error: Exception) -> str:
    """One line out of ``load_state_dict``'s multi-line error: its first specific complaint."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[1] if len(lines) > 1 else lines[0] if lines else type(error).__name__)[:200]
