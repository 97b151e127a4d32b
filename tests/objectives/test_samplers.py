"""Samplers and the objective built from a train config: shapes, log-probabilities, mismatches."""

import math

import pytest
import torch

from seqrec.config import ConfigError, TrainConfig
from seqrec.objectives import SAMPLERS, Negatives, SamplerBatch, build_objective, resolved_negatives
from seqrec.objectives.samplers import UniformSampler, UnseenSampler, unseen_negatives


def batch(seen: torch.Tensor, targets: torch.Tensor) -> SamplerBatch:
    return SamplerBatch(targets, seen.shape[1] - 1, lambda: seen)


def test_uniform_sampler_draws_per_position_with_log_q_of_one_over_catalog() -> None:
    targets = torch.tensor([[0, 1, 2], [3, 4, 5]])
    negatives = UniformSampler(4).draw(batch(torch.zeros(2, 9, dtype=torch.bool), targets), torch.Generator())
    assert negatives.items.shape == (2, 3, 4) and negatives.log_q.shape == (2, 3, 4)
    assert int(negatives.items.min()) >= 1 and int(negatives.items.max()) <= 8
    assert torch.allclose(negatives.log_q, torch.tensor(-math.log(8)))  # q = 1/8 over 8 items
    assert negatives.may_hit_targets  # uniform draws may hit a position's own target


def test_unseen_sampler_log_q_is_one_over_the_row_unseen_count() -> None:
    seen = torch.zeros(2, 11, dtype=torch.bool)  # 10 items
    seen[0, [1, 2, 3, 4, 5, 6]] = True  # row 0 has 4 unseen items, row 1 all 10
    negatives = UnseenSampler(3).draw(batch(seen, torch.ones(2, 5, dtype=torch.long)), torch.Generator())
    assert negatives.items.shape == (2, 3)
    assert set(negatives.items[0].tolist()) <= {7, 8, 9, 10}
    torch.testing.assert_close(negatives.log_q[:, 0], torch.tensor([-math.log(4), -math.log(10)]))
    assert not negatives.may_hit_targets  # unseen items are never training targets


def test_objective_defaults_and_mismatches() -> None:
    assert resolved_negatives(TrainConfig(loss="sampled_ce")) == 3000
    assert resolved_negatives(TrainConfig(loss="bce")) == 1
    assert resolved_negatives(TrainConfig(loss="ce", negatives=50)) == 0  # ce uses none
    objective = build_objective(TrainConfig(loss="sampled_ce", negatives=7))
    assert isinstance(objective.sampler, UnseenSampler) and objective.sampler.n == 7
    assert build_objective(TrainConfig(loss="ce")).sampler is None
    with pytest.raises(ConfigError, match="draws negatives per sequence, loss 'gbce' needs them per position"):
        build_objective(TrainConfig(loss="gbce", sampler="unseen"))
    with pytest.raises(ConfigError, match="loss 'ce' uses no negatives"):
        build_objective(TrainConfig(loss="ce", sampler="unseen"))
    with pytest.raises(
        ConfigError, match="unknown train.sampler 'popular'; known: in_batch, mixed, popularity, uniform, unseen"
    ):
        build_objective(TrainConfig(loss="bce", sampler="popular"))
    with pytest.raises(ConfigError, match="train.loss_args: loss 'ce' has no parameter"):
        build_objective(TrainConfig(loss="ce", loss_args={"t": 0.5}))
    assert sorted(SAMPLERS) == ["in_batch", "mixed", "popularity", "uniform", "unseen"]


def test_sampler_parameters_come_from_sampler_args_and_prepare_sees_training_counts() -> None:
    import numpy as np

    from seqrec.objectives import SAMPLERS
    from seqrec.objectives.samplers import Sampler

    class Popular(Sampler):
        """A sampler with a parameter and a use for the training counts (test only)."""

        name = "popular-test"
        shape = "per_position"

        def __init__(self, n: int, alpha: float = 1.0) -> None:
            super().__init__(n)
            self.alpha = alpha
            self.counts: np.ndarray | None = None

        def prepare(self, train_counts: np.ndarray) -> None:
            self.counts = train_counts

        def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives:
            raise NotImplementedError

    SAMPLERS["popular-test"] = Popular
    try:
        objective = build_objective(TrainConfig(loss="bce", sampler="popular-test", sampler_args={"alpha": 0.5}))
        assert isinstance(objective.sampler, Popular) and objective.sampler.alpha == 0.5 and objective.sampler.n == 1
        with pytest.raises(ConfigError, match="sampler 'popular-test' has no parameter.*beta; its parameters: alpha"):
            build_objective(TrainConfig(loss="bce", sampler="popular-test", sampler_args={"beta": 1}))
        with pytest.raises(ConfigError, match="sampler 'uniform' has no parameter"):
            build_objective(TrainConfig(loss="bce", sampler_args={"alpha": 1}))

        # the trainer hands the sampler the item counts of the training ranges only
        from seqrec.config import Config
        from seqrec.data.interactions import Interactions
        from seqrec.data.split import leave_one_out
        from seqrec.models import build_model
        from seqrec.objectives import Objective
        from seqrec.training import _Trainer

        # one user, items 1 2 3 1 4: training range 1 2 3 (the last two held out) -> counts [0, 1, 1, 1, 0]
        data = Interactions.from_arrays(np.zeros(5, dtype=int), np.array([1, 2, 3, 1, 4]))
        config = Config()
        config.train.loss, config.train.sampler = "bce", "popular-test"
        config.model.hidden, config.model.max_length = 8, 4
        trainer = _Trainer(build_model(config.model, data.n_items, seed=0), leave_one_out(data), config, None)
        assert isinstance(trainer.objective, Objective) and isinstance(trainer.objective.sampler, Popular)
        assert trainer.objective.sampler.counts is not None
        raw_ids = data.item_ids[1:].tolist()  # internal id i + 1 is raw id raw_ids[i]
        counts = {raw: int(trainer.objective.sampler.counts[i + 1]) for i, raw in enumerate(raw_ids)}
        assert counts == {1: 1, 2: 1, 3: 1, 4: 0}
    finally:
        del SAMPLERS["popular-test"]


def test_unseen_draw_by_rejection_is_uniform_distinct_and_never_seen() -> None:
    from seqrec.objectives.samplers import rejection_draws, unseen_negatives_by_rejection

    # 40 items; row 0 has seen items 1..8 (32 unseen), row 1 none (40 unseen); n = 5 <= 32 / 4
    seen = torch.zeros(2, 41, dtype=torch.bool)
    seen[0, 1:9] = True
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(2, 41)
    trials = 4000
    for _ in range(trials):
        picked = unseen_negatives_by_rejection(seen, 5, generator, rejection_draws(40, 32, 5))
        assert picked is not None and picked.shape == (2, 5)
        assert all(len(set(row.tolist())) == 5 for row in picked)  # distinct within a row
        assert int(picked.min()) >= 1 and not seen.gather(1, picked).any()  # no padding, nothing seen
        counts.scatter_add_(1, picked, torch.ones_like(picked, dtype=torch.float))
    # each unseen item is expected 5/32 * 4000 = 625 times in row 0 and 5/40 * 4000 = 500 in row 1;
    # chi-square over 32 (40) cells with 31 (39) degrees of freedom: 99.9% quantiles 61.1 (72.1)
    for row, unseen, expected, bound in ((0, slice(9, 41), 625.0, 61.1), (1, slice(1, 41), 500.0, 72.1)):
        observed = counts[row, unseen]
        assert observed.sum().item() == trials * 5
        assert ((observed - expected) ** 2 / expected).sum().item() < bound
    assert counts[0, :9].sum().item() == 0


def test_unseen_draw_falls_back_when_candidates_run_short() -> None:
    from seqrec.objectives.samplers import unseen_negatives_by_rejection

    seen = torch.zeros(1, 41, dtype=torch.bool)
    # 5 candidates out of 40 items hold 5 distinct ones with probability 40*39*38*37*36 / 40^5 = 0.77:
    # the other draws come back None, for the caller to draw by keys instead
    results = [unseen_negatives_by_rejection(seen, 5, torch.Generator().manual_seed(s), 5) for s in range(20)]
    assert any(r is None for r in results) and any(r is not None for r in results)
    assert all(len(set(r[0].tolist())) == 5 for r in results if r is not None)
    full = unseen_negatives(seen, 40, torch.Generator().manual_seed(0))  # n above a quarter: the keyed draw
    assert sorted(full[0].tolist()) == list(range(1, 41))
