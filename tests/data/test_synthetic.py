"""Synthetic data: deterministic, right shapes, and really sequential."""

import numpy as np

from seqrec.data.synthetic import synthetic_interactions


def test_deterministic_for_a_seed():
    a, b = synthetic_interactions(seed=3), synthetic_interactions(seed=3)
    assert np.array_equal(a.items, b.items) and np.array_equal(a.offsets, b.offsets)
    assert not np.array_equal(a.items, synthetic_interactions(seed=4).items)


def test_shapes():
    x = synthetic_interactions(n_users=200, n_items=100, min_length=5, max_length=9)
    assert x.n_users == 200
    assert x.n_items <= 100 and x.item_ids[1:].min() >= 1 and x.item_ids[1:].max() <= 100
    assert x.lengths.min() >= 5 and x.lengths.max() <= 9
    assert x.items.min() == 1 and x.items.max() == x.n_items


def test_order_carries_information():
    """An item's most frequent follower follows it far more often than its popularity predicts."""
    x = synthetic_interactions()
    same_user = np.diff(np.repeat(np.arange(x.n_users), x.lengths)) == 0
    prev, nxt = x.items[:-1][same_user], x.items[1:][same_user]
    popularity = np.bincount(x.items, minlength=x.n_items + 1) / x.n_interactions
    ratios = []
    for item in np.argsort(-np.bincount(prev))[:20]:  # the 20 most frequent predecessors
        followers = np.bincount(nxt[prev == item], minlength=x.n_items + 1)
        top = followers.argmax()
        ratios.append(followers[top] / followers.sum() / popularity[top])
    # expected share of the top successor ~0.8 * 0.5 = 0.4, against a popularity of ~1%
    assert np.median(ratios) > 10
