"""Bad input in data files, end to end: field counts, id labels, ambiguous dates, unreadable paths.

Each case ends in one ``seqrec: error:`` line naming the file and the line (exit code 2, no
output directory), or in a documented outcome whose exact labels and order are checked here.
"""

import gzip
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from test_bad_input import API_TINY, TINY, clean_error, sets

import seqrec
import seqrec.data.files
from seqrec.cli import main
from seqrec.data.interactions import DataError, Interactions
from seqrec.data.readers import from_dataframe, read_interactions


def train(path: Path, fmt: str, out: Path, *overrides: str) -> int:
    return main(["train", "--out", str(out), *sets(f'data.path="{path}"', f"data.format={fmt}", *TINY, *overrides)])


def write(path: Path, text: str) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def refused(
    capsys: pytest.CaptureFixture[str], path: Path, fmt: str, tmp_path: Path, *fragments: str, ts: bool = False
) -> None:
    """``seqrec train`` on ``path`` fails with one line holding ``fragments``; no run directory is left."""
    out = tmp_path / "run"
    clean_error(capsys, train(path, fmt, out, *(["data.timestamp_col=ts"] if ts else [])), *fragments)
    assert not out.exists()


def raw(x: Interactions) -> dict:
    return {x.user_ids[u].item(): x.item_ids[x.sequence(u)].tolist() for u in range(x.n_users)}


# ---------------------------------------------------------------- field counts against the header

CSV = "log.csv: cannot be read as a CSV table with a header row: "


@pytest.mark.parametrize(
    "name,text,message",
    [
        # every row one field more: pandas would take column 1 as the index (39 "users", 1 "item")
        (
            "log.csv",
            "user_id,item_id\n0,28,5\n0,29,5\n1,28,4\n",
            CSV + "line 2: expected 2 fields (as in the header), got 3",
        ),
        (  # the first column 0..38 would become a RangeIndex: nothing in the frame shows the shift
            "log.csv",
            "user_id,item_id\n" + "".join(f"{u},{28 + u % 3},5\n" for u in range(39)),
            CSV + "line 2: expected 2 fields (as in the header), got 3: '0,28,5'",
        ),
        (
            "log.csv",
            "user_id,item_id\n0,28\n0,29\n1,28,4\n",
            CSV + "line 4: expected 2 fields (as in the header), got 3",
        ),
        (
            "log.tsv.gz",
            "user_id\titem_id\n0\t28\t5\n",
            "log.tsv.gz: cannot be read as a TSV table with a header row: line 2: expected 2 fields",
        ),
        # fewer fields: pandas fills NaN; the message names the line and the count, not "missing value"
        (
            "log.csv",
            "user_id,item_id\n0,28\n7\n1,28\n",
            CSV + "line 3: expected 2 fields (as in the header), got 1",
        ),
        (
            "log.csv",
            "user_id,item_id,ts\n0,28,1\n0,29\n",
            CSV + "line 3: expected 3 fields (as in the header), got 2",
        ),
        # a trailing comma: an extra, empty field (on every row, or on some)
        (
            "log.csv",
            "user_id,item_id\n1,2,\n1,3,\n",
            CSV + "line 2: expected 2 fields (as in the header), got 3; the last field is empty (a trailing ',')",
        ),
        (
            "log.csv",
            "user_id,item_id\n1,2\n\n1,3,\n",
            "line 4: expected 2 fields (as in the header), got 3; the last field is empty",
        ),
    ],
)
def test_rows_with_more_or_fewer_fields_than_the_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    refused(capsys, write(tmp_path / name, text), "table", tmp_path, message)


@pytest.mark.parametrize(
    "fmt,name,text,message",
    [
        ("udata", "u.data", "1\t2\t5\t100\n1\t3\t4\t101\t\n", "u.data: line 2: expected 4 fields"),
        ("grouplens", "r.dat", "1::2::5::100::\n", "r.dat: line 1: expected 4 fields"),
    ],
)
def test_trailing_separator_in_line_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str, text: str, message: str
) -> None:
    refused(capsys, write(tmp_path / name, text), fmt, tmp_path, message, "the last field is empty")


def test_quoted_separators_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    # a quoted "a,b" is one field; blank lines are skipped and do not shift the reported line
    path = write(tmp_path / "q.csv", 'user_id,item_id\n"a,b",x\n\n"a,b","y\nz"\nc,x\n')
    assert raw(read_interactions(path, "table")) == {"a,b": ["x", "y\nz"], "c": ["x"]}
    path = write(tmp_path / "gap.csv", "user_id,item_id\n1,2\n\n\n1, \n")
    with pytest.raises(DataError, match=re.escape("gap.csv: line 5: empty value in column 'item_id'")):
        read_interactions(path, "table")


# ---------------------------------------------------------------- ids are labels, kept as written


def test_leading_zeros_and_float_spellings_are_distinct_labels(tmp_path: Path) -> None:
    # `7` and `07` are two items; `1.0` and `1` two users; user `0` stays "0" (never "0.0")
    text = "user_id,item_id\n0,7\n0,07\n1.0,7\n1,07\n1,8\n"
    x = read_interactions(write(tmp_path / "ids.csv", text), "table")
    assert raw(x) == {"0": ["7", "07"], "1": ["07", "8"], "1.0": ["7"]}
    # the same labels through pd.read_csv(dtype=str) and the API
    api = from_dataframe(pd.read_csv(tmp_path / "ids.csv", dtype=str))
    assert raw(api) == raw(x)


@pytest.mark.parametrize(
    "column,stored",
    [
        (["5", "-3", "0", "12"], [5, -3, 0, 12]),  # canonical: stored as int64, losslessly
        (["5", "+3", "0", "12"], ["5", "+3", "0", "12"]),  # "+3" is not "3": all stay text
        (["5", "-0", "0", "12"], ["5", "-0", "0", "12"]),
        (["5", " 3", "3", "12"], ["5", " 3", "3", "12"]),
        ([str(2**63), "1", "2", "3"], [2**63, 1, 2, 3]),  # uint64, still lossless
        ([str(2**64), "1", "2", "3"], [str(2**64), "1", "2", "3"]),
    ],
)
def test_integers_only_when_lossless(tmp_path: Path, column: list[str], stored: list) -> None:
    text = "user_id,item_id\n" + "".join(f"u,{i}\n" for i in column)
    x = read_interactions(write(tmp_path / "ids.csv", text), "table")
    assert x.item_ids[x.sequence(0)].tolist() == stored
    api = from_dataframe(pd.read_csv(tmp_path / "ids.csv", dtype=str))  # the API keeps str: same text
    assert api.item_ids[api.sequence(0)].tolist() == [str(v) for v in stored]


def test_cli_keeps_distinct_spellings(tmp_path: Path) -> None:
    # through `seqrec train`: 07 and 7 are two items of the fitted model
    rows = "".join(f"{u},{i}\n" for u in range(8) for i in ("7", "07", "8", "9", "10"))
    run = tmp_path / "run"
    assert train(write(tmp_path / "ids.csv", "user_id,item_id\n" + rows), "table", run) == 0
    assert sorted(seqrec.load(run).data_.item_ids[1:].tolist()) == ["07", "10", "7", "8", "9"]


def test_parquet_keeps_its_dtype_and_spellings(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": ["07", "7", "7"]})
    frame.to_parquet(tmp_path / "t.parquet")
    assert raw(read_interactions(tmp_path / "t.parquet", "table")) == {1: ["07", "7"], 2: ["7"]}


def test_api_mixed_object_ids() -> None:
    # int 1 and str "1" would become one label as text: an error naming both rows
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, "1", 3]}, dtype=object)
    message = "<DataFrame>: row 0 and row 2: column 'item_id' holds 1 (int) and '1' (str)"
    with pytest.raises(DataError, match=re.escape(message)):
        seqrec.SASRec(**API_TINY).fit(frame)
    # 1 and 1.0 (equal numbers, two spellings) stay two labels, as text
    frame = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [1, 1.0, "x"]}, dtype=object)
    assert raw(from_dataframe(frame)) == {"1": ["1", "1.0", "x"]}  # an object column: labels are text


# ---------------------------------------------------------------- dates: one format per column


def dated(tmp_path: Path, dates: list[str]) -> Path:
    rows = "".join(f"u,{k},{d}\n" for k, d in enumerate(dates))
    return write(tmp_path / "log.csv", "user_id,item_id,ts\n" + rows)


@pytest.mark.parametrize(
    "dates,order",
    [
        (["05/01/2024", "13/01/2024", "02/02/2024"], [0, 1, 2]),  # 13 proves day-first: 5 Jan, 13 Jan, 2 Feb
        (["05/01/2024", "01/13/2024", "02/02/2024"], [1, 2, 0]),  # 13 proves month-first: 13 Jan, 2 Feb, 1 May
        (["2024-02-01", "2024-01-05T10:00:00Z", "2024-01-05"], [2, 1, 0]),  # ISO 8601
        (["5.1.2024", "13.1.2024", "2.2.2024"], [0, 1, 2]),
    ],
)
def test_dates_get_one_format_per_column(tmp_path: Path, dates: list[str], order: list[int]) -> None:
    x = read_interactions(dated(tmp_path, dates), "table", timestamp_col="ts")
    assert x.item_ids[x.sequence(0)].tolist() == order
    api = from_dataframe(pd.DataFrame({"user_id": "u", "item_id": range(3), "ts": dates}), timestamp_col="ts")
    assert api.item_ids[api.sequence(0)].tolist() == order


@pytest.mark.parametrize(
    "dates,message",
    [
        (
            ["13/01/2024", "01/13/2024"],
            "log.csv: dates are day/month/year on line 2 ('13/01/2024') but month/day/year on line 3 ('01/13/2024')",
        ),
        (
            ["05/01/2024", "02/03/2024"],
            "log.csv: line 2: dates like '05/01/2024' are ambiguous: no value shows whether they are day/month/year "
            "or month/day/year; write ISO 8601 dates (2024-01-05) or numeric timestamps",
        ),
        (
            ["2024-01-05", "05/01/2024"],
            "log.csv: line 3: timestamp '05/01/2024' does not match the column's date format ISO 8601",
        ),
        (["13/01/2024", "2024-01-05"], "log.csv: line 3: timestamp '2024-01-05' is not a date like '13/01/2024'"),
        (
            ["13/01/2024", "14/01/2024 10:00"],
            "log.csv: line 3: timestamp '14/01/2024 10:00' does not match the column's date format",
        ),
        (["2024-01-05", "2024-13-01"], "log.csv: line 3: timestamp '2024-13-01' does not match"),
    ],
)
def test_ambiguous_or_inconsistent_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dates: list[str], message: str
) -> None:
    refused(capsys, dated(tmp_path, dates), "table", tmp_path, message, ts=True)


# ---------------------------------------------------------------- paths that are not readable files

READERS = [
    ("pairs", "p.txt", "1 2\n1 3\n2 3\n"),
    ("user_lines", "u.txt", "1 2 3\n2 3 4\n"),
    ("grouplens", "r.dat", "1::2::5::1\n"),
    ("udata", "u.data", "1\t2\t5\t1\n"),
    ("table", "t.csv", "user_id,item_id\n1,2\n"),
    ("table", "t.tsv", "user_id\titem_id\n1\t2\n"),
    ("table", "t.csv.gz", "user_id,item_id\n1,2\n"),
    ("pairs", "p.txt.gz", "1 2\n1 3\n"),
    ("auto", "p.txt", "1 2\n1 3\n"),
]


@pytest.mark.parametrize("fmt,name,text", READERS)
def test_permission_denied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str, name: str, text: str
) -> None:
    # an unreadable file says "permission denied" (never "truncated or corrupt gzip file")
    path = write(tmp_path / name, text)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: have open() fail as the OS does for other users

        def denied(file: object, *args: object, **kwargs: object) -> object:
            raise PermissionError(13, "Permission denied", str(file))

        monkeypatch.setattr(seqrec.data.files, "open", denied, raising=False)
    refused(capsys, path, fmt, tmp_path, f"{path}: permission denied")


def test_permission_denied_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"user_id": [1], "item_id": [2]}).to_parquet(path)
    monkeypatch.setattr(
        seqrec.data.files, "open", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "denied")), raising=False
    )
    refused(capsys, path, "table", tmp_path, f"{path}: permission denied")


@pytest.mark.parametrize("fmt,name,text", READERS)
def test_directory_and_fifo(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str, text: str) -> None:
    # a directory says "is a directory"; a FIFO "not a regular file" (and is never opened: no hang)
    folder = tmp_path / name
    folder.mkdir()
    refused(capsys, folder, fmt, tmp_path, f"{folder}: is a directory, expected a data file")
    fifo = tmp_path / f"fifo-{name}"
    os.mkfifo(fifo)
    refused(capsys, fifo, fmt, tmp_path, f"{fifo}: not a regular file (a FIFO/pipe)")
