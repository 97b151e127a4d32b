"""One experiment end to end: config -> data -> split -> model -> training -> test metrics -> files."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqrec import distributed
from seqrec.config import Config, to_toml
from seqrec.data.interactions import DataError, Interactions
from seqrec.data.split import leave_one_out
from seqrec.evaluation import Popularity, evaluate
from seqrec.models import build_model
from seqrec.training import fit


def load_data(config: Config) -> Interactions:
    """The interactions a config names: a file path, a catalog dataset or the synthetic default."""
    from seqrec.data.catalog import load_dataset
    from seqrec.data.readers import guess_format, read_interactions

    data = config.data
    filters: dict[str, Any] = {
        "min_item_interactions": data.min_item_interactions,
        "min_user_interactions": data.min_user_interactions,
        "drop_duplicates": data.drop_duplicates,
    }
    if data.path:
        fmt = guess_format(data.path) if data.format == "auto" else data.format
        if fmt != "table":  # the column names only mean something to tables
            return read_interactions(data.path, fmt, **filters)
        table = {"user_col": data.user_col, "item_col": data.item_col, "timestamp_col": data.timestamp_col or None}
        return read_interactions(data.path, fmt, **table, **filters)
    interactions = load_dataset(data.dataset, data.data_dir or None)
    if any(filters.values()):
        # refilter through the same constructor; timestamps are already reflected in the order
        interactions = Interactions.from_arrays(
            interactions.user_ids[_user_index(interactions)],
            interactions.item_ids[interactions.items],
            source=data.dataset,
            **filters,
        )
    return interactions


def _user_index(data: Interactions) -> Any:
    import numpy as np

    return np.repeat(np.arange(data.n_users), data.lengths)


def check_config(config: Config) -> None:
    """Reject values that would only fail deep inside training, before anything is written."""
    from seqrec.config import ConfigError
    from seqrec.losses import get_loss
    from seqrec.models import MODELS

    get_loss(config.train.loss)
    if config.model.name not in MODELS:
        raise ConfigError(f"unknown model {config.model.name!r}; known: {', '.join(sorted(MODELS))}")
    metrics = {"mrr"} | {f"{m}@{k}" for k in config.eval.ks for m in ("hr", "ndcg")}
    if config.eval.metric not in metrics:
        raise ConfigError(f"eval.metric {config.eval.metric!r} is not computed; choose one of {sorted(metrics)}")
    positive = {
        "model.hidden": config.model.hidden, "model.blocks": config.model.blocks, "model.heads": config.model.heads,
        "model.max_length": config.model.max_length, "train.batch_size": config.train.batch_size,
        "train.max_epochs": config.train.max_epochs, "eval.batch_size": config.eval.batch_size,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"{key} must be at least 1, got {value}")
    if config.model.hidden % config.model.heads:
        raise ConfigError(
            f"model.hidden ({config.model.hidden}) must be divisible by model.heads ({config.model.heads})"
        )
    if not 0.0 <= config.model.dropout < 1.0 or not 0.0 < config.model.mask_prob < 1.0:
        raise ConfigError(f"model.dropout must be in [0, 1) and model.mask_prob in (0, 1), "
                          f"got {config.model.dropout} and {config.model.mask_prob}")
    variants = {"model.block": (config.model.block, ("pre_norm", "sasrec_pytorch")),
                "model.init": (config.model.init, ("xavier", "normal")),
                "model.positions": (config.model.positions, ("from_end", "from_start"))}
    for key, (choice, allowed) in variants.items():
        if choice not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}; got {choice!r}")
    if config.train.amp not in ("", "bf16"):
        raise ConfigError(f"train.amp must be \"\" or \"bf16\", got {config.train.amp!r}")
    if any(k < 1 for k in config.eval.ks):
        raise ConfigError(f"eval.ks must be positive, got {config.eval.ks}")
    train = config.train
    if not math.isfinite(train.lr) or train.lr <= 0 or not math.isfinite(train.weight_decay) or train.weight_decay < 0:
        raise ConfigError(f"train.lr must be > 0 and train.weight_decay >= 0, got {train.lr} and {train.weight_decay}")
    at_least = {"train.patience": (train.patience, 1), "train.negatives": (train.negatives, 0),
                "train.threads": (train.threads, 0), "train.seed": (train.seed, 0),
                "model.ff_hidden": (config.model.ff_hidden, 0)}
    for key, (value, low) in at_least.items():
        if value < low:
            raise ConfigError(f"{key} must be at least {low}, got {value}")
    _check_device(train.device)


def _check_device(name: str) -> None:
    """``train.device`` must name a device this machine has (checked without starting CUDA)."""
    from seqrec.config import ConfigError

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as error:
        raise ConfigError(f"train.device {name!r} is not a torch device ({error})") from None
    if device.type == "cuda" and (device.index or 0) >= (torch.cuda.device_count() if torch.cuda.is_available() else 0):
        raise ConfigError(f"train.device {name!r}: no such CUDA device here (use train.device=cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device {name!r}: MPS is not available here (use train.device=cpu)")


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_weights(model: nn.Module, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_experiment(config: Config, out_dir: str | Path, command: str = "", resume: bool = False) -> dict[str, Any]:
    """Train and test one model; write config.toml, log.jsonl, checkpoint.pt, best.pt and (last) metrics.json.

    Data and model are prepared before the directory is touched, so bad input leaves nothing
    behind; a run that fails later leaves no ``metrics.json``, the mark of a finished run.
    With ``resume``, training continues from the directory's ``checkpoint.pt`` (the state
    after the last finished epoch) and ends exactly as the uninterrupted run would.
    """
    check_config(config)
    out = Path(out_dir)
    if resume and (out / "metrics.json").exists():
        return dict(json.loads((out / "metrics.json").read_text(encoding="utf-8")))
    started = time.perf_counter()
    data = load_data(config)
    load_seconds = time.perf_counter() - started
    split = leave_one_out(data)
    if len(split.valid) == 0:
        raise DataError(f"{config.data.path or config.data.dataset}: no user has 3 or more interactions, "
                        "leave-one-out has nothing to validate on")
    model = build_model(config.model, data.n_items, seed=config.train.seed)
    checkpoint = out / "checkpoint.pt"
    history: list[dict[str, Any]] = []
    if resume and checkpoint.exists():
        from seqrec.training import load_checkpoint

        history = load_checkpoint(checkpoint)["history"]

    ctx = distributed.context(config.train.device)
    if not ctx.is_main:  # other ranks train in step with rank 0 and write nothing
        result = fit(model, split, config, checkpoint=checkpoint, resume=resume)
        return {"best_epoch": result.best_epoch, "valid": result.best_valid}
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        (out / "metrics.json").unlink(missing_ok=True)
        if not resume:
            checkpoint.unlink(missing_ok=True)
            write_atomic(out / "config.toml", to_toml(config, header=command))
        # the log always restarts from what the checkpoint holds, so it never has a torn tail
        write_atomic(out / "log.jsonl", "".join(json.dumps(row) + "\n" for row in history))
        log = (out / "log.jsonl").open("a", encoding="utf-8")
    except OSError:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise

    def on_epoch(row: dict[str, Any]) -> None:
        log.write(json.dumps(row) + "\n")
        log.flush()
        valid = ", ".join(f"{k}={v:.4f}" for k, v in row["valid"].items() if k in ("ndcg@10", "hr@10"))
        print(f"epoch {row['epoch']:3d}  loss {row['loss']:.4f}  {valid}  "
              f"{row['epoch_seconds']:.1f}s + eval {row['eval_seconds']:.1f}s", flush=True)

    with log:
        result = fit(
            model, split, config, on_epoch, lambda m, _: save_weights(m, out / "best.pt"),
            checkpoint=checkpoint, resume=resume,
        )
    device = torch.device(config.train.device)
    ev = config.eval
    started = time.perf_counter()
    test = evaluate(model, data, split.test, ev.ks, ev.filter_seen, ev.batch_size, device)  # type: ignore[arg-type]
    test_seconds = time.perf_counter() - started
    starts, ends = split.train_offsets
    popularity = evaluate(
        Popularity.fit(data.items, starts, ends, data.n_items), data, split.test, ev.ks, ev.filter_seen
    )
    epochs = len(result.history)
    metrics = {
        "valid": result.best_valid,
        "test": test,
        "popularity_test": popularity,
        "best_epoch": result.best_epoch,
        "epochs": epochs,
        "stopped_early": result.stopped_early,
        "train_seconds": result.train_seconds,
        "seconds_per_epoch": sum(r["epoch_seconds"] for r in result.history) / max(epochs, 1),
        "test_eval_seconds": test_seconds,
        "load_seconds": load_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "data": data.stats(),
        "seed": config.train.seed,
        "torch_threads": config.train.threads or torch.get_num_threads(),
        "processes": ctx.world,
        "command": command,
    }
    write_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    checkpoint.unlink(missing_ok=True)  # finished: best.pt and metrics.json are the record
    return metrics
