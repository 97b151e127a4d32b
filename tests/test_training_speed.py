"""What the faster training paths keep: dropout's values, the fused Adam, and seeded runs that
repeat exactly (with length groups, the unseen sampler's rejection draw and the chunked loss)."""

from __future__ import annotations

import numpy as np
import torch

from seqrec.config import Config
from seqrec.data.interactions import Interactions
from seqrec.data.split import leave_one_out
from seqrec.models import build_model
from seqrec.models.blocks import dropout, keep_mask
from seqrec.training import fit, make_optimizer


def test_dropout_is_mask_then_scale_exactly() -> None:
    x = torch.randn(3, 5, 4)
    torch.manual_seed(0)
    got = dropout(x, 0.25, training=True)
    torch.manual_seed(0)
    mask = keep_mask(x.shape, 0.25, x.device)  # the same draws
    assert torch.equal(got, (x * mask).mul_(1 / 0.75))  # kept: x / 0.75, dropped: 0
    assert torch.equal(dropout(x, 0.25, training=False), x)


def test_optimizer_is_fused_adam_on_cpu_with_the_plain_update() -> None:
    torch.manual_seed(0)
    fused_model, plain_model = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    plain_model.load_state_dict(fused_model.state_dict())
    fused = make_optimizer(fused_model, 0.01, 0.1, torch.device("cpu"))
    plain = torch.optim.Adam(plain_model.parameters(), lr=0.01, weight_decay=0.1)
    assert fused.param_groups[0]["fused"] is True
    for step in range(3):
        for model, optimizer in ((fused_model, fused), (plain_model, plain)):
            optimizer.zero_grad()
            model(torch.full((2, 4), float(step + 1))).square().sum().backward()
            optimizer.step()
    for a, b in zip(fused_model.parameters(), plain_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)  # the same update up to float rounding


def seeded_losses(loss: str, negatives: int) -> list[float]:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(40), rng.integers(4, 12, 40))
    data = Interactions.from_arrays(users, rng.integers(1, 300, len(users)))
    config = Config()
    config.model.hidden, config.model.max_length, config.model.blocks = 8, 8, 1
    config.train.batch_size, config.train.max_epochs, config.train.loss = 16, 2, loss
    config.train.negatives, config.train.length_groups = negatives, 3
    model = build_model(config.model, data.n_items, seed=0)
    return [row["loss"] for row in fit(model, leave_one_out(data), config).history]


def test_seeded_runs_repeat_their_losses_exactly() -> None:
    # about 290 items and at most 10 seen per user: 20 negatives are drawn by rejection
    for loss, negatives in (("bce", 1), ("sampled_ce", 20)):
        first = seeded_losses(loss, negatives)
        assert len(first) == 2 and first == seeded_losses(loss, negatives)
