"""Tables with a header row: CSV / TSV (optionally gzipped) and parquet -> :class:`Interactions`.

The user and item columns of CSV / TSV are read as text and kept as written
(:func:`seqrec.data.labels.text_labels`). Every row must have as many fields as the header:
pandas would otherwise fill short rows with NaN, and take the first column as the index when
every row has one field more than the header (shifting all columns). Those cases are only
*detected* on the fast path (a parser error, NaN anywhere, an index that is not 0..n-1); the
field count of every line is then checked over the whole text with numpy to name the first bad one.
The file's first 64 KiB are always checked (an index column is inferred from the first data line).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqrec.data.files import GZIP_ERRORS, PathLike, check_file, compression, os_error, read_bytes
from seqrec.data.frames import frame_interactions
from seqrec.data.interactions import DataError, Interactions

_SPACE = np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8)


def _table_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind not in (".csv", ".tsv", ".parquet"):
        raise DataError(f"{path}: a table must end in .csv, .tsv or .parquet (optionally .gz)")
    return kind


def records(data: bytes, sep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start offset, end offset and field count of every non-blank record, as pandas' C parser splits them.

    Separators and line breaks inside double quotes do not count (quote parity, as in RFC 4180);
    lines holding only whitespace are skipped, as pandas skips them.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    outside = np.ones(len(buf), dtype=bool)
    if b'"' in data:
        outside = (np.cumsum(buf == ord('"'), dtype=np.int64) & 1) == 0
    ends = np.flatnonzero((buf == ord("\n")) & outside)
    if not len(ends) or ends[-1] != len(buf) - 1:
        ends = np.append(ends, len(buf))  # the last line has no line break
    starts = np.concatenate(([0], ends[:-1] + 1))
    seps = np.concatenate(([0], np.cumsum((buf == ord(sep)) & outside, dtype=np.int64)))
    text = np.concatenate(([0], np.cumsum(~np.isin(buf, _SPACE), dtype=np.int64)))
    keep = text[ends] > text[starts]
    return starts[keep], ends[keep], (seps[ends] - seps[starts] + 1)[keep]


def _field_error(path: Path, kind: str, data: bytes, sep: str, complete: bool = True) -> DataError | None:
    """The first data line whose field count differs from the header's, as a DataError; None if all agree.

    ``complete=False``: ``data`` is the file's head, whose last line may be cut short (not checked).
    """
    starts, ends, counts = records(data, sep)
    if not complete:
        starts, ends, counts = starts[:-1], ends[:-1], counts[:-1]
    bad = np.flatnonzero(counts[1:] != counts[0])
    if not len(bad):
        return None
    k = int(bad[0]) + 1
    line = data[starts[k] : ends[k]].decode("utf-8", "replace").rstrip("\r\n")
    n, got = int(counts[0]), int(counts[k])
    lineno = data.count(b"\n", 0, int(starts[k])) + 1
    why = ""
    if got > n and line.rstrip("\r").endswith(sep):
        why = f"; the last field is empty (a trailing {sep!r})"
    return DataError(
        f"{path}: cannot be read as a {kind[1:].upper()} table with a header row: line {lineno}: "
        f"expected {n} fields (as in the header), got {got}{why}: {line.strip()[:80]!r}"
    )


def _line_of(path: Path, sep: str) -> Callable[[int], int]:
    """Row -> file line (blank lines and quoted line breaks counted), read only when an error needs it."""

    def line_of(row: int) -> int:
        data = read_bytes(path)
        starts = records(data, sep)[0]
        return data.count(b"\n", 0, int(starts[row + 1])) + 1

    return line_of


def read_table(
    path: PathLike,
    user_col: str = "user_id",
    item_col: str = "item_id",
    timestamp_col: str | None = None,
    **filters: Any,
) -> Interactions:
    """CSV / TSV (header row, optionally gzipped) or parquet with named columns."""
    path = check_file(path)
    kind = _table_kind(path)
    if kind == ".parquet":
        try:
            df = pd.read_parquet(path)
        except ImportError as exc:
            raise DataError(f"{path}: reading parquet needs pyarrow ({exc})") from None
        except PermissionError as exc:
            raise os_error(path, exc) from None
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataError(f"{path}: not a readable parquet file ({exc})") from None
        return frame_interactions(df, user_col, item_col, timestamp_col, str(path), first_line=None, **filters)
    sep = "," if kind == ".csv" else "\t"
    head = read_bytes(path, 1 << 16)
    # pandas decides from the first data line whether column 1 is an index: check the head first
    if (error := _field_error(path, kind, head, sep, complete=len(head) < 1 << 16)) is not None:
        raise error
    try:
        # all columns are read: with usecols pandas silently accepts rows with extra fields
        df = pd.read_csv(
            path,
            sep=sep,
            engine="c",
            dtype={user_col: object, item_col: object},  # opaque labels, kept as written (object: fastest)
            compression=compression(path),
            encoding="utf-8",
        )
    except (OSError, *GZIP_ERRORS) as exc:  # gzip.BadGzipFile is an OSError
        raise os_error(path, exc) from None
    except ValueError as exc:  # ParserError, UnicodeDecodeError
        if "fields" in str(exc):
            error = _field_error(path, kind, read_bytes(path), sep)
            if error is not None:
                raise error from None
        msg = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise DataError(f"{path}: cannot be read as a {kind[1:].upper()} table with a header row: {msg}") from None
    for col in {user_col, item_col} & set(df.columns):
        # factorised once (NaN -> code -1): the NaN checks and the labels below then cost little
        codes, uniques = pd.factorize(df[col])
        df[col] = pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object))
    if not isinstance(df.index, pd.RangeIndex) or bool(df.isna().any().any()):
        # short rows are NaN-filled; with one extra field on every row the first column became the index
        if (error := _field_error(path, kind, read_bytes(path), sep)) is not None:
            raise error
    line_of = _line_of(path, sep)
    return frame_interactions(
        df, user_col, item_col, timestamp_col, str(path), first_line=2, text_ids=True, line_of=line_of, **filters
    )
