"""A small seeded interaction log with real sequential structure, for tests and demos.

Each item has a few "successor" items. A user starts at a popularity-sampled item and at each
step, with probability ``p_follow``, moves to one of the current item's successors (the first
successor most likely), else jumps to a popularity-sampled item. A model that reads order can
therefore beat popularity by a wide margin, which makes the data useful to check that
training actually learns something.
"""

from __future__ import annotations

import numpy as np

from seqrec.data.interactions import Interactions

SUCCESSOR_WEIGHTS = np.array([0.5, 0.3, 0.2])  # chance of each of an item's successors


def synthetic_interactions(
    n_users: int = 1000,
    n_items: int = 500,
    min_length: int = 20,
    max_length: int = 60,
    seed: int = 0,
    p_follow: float = 0.8,
) -> Interactions:
    """Generate ``n_users`` sequences of ``min_length..max_length`` items; same seed, same data.

    Raw item ids are ``1..n_items`` (items never visited are absent), raw user ids ``0..n_users-1``.
    Vectorised over users; the only loop is over time steps.
    """
    if n_users < 1 or n_items < 2 or not 1 <= min_length <= max_length:
        raise ValueError("need n_users >= 1, n_items >= 2 and 1 <= min_length <= max_length")
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8  # Zipf-ish, over a random item order
    popularity = popularity[rng.permutation(n_items)]
    popularity /= popularity.sum()
    k = len(SUCCESSOR_WEIGHTS)
    successors = (np.arange(n_items)[:, None] + rng.integers(1, n_items, size=(n_items, k))) % n_items  # no self loops

    lengths = rng.integers(min_length, max_length + 1, size=n_users)
    walk = np.empty((n_users, max_length), dtype=np.int64)  # [U, T]
    current = rng.choice(n_items, size=n_users, p=popularity)  # [U]
    for t in range(max_length):
        walk[:, t] = current
        follow = rng.random(n_users) < p_follow
        nxt = successors[current, rng.choice(k, size=n_users, p=SUCCESSOR_WEIGHTS)]
        current = np.where(follow, nxt, rng.choice(n_items, size=n_users, p=popularity))

    keep = np.arange(max_length)[None, :] < lengths[:, None]  # [U, T]
    users = np.repeat(np.arange(n_users), lengths)
    return Interactions.from_arrays(users, walk[keep] + 1, source="synthetic")
