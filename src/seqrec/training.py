"""A plain PyTorch training loop: Adam, early stopping on a validation metric, best weights kept."""

from __future__ import annotations

import copy
import os
import re
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from seqrec import distributed
from seqrec.config import Config
from seqrec.data.batches import (
    CausalBatches,
    ClozeBatches,
    SequenceBatches,
    split_by_length,
    uniform_negatives,
    unseen_negatives,
)
from seqrec.data.split import EvalSet, LeaveOneOut
from seqrec.distributed import Distributed, shard
from seqrec.evaluation import evaluate
from seqrec.losses import LossSpec, get_loss

CHECKPOINT_FORMAT = "seqrec-training-checkpoint-v1"


@dataclass
class TrainResult:
    """What a finished run reports: best epoch, its validation metrics, per-epoch history."""

    best_epoch: int
    best_valid: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    stopped_early: bool = False


def set_seed(seed: int) -> torch.Generator:
    """Seed torch and return a CPU generator for batch order and negatives."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def validation_subset(valid: EvalSet, max_users: int, seed: int) -> EvalSet:
    """At most ``max_users`` validation users, a seeded random subset (all when fewer)."""
    if max_users <= 0 or len(valid) <= max_users:
        return valid
    rng = np.random.default_rng(seed)
    return valid.subset(np.sort(rng.choice(len(valid), max_users, replace=False)))


def make_batches(model: nn.Module, split: LeaveOneOut, config: Config) -> SequenceBatches:
    """Training batches for the model's objective (next item or cloze), from every user's training range."""
    starts, ends = split.train_offsets
    args = (split.data.items, starts, ends, config.model.max_length, config.train.batch_size)
    if getattr(model, "objective", "causal") == "cloze":
        return ClozeBatches(*args, mask_token=model.mask_token, mask_prob=config.model.mask_prob,  # type: ignore[arg-type]
                            mask_last_if_none=config.model.mask_last_if_none)
    return CausalBatches(*args)


def draw_negatives(
    spec: LossSpec, n: int, batches: SequenceBatches, rows: np.ndarray, targets: torch.Tensor,
    n_items: int, generator: torch.Generator,
) -> torch.Tensor | None:
    """The negatives a loss asks for: none, ``n`` per target position, or ``n`` per sequence."""
    if spec.sampler == "per_position":
        return uniform_negatives((*targets.shape, n), n_items, generator)  # [B, L, n]
    if spec.sampler == "per_sequence":
        return unseen_negatives(batches.seen(rows, n_items), n, generator)  # [B, n]
    return None


def autocast(device: torch.device, amp: str) -> AbstractContextManager[Any]:
    """bf16 autocast when asked for (``train.amp = "bf16"``); losses still reduce in float32."""
    if amp == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def train_epoch(
    model: nn.Module, batches: SequenceBatches, spec: LossSpec, n_negatives: int,
    optimizer: torch.optim.Optimizer, generator: torch.Generator, device: torch.device, desc: str,
    ctx: Distributed | None = None, encoder: nn.Module | None = None,
    negative_generator: torch.Generator | None = None, length_groups: int = 1, amp: str = "",
) -> float:
    """One pass over the training users; returns the mean batch loss.

    ``generator`` orders the batches (and masks them, for cloze); negatives come from
    ``negative_generator`` (the same generator unless given). Under DDP, ``encoder`` is the
    wrapped model and each process trains on its shard of every batch.

    With ``length_groups > 1`` each batch is processed as that many parts of similar length
    (less padding); each part's mean loss is weighted by its share of the batch's target
    positions and gradients accumulate, so one optimizer step still follows the mean loss
    over the whole batch.
    """
    ctx = ctx or Distributed()
    model.train()
    encode: Callable[[torch.Tensor], torch.Tensor] = encoder if encoder is not None else model.encode  # type: ignore[assignment]
    negative_generator = negative_generator or generator
    n_items: int = model.n_items  # type: ignore[assignment]
    total, count = 0.0, 0
    progress = tqdm(batches.epoch(generator), total=len(batches), desc=desc, leave=False,
                    disable=None if ctx.is_main else True)
    for batch in progress:
        rows, inputs, targets = shard(ctx, *batch)
        optimizer.zero_grad(set_to_none=True)
        parts = split_by_length(rows, inputs, targets, length_groups)
        n_targets = int((targets > 0).sum())
        batch_loss = 0.0
        for k, (part_rows, part_inputs, part_targets) in enumerate(parts):
            share = int((part_targets > 0).sum()) / max(n_targets, 1)
            if share == 0:
                continue
            negatives = draw_negatives(spec, n_negatives, batches, part_rows, part_targets, n_items, negative_generator)
            # under DDP, gradients are averaged across processes once, after the last part
            last = k == len(parts) - 1
            sync = encoder.no_sync() if encoder is not None and not last else nullcontext()  # type: ignore[operator]
            with sync:
                with autocast(device, amp):
                    hidden = encode(part_inputs.to(device))  # [b, l, D]
                loss = spec.fn(  # in float32, outside autocast
                    hidden.float(), model.output_embeddings(), part_targets.to(device),  # type: ignore[operator]
                    None if negatives is None else negatives.to(device),
                ) * share
                loss.backward()
            batch_loss += loss.item()
        optimizer.step()
        total, count = total + batch_loss, count + 1
        progress.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same directory, then a rename."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


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


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a training checkpoint without executing code from it (``weights_only=True``)."""
    state = safe_load(path, "seqrec checkpoint")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a seqrec training checkpoint")
    return state


def fit(
    model: nn.Module,
    split: LeaveOneOut,
    config: Config,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_improve: Callable[[nn.Module, int], None] | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train until ``max_epochs`` or ``patience`` epochs without a better validation metric.

    The best epoch's weights are loaded back into ``model`` before returning. With
    ``checkpoint``, the whole training state (weights, optimizer, both random generators,
    early-stopping state, history) is written there after every epoch; with ``resume`` it is
    read back first, so an interrupted run continues exactly where its last epoch ended.
    """
    train = config.train
    threads = torch.get_num_threads()
    if train.threads > 0:
        torch.set_num_threads(train.threads)
    try:
        return _fit(model, split, config, on_epoch, on_improve, checkpoint, resume)
    finally:
        torch.set_num_threads(threads)


def _fit(
    model: nn.Module,
    split: LeaveOneOut,
    config: Config,
    on_epoch: Callable[[dict[str, Any]], None] | None,
    on_improve: Callable[[nn.Module, int], None] | None,
    checkpoint: Path | None,
    resume: bool,
) -> TrainResult:
    train, ev = config.train, config.eval
    device = torch.device(train.device)
    ctx = distributed.context(train.device)
    generator = set_seed(train.seed)
    # single process: one generator for everything; under DDP each rank draws its own negatives
    negative_generator = torch.Generator().manual_seed(train.seed + 7919 * ctx.rank) if ctx.active else generator
    model.to(device)
    encoder = distributed.wrap(model, ctx, device) if ctx.active else None
    if train.compile:
        encoder = torch.compile(encoder or model)  # type: ignore[assignment]
    spec = get_loss(train.loss)
    n_negatives = train.negatives or spec.default_negatives
    batches = make_batches(model, split, config)
    valid = validation_subset(split.valid, ev.valid_users, train.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)

    best_metric, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    best_valid: dict[str, float] = {}
    history: list[dict[str, Any]] = []
    train_seconds = 0.0
    stopped_early = False
    if resume and checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as error:
            raise ValueError(f"{checkpoint}: weights do not fit this {config.model.name!r} model "
                             f"({mismatch(error)})") from None
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        generator.set_state(state["batch_rng"])
        best_metric, best_epoch, best_state = state["best_metric"], state["best_epoch"], state["best_state"]
        best_valid, history, train_seconds = state["best_valid"], state["history"], state["train_seconds"]
        stopped_early = state["stopped_early"]
    first_epoch = len(history) + 1
    if stopped_early:
        first_epoch = train.max_epochs + 1
    for epoch in range(first_epoch, train.max_epochs + 1):
        started = time.perf_counter()
        loss = train_epoch(
            model, batches, spec, n_negatives, optimizer, generator, device, f"epoch {epoch}",
            ctx, encoder, negative_generator, train.length_groups, train.amp,
        )
        epoch_seconds = time.perf_counter() - started
        started = time.perf_counter()
        metrics = evaluate(model, split.data, valid, ev.ks, ev.filter_seen, ev.batch_size, device)  # type: ignore[arg-type]
        eval_seconds = time.perf_counter() - started
        train_seconds += epoch_seconds + eval_seconds
        row = {"epoch": epoch, "loss": loss, "valid": metrics, "epoch_seconds": epoch_seconds,
               "eval_seconds": eval_seconds, "elapsed_seconds": train_seconds}
        history.append(row)
        if metrics[ev.metric] > best_metric:
            best_metric, best_epoch, best_valid = metrics[ev.metric], epoch, metrics
            best_state = copy.deepcopy(model.state_dict())
            if on_improve is not None and ctx.is_main:
                on_improve(model, epoch)
        elif epoch - best_epoch >= train.patience:
            stopped_early = True
        if checkpoint is not None and ctx.is_main:
            save_checkpoint(checkpoint, {
                "format": CHECKPOINT_FORMAT, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "torch_rng": torch.get_rng_state(), "batch_rng": generator.get_state(),
                "best_metric": best_metric, "best_epoch": best_epoch, "best_state": best_state,
                "best_valid": best_valid, "history": history, "train_seconds": train_seconds,
                "stopped_early": stopped_early,
            })
        if on_epoch is not None and ctx.is_main:
            on_epoch(row)
        if stopped_early:
            break
    model.load_state_dict(best_state)
    return TrainResult(best_epoch, best_valid, history, train_seconds, stopped_early)
