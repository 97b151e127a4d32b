"""Files the command line reads and writes besides data and models: id lists and result tables.

Id lists (``--users``, ``--items``, ``--exclude``) are one id per line, or a .csv/.tsv/.parquet
file with a named column; result tables are written to .csv, .tsv or .parquet atomically.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from seqrec.data.files import check_file
from seqrec.data.interactions import DataError
from seqrec.io import replace_atomic


def checked_path(spec: str, flag: str, hint: str = "") -> Path:
    """``spec`` as an existing readable file; else a DataError starting with ``flag`` (and ending with ``hint``)."""
    try:
        return check_file(spec)  # missing, a directory, a pipe or unreadable: said as such
    except DataError as error:
        raise DataError(f"{flag}: {error}{hint}") from None


def read_ids(path: Path, what: str, columns: Sequence[str]) -> list[str]:
    """Ids as text: the first of ``columns`` that a .csv/.tsv/.parquet file has, else one id per line."""
    suffixes = [s.lower() for s in path.suffixes]
    if ".csv" not in suffixes and ".tsv" not in suffixes and ".parquet" not in suffixes:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip()]
    if ".parquet" in suffixes:
        try:
            table = pd.read_parquet(path).astype(str)
        except ImportError:
            raise ValueError(f"{path}: reading parquet needs pyarrow (pip install 'seqrec[parquet]')") from None
    else:
        table = pd.read_csv(path, sep="\t" if ".tsv" in suffixes else ",", dtype=str)
    column = next((c for c in columns if c in table.columns), None)
    if column is None:
        names = [repr(c) for c in columns]
        listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        raise ValueError(f"{path}: no {what} column ({listed}); has {list(table.columns)}")
    return table[column].dropna().tolist()


def check_out_file(out: Path) -> None:
    """``--out`` must name a file, not a directory."""
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory; --out names the file to write", str(out))


def write_table(table: pd.DataFrame, out: Path) -> None:
    """Write ``table`` to a .csv, .tsv or .parquet file atomically (a temporary file, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        if out.suffix.lower() != ".parquet":
            table.to_csv(tmp, index=False, sep="\t" if out.suffix.lower() == ".tsv" else ",")
            return
        try:
            table.to_parquet(tmp, index=False)
        except ImportError as error:
            raise ValueError(f"{out}: writing parquet needs pyarrow (pip install 'seqrec[parquet]'): {error}") from None

    replace_atomic(out, write)
