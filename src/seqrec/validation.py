"""Whole-config checks before anything runs: each part validates its own section.

The model checks ``[model]`` (:func:`seqrec.models.check_model_config`), the objective the loss
and sampler of ``[train]`` (:func:`seqrec.objectives.check_objective`); the training loop's
numbers and ``[eval]`` are checked here. Values that would only fail deep inside training fail
here, with the config's source and key named.
"""

from __future__ import annotations

import math

from seqrec.config import Config, ConfigError, EvalConfig
from seqrec.data.split import SPLITS
from seqrec.devices import check_device
from seqrec.models import check_model_config
from seqrec.objectives import check_objective
from seqrec.schedules import SCHEDULES


def _check_train_and_eval(config: Config) -> None:
    train, ev = config.train, config.eval
    if ev.split not in SPLITS:
        raise ConfigError(f"eval.split {ev.split!r} is not a split; known: {', '.join(sorted(SPLITS))}")
    _check_temporal(ev)
    metrics = {"mrr"} | {f"{m}@{k}" for k in ev.ks for m in ("hr", "ndcg")}
    if ev.metric not in metrics:
        raise ConfigError(f"eval.metric {ev.metric!r} is not computed; choose one of {sorted(metrics)}")
    if any(k < 1 for k in ev.ks):
        raise ConfigError(f"eval.ks must be positive, got {ev.ks}")
    at_least = {
        "train.batch_size": (train.batch_size, 1),
        "train.max_epochs": (train.max_epochs, 1),
        "eval.batch_size": (ev.batch_size, 1),
        "train.patience": (train.patience, 1),
        "train.negatives": (train.negatives, 0),
        "train.threads": (train.threads, 0),
        "train.seed": (train.seed, 0),
    }
    for key, (value, low) in at_least.items():
        if value < low:
            raise ConfigError(f"{key} must be at least {low}, got {value}")
    if not math.isfinite(train.lr) or train.lr <= 0 or not math.isfinite(train.weight_decay) or train.weight_decay < 0:
        raise ConfigError(f"train.lr must be > 0 and train.weight_decay >= 0, got {train.lr} and {train.weight_decay}")
    if train.lr_schedule not in SCHEDULES:
        raise ConfigError(f"train.lr_schedule must be one of {', '.join(SCHEDULES)}; got {train.lr_schedule!r}")
    if not math.isfinite(train.warmup_epochs) or not 0 <= train.warmup_epochs <= train.max_epochs:
        raise ConfigError(f"train.warmup_epochs must be in [0, train.max_epochs], got {train.warmup_epochs}")
    if ev.every < 1:
        raise ConfigError(f"eval.every must be at least 1, got {ev.every}")
    if train.amp not in ("", "bf16"):
        raise ConfigError(f'train.amp must be "" or "bf16", got {train.amp!r}')
    check_device(train.device)


def _check_temporal(ev: EvalConfig) -> None:
    """eval.test_from / valid_from / targets: set (and only) for the temporal split, in range, in order."""
    if ev.targets not in ("first", "all"):
        raise ConfigError(f'eval.targets must be "first" or "all", got {ev.targets!r}')
    cuts = {"eval.valid_from": ev.valid_from, "eval.test_from": ev.test_from}
    if ev.split != "temporal":
        used = [key for key, value in cuts.items() if value != 0.0] + ["eval.targets"] * (ev.targets != "first")
        if used:
            raise ConfigError(f"{used[0]} is used only by eval.split = 'temporal', not {ev.split!r}")
        return
    for key, value in cuts.items():
        if value == 0.0:
            raise ConfigError(
                f"{key} must be set for eval.split = 'temporal': a quantile of all interaction times "
                "in (0, 1) or a timestamp (> 1) in the data's units"
            )
        if not math.isfinite(value) or value < 0 or value == 1:
            raise ConfigError(f"{key} must be a quantile in (0, 1) or a timestamp (> 1), got {value}")
    if (ev.valid_from < 1) == (ev.test_from < 1) and ev.valid_from >= ev.test_from:
        raise ConfigError(f"eval.valid_from ({ev.valid_from}) must be before eval.test_from ({ev.test_from})")


def check_config(config: Config, source: str = "") -> Config:
    """``config`` itself if every section is usable; else ConfigError, prefixed with ``source`` when given."""
    try:
        check_model_config(config.model)
        check_objective(config.train)
        _check_train_and_eval(config)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}" if source else str(error)) from None
    return config
