"""RecTools 0.19 SASRec (softmax, or the config's bce or gbce) with validation NDCG@10 measured
seqrec's way after every epoch.

Run by bench_time_to_quality.py with the RecTools venv's python: ``python _rectools_quality.py SPEC``,
SPEC a JSON object: ``config`` and ``overrides`` (a seqrec config: hidden, blocks, heads, dropout,
max_length, lr, batch size, max_epochs, patience, seed, eval settings), ``threads``,
``budget_seconds`` and ``out`` (a directory). The data are the config's, read and split by seqrec;
RecTools trains on seqrec's leave-one-out training sequences (``_ml1m.rectools_frame``).

At the end of every training epoch a Lightning callback scores the whole catalog for seqrec's
validation users (the same seeded subset of ``eval.valid_users``) with RecTools' torch model, the
last position's session embedding against every item embedding, as RecTools' ``recommend`` does,
and ranks each target with ``seqrec.evaluation.evaluate``: the same histories, seen-item filter,
ties rule and metric code as ``seqrec train``. It writes one log.jsonl line per epoch with seqrec's
keys (``elapsed_seconds``: training plus validation), keeps the best epoch's weights (the first
of the highest value), and stops on patience, at max_epochs or once the process has run
``budget_seconds``. metrics.json then holds the best epoch's validation and test figures.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

STARTED = time.perf_counter()
# shared with the callback: Lightning deep-copies the trainer and its callbacks, so they hold no data
STATE: dict[str, Any] = {"epoch": 0, "elapsed": 0.0, "best_metric": -1.0, "best_epoch": 0, "capped": None}


class RecToolsScorer:
    """seqrec's ``NextItemScorer`` over a RecTools torch model: seqrec-id histories [B, L] -> scores [B, I + 1].

    ``to_rectools[i]`` is RecTools' internal id of seqrec item i (0, the padding, maps to RecTools'
    padding 0; -1: an item RecTools never saw in training, which it cannot recommend: score -inf,
    and in a history it becomes padding, as RecTools drops unknown items from a history).
    """

    def __init__(self, torch_model: Any, to_rectools: np.ndarray, session_max_len: int) -> None:
        import torch

        self.torch_model, self.max_length = torch_model, session_max_len
        self.to_rectools = torch.from_numpy(to_rectools).clamp(min=0)  # [I + 1]
        self.unknown = torch.from_numpy(to_rectools < 0)  # [I + 1]

    def eval(self) -> None:
        self.torch_model.eval()

    def score_next(self, history: Any) -> Any:
        import torch

        x = self.to_rectools[history]  # [B, L'] RecTools ids, left-padded with 0
        x = torch.nn.functional.pad(x, (self.max_length - x.shape[1], 0))  # [B, L]: RecTools' fixed length
        items = self.torch_model.item_model.get_all_embeddings()  # [I_rt, D]
        sessions = self.torch_model.encode_sessions({"x": x}, items)[:, -1, :]  # [B, D]
        logits = self.torch_model.similarity_module(sessions, items)  # [B, I_rt], as in training
        return logits[:, self.to_rectools].masked_fill(self.unknown, float("-inf"))  # [B, I + 1]


def seqrec_to_rectools(item_ids: np.ndarray, rectools_external: Any) -> np.ndarray:
    """[I + 1] RecTools internal id of each seqrec item (raw id ``item_ids[i]``); -1 where unknown."""
    internal = {ext: i for i, ext in enumerate(rectools_external)}
    out = np.array([internal.get(raw, -1) for raw in item_ids], dtype=np.int64)
    out[0] = 0  # seqrec's padding -> RecTools' padding token (internal id 0)
    return out


def validate_epoch(trainer: Any, module: Any) -> None:
    """The callback's work after an epoch: validate, log a line, keep the best weights, decide to stop."""
    from seqrec.evaluation import evaluate

    config = STATE["config"]
    epoch_seconds = time.perf_counter() - STATE["epoch_started"]
    started = time.perf_counter()
    if "to_rectools" not in STATE:
        STATE["to_rectools"] = seqrec_to_rectools(STATE["data"].item_ids, module.item_external_ids)
    scorer = RecToolsScorer(module.torch_model, STATE["to_rectools"], config.model.max_length)
    ev = config.eval
    metrics = evaluate(scorer, STATE["data"], STATE["valid"], ev.ks, ev.filter_seen, ev.batch_size)
    module.train()
    eval_seconds = time.perf_counter() - started
    STATE["epoch"] += 1
    STATE["elapsed"] += epoch_seconds + eval_seconds
    epoch = STATE["epoch"]
    row = {"epoch": epoch, "loss": float(trainer.callback_metrics.get("train_loss", float("nan")))}
    row |= {"valid": metrics, "epoch_seconds": epoch_seconds, "eval_seconds": eval_seconds}
    row |= {"elapsed_seconds": STATE["elapsed"]}
    STATE["log"].write(json.dumps(row) + "\n")
    STATE["log"].flush()
    print(f"epoch {epoch:3d}  ndcg@10={metrics.get('ndcg@10', float('nan')):.4f}  {epoch_seconds:.1f}s", flush=True)
    if metrics[ev.metric] > STATE["best_metric"]:
        STATE.update(best_metric=metrics[ev.metric], best_epoch=epoch, best_valid=metrics)
        STATE["best_state"] = copy.deepcopy(module.torch_model.state_dict())
    elif epoch - STATE["best_epoch"] >= config.train.patience:
        STATE["stopped_early"] = trainer.should_stop = True
    if STATE["budget"] and time.perf_counter() - STARTED > STATE["budget"]:
        STATE["capped"] = round(time.perf_counter() - STARTED, 2)
        trainer.should_stop = True


def make_trainer() -> Any:
    """``get_trainer_func`` for RecTools: CPU, no logger, checkpoints or bars; validation by the callback."""
    from pytorch_lightning import Callback, Trainer

    class ValidateEachEpoch(Callback):
        def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            STATE["epoch_started"] = time.perf_counter()

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            validate_epoch(trainer, pl_module)

    return Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=STATE["config"].train.max_epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=False,
        callbacks=[ValidateEachEpoch()],
    )


def rectools_loss(train: Any) -> dict[str, Any]:
    """RecTools' loss arguments for seqrec's ``ce`` (softmax), ``bce`` and ``gbce``, both with uniform
    negatives per position as RecTools draws them; other losses or samplers: SystemExit."""
    from seqrec.objectives import loss_arguments

    names = {"ce": "softmax", "bce": "BCE", "gbce": "gBCE"}
    args = loss_arguments(train)
    if train.loss not in names or train.sampler not in (None, "", "uniform") or args.keys() - {"t"}:
        raise SystemExit(f"train.loss {train.loss!r}, sampler {train.sampler!r}, {args}: no RecTools counterpart here")
    if train.loss == "ce":
        return {"loss": "softmax"}
    kwargs: dict[str, Any] = {"loss": names[train.loss], "n_negatives": train.negatives}
    if train.loss == "gbce":
        kwargs["gbce_t"] = args.get("t", 0.75)
    return kwargs


def model_kwargs(config: Any) -> dict[str, Any]:
    """RecTools' SASRecModel arguments from a seqrec config (besides the classes)."""
    m, t = config.model, config.train
    return {
        "n_blocks": m.blocks,
        "n_heads": m.heads,
        "n_factors": m.hidden,
        "dropout_rate": m.dropout,
        "session_max_len": m.max_length,
        "train_min_user_interactions": 2,
        **rectools_loss(t),
        "lr": t.lr,
        "batch_size": t.batch_size,
        "epochs": t.max_epochs,
        "deterministic": False,
        "verbose": 0,
        "dataloader_num_workers": 0,
        "recommend_torch_device": "cpu",
    }


def main(spec: dict[str, Any]) -> None:
    import pytorch_lightning
    import rectools
    import torch
    from _ml1m import rectools_frame
    from rectools.dataset import Dataset
    from rectools.models import SASRecModel
    from rectools.models.nn.item_net import IdEmbeddingsItemNet

    from seqrec.config import load_config
    from seqrec.data.loading import load_data
    from seqrec.data.split import leave_one_out
    from seqrec.evaluation import evaluate
    from seqrec.training import validation_subset

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    config = load_config(spec["config"], spec["overrides"])
    if config.eval.split != "leave_one_out":
        raise SystemExit(f"{spec['config']}: eval.split must be leave_one_out here, not {config.eval.split!r}")
    data = load_data(config.data)
    split = leave_one_out(data)
    valid = validation_subset(split.valid, config.eval.valid_users, config.train.seed)
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    STATE.update(config=config, data=data, valid=valid, budget=spec["budget_seconds"], stopped_early=False)
    dataset = Dataset.construct(rectools_frame(data, *split.train_offsets))
    pytorch_lightning.seed_everything(config.train.seed, verbose=False)
    kwargs = model_kwargs(config)
    model = SASRecModel(**kwargs, item_net_block_types=(IdEmbeddingsItemNet,), get_trainer_func=make_trainer)
    with open(out / "log.jsonl", "w", encoding="utf-8") as log:
        STATE["log"] = log
        model.fit(dataset)
    torch_model = model.lightning_model.torch_model
    if "best_state" in STATE:
        torch_model.load_state_dict(STATE["best_state"])
    scorer = RecToolsScorer(torch_model, STATE["to_rectools"], config.model.max_length)
    test = evaluate(scorer, data, split.test, config.eval.ks, config.eval.filter_seen, config.eval.batch_size)
    metrics = {
        "valid": STATE.get("best_valid"),
        "test": test,
        "best_epoch": STATE["best_epoch"],
        "epochs": STATE["epoch"],
        "stopped_early": STATE["stopped_early"],
        "capped_at_seconds": STATE["capped"],
        "train_seconds": STATE["elapsed"],
        "torch_threads": torch.get_num_threads(),
        "rectools_kwargs": kwargs,
        "versions": {"rectools": rectools.__version__, "torch": torch.__version__},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test ndcg@10={test['ndcg@10']:.4f} hr@10={test['hr@10']:.4f}, best epoch {STATE['best_epoch']}")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
