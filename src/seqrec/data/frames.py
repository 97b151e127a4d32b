"""DataFrames -> :class:`Interactions`: named columns checked row by row for missing or empty values.

Used by :func:`seqrec.data.readers.read_table` (files with a header row) and by the estimator
(``fit(df)``); errors name the source and the file line (or DataFrame row) of the first bad value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from seqrec.data.interactions import DataError, Interactions


def from_dataframe(
    df: pd.DataFrame,
    user_col: str = "user_id",
    item_col: str = "item_id",
    timestamp_col: str | None = None,
    **filters: Any,
) -> Interactions:
    """Interactions from a DataFrame's named columns; without ``timestamp_col`` row order is time order."""
    return frame_interactions(df, user_col, item_col, timestamp_col, "<DataFrame>", first_line=None, **filters)


def frame_interactions(
    df: pd.DataFrame,
    user_col: str,
    item_col: str,
    timestamp_col: str | None,
    source: str,
    first_line: int | None,
    **filters: Any,
) -> Interactions:
    """Shared by tables read from files and DataFrames; ``first_line`` is the file line of row 0, if any."""

    def where(row: int) -> str:
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
        else:  # opaque labels: strings (mixed types are compared as strings)
            labels = values.astype(str).to_numpy(dtype=str)
            blank = np.char.str_len(np.char.strip(labels)) == 0
            if blank.any():
                raise DataError(f"{source}: {where(int(np.flatnonzero(blank)[0]))}: empty value in column {col!r}")
            arrays.append(labels)
    timestamps = arrays[2] if timestamp_col is not None else None
    return Interactions.from_arrays(arrays[0], arrays[1], timestamps, source=source, **filters)


def _timestamps(values: pd.Series, source: str, where: Callable[[int], str]) -> np.ndarray:
    """Numeric timestamps as they are; datetimes (or date strings) as int64 nanoseconds."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy()
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):  # text: numbers or dates
        numbers = pd.to_numeric(values, errors="coerce")
        if not numbers.isna().any():
            return numbers.to_numpy()
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        bad = parsed.isna().to_numpy()
        if bad.any():
            if numbers.isna().sum() < bad.sum():  # mostly numbers: report the first non-number
                bad = numbers.isna().to_numpy()
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{source}: {where(row)}: timestamp {str(values.iloc[row])[:40]!r} is neither a number nor a date"
            )
        values = parsed
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]").astype(np.int64)
