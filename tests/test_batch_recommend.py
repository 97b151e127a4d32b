"""Streaming ``seqrec recommend``: chunked output equals one ``recommend`` call, written atomically."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import seqrec
from seqrec.batch import write_recommendations
from seqrec.cli import main

K = 4


@pytest.fixture(scope="module")
def model() -> seqrec.SequentialRecommender:
    rng = np.random.default_rng(0)
    rows = [(u, int(i)) for u in range(100, 123) for i in rng.integers(0, 30, rng.integers(3, 9))]
    log = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return seqrec.SASRec(hidden=8, max_length=10, max_epochs=1, validation=False, seed=0, batch_size=8).fit(log)


@pytest.fixture(scope="module")
def saved(model: seqrec.SequentialRecommender, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model.save(tmp_path_factory.mktemp("batch") / "model.pt")


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",")


def expected(model: seqrec.SequentialRecommender, users: Any = None, **kwargs: Any) -> pd.DataFrame:
    table = model.recommend(users, k=K, **kwargs)
    table.columns = ["user", "item", "score", "rank"]
    return table


def assert_same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same users, items and ranks in the same order; scores equal up to float32 rounding."""
    assert list(got.columns) == ["user", "item", "score", "rank"]
    assert got["user"].astype(str).tolist() == want["user"].astype(str).tolist()
    assert got["item"].tolist() == want["item"].tolist() and got["rank"].tolist() == want["rank"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), want["score"].to_numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_streaming_equals_one_call(
    model: seqrec.SequentialRecommender, tmp_path: Path, suffix: str, chunk: int
) -> None:
    out = tmp_path / "sub" / f"recs{suffix}"
    rows, users = write_recommendations(model, None, out, k=K, chunk_users=chunk)
    want = expected(model)
    assert (rows, users) == (len(want), 23)
    got = read(out)
    assert_same_rows(got, want)
    if suffix == ".parquet":
        assert got.dtypes.to_dict() == want.dtypes.to_dict()
    if chunk == 1000:  # one chunk: byte for byte what the one-call path writes
        if suffix == ".parquet":
            pd.testing.assert_frame_equal(got, want)
        else:
            assert out.read_text() == want.to_csv(index=False, sep="\t" if suffix == ".tsv" else ",")
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left


def test_cli_users_file_in_given_order(model: seqrec.SequentialRecommender, saved: Path, tmp_path: Path) -> None:
    users = ["107", "100", "122", "107", "101"]
    (tmp_path / "users.txt").write_text("\n".join(users) + "\n\n")
    pd.DataFrame({"other": list("abcde"), "user_id": users}).to_csv(tmp_path / "users.csv", index=False)
    want = expected(model, users, filter_seen=False)
    for source in ("users.txt", "users.csv"):
        out = tmp_path / f"{source}.parquet"
        argv = ["recommend", "--model", str(saved), "--users", str(tmp_path / source), "--k", str(K)]
        assert main([*argv, "--out", str(out), "--chunk-users", "2", "--keep-seen"]) == 0
        assert_same_rows(read(out), want)


def test_no_users_writes_the_header_only(model: seqrec.SequentialRecommender, tmp_path: Path) -> None:
    for suffix in (".csv", ".parquet"):
        out = tmp_path / f"empty{suffix}"
        assert write_recommendations(model, [], out, k=K) == (0, 0)
        got = read(out)
        assert list(got.columns) == ["user", "item", "score", "rank"] and len(got) == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_failure_midway_leaves_no_file(
    model: seqrec.SequentialRecommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    original, calls = model.recommend, []

    def failing(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "recommend", failing)
    out = tmp_path / f"recs{suffix}"
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_recommendations(model, None, out, k=K, chunk_users=5)
    assert len(calls) == 3 and list(tmp_path.iterdir()) == []  # nothing under the final name, no .tmp

    out.write_text("old")  # an earlier file stays as it was
    calls.clear()
    with pytest.raises(RuntimeError):
        write_recommendations(model, None, out, k=K, chunk_users=5)
    assert out.read_text() == "old" and list(tmp_path.iterdir()) == [out]


def test_missing_pyarrow_is_one_line(
    saved: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "recs.parquet"
    assert main(["recommend", "--model", str(saved), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"seqrec: error: {out}: writing parquet needs pyarrow (pip install 'seqrec[parquet]')")
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_unknown_user_fails_before_writing(
    model: seqrec.SequentialRecommender, saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "users.txt").write_text("100\n101\n102\nnobody\n103\nghost\n")
    out = tmp_path / "recs.csv"
    argv = ["recommend", "--model", str(saved), "--users", str(tmp_path / "users.txt"), "--out", str(out)]
    assert main([*argv, "--chunk-users", "2"]) == 2
    with pytest.raises(KeyError) as one_call:
        model.recommend(["100", "101", "102", "nobody", "103", "ghost"])
    assert capsys.readouterr().err == f"seqrec: error: {one_call.value.args[0]}\n"  # both named, as one call does
    assert not out.exists()
    assert main([*argv, "--chunk-users", "2", "--on-unknown", "skip"]) == 0
    assert read(out)["user"].unique().tolist() == [100, 101, 102, 103]


def test_chunk_users_and_progress(
    model: seqrec.SequentialRecommender, saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(saved), "--out", str(out), "--chunk-users", "0"]) == 2
    assert "--chunk-users must be at least 1, got 0" in capsys.readouterr().err and not out.exists()
    write_recommendations(model, None, out, k=K, chunk_users=10, progress=True)
    assert "23/23" in capsys.readouterr().err  # the tqdm bar, on stderr


HAS_FILTERS = "items" in inspect.signature(seqrec.SequentialRecommender.recommend).parameters


@pytest.mark.skipif(not HAS_FILTERS, reason="model.recommend has no items=/exclude= keywords in this version")
def test_items_and_exclude_flags(model: seqrec.SequentialRecommender, saved: Path, tmp_path: Path) -> None:
    allowed, banned = [3, 5, 7, 11, 13, 17, 19, 23], [5, 11]
    (tmp_path / "items.txt").write_text("".join(f"{i}\n" for i in allowed))
    pd.DataFrame({"item_id": banned, "x": [0, 0]}).to_csv(tmp_path / "exclude.csv", index=False)
    pd.DataFrame({"item": [str(i) for i in banned]}).to_parquet(tmp_path / "exclude.parquet")
    base = ["recommend", "--model", str(saved), "--k", str(K), "--chunk-users", "3"]
    for exclude in ("exclude.csv", "exclude.parquet"):
        out = tmp_path / f"{exclude}.csv"
        argv = [*base, "--items", str(tmp_path / "items.txt"), "--exclude", str(tmp_path / exclude)]
        assert main([*argv, "--out", str(out)]) == 0
        got = read(out)
        assert set(got["item"]) <= set(allowed) - set(banned)
        assert_same_rows(got, expected(model, items=allowed, exclude=banned))
    out = tmp_path / "only_exclude.parquet"
    assert main([*base, "--exclude", str(tmp_path / "exclude.csv"), "--out", str(out)]) == 0
    assert_same_rows(read(out), expected(model, exclude=banned))


def test_items_file_missing_or_without_item_column(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(saved), "--items", str(tmp_path / "no.txt"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("seqrec: error: --items: ")
    (tmp_path / "bad.csv").write_text("product\n1\n")
    assert main(["recommend", "--model", str(saved), "--exclude", str(tmp_path / "bad.csv"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv: no item column ('item_id', 'item' or 'item_id'); has ['product']" in err and not out.exists()


def test_parquet_user_column_mixing_numbers_and_text_is_one_line(
    model: seqrec.SequentialRecommender, tmp_path: Path
) -> None:
    out = tmp_path / "recs.parquet"
    for chunk in (1, 10):  # across chunks (a cast that fails) and within one chunk
        with pytest.raises(ValueError, match=r"recs\.parquet: cannot write these rows as parquet \(.*write \.csv"):
            write_recommendations(model, ["100", "nobody"], out, k=K, chunk_users=chunk, on_unknown="popular")
        assert list(tmp_path.iterdir()) == []
    write_recommendations(model, ["100", "nobody"], tmp_path / "recs.csv", k=K, chunk_users=1, on_unknown="popular")
    assert read(tmp_path / "recs.csv")["user"].tolist() == ["100"] * K + ["nobody"] * K
