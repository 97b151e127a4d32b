"""RecTools 0.19's side of ``bench_train.py``: the model with the benchmark's settings, a trainer
that times each epoch (Lightning callback from ``on_train_epoch_start`` to ``on_train_epoch_end``),
and the child process that fits it on ML-1M's leave-one-out training data."""

from __future__ import annotations

import math
import time
from typing import Any

import _common as common
from _train_settings import BATCH, BLOCKS, DROPOUT, HEADS, HIDDEN, LR, MASK_PROB, MAX_LENGTH, RECTOOLS_LOSS

_EPOCH_SECONDS: list[float] = []  # filled by the callback (Lightning deep-copies the trainer)
_EPOCH_CPU_SECONDS: list[float] = []  # the same epochs in this process's CPU time
_TRAINER_KWARGS: dict[str, Any] = {}


def rectools_trainer() -> Any:
    """``get_trainer_func`` for RecTools: CPU, no logger, checkpoints, bars or sanity checks."""
    from pytorch_lightning import Callback, Trainer

    class EpochTimer(Callback):
        started = 0.0
        cpu_started = 0.0

        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self.started, self.cpu_started = time.perf_counter(), time.process_time()

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            _EPOCH_SECONDS.append(time.perf_counter() - self.started)
            _EPOCH_CPU_SECONDS.append(time.process_time() - self.cpu_started)

    return Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[EpochTimer()],
        **_TRAINER_KWARGS,
    )


def rectools_model_kwargs(
    model: str, loss: str, n_negatives: int, epochs: int, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The exact RecTools constructor arguments (besides the classes, see ``rectools_model``);
    ``extra`` adds or replaces some (e.g. ``gbce_t``)."""
    kwargs: dict[str, Any] = {
        "n_blocks": BLOCKS,
        "n_heads": HEADS[model],
        "n_factors": HIDDEN,
        "dropout_rate": DROPOUT,
        "session_max_len": MAX_LENGTH,
        "train_min_user_interactions": 2,
        "loss": RECTOOLS_LOSS[loss],
        "n_negatives": max(n_negatives, 1),
        "lr": LR,
        "batch_size": BATCH,
        "epochs": epochs,
        "deterministic": False,
        "verbose": 0,
        "dataloader_num_workers": 0,
        "recommend_torch_device": "cpu",
    }
    if model == "bert4rec":
        kwargs["mask_prob"] = MASK_PROB  # feed-forward is 4 x n_factors = 256 by default
    return kwargs | (extra or {})


def rectools_model(model: str, loss: str, n_negatives: int, epochs: int, extra: dict[str, Any] | None = None) -> Any:
    """SASRecModel / BERT4RecModel with ID embeddings only and the benchmark's trainer."""
    from rectools.models import BERT4RecModel, SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    cls = SASRecModel if model == "sasrec" else BERT4RecModel
    return cls(
        **rectools_model_kwargs(model, loss, n_negatives, epochs, extra),
        item_net_block_types=(IdEmbeddingsItemNet,),
        get_trainer_func=rectools_trainer,
    )


def rectools_child(spec: dict[str, Any]) -> dict[str, Any]:
    import pytorch_lightning
    import rectools
    import torch
    from _ml1m import load_ml1m_split, rectools_frame
    from rectools.dataset import Dataset

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    data, split = load_ml1m_split()
    frame = rectools_frame(data, *split.train_offsets)
    dataset = Dataset.construct(frame)
    n_sessions = int((frame.groupby("user_id").size() >= 2).sum())
    full_batches = math.ceil(n_sessions / BATCH)
    epochs = spec["warmup"] + spec["epochs"]
    _TRAINER_KWARGS.update(max_epochs=epochs, min_epochs=epochs, deterministic=False)
    if spec["batches"]:
        _TRAINER_KWARGS["limit_train_batches"] = spec["batches"]
    pytorch_lightning.seed_everything(spec["seed"], verbose=False)
    extra = spec.get("rectools_extra")
    model = rectools_model(spec["model"], spec["loss"], spec["negatives"], epochs, extra)
    rss_before = common.rss_mb()
    model.fit(dataset)
    versions = common.torch_info() | {
        "rectools": rectools.__version__,
        "pytorch_lightning": pytorch_lightning.__version__,
    }
    return {
        "n_negatives": spec["negatives"] if spec["loss"] != "ce" else 0,
        "full_batches": full_batches,
        "timed_batches": min(spec["batches"], full_batches) if spec["batches"] else full_batches,
        "epoch_seconds_raw": list(_EPOCH_SECONDS),
        "epoch_cpu_seconds_raw": list(_EPOCH_CPU_SECONDS),
        "rectools_kwargs": rectools_model_kwargs(spec["model"], spec["loss"], spec["negatives"], epochs, extra),
        "rss_before_training_mb": rss_before,
        "versions": versions,
    }


def rectools_sampled_gb(n_negatives: int) -> float:
    """RecTools' candidate embeddings for sampled losses: [B, L, n + 1, D] float32, plus the gradient."""
    return 2 * BATCH * MAX_LENGTH * (n_negatives + 1) * HIDDEN * 4 / 2**30
