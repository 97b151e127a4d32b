"""Negative samplers: each draws the negatives of a training batch and says their log-probabilities.

A sampler is registered by name in ``SAMPLERS`` and built with the number of negatives ``n``.
Its ``draw`` returns :class:`Negatives`: item ids (0 marks an empty slot) shaped per position
``[B, L, n]`` or per sequence ``[B, n]`` (``shape`` says which), and ``log_q``, the log of the
probability with which each item was drawn, for losses that correct for the sampling
distribution (logQ correction). Adding a sampler is one class here plus its registration.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch

Shape = Literal["per_position", "per_sequence"]


@dataclass(frozen=True)
class Negatives:
    """Items drawn for a batch: ``items`` [B, L, n] or [B, n] (0 = empty slot), ``log_q`` the same shape.

    ``may_hit_targets`` is False when the sampler guarantees that no negative is a target of its
    row (so a loss need not look for such collisions).
    """

    items: torch.Tensor
    log_q: torch.Tensor
    may_hit_targets: bool = True

    def to(self, device: torch.device) -> Negatives:
        return Negatives(self.items.to(device), self.log_q.to(device), self.may_hit_targets)


@dataclass(frozen=True)
class SamplerBatch:
    """What a sampler may look at: the batch's targets [B, L], the catalog size, the users' seen items."""

    targets: torch.Tensor  # [B, L], 0 = no target
    n_items: int
    seen: Callable[[], torch.Tensor]  # () -> [B, I + 1] bool, each row's training items (built on demand)


class Sampler(ABC):
    """Draws ``n`` negatives per position or per sequence of a batch.

    A sampler's own parameters are keyword arguments of its ``__init__`` after ``n``, set from
    ``train.sampler_args``; ``prepare`` gets the training item counts once before training
    (for samplers whose distribution depends on them, such as popularity).
    """

    name: ClassVar[str]
    shape: ClassVar[Shape]

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"a {self.name!r} sampler needs at least 1 negative, got {n}")
        self.n = n

    @classmethod
    def from_args(cls, n: int, args: dict[str, Any]) -> Sampler:
        """Build with ``n`` negatives and ``args``; unknown names raise ValueError listing the parameters."""
        known = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "n")]
        unknown = sorted(set(args) - set(known))
        if unknown:
            listed = ", ".join(known) or "none"
            raise ValueError(f"sampler {cls.name!r} has no parameter(s) {', '.join(unknown)}; its parameters: {listed}")
        return cls(n, **args)

    def prepare(self, train_counts: np.ndarray) -> None:
        """Called once before training with each item's count in the training ranges [I + 1];
        the uniform and unseen samplers need nothing from them."""
        return None

    @abstractmethod
    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


def uniform_negatives(shape: tuple[int, ...], n_items: int, generator: torch.Generator) -> torch.Tensor:
    """Items drawn uniformly with replacement from 1..n_items (the original SASRec sampler)."""
    return torch.randint(1, n_items + 1, shape, generator=generator)


def seen_counts(seen: torch.Tensor) -> torch.Tensor:
    """Seen items per row of ``seen`` [B, I + 1], padding (column 0) excluded: [B] int64. Summed as
    bytes into int32, several times faster than a sum over booleans (which converts every entry
    to int64 first)."""
    return seen[:, 1:].view(torch.uint8).sum(1, dtype=torch.int32).long()


def unseen_negatives(
    seen: torch.Tensor, n: int, generator: torch.Generator, counts: torch.Tensor | None = None
) -> torch.Tensor:
    """Per row, ``n`` distinct items the row has not seen, uniformly without replacement.

    ``seen`` is [B, I + 1] with column 0 (padding) treated as seen; ``counts`` [B] its
    ``seen_counts`` when the caller has them. A row with fewer than ``n`` unseen items gets 0
    (padding, "no negative") in the slots it cannot fill.
    Returns [B, n]. When ``n`` is a small share of every row's unseen items (a large catalog),
    the draw is by rejection (a few more than ``n`` candidates per row); otherwise by sorting
    random keys over the whole catalog. Both are exact.
    """
    n = min(n, seen.shape[1] - 1)
    counts = seen_counts(seen) if counts is None else counts
    unseen = seen.shape[1] - 1 - int(counts.max()) if len(seen) else 0  # the fewest unseen items
    if 0 < n <= unseen // 4:
        picked = unseen_negatives_by_rejection(seen, n, generator, rejection_draws(seen.shape[1] - 1, unseen, n))
        if picked is not None:
            return picked
    return unseen_negatives_by_keys(seen, n, generator)


def unseen_negatives_by_keys(seen: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``unseen_negatives`` by the ``n`` smallest of uniform random keys, seen items keyed out: [B, n]."""
    keys = torch.rand(seen.shape, generator=generator, device=seen.device)  # [B, I + 1]
    keys[:, 0] = 2.0
    keys.masked_fill_(seen, 2.0)
    n = min(n, seen.shape[1] - 1)
    picked_keys, picked = torch.topk(keys, n, dim=1, largest=False)  # [B, n]
    return torch.where(picked_keys < 2.0, picked, torch.zeros_like(picked))


def rejection_draws(n_items: int, unseen: int, n: int) -> int:
    """Candidates per row for ``n`` distinct unseen items: 1.15 x the expected I ln(U / (U - n)), + 32."""
    return math.ceil(1.15 * n_items * math.log(unseen / (unseen - n)) + 32)


FIRST_DRAW_ENTRIES = 2**23
"""Entries of the [rows, I + 1] table of ``first_draws`` held at once (16 MiB of int16)."""


def first_draws(candidates: torch.Tensor, n_columns: int) -> torch.Tensor:
    """[B, m] bool: candidate j of row r (an id in 0..n_columns-1) occurs there for the first time.

    Per row, a table over the ids holds each id's first draw index (``scatter_reduce_`` with
    ``amin``: exact whatever the order of the writes), a few rows at a time
    (``FIRST_DRAW_ENTRIES``): one pass over the candidates instead of a stable sort of them.
    The table is int16 when the indices fit.
    """
    rows, m = candidates.shape
    dtype = torch.int16 if m < 2**15 else torch.int32
    index = torch.arange(m, dtype=dtype, device=candidates.device)  # [m]
    first = torch.empty(candidates.shape, dtype=torch.bool, device=candidates.device)  # [B, m]
    step = max(1, FIRST_DRAW_ENTRIES // n_columns)
    for begin in range(0, rows, step):
        drawn = candidates[begin : begin + step]  # [b, m]
        table = torch.full((len(drawn), n_columns), m, dtype=dtype, device=candidates.device)  # [b, I + 1]
        table.scatter_reduce_(1, drawn, index.expand_as(drawn), "amin")
        first[begin : begin + step] = table.gather(1, drawn) == index
    return first


def unseen_negatives_by_rejection(
    seen: torch.Tensor, n: int, generator: torch.Generator, draws: int
) -> torch.Tensor | None:
    """``unseen_negatives`` from ``draws`` uniform candidates per row with replacement: seen items and
    repeats dropped, the first ``n`` kept. The first occurrences of an i.i.d. uniform stream over
    the unseen items are a uniformly random ordering of them, so the first ``n`` are a uniform
    ``n``-subset. None when some row got fewer than ``n`` (the caller draws another way)."""
    rows = seen.shape[0]
    candidates = torch.randint(1, seen.shape[1], (rows, draws), generator=generator, device=seen.device)  # [B, m]
    keep = first_draws(candidates, seen.shape[1]) & ~seen.gather(1, candidates)  # [B, m]: first draws, unseen
    rank = keep.cumsum(1)  # [B, m]: 1-based position among the kept candidates
    if int(rank[:, -1].min()) < n:
        return None
    return candidates[keep & (rank <= n)].view(rows, n)  # row-major: each row's first n, in draw order


class UniformSampler(Sampler):
    """``n`` items per target position, uniform over the catalog with replacement: q(j) = 1 / |I|."""

    name = "uniform"
    shape = "per_position"

    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives:
        items = uniform_negatives((*batch.targets.shape, self.n), batch.n_items, generator)  # [B, L, n]
        log_q = torch.full((), -math.log(batch.n_items)).expand(items.shape)  # [B, L, n], no memory
        return Negatives(items, log_q)


class UnseenSampler(Sampler):
    """``n`` distinct items per sequence that its user never interacted with in training, shared by
    every position of the sequence (the paper's sampled softmax): q(j) = 1 / #unseen items of the row."""

    name = "unseen"
    shape = "per_sequence"

    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives:
        seen = batch.seen()  # [B, I + 1]
        counts = seen_counts(seen)  # [B]
        items = unseen_negatives(seen, self.n, generator, counts)  # [B, n]
        unseen = (batch.n_items - counts).clamp(min=1).to(torch.float32)  # [B]
        # a training target is a seen item, so it is never among the row's negatives
        return Negatives(items, (-unseen.log())[:, None].expand(items.shape), may_hit_targets=False)  # [B, n]


class PopularitySampler(Sampler):
    """``n`` items per sequence, shared by its positions, drawn with replacement with
    q(j) ∝ count(j)^α (``alpha``, default 1) from the training counts given to ``prepare``.

    Items never seen in training get q = 0 unless α = 0 (then q is uniform over the catalog);
    padding is never drawn. Per sequence, like ``unseen``, so that it feeds ``sampled_ce``
    (``logq = true`` corrects for the popularity bias, Yi et al., RecSys 2019).
    """

    name = "popularity"
    shape = "per_sequence"

    def __init__(self, n: int, alpha: float = 1.0) -> None:
        super().__init__(n)
        if not alpha >= 0:
            raise ValueError(f"sampler 'popularity': alpha must be at least 0, got {alpha}")
        self.alpha = alpha
        self.cdf: torch.Tensor | None = None  # [I + 1] float64, cumulative unnormalised q
        self.log_q: torch.Tensor | None = None  # [I + 1] float32
        self.last = 0

    def prepare(self, train_counts: np.ndarray) -> None:
        counts = torch.as_tensor(np.asarray(train_counts), dtype=torch.float64)  # [I + 1]
        weight = torch.ones_like(counts) if self.alpha == 0 else counts.clamp(min=0) ** self.alpha  # [I + 1]
        weight[0] = 0.0  # padding
        total = float(weight.sum())
        if not total > 0:
            raise ValueError("sampler 'popularity': no item has a training count")
        self.cdf = weight.cumsum(0)  # [I + 1]
        self.last = int((self.cdf < total).sum())  # the last item with q > 0
        self.log_q = (weight / total).log().float()  # [I + 1], -inf where q = 0

    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives:
        if self.cdf is None or self.log_q is None:
            raise RuntimeError("sampler 'popularity' drawn before prepare(train_counts)")
        u = torch.rand((batch.targets.shape[0], self.n), generator=generator, dtype=torch.float64)  # [B, n]
        # inverse CDF: the first item whose cumulative weight exceeds u * total (zero-weight items
        # and padding have no width, so they are never picked)
        items = torch.searchsorted(self.cdf, u * self.cdf[-1], right=True)  # [B, n]
        items = items.clamp(max=self.last)  # [B, n]: u * total rounded up to total
        return Negatives(items, self.log_q[items])  # [B, n]


def in_batch_negatives(targets: torch.Tensor, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct targets of a batch (at most ``n``, a uniform subset when more) and the log of
    their in-batch frequency count / #targets: ([m], [m])."""
    flat = targets[targets > 0]  # [N]
    items, counts = torch.unique(flat, return_counts=True)  # [m], [m]
    if len(items) > n:
        keep = torch.randperm(len(items), generator=generator)[:n].sort().values  # [n]
        items, counts = items[keep], counts[keep]
    return items, (counts.double() / max(len(flat), 1)).log().float()  # [m], [m]


class InBatchSampler(Sampler):
    """The batch's other targets as negatives of every sequence: the distinct targets of the batch
    (at most ``n``), one list shared by all rows ([B, m], an expanded view), with the in-batch
    frequency q(j) = count of j among the targets / #targets. A position's own target is in the list,
    so ``may_hit_targets`` is True and the loss leaves it out there."""

    name = "in_batch"
    shape = "per_sequence"

    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives:
        items, log_q = in_batch_negatives(batch.targets, self.n, generator)  # [m], [m]
        rows = batch.targets.shape[0]
        return Negatives(items[None].expand(rows, -1), log_q[None].expand(rows, -1))  # [B, m], no copy


class MixedSampler(Sampler):
    """Mixed negative sampling (Yang et al., WWW 2020): the in-batch list (``InBatchSampler``, off
    with ``in_batch = false``) followed by ``n`` items per sequence uniform with replacement, each
    with its own log q: the in-batch frequency, and log(1 / |I|) for the uniform part."""

    name = "mixed"
    shape = "per_sequence"

    def __init__(self, n: int, in_batch: bool = True) -> None:
        super().__init__(n)
        self.in_batch = in_batch

    def draw(self, batch: SamplerBatch, generator: torch.Generator) -> Negatives:
        rows = batch.targets.shape[0]
        uniform = uniform_negatives((rows, self.n), batch.n_items, generator)  # [B, n]
        uniform_log_q = torch.full(uniform.shape, -math.log(batch.n_items))  # [B, n]
        if not self.in_batch:
            return Negatives(uniform, uniform_log_q)
        items, log_q = in_batch_negatives(batch.targets, batch.n_items, generator)  # [m], [m]
        return Negatives(
            torch.cat([items[None].expand(rows, -1), uniform], 1),  # [B, m + n]
            torch.cat([log_q[None].expand(rows, -1), uniform_log_q], 1),  # [B, m + n]
        )


SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (UniformSampler, UnseenSampler, PopularitySampler, InBatchSampler, MixedSampler)
}
