"""The training loop's two modes: early stopping on validation, and fixed epochs without it."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from seqrec.config import Config
from seqrec.data.interactions import Interactions
from seqrec.data.split import full_history, leave_one_out
from seqrec.models import build_model
from seqrec.training import fit


def small_data() -> Interactions:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(30), 8)
    return Interactions.from_arrays(users, rng.integers(1, 25, len(users)))


def small_config(epochs: int) -> Config:
    config = Config()
    config.model.hidden, config.model.max_length, config.model.blocks = 8, 6, 1
    config.train.batch_size, config.train.max_epochs, config.train.loss = 8, epochs, "bce"
    return config


def test_without_validation_trains_exactly_max_epochs_and_keeps_the_last_weights() -> None:
    data, config = small_data(), small_config(epochs=3)
    model = build_model(config.model, data.n_items, seed=0)
    states: list[dict[str, torch.Tensor]] = []

    def snapshot(row: dict[str, Any]) -> None:
        states.append(copy.deepcopy(model.state_dict()))

    result = fit(model, full_history(data), config, on_epoch=snapshot)
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert all(row["valid"] == {} for row in result.history)  # nothing held out, nothing evaluated
    assert result.best_epoch == 3 and not result.stopped_early
    final = model.state_dict()
    for key in final:
        torch.testing.assert_close(final[key], states[2][key], rtol=0, atol=0)
    assert any(not torch.equal(final[key], states[1][key]) for key in final)  # epoch 3 changed the weights


def test_full_history_trains_on_every_item() -> None:
    data = small_data()
    split = full_history(data)
    assert split.valid is None and split.test is None
    starts, ends = split.train_offsets
    assert (ends - starts).sum() == data.n_interactions  # 30 users x 8 items, all of them training items
    # leave-one-out holds the last 2 items of each of the 30 users out: 240 - 60 = 180 training items
    assert (leave_one_out(data).train_end - starts).sum() == 180


def test_with_validation_the_best_epoch_weights_come_back() -> None:
    data, config = small_data(), small_config(epochs=4)
    config.train.patience = 100
    model = build_model(config.model, data.n_items, seed=0)
    best: dict[int, dict[str, torch.Tensor]] = {}
    result = fit(
        model,
        leave_one_out(data),
        config,
        on_improve=lambda m, epoch: best.update({epoch: copy.deepcopy(m.state_dict())}),
    )
    assert len(result.history) == 4 and result.best_epoch in best
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, best[result.best_epoch][key], rtol=0, atol=0)


def test_full_softmax_without_the_users_history_trains() -> None:
    # train.loss_args.exclude_seen reaches the loss through the loop (the seen items of each batch row)
    data, config = small_data(), small_config(epochs=2)
    config.train.loss, config.train.loss_args = "ce", {"exclude_seen": True}
    result = fit(build_model(config.model, data.n_items, seed=0), leave_one_out(data), config)
    plain = small_config(epochs=2)
    plain.train.loss = "ce"
    reference = fit(build_model(plain.model, data.n_items, seed=0), leave_one_out(data), plain)
    losses = [row["loss"] for row in result.history]
    assert all(np.isfinite(losses)) and len(losses) == 2
    assert losses[0] < reference.history[0]["loss"]  # fewer competitors in each softmax: a lower loss
