"""One run directory: train and test a model from a config, and read a finished run back.

``run_experiment`` goes config -> data -> split -> model -> training -> test metrics -> files;
``load_run`` rebuilds the estimator of a finished run and ``evaluate_run`` re-scores it.
Files of a run directory: ``config.toml``, ``log.jsonl``, ``checkpoint.pt`` (while training),
``best.pt`` and, written last, ``metrics.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from seqrec import distributed
from seqrec.checkpoint import load_checkpoint
from seqrec.config import Config, load_config, to_toml
from seqrec.data.interactions import DataError, item_counts
from seqrec.data.loading import load_data
from seqrec.data.split import Split, make_split
from seqrec.estimator import SequentialRecommender
from seqrec.evaluation import Popularity, evaluate
from seqrec.io import safe_load, save_torch_atomic, write_text_atomic
from seqrec.models import build_model
from seqrec.training import fit, validation_subset
from seqrec.validation import check_config


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_experiment(
    config: Config, out_dir: str | Path, command: str = "", resume: bool = False, source: str = ""
) -> dict[str, Any]:
    """Train and test one model; write config.toml, log.jsonl, checkpoint.pt, best.pt and (last) metrics.json.

    Data and model are prepared before the directory is touched, so bad input leaves nothing
    behind; a run that fails later leaves no ``metrics.json``, the mark of a finished run.
    With ``resume``, training continues from the directory's ``checkpoint.pt`` (the state
    after the last finished epoch) and ends exactly as the uninterrupted run would.
    """
    check_config(config, source)
    out = Path(out_dir)
    if resume and (out / "metrics.json").exists():
        return dict(json.loads((out / "metrics.json").read_text(encoding="utf-8")))
    started = time.perf_counter()
    data = load_data(config.data)
    load_seconds = time.perf_counter() - started
    split = make_split(config.eval.split, data)
    if split.valid is None or split.test is None or len(split.valid) == 0:
        raise DataError(
            f"{config.data.path or config.data.dataset}: no user has 3 or more interactions, "
            "leave-one-out has nothing to validate on"
        )
    model = build_model(config.model, data.n_items, seed=config.train.seed)
    checkpoint = out / "checkpoint.pt"
    history: list[dict[str, Any]] = []
    if resume and checkpoint.exists():
        history = load_checkpoint(checkpoint).history

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
            write_text_atomic(out / "config.toml", to_toml(config, header=command))
        # the log always restarts from what the checkpoint holds, so it never has a torn tail
        write_text_atomic(out / "log.jsonl", "".join(json.dumps(row) + "\n" for row in history))
        log = (out / "log.jsonl").open("a", encoding="utf-8")
    except OSError:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise

    def on_epoch(row: dict[str, Any]) -> None:
        log.write(json.dumps(row) + "\n")
        log.flush()
        valid = ", ".join(f"{k}={v:.4f}" for k, v in row["valid"].items() if k in ("ndcg@10", "hr@10"))
        print(
            f"epoch {row['epoch']:3d}  loss {row['loss']:.4f}  {valid}  "
            f"{row['epoch_seconds']:.1f}s + eval {row['eval_seconds']:.1f}s",
            flush=True,
        )

    with log:
        result = fit(
            model,
            split,
            config,
            on_epoch,
            lambda m, _: save_torch_atomic(m.state_dict(), out / "best.pt"),
            checkpoint=checkpoint,
            resume=resume,
        )
    device = torch.device(config.train.device)
    ev = config.eval
    started = time.perf_counter()
    test = evaluate(model, data, split.test, ev.ks, ev.filter_seen, ev.batch_size, device)
    test_seconds = time.perf_counter() - started
    popularity = evaluate(popularity_baseline(split), data, split.test, ev.ks, ev.filter_seen)
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
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    checkpoint.unlink(missing_ok=True)  # finished: best.pt and metrics.json are the record
    return metrics


def load_run(run_dir: str | Path, device: str | None = None) -> SequentialRecommender:
    """Rebuild the estimator of a ``seqrec train`` run: its config.toml, best.pt and the data it names."""
    run = Path(run_dir)
    config_path, weights_path = run / "config.toml", run / "best.pt"
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise FileNotFoundError(f"{run}: not a seqrec run directory (no {needed.name})")
    config = load_config(config_path)
    if device is not None:
        config.train.device = device
    state = safe_load(weights_path, "weights file")
    if not isinstance(state, Mapping):
        raise ValueError(f"{weights_path}: not a state dict")
    data = load_data(config.data)
    counts = item_counts(data.items, data.offsets[:-1], data.offsets[1:], data.n_items)
    return SequentialRecommender.from_parts(config, state, data, counts, True, str(weights_path))


def evaluate_run(run_dir: str | Path, device: str | None = None) -> dict[str, dict[str, float]]:
    """Re-score a run on its leave-one-out split: validation (the trainer's subset), test, popularity test.

    Same weights, data, users and batches as ``seqrec train``, so the figures equal its metrics.json.
    """
    est = load_run(run_dir, device)
    model, data, _ = est._fitted()
    config = est.config
    ev, dev = config.eval, torch.device(config.train.device)
    split = make_split(config.eval.split, data)
    assert split.valid is not None and split.test is not None, f"split {config.eval.split!r} holds nothing out"
    valid = validation_subset(split.valid, ev.valid_users, config.train.seed)
    return {
        "valid": evaluate(model, data, valid, ev.ks, ev.filter_seen, ev.batch_size, dev),
        "test": evaluate(model, data, split.test, ev.ks, ev.filter_seen, ev.batch_size, dev),
        "popularity_test": evaluate(popularity_baseline(split), data, split.test, ev.ks, ev.filter_seen),
    }


def popularity_baseline(split: Split) -> Popularity:
    """Items ranked by their count in the split's training ranges: the floor every model must beat."""
    starts, ends = split.train_offsets
    return Popularity.fit(split.data.items, starts, ends, split.data.n_items)
