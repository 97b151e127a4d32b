"""Raw user and item ids: vectorised lookup among the fitted ones, the unknown-id error, histories checked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd


class UnknownIdError(KeyError, ValueError):
    """Raw user or item ids that the fitted data does not contain (the message lists some)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


def describe_unknown(ids: np.ndarray, what: str) -> str:
    """``"3 unknown item id(s): 'a', 'b', 'c'"``, at most five shown."""
    shown = ", ".join(repr(x) for x in ids[:5].tolist())
    more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    return f"{len(ids)} unknown {what}: {shown}{more}"


def lookup(keys: np.ndarray, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Positions of raw ``values`` in ``keys`` (unique raw ids) and a found mask, vectorised.

    Numeric keys accept numbers written as text (ids read from a file); other keys are
    compared as strings, as :func:`~seqrec.data.readers.from_dataframe` stores them.
    """
    values = np.asarray(values)
    if keys.dtype.kind in "iuf":
        if values.dtype.kind not in "iuf":
            values = pd.to_numeric(pd.Series(values.astype(str)), errors="coerce").to_numpy()
    else:
        keys, values = keys.astype(str), values.astype(str)
    order = np.argsort(keys, kind="stable")
    where = np.clip(np.searchsorted(keys[order], values), 0, len(keys) - 1)  # [V]
    found = keys[order][where] == values
    return order[where], found


def history_items(label: Any, history: Any) -> list[Any]:
    """One history as a list of raw item ids; a string or a single id is refused, never split into characters."""
    if isinstance(history, str | bytes) or np.isscalar(history) or not isinstance(history, Iterable):
        raise ValueError(
            f"history {label!r} is {type(history).__name__} {history!r}, not a list of item ids "
            f"(for one item write [{history!r}])"
        )
    return list(history)
