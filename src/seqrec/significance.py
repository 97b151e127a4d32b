"""Paired statistics over users: bootstrap confidence interval, Wilcoxon signed-rank test, Holm correction.

Plain numpy and ``math`` (no scipy), each piece a pure function tested on values worked out by hand.

- :func:`bootstrap_ci`: percentile bootstrap of the mean paired difference; users are resampled
  with replacement ``resamples`` times from a fixed seed, so the same differences give the same
  interval on every machine.
- :func:`wilcoxon`: the two-sided Wilcoxon signed-rank test with the normal approximation.
  Zero differences are dropped (Wilcoxon's convention, scipy's ``zero_method="wilcox"``), tied
  absolute differences share their average rank and the variance is corrected for the ties;
  the continuity correction is off by default (``continuity=True`` moves W+ half a unit towards
  its mean). With the tens of thousands of users of a test set the normal approximation is exact
  for all practical purposes.
- :func:`holm`: Holm's step-down adjustment of a family of p-values (one per compared row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DRAWS_PER_CHUNK = 1 << 22  # bootstrap indices drawn at once: 32 MiB of int64, whatever the user count


def bootstrap_ci(
    differences: np.ndarray, resamples: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired ``differences`` [N].

    Means are taken of the differences minus the first one (added back after), so differences
    that are all equal give exactly that value at both ends. Resamples are drawn in chunks of
    at most ``DRAWS_PER_CHUNK`` indices (vectorised, memory bounded); the chunking depends only
    on N and ``resamples``, so a seed always gives the same interval.
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or len(d) == 0:
        raise ValueError("bootstrap needs a non-empty 1-d array of differences")
    if resamples < 1:
        raise ValueError(f"bootstrap resamples must be at least 1, got {resamples}")
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    n = len(d)
    shifted = d - d[0]  # [N]
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)  # [B]
    per_chunk = max(1, DRAWS_PER_CHUNK // n)
    for begin in range(0, resamples, per_chunk):
        rows = min(per_chunk, resamples - begin)
        index = rng.integers(0, n, size=(rows, n))  # [b, N]
        means[begin : begin + rows] = shifted[index].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(d[0] + low), float(d[0] + high)


@dataclass(frozen=True)
class WilcoxonResult:
    """W+ (sum of the ranks of the positive differences), its z score, the two-sided p, and n used."""

    w_plus: float
    z: float
    p: float
    n: int  # non-zero differences (zeros are dropped)


def average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks [N] of ``values`` with ties sharing their average rank, and the tie group sizes."""
    unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # [G] 0-based rank of each group's first member
    return (first + (counts + 1) / 2)[inverse], counts


def wilcoxon(differences: np.ndarray, continuity: bool = False) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired ``differences`` [N] (see the module docstring).

    With n non-zero differences: mean of W+ is n(n+1)/4, variance n(n+1)(2n+1)/24 minus
    sum(t^3 - t)/48 over the groups of t tied |differences|; z = (W+ - mean) / sd and
    p = erfc(|z| / sqrt 2). No non-zero difference: z = 0, p = 1.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return WilcoxonResult(0.0, 0.0, 1.0, 0)
    ranks, ties = average_ranks(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    mean = n * (n + 1) / 4
    variance = n * (n + 1) * (2 * n + 1) / 24 - float(np.sum(ties.astype(np.float64) ** 3 - ties)) / 48
    shift = w_plus - mean
    if continuity and shift != 0:
        shift -= math.copysign(min(0.5, abs(shift)), shift)
    z = shift / math.sqrt(variance)
    return WilcoxonResult(w_plus, z, math.erfc(abs(z) / math.sqrt(2)), n)


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, in the order given: the i-th smallest p (1-based) times (m - i + 1),
    made non-decreasing along the sorted order and capped at 1."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (m - step) * p_values[i]))
        adjusted[i] = running
    return adjusted


def format_p(p: float) -> str:
    """A p-value for a table: four decimals, or scientific notation below 0.0001."""
    return f"{p:.1e}" if p < 1e-4 else f"{p:.4f}"
