"""Raw user / item ids as opaque labels: distinct spellings stay distinct labels.

Ids read from text (CSV / TSV tables) are kept exactly as written (``07`` and ``7``, ``1.0`` and
``1`` are different labels); a column is stored as integers only when that loses nothing, i.e.
every label is a canonical integer spelling (no leading zeros, no ``+``, no ``.0``, no spaces).
Ids given in a DataFrame keep their dtype; an object column mixing types is compared as text,
and two different values that would become the same text (``1`` and ``"1"``) are an error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from seqrec.data.interactions import DataError

CANONICAL_INT = r"0|-?[1-9][0-9]{0,19}"  # str(int(s)) == s, and at most 20 digits


def text_labels(values: pd.Series) -> np.ndarray:
    """Labels read as text (no missing values): int64 / uint64 if that is lossless, else str.

    The check runs on the distinct labels only (``pd.factorize``), so it costs little on large files.
    """
    codes, uniques = pd.factorize(values)
    texts = pd.Index(uniques, dtype=str)
    if bool(texts.str.fullmatch(CANONICAL_INT).all()):
        as_text = texts.to_numpy(dtype=str)
        for dtype in (np.int64, np.uint64):
            try:
                return as_text.astype(dtype)[codes]
            except (OverflowError, ValueError):  # beyond the type's range: try the next, then text
                continue
    return texts.to_numpy(dtype=str)[codes]


def _kind(value: object) -> str:
    """The label kind of one value: numpy scalars count as their Python counterparts."""
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def object_labels(values: pd.Series, source: str, col: str, where: Callable[[int], str]) -> np.ndarray:
    """Labels of a non-numeric DataFrame column, as str (mixed types are compared as text).

    Values of different kinds whose text is the same (int ``1`` and str ``"1"``) would silently
    become one label: that raises a DataError naming both rows. Equal values spelled differently
    (``1`` and ``1.0``) stay two labels, ``"1"`` and ``"1.0"``.
    """
    labels = values.astype(str).to_numpy(dtype=str)
    if values.dtype != object or pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty"):
        return labels  # one kind of value: distinct values have distinct text
    codes, uniques = pd.factorize(labels)
    kinds, kind_names = pd.factorize(np.array([_kind(v) for v in values.to_numpy()], dtype=object))
    first = np.unique(codes, return_index=True)[1]  # the first row of every label (codes 0, 1, ...)
    clash = np.flatnonzero(kinds != kinds[first[codes]])
    if len(clash):
        row = int(clash[0])
        other = int(first[codes[row]])
        a, b = values.iloc[other], values.iloc[row]
        raise DataError(
            f"{source}: {where(other)} and {where(row)}: column {col!r} holds {a!r} ({kind_names[kinds[other]]}) "
            f"and {b!r} ({kind_names[kinds[row]]}), which are the same label as text; "
            "give the column one type (e.g. df[col].astype(str))"
        )
    return labels
