"""DataFrames -> :class:`Interactions`: named columns checked row by row for missing or empty values.

Used by :func:`seqrec.data.readers.read_table` (files with a header row) and by the estimator
(``fit(df)``); errors name the source and the file line (or DataFrame row) of the first bad value.
Ids are opaque labels (:mod:`seqrec.data.labels`); date strings get one format per column
(:mod:`seqrec.data.dates`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from seqrec.data.dates import parse_dates
from seqrec.data.interactions import DataError, Interactions
from seqrec.data.labels import object_labels, text_labels


def from_dataframe(
    df: pd.DataFrame,
    user_col: str = "user_id",
    item_col: str = "item_id",
    timestamp_col: str | None = None,
    **filters: Any,
) -> Interactions:
    """Interactions from a DataFrame's named columns; without ``timestamp_col`` row order is time order.

    Id columns keep their dtype; a str / object column gives str labels, each value as written
    (``"07"`` and ``"7"``, ``1`` and ``1.0`` stay distinct); int ``1`` next to str ``"1"`` is a DataError.
    """
    return frame_interactions(df, user_col, item_col, timestamp_col, "<DataFrame>", first_line=None, **filters)


def frame_interactions(
    df: pd.DataFrame,
    user_col: str,
    item_col: str,
    timestamp_col: str | None,
    source: str,
    first_line: int | None,
    *,
    text_ids: bool = False,
    line_of: Callable[[int], int] | None = None,
    **filters: Any,
) -> Interactions:
    """Shared by tables read from files and DataFrames; ``first_line`` is the file line of row 0, if any.

    ``text_ids``: the id columns were read as text from a file (kept as written, integers only if
    lossless). ``line_of`` maps a row to its file line where rows and lines do not simply follow
    each other (blank lines, quoted line breaks).
    """

    def where(row: int) -> str:
        if line_of is not None:
            return f"line {line_of(row)}"
        return f"line {row + first_line}" if first_line is not None else f"row {row}"

    wanted = [c for c in (user_col, item_col, timestamp_col) if c is not None]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; the columns are {[str(c) for c in df.columns]}")
    if len(df) == 0:
        raise DataError(f"{source}: no rows")
    arrays = []
    for col in wanted:
        values = df[col]
        na = values.isna().to_numpy()
        if na.any():
            raise DataError(f"{source}: {where(int(np.flatnonzero(na)[0]))}: missing value in column {col!r}")
        if col == timestamp_col:
            arrays.append(_timestamps(values, source, where))
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            arrays.append(values.to_numpy())
        elif text_ids:
            labels = text_labels(values)
            if labels.dtype.kind == "U" and (blank := np.char.str_len(np.char.strip(labels)) == 0).any():
                raise DataError(f"{source}: {where(int(np.flatnonzero(blank)[0]))}: empty value in column {col!r}")
            arrays.append(labels)
        else:  # opaque labels: strings (mixed types are compared as strings, never merged)
            labels = object_labels(values, source, col, where)
            blank = np.char.str_len(np.char.strip(labels)) == 0
            if blank.any():
                raise DataError(f"{source}: {where(int(np.flatnonzero(blank)[0]))}: empty value in column {col!r}")
            arrays.append(labels)
    timestamps = arrays[2] if timestamp_col is not None else None
    return Interactions.from_arrays(arrays[0], arrays[1], timestamps, source=source, **filters)


def _timestamps(values: pd.Series, source: str, where: Callable[[int], str]) -> np.ndarray:
    """Numeric timestamps as they are; datetimes (or date strings, one format per column) as int64 ns."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy()
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):  # text: numbers or dates
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna().to_numpy()
        if not bad.any():
            return numbers.to_numpy()
        if not bad[0]:  # a column of numbers: report the first non-number
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: {where(row)}: timestamp {str(values.iloc[row])[:40]!r} is neither a number nor a date"
            )
        kind = pd.api.types.infer_dtype(values, skipna=False)
        if kind in ("datetime", "datetime64", "date"):  # datetime objects in an object column
            values = pd.to_datetime(values, utc=True)
        else:
            values = parse_dates(values, source, where)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]").astype(np.int64)
