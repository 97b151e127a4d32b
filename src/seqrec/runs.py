"""One run directory: train and test a model from a config, and read a finished run back.

``run_experiment`` goes config -> data -> split -> model -> training -> test metrics -> files;
``load_run`` rebuilds the estimator of a finished run and ``evaluate_run`` re-scores it.
Files of a run directory: ``config.toml`` (with the data record, see :mod:`seqrec.fingerprint`),
``log.jsonl``, ``checkpoint.pt`` (while training), ``best.pt``, ``.lock`` (while a run writes,
see :mod:`seqrec.run_lock`), ``per_user.npz`` (each test target's rank, see :mod:`seqrec.per_user`)
and, written last, ``metrics.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import torch

from seqrec import distributed
from seqrec.beyond_accuracy import beyond_accuracy
from seqrec.checkpoint import load_checkpoint
from seqrec.config import Config, load_config, to_toml
from seqrec.data.interactions import DataError, Interactions, item_counts
from seqrec.data.loading import load_data
from seqrec.data.split import Split, make_split
from seqrec.data.temporal import targets_before_latest_training, targets_sharing_time
from seqrec.estimator import SequentialRecommender
from seqrec.evaluation import Popularity, evaluate, rank_targets
from seqrec.fingerprint import check_data, make_record, read_record, record_header, resolve_data
from seqrec.io import safe_load, save_torch_atomic, write_text_atomic
from seqrec.metrics import mean_metrics
from seqrec.models import SequenceModel, build_model
from seqrec.per_user import PER_USER_FILE, PerUser, from_eval_set, write_per_user
from seqrec.run_lock import RunDirError, RunLock, active_holder, check_out_dir, clear_earlier_run
from seqrec.training import fit, validation_subset
from seqrec.validation import check_config


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_experiment(
    config: Config,
    out_dir: str | Path,
    command: str = "",
    resume: bool = False,
    source: str = "",
    overwrite: bool = False,
    allow_changed_data: bool = False,
) -> dict[str, Any]:
    """Train and test one model; write config.toml, log.jsonl, checkpoint.pt, best.pt and (last) metrics.json.

    Data and model are prepared before the directory is touched, so bad input leaves nothing
    behind; a run that fails later leaves no ``metrics.json``, the mark of a finished run.
    With ``resume``, training continues from the directory's ``checkpoint.pt`` (the state
    after the last finished epoch) and ends exactly as the uninterrupted run would; its data
    file must still be the one recorded in config.toml unless ``allow_changed_data``.
    While it writes, the run holds ``DIR/.lock``; a fresh run refuses a directory holding an
    earlier run's files unless ``overwrite``, which removes them first (see :mod:`seqrec.run_lock`).
    """
    check_config(config, source)
    out = Path(out_dir)
    if resume and (out / "metrics.json").exists():
        return dict(json.loads((out / "metrics.json").read_text(encoding="utf-8")))
    if os.environ.get("RANK", "0") == "0":  # refuse a busy or occupied directory before reading any data
        check_out_dir(out, resume, overwrite)
    record = read_record(out / "config.toml") if resume else None
    data_config = resolve_data(config.data, record)
    checked = check_data(out, record, data_config, allow_changed_data)
    started = time.perf_counter()
    data = load_data(data_config)
    load_seconds = time.perf_counter() - started
    if not checked:  # a catalog file that load_data had to fetch first
        check_data(out, record, data_config, allow_changed_data)
    split = make_split(config.eval.split, data, config.eval, config.data.path or config.data.dataset)
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
    header = "\n".join(h for h in (command, "" if resume else record_header(make_record(data_config))) if h)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = RunLock(out)
    try:
        lock.acquire()
        if not resume:
            clear_earlier_run(out, overwrite)  # only seqrec's own files of the earlier run
        (out / "metrics.json").unlink(missing_ok=True)
        (out / PER_USER_FILE).unlink(missing_ok=True)  # written again, from the final model, before metrics.json
        if not resume:
            checkpoint.unlink(missing_ok=True)
            write_text_atomic(out / "config.toml", to_toml(config, header=header))
        # the log always restarts from what the checkpoint holds, so it never has a torn tail
        write_text_atomic(out / "log.jsonl", "".join(json.dumps(row) + "\n" for row in history))
        log = (out / "log.jsonl").open("a", encoding="utf-8")
    except BaseException:
        lock.release()
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    try:
        return _train_and_test(config, model, data, split, out, command, resume, log, load_seconds, ctx.world)
    finally:
        lock.release()


def _train_and_test(
    config: Config,
    model: SequenceModel,
    data: Interactions,
    split: Split,
    out: Path,
    command: str,
    resume: bool,
    log: TextIO,
    load_seconds: float,
    world: int,
) -> dict[str, Any]:
    """The locked part of a run: train (logging each epoch), test, write metrics.json, drop the checkpoint."""
    checkpoint = out / "checkpoint.pt"
    assert split.test is not None, "checked by run_experiment"

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
    test, beyond, per_user = score_test(model, split, config, device)
    test_seconds = time.perf_counter() - started
    popularity = evaluate(popularity_baseline(split), data, split.test, ev.ks, ev.filter_seen)
    epochs = len(result.history)
    metrics = {
        "valid": result.best_valid,
        "test": test,
        "popularity_test": popularity,
        "beyond_accuracy": beyond,
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
        "processes": world,
        "command": command,
    }
    if data.timestamps is not None:
        metrics["leakage"] = {"test_targets_before_latest_training": targets_before_latest_training(split)}
        metrics["targets_sharing_time"] = targets_sharing_time(split)
    write_per_user(out / PER_USER_FILE, per_user)
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    checkpoint.unlink(missing_ok=True)  # finished: best.pt and metrics.json are the record
    return metrics


def load_run(
    run_dir: str | Path, device: str | None = None, allow_changed_data: bool = False, allow_unfinished: bool = False
) -> SequentialRecommender:
    """Rebuild the estimator of a ``seqrec train`` run: its config.toml, best.pt and the data it names.

    Refused (one-line errors) unless asked: a run that has not finished (no metrics.json; its
    best.pt is a snapshot of an interrupted or still running training), ``allow_unfinished``;
    a data file that differs from the one recorded when the run started (ids would map to
    other items' weights), ``allow_changed_data``. A relative ``data.path`` that does not exist
    from the current directory is read from the absolute path recorded at the start.
    """
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
    if not allow_unfinished and not (run / "metrics.json").exists():
        holder = active_holder(run)
        why = f"it is still training ({holder})" if holder else "it was interrupted"
        raise RunDirError(
            f"{run}: the run has not finished (no metrics.json; {why}), so best.pt may not be its final model; "
            f"resume it with `seqrec train --resume {run}` or pass --allow-unfinished to use it anyway"
        )
    record = read_record(config_path)
    data_config = resolve_data(config.data, record)
    checked = check_data(run, record, data_config, allow_changed_data)
    data = load_data(data_config)
    if not checked:
        check_data(run, record, data_config, allow_changed_data)
    counts = item_counts(data.items, data.offsets[:-1], data.offsets[1:], data.n_items)
    return SequentialRecommender.from_parts(config, state, data, counts, True, str(weights_path))


def evaluate_run(
    run_dir: str | Path, device: str | None = None, allow_changed_data: bool = False, allow_unfinished: bool = False
) -> dict[str, dict[str, float]]:
    """Re-score a run on its split (eval.split): validation (the trainer's subset), test, popularity test.

    Same weights, data, users and batches as ``seqrec train``, so the figures equal its metrics.json.
    The keywords are those of :func:`load_run`.
    """
    return rescore_run(run_dir, device, allow_changed_data, allow_unfinished)[0]


def rescore_run(
    run_dir: str | Path, device: str | None = None, allow_changed_data: bool = False, allow_unfinished: bool = False
) -> tuple[dict[str, dict[str, float]], PerUser]:
    """:func:`evaluate_run`'s metrics and, from the same scores, the per-user test results."""
    est = load_run(run_dir, device, allow_changed_data, allow_unfinished)
    model, data, _ = est._fitted()
    config = est.config
    ev, dev = config.eval, torch.device(config.train.device)
    split = make_split(config.eval.split, data, config.eval, config.data.path or config.data.dataset)
    assert split.valid is not None and split.test is not None, f"split {config.eval.split!r} holds nothing out"
    valid = validation_subset(split.valid, ev.valid_users, config.train.seed)
    test, beyond, per_user = score_test(model, split, config, dev)
    metrics = {
        "valid": evaluate(model, data, valid, ev.ks, ev.filter_seen, ev.batch_size, dev),
        "test": test,
        "popularity_test": evaluate(popularity_baseline(split), data, split.test, ev.ks, ev.filter_seen),
        "beyond_accuracy": beyond,
    }
    return metrics, per_user


def backfill_per_user(run_dir: str | Path, per_user: PerUser, allow_changed_data: bool = False) -> str:
    """Write ``per_user.npz`` into a finished run that lacks one (trained before runs kept it); say what was done.

    Written only when the re-scored test metrics equal those of the run's metrics.json (within
    1e-9; the same weights, data and split give the same ranks), so the file always belongs to
    the figures the run reports. Not written for an unfinished run, nor with ``allow_changed_data``.
    """
    run = Path(run_dir)
    path = run / PER_USER_FILE
    if path.exists():
        return f"{path} already holds the run's per-user test ranks"
    if not (run / "metrics.json").is_file():
        return f"{path} not written: the run has not finished (no metrics.json)"
    if allow_changed_data:
        return f"{path} not written: --allow-changed-data may have scored other data than the run's"
    recorded = json.loads((run / "metrics.json").read_text(encoding="utf-8")).get("test", {})
    rescored = per_user.metrics(sorted({int(k.split("@")[1]) for k in recorded if "@" in k}))
    for name, was in recorded.items():
        now = rescored.get(name, float("nan"))
        if not abs(was - now) <= 1e-9:
            return (
                f"{path} not written: the re-scored test metrics differ from {run / 'metrics.json'} "
                f"({name} {now} vs {was}; another device or data?)"
            )
    write_per_user(path, per_user)
    return f"{path} written: per-user test ranks for seqrec compare and the report's significance columns"


def score_test(
    model: SequenceModel, split: Split, config: Config, device: torch.device
) -> tuple[dict[str, float], dict[str, float], PerUser]:
    """The test ranking metrics, the beyond-accuracy metrics of the test users' top-K lists (see
    seqrec.beyond_accuracy) and the per-user results, all from one scoring pass."""
    assert split.test is not None
    ev, data = config.eval, split.data
    ranks, lists = rank_targets(model, data, split.test, max(ev.ks), ev.filter_seen, ev.batch_size, device)
    counts = item_counts(data.items, *split.train_offsets, data.n_items)
    per_user = from_eval_set(data, split.test, ranks)
    return mean_metrics(ranks, ev.ks), beyond_accuracy(lists, counts, ev.ks), per_user


def popularity_baseline(split: Split) -> Popularity:
    """Items ranked by their count in the split's training ranges: the floor every model must beat."""
    starts, ends = split.train_offsets
    return Popularity.fit(split.data.items, starts, ends, split.data.n_items)
