"""Item filters of ``recommend`` and ``recommend_for_histories``: an allow-list (``items``) and ``exclude``.

A tiny hand-made catalog, so that every expected list can be read off the data:

    u1: a b c d      counts: a 4, b 3, c 2, d 1, e 1, f 1
    u2: a b c e
    u3: a b f
    u4: a
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import seqrec
from seqrec.api import UnknownIdError

SEEN = {"u1": set("abcd"), "u2": set("abce"), "u3": set("abf"), "u4": {"a"}}


@pytest.fixture(scope="module")
def model() -> seqrec.SequentialRecommender:
    frame = pd.DataFrame(
        {
            "user_id": ["u1"] * 4 + ["u2"] * 4 + ["u3"] * 3 + ["u4"],
            "item_id": list("abcd") + list("abce") + list("abf") + ["a"],
        }
    )
    return seqrec.SASRec(hidden=8, max_length=5, max_epochs=1, validation=False, seed=0).fit(frame)


def ranking(table: pd.DataFrame, user: str) -> list[str]:
    return table[table["user_id"] == user]["item_id"].tolist()


def expected_from_score_next(model: seqrec.SequentialRecommender, user: str, allowed: set[str], k: int) -> list[str]:
    """The top-k worked out from the network's own scores: seen, padding and non-allowed items set to -inf."""
    assert model.model_ is not None and model.data_ is not None
    data = model.data_
    sequence = data.sequence(int(np.flatnonzero(data.user_ids == user)[0]))
    with torch.no_grad():
        scores = model.model_.score_next(torch.from_numpy(sequence)[None]).float()[0]  # [I + 1]
    candidates = [i for i in range(1, data.n_items + 1) if data.item_ids[i] in allowed - SEEN[user]]
    best = sorted(candidates, key=lambda i: -float(scores[i]))[:k]
    return [str(data.item_ids[i]) for i in best]


def test_allow_list_is_the_full_ranking_restricted_to_it(model: seqrec.SequentialRecommender) -> None:
    full = model.recommend(k=6)  # every unseen item of every user
    allow = ["b", "d", "f", "e"]
    restricted = model.recommend(k=6, items=allow)
    for user in SEEN:
        assert ranking(restricted, user) == [i for i in ranking(full, user) if i in allow]
        assert ranking(restricted, user) == expected_from_score_next(model, user, set(allow), 6)
    kept = full.merge(restricted, on=["user_id", "item_id"], suffixes=("", "_r"))
    np.testing.assert_allclose(kept["score"], kept["score_r"], rtol=1e-6)  # same scores, ranks renumbered
    assert len(kept) == len(restricted)


def test_exclude_removes_exactly_those(model: seqrec.SequentialRecommender) -> None:
    full = model.recommend(k=6)
    without = model.recommend(k=6, exclude=["d", "e"])
    for user in SEEN:
        assert ranking(without, user) == [i for i in ranking(full, user) if i not in ("d", "e")]
        assert ranking(without, user) == expected_from_score_next(model, user, set("abcf"), 6)
    both = model.recommend(["u4"], k=6, items=["b", "c", "d"], exclude=["c"])
    assert ranking(both, "u4") == expected_from_score_next(model, "u4", {"b", "d"}, 6)


def test_seen_items_are_still_removed(model: seqrec.SequentialRecommender) -> None:
    # u3 has seen a, b, f: of the allow-list a, b, c only c is left
    assert ranking(model.recommend(["u3"], items=["a", "b", "c"]), "u3") == ["c"]
    kept = model.recommend(["u3"], items=["a", "b", "c"], filter_seen=False)
    assert sorted(ranking(kept, "u3")) == ["a", "b", "c"]


def test_k_larger_than_the_allow_list_gives_fewer_rows(model: seqrec.SequentialRecommender) -> None:
    table = model.recommend(["u4", "u1"], k=5, items=["a", "b", "e"])
    assert sorted(ranking(table, "u4")) == ["b", "e"]  # u4 has seen a
    assert ranking(table, "u1") == ["e"]  # u1 has seen a and b
    assert table["rank"].tolist() == [1, 2, 1]


def test_popularity_fallback_respects_the_filters(model: seqrec.SequentialRecommender) -> None:
    # by count: a 4, b 3, c 2, then d, e, f 1 each (ties by first appearance)
    popular = model.recommend(["nobody"], k=3, on_unknown="popular", items=["d", "c", "a"])
    assert ranking(popular, "nobody") == ["a", "c", "d"] and popular["score"].tolist() == [4.0, 2.0, 1.0]
    popular = model.recommend(["nobody"], k=2, on_unknown="popular", exclude=["a"])
    assert ranking(popular, "nobody") == ["b", "c"]
    popular = model.recommend(["nobody"], k=9, on_unknown="popular", items=["f", "b"])
    assert ranking(popular, "nobody") == ["b", "f"]  # k beyond the allow-list: fewer rows
    fresh = model.recommend_for_histories({"empty": [], "x": ["e"]}, k=4, items=["b", "c", "e"], exclude=["c"])
    assert ranking(fresh, "empty") == ["b", "e"]
    assert ranking(fresh, "x") == ["b"]  # e is seen


def test_filters_in_recommend_for_histories_match_recommend(model: seqrec.SequentialRecommender) -> None:
    histories = {"u1": list("abcd"), "u3": list("abf")}
    fresh = model.recommend_for_histories(histories, k=6, items=["c", "d", "e", "f"], exclude="f")
    known = model.recommend(["u1", "u3"], k=6, items=["c", "d", "e", "f"], exclude="f")
    pd.testing.assert_frame_equal(fresh, known)


def test_a_bare_string_is_one_id_and_any_iterable_works(model: seqrec.SequentialRecommender) -> None:
    assert ranking(model.recommend(["u4"], items="b"), "u4") == ["b"]
    with pytest.raises(UnknownIdError, match="'bc'"):  # never the characters b and c
        model.recommend(["u4"], items="bc")
    expected = model.recommend(["u4"], items=["b", "c"])
    for given in ({"b", "c"}, np.array(["b", "c"]), pd.Series(["c", "b"]), (x for x in "bc")):
        pd.testing.assert_frame_equal(model.recommend(["u4"], items=given), expected)


def test_unknown_filter_ids_error_by_default_or_warn(model: seqrec.SequentialRecommender) -> None:
    with pytest.raises(UnknownIdError, match=r"2 unknown item id\(s\): 'zz', 'yy' in items \(the allow-list\)"):
        model.recommend(["u4"], items=["b", "zz", "yy", "zz"])
    with pytest.raises(UnknownIdError, match="1 unknown item id.*'zz' in exclude; pass unknown_items_in_filters"):
        model.recommend_for_histories({"x": ["a"]}, exclude=["zz"])
    with pytest.warns(UserWarning, match="'zz' in items .* were ignored"):
        warned = model.recommend(["u4"], items=["b", "zz"], unknown_items_in_filters="warn")
    assert ranking(warned, "u4") == ["b"]
    with pytest.warns(UserWarning, match="'zz' in exclude"):
        warned = model.recommend(["u4"], exclude=["zz"], unknown_items_in_filters="warn")
    pd.testing.assert_frame_equal(warned, model.recommend(["u4"]))
    with pytest.raises(ValueError, match="unknown_items_in_filters must be 'error' or 'warn'"):
        model.recommend(["u4"], items=["b"], unknown_items_in_filters="skip")


def test_filters_that_leave_nothing_are_an_error(model: seqrec.SequentialRecommender) -> None:
    with pytest.raises(ValueError, match="holds no item of the model's catalog"):
        model.recommend(["u4"], items=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="holds no item of the model's catalog"):
            model.recommend(["u4"], items=["zz"], unknown_items_in_filters="warn")
    with pytest.raises(ValueError, match="exclude removes every item"):
        model.recommend_for_histories([["a"]], items=["b", "c"], exclude=["c", "b"])


def test_no_filter_leaves_the_results_unchanged(model: seqrec.SequentialRecommender) -> None:
    pd.testing.assert_frame_equal(model.recommend(k=3, items=None, exclude=None), model.recommend(k=3))
    everything = model.recommend(k=3, items=list("abcdef"), exclude=[])
    pd.testing.assert_frame_equal(everything, model.recommend(k=3))
