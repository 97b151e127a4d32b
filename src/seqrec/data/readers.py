"""Readers: files and DataFrames -> :class:`Interactions`.

Every reader is vectorised (pandas' C parser or numpy over the whole text) and accepts the
filters of :meth:`Interactions.from_arrays` (``min_item_interactions``,
``min_user_interactions``, ``drop_duplicates``). Gzip files are read transparently (detected
by their magic bytes, not their name).

Raw ids are opaque labels: any integer is accepted, negative ones included. Tables with a header
row are read by :mod:`seqrec.data.tables`, file access is checked by :mod:`seqrec.data.files`.

Bad input raises one :class:`DataError` naming the file, the line where there is one, and
what was expected. The fast path only detects *that* something is wrong; the error path then
re-scans the file line by line (slow, but only on failure) to find the first bad line.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqrec.data.files import GZIP_ERRORS, PathLike, check_file, compression, open_data, os_error, read_bytes
from seqrec.data.frames import from_dataframe
from seqrec.data.interactions import DataError, Interactions
from seqrec.data.tables import read_table

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
        with open_data(path) as f:
            for lineno, raw in enumerate(f, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    return DataError(f"{path}: line {lineno}: not UTF-8 text (binary file?); expected {expected}")
                if not line.strip():
                    continue
                fields = split(line)
                if len(fields) != n_fields:
                    empty = len(fields) > n_fields and not fields[-1].strip()
                    why = "; the last field is empty (a trailing separator)" if empty else ""
                    return DataError(
                        f"{path}: line {lineno}: expected {n_fields} fields ({expected}), "
                        f"got {len(fields)}{why}: {line.strip()[:80]!r}"
                    )
                for i in int_fields:
                    if problem := _int_problem(fields[i]):
                        return DataError(
                            f"{path}: line {lineno}: field {i + 1} is {problem}: {fields[i][:40]!r}; "
                            f"expected {expected}"
                        )
    except (OSError, *GZIP_ERRORS) as err:
        return os_error(path, err, after_line=lineno)
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
    path = check_file(path)
    read_bytes(path, 1 << 16)  # empty / binary / broken gzip checks with a clear message
    try:
        df = pd.read_csv(
            path,
            sep=sep,
            header=None,
            dtype={i: np.int64 for i in int_columns},
            engine="c",
            compression=compression(path),
            encoding="utf-8",
        )
    except PermissionError as exc:
        raise os_error(path, exc) from None
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
    path = check_file(path)
    data = read_bytes(path)
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
    path = check_file(path)
    if any(s.lower() in (".csv", ".tsv", ".parquet") for s in path.suffixes):
        return "table"
    lines = [ln for ln in read_bytes(path, 1 << 16).decode("utf-8", "replace").splitlines()[:200] if ln.strip()]
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
