"""``similar_items`` and ``seqrec similar`` on output embeddings set by hand, so every neighbour is worked out below.

Items and their output embeddings (norms 3, 5, 5, 1):

    a = (-3, 0)   b = (-4, -3)   c = (3, -4)   d = (1, 0)

dot products                      cosines (dot / both norms)
    a.b = 12  a.c = -9  a.d = -3      a,b = 12/15 = 0.8   a,c = -9/15 = -0.6   a,d = -3/3 = -1
    b.c = 0   b.d = -4                b,c = 0             b,d = -4/5 = -0.8
    c.d = 3                           c,d = 3/5 = 0.6

so by dot: a -> b 12, d -3, c -9;  b -> a 12, c 0, d -4;  c -> d 3, b 0, a -9;  d -> c 3, a -3, b -4
by cosine: a -> b .8, c -.6, d -1; b -> a .8, c 0, d -.8; c -> d .6, b 0, a -.6; d -> c .6, b -.8, a -1
(a and d swap their second and third neighbours: a's dot with d is small only because d is short).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import seqrec
from seqrec.api import UnknownIdError
from seqrec.cli import main
from seqrec.data.synthetic import synthetic_interactions
from seqrec.similar import similar_items

Neighbours = dict[str, list[tuple[str, float]]]  # item -> (neighbour, score), best first
VECTORS = {"a": (-3.0, 0.0), "b": (-4.0, -3.0), "c": (3.0, -4.0), "d": (1.0, 0.0)}
DOT: Neighbours = {"a": [("b", 12), ("d", -3), ("c", -9)], "b": [("a", 12), ("c", 0), ("d", -4)]}
DOT |= {"c": [("d", 3), ("b", 0), ("a", -9)], "d": [("c", 3), ("a", -3), ("b", -4)]}
COSINE: Neighbours = {"a": [("b", 0.8), ("c", -0.6), ("d", -1)], "b": [("a", 0.8), ("c", 0), ("d", -0.8)]}
COSINE |= {"c": [("d", 0.6), ("b", 0), ("a", -0.6)], "d": [("c", 0.6), ("b", -0.8), ("a", -1)]}


@pytest.fixture(scope="module")
def model() -> seqrec.SequentialRecommender:
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": ["a", "b", "c", "d", "c", "a"]})
    fitted = seqrec.SASRec(hidden=2, max_length=4, max_epochs=1, validation=False).fit(frame)
    assert fitted.model_ is not None and fitted.data_ is not None
    weight = fitted.model_.item_embedding.weight.data  # [I + 1, 2]
    for row, item in enumerate(fitted.data_.item_ids[1:], start=1):
        weight[row] = torch.tensor(VECTORS[item])
    return fitted


def expected(table: Neighbours, items: list[str], k: int) -> pd.DataFrame:
    rows = [(i, j, s, r) for i in items for r, (j, s) in enumerate(table[i][:k], start=1)]
    return pd.DataFrame(rows, columns=["item_id", "similar_item_id", "score", "rank"])


def check(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got.iloc[:, :2].values.tolist() == want.iloc[:, :2].values.tolist()
    assert got["rank"].tolist() == want["rank"].tolist()
    np.testing.assert_allclose(got["score"], want["score"], atol=1e-5)


def test_dot_and_cosine_neighbours_worked_out_by_hand(model: seqrec.SequentialRecommender) -> None:
    check(model.similar_items(["c", "a"], k=2), expected(DOT, ["c", "a"], 2))  # the given order
    check(model.similar_items(["a", "d"], k=3, metric="cosine"), expected(COSINE, ["a", "d"], 3))
    check(model.similar_items(k=3), expected(DOT, ["a", "b", "c", "d"], 3))  # None: every item


def test_an_item_is_never_its_own_neighbour(model: seqrec.SequentialRecommender) -> None:
    # k beyond the catalog: every other item once, never the item itself nor the padding row
    for metric in ("dot", "cosine"):
        table = model.similar_items(k=100, metric=metric)
        assert len(table) == 4 * 3
        assert not (table["item_id"] == table["similar_item_id"]).any()
        assert set(table["similar_item_id"]) == set("abcd")


def test_chunks_give_the_same_result_as_one_chunk() -> None:
    x = synthetic_interactions(n_users=40, n_items=30, min_length=3, max_length=8, seed=5)
    fitted = seqrec.SASRec(hidden=8, max_length=8, max_epochs=1, validation=False).fit(x)
    assert fitted.model_ is not None and fitted.data_ is not None
    for metric in ("dot", "cosine"):
        whole = similar_items(fitted.model_, fitted.data_, None, 5, metric, chunk_size=10_000)
        for chunk in (1, 7):
            pieces = similar_items(fitted.model_, fitted.data_, None, 5, metric, chunk_size=chunk)
            pd.testing.assert_frame_equal(pieces, whole, atol=1e-5)


def test_bert4rec_mask_token_is_no_neighbour() -> None:
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2, 2], "item_id": [5, 6, 7, 7, 5]})
    fitted = seqrec.BERT4Rec(hidden=8, max_length=4, max_epochs=1, validation=False).fit(frame)
    table = fitted.similar_items(k=10)
    assert len(table) == 3 * 2 and set(table["similar_item_id"]) == {5, 6, 7}
    assert fitted.similar_items("6", k=1)["item_id"].tolist() == [6]  # ids read as text, one bare id


def test_unknown_items_error_or_skip(model: seqrec.SequentialRecommender) -> None:
    with pytest.raises(UnknownIdError, match=r"2 unknown item id\(s\): 'zz', 'ab'; pass on_unknown='skip'"):
        model.similar_items(["a", "zz", "ab"])  # "ab" is one id, not a and b
    check(model.similar_items(["zz", "b"], k=1, on_unknown="skip"), expected(DOT, ["b"], 1))
    assert model.similar_items([]).empty
    with pytest.raises(ValueError, match="metric must be 'dot' or 'cosine'"):
        model.similar_items(["a"], metric="l2")
    with pytest.raises(ValueError, match="on_unknown must be 'error' or 'skip'"):
        model.similar_items(["a"], on_unknown="popular")


# ---------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def saved(model: seqrec.SequentialRecommender, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model.save(tmp_path_factory.mktemp("similar") / "model.pt")


def test_cli_round_trip(saved: Path, tmp_path: Path) -> None:
    items = tmp_path / "items.txt"
    items.write_text("d\n\na\n")
    out = tmp_path / "sim.csv"
    assert main(["similar", "--model", str(saved), "--items", str(items), "--k", "2", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    want = expected(DOT, ["d", "a"], 2)
    want.columns = ["item", "similar_item", "score", "rank"]
    check(table, want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.txt", "sim.csv"]  # no temporary file left

    listed = tmp_path / "items.csv"
    listed.write_text("item_id,other\nb,x\n")
    parquet = tmp_path / "sim.parquet"
    argv = ["similar", "--model", str(saved), "--items", str(listed), "--metric", "cosine", "--out", str(parquet)]
    assert main(argv) == 0
    want = expected(COSINE, ["b"], 3)
    want.columns = ["item", "similar_item", "score", "rank"]
    check(pd.read_parquet(parquet), want)
    everything = tmp_path / "all.tsv"
    assert main(["similar", "--model", str(saved), "--k", "1", "--out", str(everything)]) == 0
    assert pd.read_csv(everything, sep="\t")["similar_item"].tolist() == ["b", "a", "d", "c"]


def one_error_line(capsys: pytest.CaptureFixture[str], rc: int, *fragments: str) -> None:
    """Exit code 2 and one ``seqrec: error:`` line holding ``fragments`` (as ``clean_error`` of test_bad_input)."""
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("seqrec: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_cli_bad_input(saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.csv"
    base = ["similar", "--model", str(saved), "--out", str(out)]
    one_error_line(
        capsys, main([*base, "--items", str(tmp_path / "nope.txt")]), "--items: ", "nope.txt: file not found"
    )
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("a\nzz\n")
    one_error_line(capsys, main([*base, "--items", str(unknown)]), "1 unknown item id(s): 'zz'", "on_unknown='skip'")
    assert main([*base, "--items", str(unknown), "--on-unknown", "skip"]) == 0
    assert pd.read_csv(out)["item"].unique().tolist() == ["a"]
    capsys.readouterr()
    one_error_line(capsys, main([*base, "--k", "0"]), "--k must be at least 1")
    one_error_line(capsys, main([*base[:-1], str(tmp_path)]), "is a directory; --out names the file to write")
    table = tmp_path / "table.csv"
    table.write_text("name\nb\n")
    one_error_line(capsys, main([*base, "--items", str(table)]), "no item column ('item_id' or 'item'); has ['name']")
    one_error_line(capsys, main(["similar", "--model", str(tmp_path / "no.pt"), "--out", str(out)]), "no.pt")
