"""API entry points that take ids or histories: a string is never read as a sequence of characters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import seqrec


@pytest.fixture(scope="module")
def model() -> seqrec.SequentialRecommender:
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2, 3, 3, 3], "item_id": [10, 1, 0, 10, 2, 1, 0, 2, 10]})
    return seqrec.SASRec(hidden=8, max_length=5, max_epochs=1, validation=False).fit(frame)


def test_a_history_given_as_a_string_is_refused(model: seqrec.SequentialRecommender) -> None:
    # "10" would otherwise be read as the two items 1 and 0, both in the catalog
    with pytest.raises(
        ValueError, match=r"history 'x' is str '10', not a list of item ids \(for one item write \['10'\]\)"
    ):
        model.recommend_for_histories({"x": "10"})
    with pytest.raises(ValueError, match="history 0 is int 10, not a list of item ids"):
        model.recommend_for_histories([10])
    with pytest.raises(ValueError, match="histories is one string"):
        model.recommend_for_histories("10")


def test_a_history_given_as_a_list_is_read_item_by_item(model: seqrec.SequentialRecommender) -> None:
    # the catalog is the items 10, 1, 0, 2; "10" written as text is the item 10
    out = model.recommend_for_histories({"x": ["10"], "y": [1, 0]}, k=3)
    assert sorted(out[out["user_id"] == "x"]["item_id"]) == [0, 1, 2]  # all but the seen 10
    assert sorted(out[out["user_id"] == "y"]["item_id"]) == [2, 10]  # all but the seen 1 and 0


def test_recommend_users_argument_that_is_missing_or_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: seqrec.SequentialRecommender
) -> None:
    from seqrec.cli import main

    saved = model.save(tmp_path / "model.pt")
    for users, message in [
        (tmp_path, "is a directory, expected a data file"),
        (tmp_path / "missing.txt", "file not found"),
    ]:
        rc = main(["recommend", "--model", str(saved), "--users", str(users), "--out", str(tmp_path / "r.csv")])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith("seqrec: error: --users: ") and message in err and "--users all" in err
