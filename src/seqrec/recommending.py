"""Top-K recommendations of a fitted estimator, in raw ids: for known users, and for fresh histories.

:class:`Recommending` is the part of :class:`seqrec.estimator.SequentialRecommender` that
scores: it needs the fitted network, data and item counts (``_fitted``), the config and the
column names, and adds ``recommend`` and ``recommend_for_histories``.

Item filters (``items``: an allow-list, ``exclude``: a block-list) become one boolean mask
[I + 1] per call, applied to every score matrix before the top-k and to the popularity
fallback, so no Python loop runs over users.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqrec.config import Config
from seqrec.data.interactions import Interactions
from seqrec.evaluation import score_histories
from seqrec.ids import UnknownIdError, describe_unknown, history_items, lookup
from seqrec.models.base import SequenceModel

FILTER_MODES = ("error", "warn")
"""Values of ``unknown_items_in_filters``: raise :class:`UnknownIdError`, or warn and ignore those ids."""


def as_id_array(values: Any) -> np.ndarray:
    """Raw ids as a 1-d array; a bare string or scalar is one id, never split into characters."""
    if isinstance(values, str | bytes) or np.isscalar(values):
        return np.asarray([values])
    return np.asarray(values if isinstance(values, np.ndarray | pd.Series) else list(values))


class Recommending:
    """Recommendation methods over ``_fitted()``: (network, fitted interactions, item counts [I + 1])."""

    config: Config

    @property
    def user_col(self) -> str:
        return self.config.data.user_col

    @property
    def item_col(self) -> str:
        return self.config.data.item_col

    def _fitted(self) -> tuple[SequenceModel, Interactions, np.ndarray]:
        raise NotImplementedError

    def _filter_ids(self, values: Any, name: str, unknown: str) -> np.ndarray:
        """Internal ids of the raw item ids in one filter list; unknown ones raise or warn (``unknown``)."""
        _, data, _ = self._fitted()
        wanted = as_id_array(values)
        if len(wanted) == 0:
            return np.zeros(0, dtype=np.int64)
        index, found = lookup(data.item_ids[1:], wanted)
        if not found.all():
            message = describe_unknown(pd.unique(wanted[~found]), "item id(s)") + f" in {name}"
            if unknown == "error":
                raise UnknownIdError(message + "; pass unknown_items_in_filters='warn' to ignore them")
            warnings.warn(message + " were ignored", stacklevel=4)
        return index[found] + 1

    def _item_mask(self, items: Any, exclude: Any, unknown: str) -> np.ndarray | None:
        """Which items may be recommended: bool [I + 1] (padding False), or None when no filter is given.

        An allow-list with no known item, or filters that leave nothing, is a ValueError.
        """
        if unknown not in FILTER_MODES:
            raise ValueError(f"unknown_items_in_filters must be 'error' or 'warn', not {unknown!r}")
        if items is None and exclude is None:
            return None
        _, data, _ = self._fitted()
        allowed = np.zeros(data.n_items + 1, dtype=bool)  # [I + 1]
        if items is None:
            allowed[1:] = True
        else:
            allowed[self._filter_ids(items, "items (the allow-list)", unknown)] = True
            if not allowed.any():
                raise ValueError("items (the allow-list) holds no item of the model's catalog: nothing to recommend")
        if exclude is not None:
            allowed[self._filter_ids(exclude, "exclude", unknown)] = False
            if not allowed.any():
                raise ValueError("exclude removes every item that items (or the catalog) allows: nothing to recommend")
        return allowed

    @torch.no_grad()
    def _top_k(
        self,
        items: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        k: int,
        filter_seen: bool,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` internal items and scores [R, k] for the histories ``items[starts[r]:ends[r]]``.

        Slots with no candidate left (a user who has seen nearly everything, or every item
        ``allowed`` [I + 1] lets through) score -inf. Rows are batched by similar length so
        that trimming padding saves work.
        """
        model, data, _ = self._fitted()
        device = torch.device(self.config.train.device)
        top_items = np.zeros((len(starts), k), dtype=np.int64)  # [R, k]
        top_scores = np.full((len(starts), k), -np.inf, dtype=np.float32)  # [R, k]
        batches = score_histories(
            model, items, starts, ends, data.n_items, filter_seen, self.config.eval.batch_size, device
        )
        blocked = None if allowed is None else torch.from_numpy(~allowed).to(device)  # [I + 1]
        for rows, scores in batches:
            if blocked is not None:
                scores.masked_fill_(blocked, float("-inf"))  # [B, I + 1], the mask broadcast over rows
            values, indices = scores.topk(k, dim=1)  # [B, k]
            top_items[rows], top_scores[rows] = indices.cpu().numpy(), values.cpu().numpy()
        return top_items, top_scores

    def _popular(self, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most frequent items of the fitted data (ties by internal id) and their counts.

        Items that ``allowed`` [I + 1] keeps out come last and score -inf (dropped from the table).
        """
        _, _, counts = self._fitted()
        keys = -counts[1:].astype(np.float64)  # [I]
        if allowed is not None:
            keys[~allowed[1:]] = np.inf
        top = np.argsort(keys, kind="stable")[:k] + 1  # [k]
        scores = counts[top].astype(np.float32)  # [k]
        if allowed is not None:
            scores[~allowed[top]] = -np.inf
        return top, scores

    @staticmethod
    def _clamp_k(k: int, n_items: int, allowed: np.ndarray | None) -> int:
        """``k`` within [0, the number of candidate items]."""
        return max(0, min(k, n_items if allowed is None else int(allowed.sum())))

    def _frame(self, labels: Any, top_items: np.ndarray, top_scores: np.ndarray) -> pd.DataFrame:
        """Long table: one row per (user, recommended item), rank 1-based; -inf slots dropped."""
        _, data, _ = self._fitted()
        k = top_items.shape[1]
        keep = np.isfinite(top_scores).ravel()
        users = pd.Series(labels, dtype=object).infer_objects().to_numpy()
        return pd.DataFrame(
            {
                self.user_col: np.repeat(users, k)[keep],
                self.item_col: data.item_ids[top_items.ravel()[keep]],
                "score": top_scores.ravel()[keep],
                "rank": np.tile(np.arange(1, k + 1), len(top_items))[keep],
            }
        )

    def recommend(
        self,
        users: Iterable[Any] | None = None,
        k: int = 10,
        filter_seen: bool = True,
        on_unknown: str = "error",
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
        unknown_items_in_filters: str = "error",
    ) -> pd.DataFrame:
        """Top-``k`` items for raw user ids (one id, a list, ``None``: every fitted user), from their full history.

        Returns columns ``[user_col, item_col, "score", "rank"]``, users in the given order.
        ``on_unknown``: "error" raises :class:`UnknownIdError` (a KeyError and a ValueError),
        "skip" leaves such users out, "popular" gives them the most frequent items of the
        fitted data (scored by their count; seen filtering does not apply).

        ``items`` (raw item ids) restricts the candidates to that allow-list, ``exclude`` removes
        items; both apply to the popularity fallback too. A user with fewer than ``k`` candidates
        left gets fewer rows. Unknown ids in them raise :class:`UnknownIdError`, or with
        ``unknown_items_in_filters="warn"`` a warning; an allow-list with no known item is an error.
        """
        if on_unknown not in ("error", "skip", "popular"):
            raise ValueError(f"on_unknown must be 'error', 'skip' or 'popular', not {on_unknown!r}")
        allowed = self._item_mask(items, exclude, unknown_items_in_filters)  # [I + 1] or None
        _, data, _ = self._fitted()
        wanted = data.user_ids if users is None else as_id_array(users)
        index, found = lookup(data.user_ids, wanted)
        if not found.all():
            if on_unknown == "error":
                raise UnknownIdError(
                    describe_unknown(wanted[~found], "user id(s)")
                    + "; pass on_unknown='popular' or 'skip' to recommend anyway"
                )
            if on_unknown == "skip":
                wanted, index, found = wanted[found], index[found], found[found]
        k = self._clamp_k(k, data.n_items, allowed)
        top_items = np.zeros((len(wanted), k), dtype=np.int64)  # [R, k]
        top_scores = np.zeros((len(wanted), k), dtype=np.float32)  # [R, k]
        known = index[found]
        top_items[found], top_scores[found] = self._top_k(
            data.items, data.offsets[known], data.offsets[known + 1], k, filter_seen, allowed
        )
        top_items[~found], top_scores[~found] = self._popular(k, allowed)
        labels = np.asarray(wanted, dtype=object).copy()
        labels[found] = data.user_ids[known]  # the fitted raw ids, e.g. ints for ids read as text
        return self._frame(labels, top_items, top_scores)

    def recommend_for_histories(
        self,
        histories: Mapping[Any, Sequence[Any]] | Sequence[Sequence[Any]],
        k: int = 10,
        filter_seen: bool = True,
        unknown_items: str = "warn",
        items: Iterable[Any] | None = None,
        exclude: Iterable[Any] | None = None,
        unknown_items_in_filters: str = "error",
    ) -> pd.DataFrame:
        """Top-``k`` items for fresh histories of raw item ids (oldest first), without retraining.

        ``histories`` maps a label to its items (the label fills ``user_col``) or is a list
        (labels 0, 1, ...). Items the model does not know are dropped, with a warning
        (``unknown_items="warn"``), silently ("ignore") or raise :class:`UnknownIdError`
        ("error"). A history left empty gets the most frequent items. ``items``, ``exclude`` and
        ``unknown_items_in_filters`` filter the candidates as in :meth:`recommend`.
        """
        if unknown_items not in ("warn", "ignore", "error"):
            raise ValueError(f"unknown_items must be 'warn', 'ignore' or 'error', not {unknown_items!r}")
        allowed = self._item_mask(items, exclude, unknown_items_in_filters)  # [I + 1] or None
        _, data, _ = self._fitted()
        if isinstance(histories, str | bytes):
            raise ValueError("histories is one string; pass a list of histories or a dict of label -> list of item ids")
        if isinstance(histories, Mapping):
            labels: list[Any] = list(histories.keys())
            raw = list(histories.values())
        else:
            labels, raw = list(range(len(histories))), list(histories)
        sequences = [history_items(label, history) for label, history in zip(labels, raw, strict=True)]
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)  # [R]
        flat = np.asarray([x for s in sequences for x in s])  # [N] raw items
        rows = np.repeat(np.arange(len(sequences)), lengths)  # [N]
        index, found = lookup(data.item_ids[1:], flat) if len(flat) else (flat.astype(np.int64), flat.astype(bool))
        if not found.all():
            message = describe_unknown(np.unique(flat[~found]), "item id(s)") + " in the histories"
            if unknown_items == "error":
                raise UnknownIdError(message)
            if unknown_items == "warn":
                warnings.warn(message + " were dropped", stacklevel=2)
        internal = index[found] + 1  # internal ids
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[found], minlength=len(sequences)), out=offsets[1:])
        nonempty = offsets[1:] > offsets[:-1]  # [R]
        k = self._clamp_k(k, data.n_items, allowed)
        top_items = np.zeros((len(sequences), k), dtype=np.int64)  # [R, k]
        top_scores = np.zeros((len(sequences), k), dtype=np.float32)  # [R, k]
        top_items[nonempty], top_scores[nonempty] = self._top_k(
            internal, offsets[:-1][nonempty], offsets[1:][nonempty], k, filter_seen, allowed
        )
        top_items[~nonempty], top_scores[~nonempty] = self._popular(k, allowed)
        return self._frame(np.asarray(labels, dtype=object), top_items, top_scores)
