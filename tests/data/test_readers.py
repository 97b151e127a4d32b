"""Readers: every format on small files written here, bad input, and the real files if present."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqrec.data.interactions import DataError, Interactions
from seqrec.data.labels import text_labels
from seqrec.data.readers import (
    from_dataframe,
    guess_format,
    read_grouplens_dat,
    read_interactions,
    read_movielens_udata,
    read_pairs,
    read_table,
    read_user_lines,
)
from seqrec.data.tables import records

SHARED = Path(__file__).parents[2].parent / "shared" / "data"


def write(path: Path, text: str | bytes) -> Path:
    data = text.encode() if isinstance(text, str) else text
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def raw(x: Interactions) -> dict:
    return {x.user_ids[u].item(): x.item_ids[x.sequence(u)].tolist() for u in range(x.n_users)}


# ---------------------------------------------------------------- each format


@pytest.mark.parametrize("name", ["p.txt", "p.txt.gz"])
def test_pairs_keep_file_order(tmp_path, name):
    path = write(tmp_path / name, "2 30\n1 10\n2 20\n\n1 5\n-4 7\n")
    x = read_pairs(path)
    assert raw(x) == {
        -4: [7],
        1: [10, 5],
        2: [30, 20],
    }  # negative raw ids are opaque labels


def test_pairs_filters_are_passed_on(tmp_path):
    path = write(tmp_path / "p.txt", "1 1\n1 2\n2 1\n2 2\n3 1\n")
    assert raw(read_pairs(path, min_user_interactions=2)) == {1: [1, 2], 2: [1, 2]}


@pytest.mark.parametrize("name", ["u.txt", "u.txt.gz"])
def test_user_lines(tmp_path, name):
    path = write(tmp_path / name, "1 5 6 7\r\n  2\t9 5\n\n3 4\n")
    assert raw(read_user_lines(path)) == {1: [5, 6, 7], 2: [9, 5], 3: [4]}


def test_grouplens_dat_sorted_by_time_ties_keep_file_order(tmp_path):
    text = "1::10::5::300\n1::11::3::100\n2::10::4::50\n1::12::4::300\n1::13::4.5::200\n"
    path = write(tmp_path / "ratings.dat.gz", text)
    assert raw(read_grouplens_dat(path)) == {1: [11, 13, 10, 12], 2: [10]}


def test_udata_sorted_by_time(tmp_path):
    path = write(tmp_path / "u.data", "1\t10\t5\t300\n1\t11\t3\t100\n2\t10\t4\t50\n")
    assert raw(read_movielens_udata(path)) == {1: [11, 10], 2: [10]}


@pytest.mark.parametrize("name,sep", [("t.csv", ","), ("t.tsv.gz", "\t")])
def test_table_csv_tsv(tmp_path, name, sep):
    text = sep.join(["user", "item", "ts", "rating"]) + "\n"
    text += "\n".join(sep.join(r) for r in [["a", "x", "3", "1"], ["a", "y", "1", "1"], ["b", "x", "2", "1"]]) + "\n"
    path = write(tmp_path / name, text)
    x = read_table(path, user_col="user", item_col="item", timestamp_col="ts")
    assert raw(x) == {"a": ["y", "x"], "b": ["x"]}
    assert raw(read_table(path, "user", "item")) == {"a": ["x", "y"], "b": ["x"]}


def test_table_parquet_and_dates(tmp_path):
    df = pd.DataFrame(
        {
            "user_id": [1, 1, 2],
            "item_id": [7, 8, 7],
            "when": pd.to_datetime(["2020-01-02", "2020-01-01", "2020-01-01"]),
        }
    )
    df.to_parquet(tmp_path / "t.parquet")
    assert raw(read_table(tmp_path / "t.parquet", timestamp_col="when")) == {
        1: [8, 7],
        2: [7],
    }
    df["when"] = ["2020-01-02", "2020-01-01", "2020-01-01"]  # date strings are parsed
    write(tmp_path / "d.csv", df.to_csv(index=False))
    assert raw(read_table(tmp_path / "d.csv", timestamp_col="when")) == {
        1: [8, 7],
        2: [7],
    }


def test_from_dataframe():
    df = pd.DataFrame({"u": [3, 3, 1], "i": ["b", "a", "b"], "t": [2.0, 1.0, 0.5]})
    assert raw(from_dataframe(df, "u", "i", "t")) == {1: ["b"], 3: ["a", "b"]}
    assert raw(from_dataframe(df, "u", "i")) == {1: ["b"], 3: ["b", "a"]}
    with pytest.raises(
        DataError,
        match=r"missing column\(s\) \['user_id'\]; the columns are \['u', 'i', 't'\]",
    ):
        from_dataframe(df, item_col="i")
    df.loc[1, "t"] = np.nan
    with pytest.raises(DataError, match="<DataFrame>: row 1: missing value in column 't'"):
        from_dataframe(df, "u", "i", "t")


def test_guess_format_and_dispatch(tmp_path):
    files = {
        "a.txt": ("1 2\n1 3\n", "pairs"),
        "b.txt": ("1 2 3\n2 4\n", "user_lines"),
        "c": ("1::2::3::4\n", "grouplens"),
        "d.data": ("1\t2\t3\t4\n", "udata"),
        "e.csv.gz": ("user_id,item_id\n1,2\n", "table"),
    }
    for name, (text, fmt) in files.items():
        path = write(tmp_path / name, text)
        assert guess_format(path) == fmt, name
        assert read_interactions(path).n_interactions >= 1
    with pytest.raises(DataError, match="unknown format 'xml'"):
        read_interactions(tmp_path / "a.txt", fmt="xml")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "reader,name,text,pattern",
    [
        (read_pairs, "p.txt", "1 2\n1 3\n2 4 5\n3 1\n", "line 3: expected 2 fields"),
        (
            read_pairs,
            "p.txt",
            "1 2 9\n1 3 4\n",
            "line 1: expected 2 fields",
        ),  # pandas alone would take col 0 as index
        (read_pairs, "p.txt", "1 2\n\n1\n2 4\n", "line 3: expected 2 fields"),
        (
            read_pairs,
            "p.txt.gz",
            "1 2\n1 x\n",
            "line 2: field 2 is not an integer: 'x'",
        ),
        (read_pairs, "p.txt", "1 2\n1 2.5\n", "line 2: field 2 is not an integer"),
        (read_pairs, "p.txt", "1 2\n\xe9 2\n", "line 2: field 1 is not an integer"),
        (read_user_lines, "u.txt", "1 2 3\n2 4 z\n", "line 2: not an integer: b'z'"),
        (
            read_user_lines,
            "u.txt",
            "1 2 3\n\n7\n2 4\n",
            "line 3: a user id with no items",
        ),
        (
            read_grouplens_dat,
            "r.dat",
            "1::2::3::4\n1::2::3\n",
            "line 2: expected 4 fields",
        ),
        (
            read_grouplens_dat,
            "r.dat",
            "1::2::3::4\n1::2::3::4::5\n",
            "line 2: expected 4 fields",
        ),
        (
            read_grouplens_dat,
            "r.dat",
            "1::2::3::4\n1::2:3::4\n",
            "line 2: expected 4 fields",
        ),
        (
            read_grouplens_dat,
            "r.dat",
            "1::2::3::4\n1::2::3::noon\n",
            "line 2: field 4 is not an integer",
        ),
        (
            read_movielens_udata,
            "u.data",
            "1\t2\t3\t4\n1 2 3 4\n",
            "line 2: expected 4 fields",
        ),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, reader, name, text, pattern):
    path = write(tmp_path / name, text)
    with pytest.raises(DataError, match=pattern) as err:
        reader(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "reader,line",
    [
        (read_pairs, "1 2\n"),
        (read_user_lines, "1 2 3\n"),
        (read_grouplens_dat, "1::2::3::4\n"),
        (read_movielens_udata, "1\t2\t3\t4\n"),
        (read_table, "1,2\n"),
    ],
)
def test_empty_missing_binary_truncated(tmp_path, reader, line):
    suffix = ".csv" if reader is read_table else ".txt"
    empty = write(tmp_path / f"empty{suffix}", "\n  \n")
    with pytest.raises(DataError, match=f"{empty}: file is empty"):
        reader(empty)
    with pytest.raises(DataError, match="nope.txt: file not found"):
        reader(tmp_path / "nope.txt")
    binary = write(tmp_path / f"bin{suffix}", bytes(range(256)) * 4)
    with pytest.raises(DataError, match=f"{binary}: binary data"):
        reader(binary)
    rows = "".join(line.replace("2", str(k)) for k in range(100_000))  # ~1 MB of valid lines
    big = gzip.compress(("user_id,item_id\n" if reader is read_table else "").encode() + rows.encode())
    truncated = write(tmp_path / f"cut{suffix}", big[: len(big) // 2])  # written as is: a cut gzip stream
    with pytest.raises(DataError, match=f"{truncated}: truncated or corrupt gzip") as err:
        reader(truncated)
    assert "Traceback" not in str(err.value)


def test_non_utf8_text_names_line(tmp_path):
    path = write(tmp_path / "p.txt", b"1 2\n1 3\n\xff\xfe 2\n")
    with pytest.raises(DataError, match=r"p.txt: line 3: not UTF-8"):
        read_pairs(path)


def test_table_errors(tmp_path):
    path = write(tmp_path / "t.csv", "user,item,ts\n1,2,3\n1,3,\n")
    with pytest.raises(
        DataError,
        match=r"t.csv: missing column\(s\) \['user_id', 'item_id'\]; the columns are \['user', 'item', 'ts'\]",
    ):
        read_table(path)
    with pytest.raises(DataError, match=r"t.csv: line 3: missing value in column 'ts'"):
        read_table(path, "user", "item", "ts")
    write(path, "user,item,ts\n1,2,3\n1,3,soon\n")
    with pytest.raises(
        DataError,
        match=r"t.csv: line 3: timestamp 'soon' is neither a number nor a date",
    ):
        read_table(path, "user", "item", "ts")
    write(path, "user,item\n1,2\n1,3,4\n")
    with pytest.raises(DataError, match=r"t.csv: cannot be read as a CSV table.*line 3"):
        read_table(path, "user", "item")
    other = write(tmp_path / "t.json", "{}")
    with pytest.raises(DataError, match=r"t.json: a table must end in .csv, .tsv or .parquet"):
        read_table(other)
    bad = write(tmp_path / "t.parquet", "not parquet")
    with pytest.raises(DataError, match=r"t.parquet: not a readable parquet file"):
        read_table(bad)


# ---------------------------------------------------------------- the real files (../shared/data)

REAL = [
    ("ml-1m.txt.gz", "pairs", {}, (6040, 3416, 999_611)),
    ("ml-1m-full.txt.gz", "pairs", {}, (6040, 3706, 1_000_209)),
    (
        "ml-1m-full.txt.gz",
        "pairs",
        {"min_item_interactions": 5},
        (6040, 3416, 999_611),
    ),  # = the paper's ML-1M
    ("ml-1m-ratings-part.dat.gz", "grouplens", {}, (2999, 3615, 487_650)),
    ("ml-100k.data", "udata", {}, (943, 1682, 100_000)),
    ("beauty.txt.gz", "pairs", {}, (40_226, 54_542, 353_962)),
    ("sports.txt", "user_lines", {}, (35_598, 18_357, 296_337)),
]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")
@pytest.mark.parametrize("name,fmt,kwargs,expected", REAL)
def test_real_files_match_published_statistics(name, fmt, kwargs, expected):
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    assert guess_format(path) == fmt
    x = read_interactions(path, **kwargs)
    assert (x.n_users, x.n_items, x.n_interactions) == expected
    assert x.items.min() == 1 and x.items.max() == x.n_items


# ---------------------------------------------------------------- helpers of the table reader


def test_records_count_fields_outside_quotes_and_skip_blank_lines():
    data = b'a,b\n\n"x,y",1\n  \n"multi\nline",2\nlast,3,4'
    starts, ends, counts = records(data, ",")
    assert counts.tolist() == [2, 2, 2, 3]
    assert [data[s:e] for s, e in zip(starts, ends, strict=True)][-1] == b"last,3,4"


def test_text_labels_are_integers_only_when_lossless():
    assert text_labels(pd.Series(["3", "-2", "0", "3"], dtype=object)).tolist() == [3, -2, 0, 3]
    assert text_labels(pd.Series(["3", "03"], dtype=object)).tolist() == ["3", "03"]
    assert text_labels(pd.Series(["1", "1.0"], dtype=object)).tolist() == ["1", "1.0"]
