"""Learning-rate schedules by hand, and validation every N epochs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from seqrec.schedules import lr_factor, make_scheduler


def test_factors_by_hand() -> None:
    # 10 steps, 2 of warm-up: steps 0, 1 -> 1/2, 2/2; then 8 decay steps, t = (step - 2) / 8
    assert [lr_factor(s, 10, 2, "constant") for s in (0, 1, 2, 9)] == [0.5, 1.0, 1.0, 1.0]
    # linear: 1 - t -> step 2: 1, step 6: 0.5, step 9: 1/8
    assert [lr_factor(s, 10, 2, "linear") for s in (2, 6, 9)] == pytest.approx([1.0, 0.5, 0.125])
    # cosine: (1 + cos(pi t)) / 2 -> step 4 (t = 1/4): (1 + 0.707107) / 2 = 0.853553; step 6: 0.5
    assert [lr_factor(s, 10, 2, "cosine") for s in (2, 4, 6)] == pytest.approx([1.0, 0.853553, 0.5], abs=1e-6)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        lr_factor(3, 10, 0, "step")


def test_scheduler_steps_the_optimizer_learning_rate() -> None:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=0.1)
    assert make_scheduler(optimizer, "constant", 0.0, 5, 4) is None  # the default builds nothing
    scheduler = make_scheduler(optimizer, "linear", 0.5, 2, 4)  # 8 steps, 2 of warm-up
    assert scheduler is not None
    rates = []
    for _ in range(8):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    # warm-up 0.1 * 1/2, 0.1 * 2/2; then 0.1 * (1 - t) for t = 0, 1/6, ..., 5/6
    assert rates == pytest.approx([0.05, 0.1, 0.1, 0.1 * 5 / 6, 0.1 * 4 / 6, 0.05, 0.1 * 2 / 6, 0.1 / 6])


def test_training_with_a_schedule_and_validation_every_two_epochs() -> None:
    import numpy as np

    from seqrec.config import Config
    from seqrec.data.interactions import Interactions
    from seqrec.data.split import leave_one_out
    from seqrec.models import build_model
    from seqrec.training import fit

    rng = np.random.default_rng(0)
    data = Interactions.from_arrays(np.repeat(np.arange(20), 7), rng.integers(1, 15, 140))
    config = Config()
    config.model.hidden, config.model.max_length, config.model.blocks = 8, 6, 1
    config.train.max_epochs, config.train.batch_size, config.train.patience = 5, 8, 100
    config.train.lr_schedule, config.train.warmup_epochs = "cosine", 1.0
    config.eval.every = 2
    result = fit(build_model(config.model, data.n_items, seed=0), leave_one_out(data), config)
    # validated at epochs 2, 4 and the last (5); the others have no metrics
    assert [bool(row["valid"]) for row in result.history] == [False, True, False, True, True]
    assert result.best_epoch in (2, 4, 5)


def test_a_resumed_run_continues_the_schedule_exactly(tmp_path: Path) -> None:
    import numpy as np

    from seqrec.config import Config
    from seqrec.data.interactions import Interactions
    from seqrec.data.split import leave_one_out
    from seqrec.models import build_model
    from seqrec.training import fit

    rng = np.random.default_rng(1)
    data = Interactions.from_arrays(np.repeat(np.arange(20), 7), rng.integers(1, 15, 140))
    config = Config()
    config.model.hidden, config.model.max_length, config.model.blocks = 8, 6, 1
    config.train.max_epochs, config.train.batch_size, config.train.patience = 4, 8, 100
    config.train.lr_schedule, config.train.warmup_epochs, config.train.threads = "linear", 1.5, 1
    split = leave_one_out(data)
    reference = fit(build_model(config.model, data.n_items, seed=0), split, config)

    class Killed(Exception):
        pass

    def kill_after_epoch_two(row: dict[str, Any]) -> None:
        if row["epoch"] == 2:
            raise Killed  # after epoch 2's checkpoint was written

    checkpoint = tmp_path / "checkpoint.pt"
    with pytest.raises(Killed):
        fit(build_model(config.model, data.n_items, seed=0), split, config, kill_after_epoch_two, checkpoint=checkpoint)
    resumed = fit(build_model(config.model, data.n_items, seed=0), split, config, checkpoint=checkpoint, resume=True)
    assert [row["loss"] for row in resumed.history] == [row["loss"] for row in reference.history]
    assert resumed.best_valid == reference.best_valid
