"""Date strings -> one date format for the whole column, never a per-row guess.

ISO 8601 is tried first. Day/month/year versus month/day/year (``05/01/2024``) is decided once
for the column: a first field above 12 proves day-first, a second field above 12 month-first;
both in one column, or neither, is a DataError (ambiguous dates are never guessed). Every value
must then parse with the column's format; the first one that does not names its line.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from seqrec.data.interactions import DataError

# d/m/y or m/d/y (separator / . or -), 2- or 4-digit year, optional time after a space or T
_DMY = r"\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T].*)?"
_FIX = "write ISO 8601 dates (2024-01-05) or numeric timestamps"


def parse_dates(values: pd.Series, source: str, where: Callable[[int], str]) -> pd.Series:
    """Text dates as a UTC datetime Series, all parsed with one inferred format."""
    text = values.astype(str)
    first = text.iloc[0]

    def fail(row: int, why: str) -> DataError:
        return DataError(f"{source}: {where(row)}: timestamp {text.iloc[row][:40]!r} {why}")

    def parsed_or_fail(parsed: pd.Series, fmt: str) -> pd.Series:
        bad = parsed.isna().to_numpy()
        if bad.any():
            raise fail(int(np.flatnonzero(bad)[0]), f"does not match the column's date format {fmt} (of {first!r})")
        return parsed

    iso = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    if not iso.isna().iloc[0]:
        return parsed_or_fail(iso, "ISO 8601")
    parts = text.str.extract(f"^{_DMY}$")
    if not parts[0].isna().iloc[0]:
        return parsed_or_fail(_day_month(text, parts, source, where), "day/month/year or month/day/year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about dayfirst for formats it guesses
        fmt = guess_datetime_format(first)
    if fmt is None:
        raise fail(0, "is neither a number nor a date")
    return parsed_or_fail(pd.to_datetime(text, format=fmt, utc=True, errors="coerce"), fmt)


def _day_month(text: pd.Series, parts: pd.DataFrame, source: str, where: Callable[[int], str]) -> pd.Series:
    """Parse d/m/y or m/d/y dates once the column's order is proven by some value; else a DataError."""
    unmatched = parts[0].isna().to_numpy()
    if unmatched.any():
        row = int(np.flatnonzero(unmatched)[0])
        raise DataError(
            f"{source}: {where(row)}: timestamp {text.iloc[row][:40]!r} is not a date like {text.iloc[0]!r} "
            "(the column's format)"
        )
    a = parts[0].astype(np.int64).to_numpy()
    b = parts[2].astype(np.int64).to_numpy()
    day_first, month_first = np.flatnonzero(a > 12), np.flatnonzero(b > 12)
    if len(day_first) and len(month_first):
        d, m = int(day_first[0]), int(month_first[0])
        raise DataError(
            f"{source}: dates are day/month/year on {where(d)} ({text.iloc[d]!r}) but month/day/year on "
            f"{where(m)} ({text.iloc[m]!r}); {_FIX}"
        )
    if not len(day_first) and not len(month_first):
        raise DataError(
            f"{source}: {where(0)}: dates like {text.iloc[0]!r} are ambiguous: no value shows whether they are "
            f"day/month/year or month/day/year; {_FIX}"
        )
    dayfirst = bool(len(day_first))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt = guess_datetime_format(text.iloc[0], dayfirst=dayfirst)
        if fmt is not None:
            return pd.to_datetime(text, format=fmt, utc=True, errors="coerce")
        # single-digit days or months: every value matched the pattern and none contradicts the order
        return pd.to_datetime(text, format="mixed", dayfirst=dayfirst, utc=True, errors="coerce")
