"""Interactions.from_arrays and gather_ranges, on hand-built cases."""

import numpy as np
import pytest

from seqrec.data.interactions import DataError, Interactions, gather_ranges


def raw_sequences(x: Interactions) -> dict:
    """{raw user: [raw items, oldest first]}"""
    return {x.user_ids[u].item(): x.item_ids[x.sequence(u)].tolist() for u in range(x.n_users)}


def test_timestamps_order_each_user_and_ties_keep_input_order():
    users = [7, 3, 7, 7, 3]
    items = [10, 20, 30, 40, 50]
    times = [
        5,
        1,
        2,
        5,
        1,
    ]  # user 7: 30 (t=2), then 10 and 40 tie at t=5 -> input order 10, 40
    x = Interactions.from_arrays(np.array(users), np.array(items), np.array(times))
    assert raw_sequences(x) == {3: [20, 50], 7: [30, 10, 40]}


def test_without_timestamps_file_order_is_kept():
    x = Interactions.from_arrays(np.array([2, 1, 2, 1]), np.array([9, 8, 7, 6]))
    assert raw_sequences(x) == {1: [8, 6], 2: [9, 7]}
    # internal ids: users by sorted raw id, items 1..n by sorted raw id, 0 is padding
    assert x.user_ids.tolist() == [1, 2]
    assert x.item_ids[1:].tolist() == [6, 7, 8, 9]
    assert x.offsets.tolist() == [0, 2, 4]
    assert x.items.min() == 1 and x.n_items == 4 and x.n_interactions == 4


def test_filters_are_repeated_until_stable():
    # min 2 per item and per user.
    # pass 1: item 'c' has 1 interaction -> dropped; user 2 is left with 1 item -> dropped.
    # pass 2: item 'b' had (user 2, user 3) -> now only user 3 -> dropped; user 3 left with 'a' only -> dropped.
    # pass 3: 'a' has users 1, 4 -> kept; nothing else changes.
    users = np.array([1, 1, 2, 2, 3, 3, 4, 4])
    items = np.array(["a", "d", "b", "c", "b", "a", "a", "d"])
    x = Interactions.from_arrays(users, items, min_item_interactions=2, min_user_interactions=2)
    assert raw_sequences(x) == {1: ["a", "d"], 4: ["a", "d"]}
    # a single pass would have kept user 3 and item 'b'
    assert x.n_items == 2


def test_filters_that_remove_everything_raise():
    with pytest.raises(DataError, match="no interactions left"):
        Interactions.from_arrays(np.array([1, 2]), np.array([1, 2]), min_item_interactions=2, source="toy")


def test_drop_duplicates_keeps_earliest_occurrence():
    users = np.array([1, 1, 1, 1])
    items = np.array([5, 6, 5, 7])
    times = np.array([30, 20, 10, 40])  # in time order: 5 (t=10), 6 (t=20), 5 (t=30, dropped), 7
    x = Interactions.from_arrays(users, items, times, drop_duplicates=True)
    assert raw_sequences(x) == {1: [5, 6, 7]}
    y = Interactions.from_arrays(users, items, times)
    assert raw_sequences(y) == {1: [5, 6, 5, 7]}


def test_bad_arrays_raise_with_source():
    with pytest.raises(DataError, match="src: no interactions"):
        Interactions.from_arrays(np.array([]), np.array([]), source="src")
    with pytest.raises(DataError, match="src: 2 user ids but 1 item ids"):
        Interactions.from_arrays(np.array([1, 2]), np.array([1]), source="src")
    with pytest.raises(DataError, match="row 2"):
        Interactions.from_arrays(np.array([1, 2]), np.array([1, 2]), np.array([1.0, np.nan]), source="src")


def test_gather_ranges():
    offsets = np.array([0, 2, 2, 5])  # rows: [10, 11], [], [12, 13, 14]
    values = np.array([10, 11, 12, 13, 14])
    rows = np.array([2, 0, 1, 2])
    row_index, gathered = gather_ranges(values, offsets[rows], offsets[rows + 1])
    assert gathered.tolist() == [12, 13, 14, 10, 11, 12, 13, 14]
    assert row_index.tolist() == [0, 0, 0, 1, 1, 3, 3, 3]


def test_item_counts_over_ranges():
    # ranges [1, 2, 2] and [3] of items 1 2 2 | 4 | 3 1: item 1 once, 2 twice, 3 once, 4 never (not in a range)
    from seqrec.data.interactions import item_counts

    items = np.array([1, 2, 2, 4, 3, 1])
    counts = item_counts(items, np.array([0, 4]), np.array([3, 5]), n_items=4)
    assert counts.tolist() == [0, 1, 2, 1, 0]
