"""``seqrec export``: a fitted model as files a service reads with numpy and onnxruntime alone.

The export directory holds ``encoder.onnx`` (left-padded internal item ids [B, L] int64 ->
user vectors [B, D]), ``items.npy`` (the output item matrix [I, D], row i = internal id i + 1),
``popularity.npy`` (item counts [I] in the fitted data, for histories with no known item),
``ids.json`` (raw item ids by internal id - 1, and ``max_length``) and ``manifest.json``
(versions, config, shapes, opset, sha256 of every file). Scores are ``user @ items.T``.

The network is exported through :class:`ServingEncoder`, an inference-only forward that
computes what ``encode(..., last_only=True)`` computes, with an attention mask built from
comparisons (ONNX Runtime has no boolean ``EyeLike``, which ``torch.eye`` exports to). Every
export is checked against the model's own ``score_next`` before it is put in place, and the
directory is written beside ``--out`` and renamed, so a failed export leaves nothing that
looks complete.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import seqrec
from seqrec.data.batches import padded_tails
from seqrec.models.base import SequenceModel
from seqrec.models.bert4rec import BERT4Rec
from seqrec.models.blocks import position_ids
from seqrec.models.sasrec import SASRec

OPSET = 17
"""ONNX opset of ``encoder.onnx`` (17: LayerNormalization as one op; ONNX Runtime >= 1.18 runs it)."""

FILES = ("encoder.onnx", "items.npy", "popularity.npy", "ids.json", "manifest.json")
"""What an export directory holds; ``--force`` replaces a directory holding nothing else."""

INSTALL_HINT = "seqrec export needs onnx and onnxruntime: pip install 'seqrec[export]'"
CHECK_USERS = 256  # fitted users whose histories check every export against the model


def require_onnx() -> None:
    """RuntimeError with the install line when onnx or onnxruntime cannot be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise RuntimeError(f"{INSTALL_HINT} ({error})") from None


def exportable_attention_mask(valid: torch.Tensor, causal: bool) -> torch.Tensor:
    """valid [B, L] -> [B, 1, L, L] additive mask, the values of ``blocks.attention_mask``, from comparisons only."""
    position = torch.arange(valid.shape[1], device=valid.device)  # [L]
    allowed = valid[:, None, None, :] | (position[:, None] == position[None, :])  # [B, 1, L, L]
    if causal:
        allowed = allowed & (position[None, :] <= position[:, None])
    return torch.zeros(allowed.shape, device=valid.device).masked_fill(~allowed, float("-inf"))


class ServingEncoder(nn.Module):
    """history [B, L] of internal item ids (left-padded with 0, any L >= 1) -> user vectors [B, D].

    SASRec: the last position's hidden state of the last ``max_length`` items. BERT4Rec: a
    mask token appended, the window cut to ``max_length``, the mask token's output (after the
    masked-LM head when the model has one). Inference only: dropout is never applied.
    """

    def __init__(self, model: SequenceModel) -> None:
        super().__init__()
        if not isinstance(model, SASRec | BERT4Rec):
            raise ValueError(f"seqrec export supports sasrec and bert4rec models, not {type(model).__name__}")
        self.model = model
        self.eval()  # nn.Module starts in training mode, which would apply dropout

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        model = self.model
        if isinstance(model, BERT4Rec):
            history = torch.cat([history, torch.full_like(history[:, :1], model.mask_token)], dim=1)  # [B, L + 1]
        items = history[:, -model.max_length :]  # [B, L'], L' <= max_length
        valid = items != 0  # [B, L']
        positions = position_ids(valid, model.max_length, model.positions)  # [L'] or [B, L']
        x = model.item_embedding(items)  # [B, L', D]
        if isinstance(model, SASRec):
            x = x * model.scale + model.position_embedding(positions)
        else:
            x = model.embedding_norm(x + model.position_embedding(positions))
        x = x * valid[..., None]
        mask = exportable_attention_mask(valid, causal=isinstance(model, SASRec))  # [B, 1, L', L']
        for index, block in enumerate(model.blocks):
            if index == len(model.blocks) - 1:
                x = block(x, mask, True) * valid[:, -1:, None]  # [B, 1, D]
            else:
                x = block(x, mask) * valid[..., None]  # [B, L', D]
        if isinstance(model, SASRec):
            x = model.final_norm(x)
        elif model.head is not None:
            x = model.head(x)
        return x[:, -1]  # [B, D]


def item_matrix(model: SequenceModel) -> np.ndarray:
    """The output item matrix [I, D] float32 without the padding row: row i is internal id i + 1."""
    return model.output_embeddings()[1:].detach().cpu().float().numpy()


def raw_ids(item_ids: np.ndarray) -> list[Any]:
    """Raw item ids [I + 1] -> JSON-ready list [I] (internal id 1 first): ints stay ints, strings strings."""
    return [x.item() if isinstance(x, np.generic) else x for x in item_ids[1:].tolist()]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_onnx(encoder: ServingEncoder, path: Path) -> None:
    """Write ``encoder`` to ``path`` with the TorchScript-based exporter, batch and length dynamic."""
    example = torch.ones(2, min(3, encoder.model.max_length), dtype=torch.int64)  # [B, L]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(
            encoder,
            (example,),
            str(path),
            input_names=["history"],
            output_names=["user"],
            dynamic_axes={"history": {0: "batch", 1: "length"}, "user": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


@torch.no_grad()
def check_export(model: SequenceModel, session: Any, items: np.ndarray, histories: np.ndarray) -> tuple[float, float]:
    """Max abs difference between the export's scores and ``model.score_next`` on histories [R, max_length],
    and the largest abs score (what the difference is measured against)."""
    users = session.run(None, {"history": histories})[0]  # [R, D]
    expected = model.score_next(torch.from_numpy(histories))[:, 1:].float().numpy()  # [R, I]
    return float(np.abs(users @ items.T - expected).max()), float(np.abs(expected).max())


def write_export(estimator: Any, directory: Path) -> dict[str, Any]:
    """Write the export files of a fitted estimator into ``directory``; returns the manifest."""
    require_onnx()
    import onnx
    import onnxruntime

    model, data, counts = estimator._fitted()
    model = model.cpu().eval()
    encoder = ServingEncoder(model)
    export_onnx(encoder, directory / "encoder.onnx")
    encoder.eval()  # the exporter restores the mode it found; keep inference mode for the check
    onnx.checker.check_model(str(directory / "encoder.onnx"))
    items = item_matrix(model)  # [I, D]
    np.save(directory / "items.npy", items)
    np.save(directory / "popularity.npy", np.asarray(counts[1:], dtype=np.int64))  # [I]
    ids = {"max_length": model.max_length, "item_ids": raw_ids(data.item_ids)}
    (directory / "ids.json").write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")

    users = np.unique(np.linspace(0, len(data.offsets) - 2, CHECK_USERS).astype(np.int64))
    histories = padded_tails(data.items, data.offsets[users], data.offsets[users + 1], model.max_length)
    session = onnxruntime.InferenceSession(str(directory / "encoder.onnx"), providers=["CPUExecutionProvider"])
    difference, largest = check_export(model, session, items, histories.astype(np.int64))
    if not difference <= 1e-4 * max(1.0, largest):  # float32 rounding is ~1e-6 of the largest score
        raise RuntimeError(f"the exported encoder's scores differ from the model's by {difference:.3g}; not written")

    manifest: dict[str, Any] = {
        "format": "seqrec-export",
        "version": 1,
        "seqrec_version": seqrec.__version__,
        "torch_version": torch.__version__,
        "onnx_opset": OPSET,
        "config": estimator.config.to_dict(),
        "max_length": model.max_length,
        "shapes": {
            "encoder.onnx": {"history": ["batch", "length"], "user": ["batch", items.shape[1]]},
            "items.npy": list(items.shape),
            "popularity.npy": [len(items)],
            "ids.json": {"item_ids": len(ids["item_ids"])},
        },
        "check": {"histories": len(histories), "max_abs_score_difference": difference},
        "sha256": {name: sha256(directory / name) for name in FILES if name != "manifest.json"},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def check_out(out: Path, force: bool) -> list[str]:
    """The names in an existing ``out`` (none: it is absent or empty); OSError if it may not be replaced.

    A non-empty ``out`` is refused unless ``force``, and even then unless it holds nothing but
    an export's files (so ``--force`` never deletes anything else).
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory; --out names a directory", str(out))
    existing = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if existing and not force:
        raise FileExistsError(errno.EEXIST, "exists and is not empty; pass --force to replace its export", str(out))
    foreign = [name for name in existing if name not in FILES]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise FileExistsError(
            errno.EEXIST, f"holds files that are not an export's ({shown}); not replaced, even with --force", str(out)
        )
    return existing


def replace_directory(out: Path, force: bool, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a fresh directory beside ``out``, then rename it to ``out`` (see :func:`check_out`).

    A failed ``write`` removes the partial directory and leaves an earlier ``out`` as it was.
    """
    existing = check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    partial.mkdir()  # the umask's permissions, as any directory seqrec writes
    aside = partial.with_name(partial.name + ".old")
    try:
        write(partial)
        if existing:
            os.rename(out, aside)
            try:
                os.rename(partial, out)
            except OSError:
                os.rename(aside, out)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(partial, out)  # over an empty directory, or none
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def export(model_path: str | Path, out: str | Path, force: bool = False) -> dict[str, Any]:
    """Export a saved model file or a ``seqrec train`` run directory into the directory ``out``."""
    require_onnx()
    from seqrec.api import load

    check_out(Path(out), force)  # before the model is read
    estimator = load(model_path, device="cpu")
    manifest: dict[str, Any] = {}

    def write(directory: Path) -> None:
        manifest.update(write_export(estimator, directory))

    replace_directory(Path(out), force, write)
    return manifest
