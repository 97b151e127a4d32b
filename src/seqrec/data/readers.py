"""Readers: files and DataFrames -> :class:`Interactions`.

Every reader is vectorised (pandas' C parser or numpy over the whole text) and accepts the
filters of :meth:`Interactions.from_arrays` (``min_item_interactions``,
``min_user_interactions``, ``drop_duplicates``). Gzip files are read transparently (detected
by their magic bytes, not their name).

Raw ids are opaque labels: any integer is accepted, negative ones included.

Bad input raises one :class:`DataError` naming the file, the line where there is one, and
what was expected. The fast path only detects *that* something is wrong; the error path then
re-scans the file line by line (slow, but only on failure) to find the first bad line.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqrec.data.frames import frame_interactions, from_dataframe
from seqrec.data.interactions import DataError, Interactions

PathLike = str | Path
# ParserError and UnicodeDecodeError are ValueErrors, BadGzipFile an OSError
_READ_ERRORS = (ValueError, OverflowError, EOFError, OSError, zlib.error)
_WHITESPACE = np.frombuffer(b" \t\n\r\x0b\x0c", dtype=np.uint8)

__all__ = [
    "FORMATS",
    "from_dataframe",
    "guess_format",
    "read_grouplens_dat",
    "read_interactions",
    "read_movielens_udata",
    "read_pairs",
    "read_table",
    "read_user_lines",
]


# --------------------------------------------------------------------------- file access


def _check_file(path: PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    return path


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.GzipFile(path, "rb") if _is_gzip(path) else open(path, "rb")


def _read_bytes(path: Path, limit: int = -1) -> bytes:
    """The (decompressed) bytes of a file, or its first ``limit`` bytes; checks text-ness."""
    try:
        with _open(path) as f:
            data = f.read(limit)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: truncated or corrupt gzip file ({exc})") from None
    if not data.strip():
        raise DataError(f"{path}: file is empty")
    if b"\x00" in data:
        raise DataError(f"{path}: binary data (NUL bytes), expected a text file")
    return data


def _compression(path: Path) -> str | None:
    return "gzip" if _is_gzip(path) else None


# --------------------------------------------------------------------------- line formats


def _scan_for_bad_line(
    path: Path,
    split: Callable[[str], list[str]],
    n_fields: int,
    int_fields: Sequence[int],
    expected: str,
    exc: BaseException,
) -> DataError:
    """Slow error path: find the first line that does not match the format, and say why."""
    lineno = 0
    try:
        with _open(path) as f:
            for lineno, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    return DataError(f"{path}: line {lineno}: not UTF-8 text (binary file?); expected {expected}")
                if not line.strip():
                    continue
                fields = split(line)
                if len(fields) != n_fields:
                    return DataError(
                        f"{path}: line {lineno}: expected {n_fields} fields ({expected}), "
                        f"got {len(fields)}: {line.strip()[:80]!r}"
                    )
                for i in int_fields:
                    if problem := _int_problem(fields[i]):
                        return DataError(
                            f"{path}: line {lineno}: field {i + 1} is {problem}: {fields[i][:40]!r}; "
                            f"expected {expected}"
                        )
    except (EOFError, OSError, zlib.error) as err:
        return DataError(f"{path}: truncated or corrupt gzip file after line {lineno} ({err})")
    return DataError(f"{path}: cannot be read as {expected}: {exc}")


def _read_fields(
    path: PathLike,
    *,
    sep: str,
    split: Callable[[str], list[str]],
    n_fields: int,
    int_fields: Sequence[int],
    expected: str,
    columns: int | None = None,
    int_columns: Sequence[int] | None = None,
) -> tuple[Path, pd.DataFrame]:
    """Read a headerless delimited file with pandas' C parser into ``columns`` columns.

    ``split``, ``n_fields`` and ``int_fields`` describe a line for the slow error path;
    ``columns`` and ``int_columns`` (default: the same) are what pandas sees with ``sep``.
    """
    columns = n_fields if columns is None else columns
    int_columns = int_fields if int_columns is None else int_columns
    scan = (split, n_fields, int_fields, expected)
    path = _check_file(path)
    _read_bytes(path, 1 << 16)  # empty / binary / broken gzip checks with a clear message
    try:
        df = pd.read_csv(
            path,
            sep=sep,
            header=None,
            dtype={i: np.int64 for i in int_columns},
            engine="c",
            compression=_compression(path),
            encoding="utf-8",
        )
    except _READ_ERRORS as exc:
        raise _scan_for_bad_line(path, *scan, exc) from None
    if df.shape[1] != columns:  # e.g. every line has one field too many: pandas reads it happily
        raise _scan_for_bad_line(path, *scan, ValueError(f"{df.shape[1]} columns"))
    return path, df


def read_pairs(path: PathLike, **filters: Any) -> Interactions:
    """``user item`` per line (whitespace separated integers); file order is the time order."""
    path, df = _read_fields(
        path,
        sep=r"\s+",
        split=str.split,
        n_fields=2,
        int_fields=(0, 1),
        expected="'user item' integers",
    )
    return Interactions.from_arrays(df[0].to_numpy(), df[1].to_numpy(), source=str(path), **filters)


def read_movielens_udata(path: PathLike, **filters: Any) -> Interactions:
    """MovieLens-100K ``u.data``: tab separated ``user item rating timestamp``; sorted by time."""
    path, df = _read_fields(
        path,
        sep="\t",
        split=lambda s: s.rstrip("\r\n").split("\t"),
        n_fields=4,
        int_fields=(0, 1, 3),
        expected="tab separated 'user item rating timestamp'",
    )
    return Interactions.from_arrays(
        df[0].to_numpy(),
        df[1].to_numpy(),
        df[3].to_numpy(),
        source=str(path),
        **filters,
    )


def read_grouplens_dat(path: PathLike, **filters: Any) -> Interactions:
    """GroupLens ``UserID::MovieID::Rating::Timestamp`` (ML-1M/10M ``ratings.dat``); sorted by time.

    pandas' C parser takes only one-character separators, so ``::`` is read as ``:`` with an
    empty field between each pair: 7 columns, of which 0, 2, 4, 6 hold data.
    """
    scan = (_split_dat, 4, (0, 1, 3), "'UserID::MovieID::Rating::Timestamp'")
    path, df = _read_fields(
        path,
        sep=":",
        split=_split_dat,
        n_fields=4,
        int_fields=(0, 1, 3),
        expected=scan[3],
        columns=7,
        int_columns=(0, 2, 6),
    )
    if not df[[1, 3, 5]].isna().all().all():  # a single ':' somewhere shifted the fields
        raise _scan_for_bad_line(path, *scan, ValueError("misplaced ':'"))
    return Interactions.from_arrays(
        df[0].to_numpy(),
        df[2].to_numpy(),
        df[6].to_numpy(),
        source=str(path),
        **filters,
    )


def _split_dat(line: str) -> list[str]:
    return line.rstrip("\r\n").split("::")


def read_user_lines(path: PathLike, **filters: Any) -> Interactions:
    """``user item1 item2 ...`` per line (items oldest first), vectorised over the whole text.

    Token starts are found with numpy on the raw bytes, so each token's line number is known
    without a Python loop; ``bytes.split`` yields the same tokens in the same order.
    """
    path = _check_file(path)
    data = _read_bytes(path)
    buf = np.frombuffer(data, dtype=np.uint8)
    space = np.isin(buf, _WHITESPACE)
    starts = np.flatnonzero(~space & np.concatenate(([True], space[:-1])))
    token_line = np.cumsum(buf == ord("\n"))[starts]  # 0-based line of every token
    tokens = data.split()
    try:
        values = np.array(tokens).astype(np.int64)
    except (ValueError, OverflowError):
        k = next(k for k, t in enumerate(tokens) if _int_problem(t))
        raise DataError(
            f"{path}: line {token_line[k] + 1}: {_int_problem(tokens[k])}: {tokens[k][:40]!r}; "
            "expected 'user item1 item2 ...' integers"
        ) from None
    first = np.concatenate(([True], token_line[1:] != token_line[:-1]))  # the user id of each line
    first_idx = np.flatnonzero(first)
    per_line = np.diff(np.append(first_idx, len(tokens)))
    if (per_line < 2).any():
        line = token_line[first_idx[np.flatnonzero(per_line < 2)[0]]] + 1
        raise DataError(f"{path}: line {line}: a user id with no items; expected 'user item1 item2 ...'")
    users = np.repeat(values[first], per_line - 1)
    return Interactions.from_arrays(users, values[~first], source=str(path), **filters)


def _int_problem(token: str | bytes) -> str | None:
    """Why ``token`` is not an int64 id ("not an integer", out of range), or None if it is one."""
    try:
        value = int(token)
    except ValueError:
        return "not an integer"
    if not -(2**63) <= value < 2**63:
        return "an integer outside the int64 range"
    return None


# --------------------------------------------------------------------------- named columns


def _table_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    kind = suffixes[-1] if suffixes else ""
    if kind not in (".csv", ".tsv", ".parquet"):
        raise DataError(f"{path}: a table must end in .csv, .tsv or .parquet (optionally .gz)")
    return kind


def read_table(
    path: PathLike,
    user_col: str = "user_id",
    item_col: str = "item_id",
    timestamp_col: str | None = None,
    **filters: Any,
) -> Interactions:
    """CSV / TSV (header row, optionally gzipped) or parquet with named columns."""
    path = _check_file(path)
    kind = _table_kind(path)
    if kind == ".parquet":
        try:
            df = pd.read_parquet(path)
        except ImportError as exc:
            raise DataError(f"{path}: reading parquet needs pyarrow ({exc})") from None
        except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataError(f"{path}: not a readable parquet file ({exc})") from None
        return frame_interactions(df, user_col, item_col, timestamp_col, str(path), first_line=None, **filters)
    _read_bytes(path, 1 << 16)
    try:
        # all columns are read: with usecols pandas silently accepts rows with extra fields
        df = pd.read_csv(
            path,
            sep="," if kind == ".csv" else "\t",
            engine="c",
            compression=_compression(path),
            encoding="utf-8",
        )
    except (EOFError, zlib.error, OSError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: truncated or corrupt gzip file ({exc})") from None
    except ValueError as exc:  # ParserError, UnicodeDecodeError
        msg = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise DataError(f"{path}: cannot be read as a {kind[1:].upper()} table with a header row: {msg}") from None
    return frame_interactions(df, user_col, item_col, timestamp_col, str(path), first_line=2, **filters)


# --------------------------------------------------------------------------- dispatch

FORMATS: dict[str, Callable[..., Interactions]] = {
    "pairs": read_pairs,
    "user_lines": read_user_lines,
    "grouplens": read_grouplens_dat,
    "udata": read_movielens_udata,
    "table": read_table,
}


def guess_format(path: PathLike) -> str:
    """Format name from the file name (.csv/.tsv/.parquet -> table) or else its first lines.

    ``::`` -> grouplens; 4 tab separated fields -> udata; every line of the first 200 has 2
    fields -> pairs; lines with 2 or more fields -> user_lines.
    """
    path = _check_file(path)
    if any(s.lower() in (".csv", ".tsv", ".parquet") for s in path.suffixes):
        return "table"
    lines = [ln for ln in _read_bytes(path, 1 << 16).decode("utf-8", "replace").splitlines()[:200] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut short by the 64 KiB read
    if "::" in lines[0]:
        return "grouplens"
    if len(lines[0].rstrip().split("\t")) == 4:
        return "udata"
    counts = {len(ln.split()) for ln in lines}
    if counts == {2}:
        return "pairs"
    if min(counts) >= 2:
        return "user_lines"
    raise DataError(f"{path}: cannot guess the format from the first lines; pass fmt= one of {sorted(FORMATS)}")


def read_interactions(path: PathLike, fmt: str = "auto", **kwargs: Any) -> Interactions:
    """Read ``path`` in format ``fmt`` (one of :data:`FORMATS`, or "auto" to guess it)."""
    if fmt == "auto":
        fmt = guess_format(path)
    if fmt not in FORMATS:
        raise DataError(f"{path}: unknown format {fmt!r}; known: {', '.join(FORMATS)} or 'auto'")
    return FORMATS[fmt](path, **kwargs)
