"""The popularity, in-batch and mixed samplers: distributions with a fixed seed, log-probabilities,
padding never drawn, the losses they feed (worked out by hand) and the combinations refused."""

import math
from itertools import combinations

import numpy as np
import pytest
import torch

from seqrec.config import ConfigError, TrainConfig
from seqrec.objectives import SamplerBatch, build_objective, loss_class
from seqrec.objectives.samplers import InBatchSampler, MixedSampler, PopularitySampler, uniform_negatives


def batch(targets: torch.Tensor, n_items: int) -> SamplerBatch:
    def refuse() -> torch.Tensor:
        raise AssertionError("these samplers never look at the seen items")

    return SamplerBatch(targets, n_items, refuse)


def chi_square(observed: torch.Tensor, expected: torch.Tensor) -> float:
    return float(((observed - expected) ** 2 / expected).sum())


# Two sequences as in test_losses.py: e1 = [1, 0], e2 = [0, 1], e3 = [1, 1]; row 0 padding.
WEIGHTS_2 = torch.tensor([[100.0, 100.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
HIDDEN_2 = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[9.0, 9.0], [0.0, 1.0], [1.0, 0.0]]])
TARGETS_2 = torch.tensor([[1, 2, 3], [0, 1, 3]])

# training counts of items 1..5 (0 = padding, which has a count it must ignore)
COUNTS = np.array([7, 4, 1, 0, 3, 2])


@pytest.mark.parametrize(
    ("alpha", "weights", "bound"),
    [
        # q ∝ count: [4, 1, 0, 3, 2] / 10; chi-square over the 4 drawable items, 3 dof: 99.9% 16.27
        (1.0, [4.0, 1.0, 0.0, 3.0, 2.0], 16.27),
        # q ∝ count^2: [16, 1, 0, 9, 4] / 30
        (2.0, [16.0, 1.0, 0.0, 9.0, 4.0], 16.27),
        # alpha = 0: uniform over all 5 items, the never-seen item 3 included; 4 dof: 99.9% 18.47
        (0.0, [1.0, 1.0, 1.0, 1.0, 1.0], 18.47),
    ],
)
def test_popularity_draws_follow_count_to_the_alpha(alpha: float, weights: list[float], bound: float) -> None:
    sampler = PopularitySampler(50, alpha=alpha)
    sampler.prepare(COUNTS)
    q = torch.tensor([0.0, *weights]) / sum(weights)  # [I + 1]
    generator = torch.Generator().manual_seed(0)
    observed = torch.zeros(6)
    targets = torch.ones(4, 3, dtype=torch.long)
    for _ in range(100):  # 100 x 4 sequences x 50 = 20000 draws
        drawn = sampler.draw(batch(targets, 5), generator)
        assert drawn.items.shape == (4, 50) and drawn.log_q.shape == (4, 50)
        assert int(drawn.items.min()) >= 1 and int(drawn.items.max()) <= 5  # never padding
        torch.testing.assert_close(drawn.log_q, q[drawn.items].log().float())
        observed += torch.bincount(drawn.items.reshape(-1), minlength=6).float()
    assert observed[0] == 0 and (observed[q == 0] == 0).all()  # padding, and count-0 items when alpha > 0
    drawable = q > 0
    assert chi_square(observed[drawable], 20000 * q[drawable]) < bound


def test_popularity_needs_prepare_and_some_count() -> None:
    sampler = PopularitySampler(3)
    with pytest.raises(RuntimeError, match="before prepare"):
        sampler.draw(batch(torch.ones(1, 2, dtype=torch.long), 5), torch.Generator())
    with pytest.raises(ValueError, match="no item has a training count"):
        sampler.prepare(np.array([5, 0, 0]))
    with pytest.raises(ConfigError, match="train.sampler_args: sampler 'popularity': alpha must be at least 0"):
        build_objective(TrainConfig(loss="sampled_ce", sampler="popularity", sampler_args={"alpha": -1}))


def test_in_batch_negatives_are_the_distinct_targets_with_their_batch_frequency() -> None:
    targets = torch.tensor([[1, 2, 2], [0, 2, 5]])  # 5 targets: item 1 once, 2 three times, 5 once
    drawn = InBatchSampler(10).draw(batch(targets, 6), torch.Generator())
    assert drawn.items.tolist() == [[1, 2, 5], [1, 2, 5]]
    assert drawn.items.stride(0) == 0 and drawn.log_q.stride(0) == 0  # one list, expanded without copying
    torch.testing.assert_close(drawn.log_q[0], torch.tensor([0.2, 0.6, 0.2]).log())
    assert drawn.may_hit_targets  # each position's own target is in the list


def test_in_batch_keeps_a_uniform_subset_of_at_most_n_distinct_targets() -> None:
    targets = torch.tensor([[1, 2, 2], [0, 2, 5]])
    generator = torch.Generator().manual_seed(1)
    subsets = {pair: 0 for pair in combinations([1, 2, 5], 2)}
    for _ in range(3000):
        items = InBatchSampler(2).draw(batch(targets, 6), generator).items[0]
        assert 0 not in items.tolist()
        subsets[tuple(items.tolist())] += 1
    # 3 subsets, 1000 each expected; 2 dof: 99.9% quantile 13.82
    assert chi_square(torch.tensor(list(subsets.values()), dtype=torch.float), torch.full((3,), 1000.0)) < 13.82


def test_sampled_ce_on_in_batch_negatives_two_sequences_by_hand() -> None:
    # targets 1, 2, 3, 1, 3: the list is items 1, 2, 3 (counts 2, 1, 2 of 5), so each position's softmax
    # runs over all 3 items (its own target left out of the negatives): the full CE, 0.999885
    # (test_ce_two_sequences_by_hand).
    # logq: m = 3 slots, m q = 1.2, 0.6, 1.2 -> corrections c1 = -log 1.2 (items 1, 3), c2 = -log 0.6 (item 2)
    # A0: h [1,0], pos 1; negs 2: 0 + c2, 3: 1 + c1 -> log(e + 1/0.6 + e/1.2) - 1 = 0.894644
    # A1: h [0,1], pos 1; negs 1: 0 + c1, 3: 1 + c1 -> log(e + 1/1.2 + e/1.2) - 1 = 0.760759
    # A2: h [1,1], pos 2; negs 1: 1 + c1, 2: 1 + c2 -> log(e^2 + e/1.2 + e/0.6) - 2 = 0.652168
    # B1: h [0,1], pos 0; negs 2: 1 + c2, 3: 1 + c1 -> log(1 + e/0.6 + e/1.2) = 2.053573
    # B2: h [1,0], pos 1; negs 1: 1 + c1, 2: 0 + c2 -> 0.894644
    # mean = 5.255788 / 5 = 1.051158
    objective = build_objective(TrainConfig(loss="sampled_ce", sampler="in_batch"))
    negatives = objective.draw(batch(TARGETS_2, 3), torch.Generator())
    assert negatives is not None
    value = objective.compute_loss(HIDDEN_2, WEIGHTS_2, TARGETS_2, negatives)
    assert value.item() == pytest.approx(0.999885, abs=1e-6)
    corrected = loss_class("sampled_ce").from_args({"logq": True})
    assert corrected(HIDDEN_2, WEIGHTS_2, TARGETS_2, negatives).item() == pytest.approx(1.051158, abs=1e-6)


def test_mixed_without_in_batch_part_is_the_uniform_draw() -> None:
    targets = torch.tensor([[0, 3, 4], [1, 2, 2]])
    off = MixedSampler(7, in_batch=False).draw(batch(targets, 9), torch.Generator().manual_seed(3))
    uniform = uniform_negatives((2, 7), 9, torch.Generator().manual_seed(3))  # [B, n]
    assert torch.equal(off.items, uniform)
    torch.testing.assert_close(off.log_q, torch.full((2, 7), -math.log(9)))
    # with the in-batch part: the distinct targets 1..4 first (frequency 1/5, 2/5, 1/5, 1/5),
    # then the same uniform draw
    on = MixedSampler(7).draw(batch(targets, 9), torch.Generator().manual_seed(3))
    assert on.items.shape == (2, 11) and torch.equal(on.items[:, 4:], uniform)
    assert on.items[:, :4].tolist() == [[1, 2, 3, 4]] * 2
    torch.testing.assert_close(on.log_q[0, :4], torch.tensor([0.2, 0.4, 0.2, 0.2]).log())
    torch.testing.assert_close(on.log_q[:, 4:], torch.full((2, 7), -math.log(9)))


def test_mixed_on_a_batch_of_one_target_gives_the_loss_of_its_uniform_part() -> None:
    torch.manual_seed(10)
    weights = torch.randn(10, 4, dtype=torch.float64)
    hidden = torch.randn(2, 3, 4, dtype=torch.float64)
    targets = torch.tensor([[0, 0, 6], [0, 0, 0]])  # one target: the in-batch list is that target alone
    for logq in (False, True):
        objective = build_objective(
            TrainConfig(loss="sampled_ce", sampler="mixed", negatives=5, loss_args={"logq": logq})
        )
        mixed = objective.draw(batch(targets, 9), torch.Generator().manual_seed(4))
        objective_off = build_objective(
            TrainConfig(
                loss="sampled_ce",
                sampler="mixed",
                negatives=5,
                loss_args={"logq": logq},
                sampler_args={"in_batch": False},
            )
        )
        uniform = objective_off.draw(batch(targets, 9), torch.Generator().manual_seed(4))
        assert mixed is not None and uniform is not None and mixed.items[0, 0] == 6
        with_target = objective.compute_loss(hidden, weights, targets, mixed)
        without = objective_off.compute_loss(hidden, weights, targets, uniform)
        if not logq:  # the target is left out of its own softmax: exactly the uniform part's loss
            assert with_target.item() == pytest.approx(without.item(), abs=1e-12)
        else:  # the masked in-batch slot still counts in m: m = 6, not 5 (log_q in float32)
            shifted = torch.cat([weights, torch.zeros(10, 1, dtype=torch.float64)], 1)
            shifted[6, 4] = math.log(6 / 5)  # the target's logit raised by log(6/5) = negatives lowered
            extended = torch.cat([hidden, torch.ones(2, 3, 1, dtype=torch.float64)], 2)
            assert with_target.item() == pytest.approx(
                objective_off.compute_loss(extended, shifted, targets, uniform).item(), abs=1e-6
            )


def test_mixed_uniform_part_is_uniform_and_never_padding() -> None:
    generator = torch.Generator().manual_seed(5)
    observed = torch.zeros(9)
    targets = torch.tensor([[1, 2], [0, 3]])
    for _ in range(200):
        items = MixedSampler(20).draw(batch(targets, 8), generator).items[:, 3:]  # [B, 20]
        assert int(items.min()) >= 1 and int(items.max()) <= 8
        observed += torch.bincount(items.reshape(-1), minlength=9).float()
    assert observed[0] == 0
    # 8000 draws over 8 items, 1000 each; 7 dof: 99.9% quantile 24.32
    assert chi_square(observed[1:], torch.full((8,), 1000.0)) < 24.32


def test_shape_mismatches_and_unknown_parameters_are_refused_naming_the_keys() -> None:
    with pytest.raises(ConfigError, match="train.sampler 'popularity': loss 'ce' uses no negatives"):
        build_objective(TrainConfig(loss="ce", sampler="popularity"))
    with pytest.raises(ConfigError, match="train.sampler 'in_batch' draws negatives per sequence, loss 'bce' needs"):
        build_objective(TrainConfig(loss="bce", sampler="in_batch"))
    with pytest.raises(ConfigError, match="train.sampler 'mixed' draws negatives per sequence, loss 'gbce' needs"):
        build_objective(TrainConfig(loss="gbce", sampler="mixed"))
    with pytest.raises(ConfigError, match="sampler 'mixed' has no parameter.*alpha; its parameters: in_batch"):
        build_objective(TrainConfig(loss="sampled_ce", sampler="mixed", sampler_args={"alpha": 1}))
    with pytest.raises(ConfigError, match="sampler 'in_batch' has no parameter.*alpha; its parameters: none"):
        build_objective(TrainConfig(loss="sampled_ce", sampler="in_batch", sampler_args={"alpha": 1}))
    objective = build_objective(TrainConfig(loss="sampled_ce", sampler="popularity", sampler_args={"alpha": 0.5}))
    assert isinstance(objective.sampler, PopularitySampler) and objective.sampler.alpha == 0.5
