"""Paired statistics on values worked out by hand: Wilcoxon signed-rank, Holm, the bootstrap interval."""

import math

import numpy as np
import pytest

from seqrec.significance import average_ranks, bootstrap_ci, format_p, holm, wilcoxon

# differences with two zeros and ties: [0, 2, -1, 2, 0, 3, -2, 1]
DIFFERENCES = np.array([0.0, 2.0, -1.0, 2.0, 0.0, 3.0, -2.0, 1.0])


def test_average_ranks_share_the_mean_rank_of_a_tie() -> None:
    # sorted: 1 1 2 2 2 3 -> ranks 1..6; the 1s share (1+2)/2 = 1.5, the 2s (3+4+5)/3 = 4, the 3 gets 6
    ranks, ties = average_ranks(np.array([2.0, 1.0, 2.0, 3.0, 2.0, 1.0]))
    assert ranks.tolist() == [4.0, 1.5, 4.0, 6.0, 4.0, 1.5]
    assert ties.tolist() == [2, 3, 1]


def test_wilcoxon_drops_zeros_and_corrects_the_variance_for_ties() -> None:
    # zeros dropped -> d = [2, -1, 2, 3, -2, 1], n = 6
    # |d| ranks: 1s -> 1.5, 2s -> 4, 3 -> 6
    # W+ = 4 (2) + 4 (2) + 6 (3) + 1.5 (1) = 15.5   (W- = 1.5 + 4 = 5.5; W+ + W- = 6*7/2 = 21)
    # mean = n(n+1)/4 = 10.5
    # var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 = 546/24 - ((8-2) + (27-3))/48 = 22.75 - 0.625 = 22.125
    # z = (15.5 - 10.5) / sqrt(22.125) = 5 / 4.703722 = 1.062988;  p = erfc(z / sqrt 2) = 0.287787
    result = wilcoxon(DIFFERENCES)
    assert result.n == 6
    assert result.w_plus == 15.5
    assert result.z == pytest.approx(5 / math.sqrt(22.125), abs=1e-12)
    assert result.z == pytest.approx(1.062988, abs=1e-6)
    assert result.p == pytest.approx(math.erfc(5 / math.sqrt(22.125) / math.sqrt(2)), abs=1e-12)
    assert result.p == pytest.approx(0.287787, abs=1e-6)


def test_wilcoxon_continuity_correction_moves_w_half_a_unit_towards_its_mean() -> None:
    # z = (15.5 - 10.5 - 0.5) / sqrt(22.125) = 4.5 / 4.703722 = 0.956689;  p = 0.338724
    result = wilcoxon(DIFFERENCES, continuity=True)
    assert result.z == pytest.approx(4.5 / math.sqrt(22.125), abs=1e-12)
    assert result.p == pytest.approx(0.338724, abs=1e-6)


def test_wilcoxon_is_symmetric_in_the_sign_of_the_differences() -> None:
    # swapping the runs: W+ becomes the old W- = 5.5, z changes sign, p stays
    result = wilcoxon(-DIFFERENCES)
    assert result.w_plus == 5.5
    assert result.z == pytest.approx(-5 / math.sqrt(22.125), abs=1e-12)
    assert result.p == pytest.approx(wilcoxon(DIFFERENCES).p, abs=1e-15)


def test_wilcoxon_without_tie_and_without_zero() -> None:
    # d = [1, 2, 3, -4]: ranks 1 2 3 4, W+ = 6, mean = 4*5/4 = 5, var = 4*5*9/24 = 7.5 (no ties)
    # z = 1 / sqrt(7.5) = 0.365148; p = 0.715001
    result = wilcoxon(np.array([1.0, 2.0, 3.0, -4.0]))
    assert (result.w_plus, result.n) == (6.0, 4)
    assert result.z == pytest.approx(1 / math.sqrt(7.5), abs=1e-12)
    assert result.p == pytest.approx(0.715001, abs=1e-6)


def test_wilcoxon_of_identical_runs_is_p_one() -> None:
    # every difference zero: nothing left to rank
    result = wilcoxon(np.zeros(5))
    assert (result.w_plus, result.z, result.p, result.n) == (0.0, 0.0, 1.0, 0)


def test_holm_multiplies_the_sorted_p_values_and_keeps_them_monotone() -> None:
    # sorted: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1 = 0.04 -> raised to 0.06 (monotone)
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], abs=1e-15)


def test_holm_caps_at_one() -> None:
    # sorted: 0.2 * 3 = 0.6; 0.5 * 2 = 1.0; 0.9 * 1 = 0.9 -> 1.0
    assert holm([0.5, 0.2, 0.9]) == pytest.approx([1.0, 0.6, 1.0], abs=1e-15)
    assert holm([0.02]) == [0.02]  # a family of one: unchanged
    assert holm([]) == []


def test_bootstrap_of_equal_differences_collapses_to_their_value() -> None:
    # every resample's mean of seven 0.1s is 0.1 exactly (means are taken of d - d[0] = 0, then + 0.1)
    assert bootstrap_ci(np.full(7, 0.1), resamples=500) == (0.1, 0.1)


def test_bootstrap_is_deterministic_under_its_seed() -> None:
    d = np.random.default_rng(1).normal(0.05, 0.3, size=300)
    first = bootstrap_ci(d, resamples=2000)
    assert bootstrap_ci(d, resamples=2000) == first
    assert bootstrap_ci(d, resamples=2000, seed=1) != first
    low, high = first
    # roughly mean ± 1.96 sd / sqrt(n) = mean ± 1.96 * 0.3 / sqrt(300) = mean ± 0.034
    assert low < float(d.mean()) < high
    assert high - low == pytest.approx(2 * 1.96 * d.std() / math.sqrt(300), rel=0.1)


def test_bootstrap_chunks_give_the_same_draws_as_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # chunking only splits the same stream of indices: 3 resamples of 4 values in chunks of 1 resample
    # equal one [3, 4] draw from the same seed
    d = np.array([0.0, 1.0, 2.0, 4.0])
    index = np.random.default_rng(0).integers(0, 4, size=(3, 4))
    means = np.sort(d[index].mean(axis=1))
    monkeypatch.setattr("seqrec.significance.DRAWS_PER_CHUNK", 4)
    assert bootstrap_ci(d, resamples=3, level=0.5) == pytest.approx(tuple(np.quantile(means, [0.25, 0.75])))


def test_bootstrap_interval_covers_a_known_mean_difference_about_95_percent_of_the_time() -> None:
    # 200 data sets of 100 paired differences with true mean 0.2: a 95% interval should miss ~10 of them
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(200):
        low, high = bootstrap_ci(rng.normal(0.2, 1.0, size=100), resamples=1000)
        covered += low <= 0.2 <= high
    assert 180 <= covered <= 198


def test_bootstrap_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci(np.array([]))
    with pytest.raises(ValueError, match="resamples must be at least 1, got 0"):
        bootstrap_ci(np.ones(3), resamples=0)
    with pytest.raises(ValueError, match="confidence level must be in"):
        bootstrap_ci(np.ones(3), level=1.0)


def test_format_p() -> None:
    assert [format_p(p) for p in (0.28780, 0.0001, 0.00004321, 1.0)] == ["0.2878", "0.0001", "4.3e-05", "1.0000"]
