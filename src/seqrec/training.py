"""The training loop: Adam (with an optional learning-rate schedule, see :mod:`seqrec.schedules`),
then either a fixed number of epochs or early stopping on validation.

With a validation set (``split.valid``), validated every ``eval.every`` epochs, training stops
after ``train.patience`` epochs without a better ``eval.metric`` and the best epoch's weights are
loaded back. Without one (the
full-history view), it runs exactly ``train.max_epochs`` epochs and keeps the last weights.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from seqrec import distributed
from seqrec.checkpoint import TrainingState, load_checkpoint, save_checkpoint
from seqrec.config import Config
from seqrec.data.batches import SequenceBatches, split_by_length
from seqrec.data.interactions import item_counts
from seqrec.data.split import EvalSet, Split
from seqrec.devices import autocast, torch_threads
from seqrec.distributed import Distributed, shard
from seqrec.evaluation import evaluate
from seqrec.io import mismatch
from seqrec.models.base import SequenceModel
from seqrec.objectives import Objective, SamplerBatch, build_objective
from seqrec.schedules import make_scheduler


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


def make_optimizer(model: nn.Module, lr: float, weight_decay: float, device: torch.device) -> torch.optim.Adam:
    """Adam over the model's parameters; on CPU and CUDA the fused kernel (one pass per parameter
    instead of several: the same update, several times faster on a large item table)."""
    fused = device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused or None)


def make_batches(model: SequenceModel, split: Split, batch_size: int) -> SequenceBatches:
    """The model's training batches (next item or cloze) over every user's training range."""
    starts, ends = split.train_offsets
    return model.training_batches(split.data.items, starts, ends, batch_size)


def train_epoch(
    model: SequenceModel,
    batches: SequenceBatches,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    device: torch.device,
    desc: str,
    ctx: Distributed | None = None,
    encoder: nn.Module | None = None,
    negative_generator: torch.Generator | None = None,
    length_groups: int = 1,
    amp: str = "",
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> float:
    """One pass over the training users; returns the mean batch loss. ``scheduler`` (if any) steps
    after every optimizer step.

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
    encode: Callable[[torch.Tensor], torch.Tensor] = encoder if encoder is not None else model.encode
    negative_generator = negative_generator or generator
    total, count = 0.0, 0
    progress = tqdm(
        batches.epoch(generator), total=len(batches), desc=desc, leave=False, disable=None if ctx.is_main else True
    )
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
            seen = lambda rows=part_rows: batches.seen(rows, model.n_items)  # noqa: E731
            negatives = objective.draw(SamplerBatch(part_targets, model.n_items, seen), negative_generator)
            # under DDP, gradients are averaged across processes once, after the last part
            last = k == len(parts) - 1
            no_sync = getattr(encoder, "no_sync", None)
            with no_sync() if no_sync is not None and not last else nullcontext():
                with autocast(device, amp):
                    hidden = encode(part_inputs.to(device))  # [b, l, D]
                loss = (
                    objective.compute_loss(  # in float32, outside autocast
                        hidden.float(),
                        model.output_embeddings(),
                        part_targets.to(device),
                        None if negatives is None else negatives.to(device),
                        seen,
                    )
                    * share
                )
                loss.backward()
            batch_loss += loss.item()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total, count = total + batch_loss, count + 1
        progress.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1)


def fit(
    model: SequenceModel,
    split: Split,
    config: Config,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_improve: Callable[[SequenceModel, int], None] | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train ``model`` on ``split``'s training ranges: early stopping if it has validation, else fixed epochs.

    With validation, the best epoch's weights are loaded back into ``model`` before returning;
    without, the last epoch's stay. With ``checkpoint``, the whole training state (weights,
    optimizer, both random generators, early-stopping state, history) is written there after
    every epoch; with ``resume`` it is read back first, so an interrupted run continues exactly
    where its last epoch ended.
    """
    with torch_threads(config.train.threads):
        return _Trainer(model, split, config, checkpoint).run(on_epoch, on_improve, resume)


class _Trainer:
    """The state of one ``fit`` call: model, data, optimizer, generators, early stopping."""

    def __init__(self, model: SequenceModel, split: Split, config: Config, checkpoint: Path | None) -> None:
        train, ev = config.train, config.eval
        self.model, self.config, self.split, self.checkpoint = model, config, split, checkpoint
        self.device = torch.device(train.device)
        self.ctx = distributed.context(train.device)
        self.generator = set_seed(train.seed)
        # single process: one generator for everything; under DDP each rank draws its own negatives
        self.negative_generator = (
            torch.Generator().manual_seed(train.seed + 7919 * self.ctx.rank) if self.ctx.active else self.generator
        )
        model.to(self.device)
        self.encoder: nn.Module | None = distributed.wrap(model, self.ctx, self.device) if self.ctx.active else None
        if train.compile:
            self.encoder = cast(nn.Module, torch.compile(self.encoder or model))
        self.objective = build_objective(train)
        if self.objective.sampler is not None:
            starts, ends = split.train_offsets
            self.objective.sampler.prepare(item_counts(split.data.items, starts, ends, model.n_items))
        self.batches = make_batches(model, split, train.batch_size)
        self.valid = None if split.valid is None else validation_subset(split.valid, ev.valid_users, train.seed)
        self.optimizer = make_optimizer(model, train.lr, train.weight_decay, self.device)
        self.scheduler = make_scheduler(
            self.optimizer, train.lr_schedule, train.warmup_epochs, train.max_epochs, len(self.batches)
        )
        self.state = TrainingState(
            model={},
            optimizer={},
            torch_rng=torch.get_rng_state(),
            batch_rng=self.generator.get_state(),
            best_state=None if self.valid is None else copy.deepcopy(model.state_dict()),
        )

    def _restore(self, path: Path) -> None:
        state = load_checkpoint(path)
        try:
            self.model.load_state_dict(state.model)
        except RuntimeError as error:
            raise ValueError(
                f"{path}: weights do not fit this {self.config.model.name!r} model ({mismatch(error)})"
            ) from None
        self.optimizer.load_state_dict(state.optimizer)
        torch.set_rng_state(state.torch_rng)
        self.generator.set_state(state.batch_rng)
        if self.scheduler is not None and state.scheduler is not None:
            self.scheduler.load_state_dict(state.scheduler)
        self.state = state

    def run(
        self,
        on_epoch: Callable[[dict[str, Any]], None] | None,
        on_improve: Callable[[SequenceModel, int], None] | None,
        resume: bool,
    ) -> TrainResult:
        train, ev, state, model = self.config.train, self.config.eval, self.state, self.model
        if resume and self.checkpoint is not None and self.checkpoint.exists():
            self._restore(self.checkpoint)
            state = self.state
        first_epoch = train.max_epochs + 1 if state.stopped_early else len(state.history) + 1
        for epoch in range(first_epoch, train.max_epochs + 1):
            started = time.perf_counter()
            loss = train_epoch(
                model,
                self.batches,
                self.objective,
                self.optimizer,
                self.generator,
                self.device,
                f"epoch {epoch}",
                self.ctx,
                self.encoder,
                self.negative_generator,
                train.length_groups,
                train.amp,
                scheduler=self.scheduler,
            )
            epoch_seconds = time.perf_counter() - started
            started = time.perf_counter()
            metrics: dict[str, float] = {}
            validated = self.valid is not None and (epoch % ev.every == 0 or epoch == train.max_epochs)
            if validated and self.valid is not None:
                data, device = self.split.data, self.device
                metrics = evaluate(model, data, self.valid, ev.ks, ev.filter_seen, ev.batch_size, device)
            eval_seconds = time.perf_counter() - started
            state.train_seconds += epoch_seconds + eval_seconds
            row = {
                "epoch": epoch,
                "loss": loss,
                "valid": metrics,
                "epoch_seconds": epoch_seconds,
                "eval_seconds": eval_seconds,
                "elapsed_seconds": state.train_seconds,
            }
            state.history.append(row)
            if self.valid is None:
                state.best_epoch = epoch
            elif not validated:
                pass  # eval.every > 1: early stopping decides at validated epochs only
            elif metrics[ev.metric] > state.best_metric:
                state.best_metric, state.best_epoch, state.best_valid = metrics[ev.metric], epoch, metrics
                state.best_state = copy.deepcopy(model.state_dict())
                if on_improve is not None and self.ctx.is_main:
                    on_improve(model, epoch)
            elif epoch - state.best_epoch >= train.patience:
                state.stopped_early = True
            if self.checkpoint is not None and self.ctx.is_main:
                state.model, state.optimizer = model.state_dict(), self.optimizer.state_dict()
                state.torch_rng, state.batch_rng = torch.get_rng_state(), self.generator.get_state()
                state.scheduler = None if self.scheduler is None else self.scheduler.state_dict()
                save_checkpoint(self.checkpoint, state)
            if on_epoch is not None and self.ctx.is_main:
                on_epoch(row)
            if state.stopped_early:
                break
        if state.best_state is not None:
            model.load_state_dict(state.best_state)
        return TrainResult(state.best_epoch, state.best_valid, state.history, state.train_seconds, state.stopped_early)
