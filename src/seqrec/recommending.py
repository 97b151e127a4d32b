"""Top-K recommendations of a fitted estimator, in raw ids: for known users, and for fresh histories.

:class:`Recommending` is the part of :class:`seqrec.estimator.SequentialRecommender` that
scores: it needs the fitted network, data and item counts (``_fitted``), the config and the
column names, and adds ``recommend`` and ``recommend_for_histories``.
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

    @torch.no_grad()
    def _top_k(
        self, items: np.ndarray, starts: np.ndarray, ends: np.ndarray, k: int, filter_seen: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` internal items and scores [R, k] for the histories ``items[starts[r]:ends[r]]``.

        Slots with no candidate left (a user who has seen nearly everything) score -inf.
        Rows are batched by similar length so that trimming padding saves work.
        """
        model, data, _ = self._fitted()
        device = torch.device(self.config.train.device)
        top_items = np.zeros((len(starts), k), dtype=np.int64)  # [R, k]
        top_scores = np.full((len(starts), k), -np.inf, dtype=np.float32)  # [R, k]
        batches = score_histories(
            model, items, starts, ends, data.n_items, filter_seen, self.config.eval.batch_size, device
        )
        for rows, scores in batches:
            values, indices = scores.topk(k, dim=1)  # [B, k]
            top_items[rows], top_scores[rows] = indices.cpu().numpy(), values.cpu().numpy()
        return top_items, top_scores

    def _popular(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` most frequent items of the fitted data (ties by internal id) and their counts."""
        _, _, counts = self._fitted()
        top = np.argsort(-counts[1:], kind="stable")[:k] + 1  # [k]
        return top, counts[top].astype(np.float32)

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
    ) -> pd.DataFrame:
        """Top-``k`` items for raw user ids (one id, a list, ``None``: every fitted user), from their full history.

        Returns columns ``[user_col, item_col, "score", "rank"]``, users in the given order.
        ``on_unknown``: "error" raises :class:`UnknownIdError` (a KeyError and a ValueError),
        "skip" leaves such users out, "popular" gives them the most frequent items of the
        fitted data (scored by their count; seen filtering does not apply).
        """
        if on_unknown not in ("error", "skip", "popular"):
            raise ValueError(f"on_unknown must be 'error', 'skip' or 'popular', not {on_unknown!r}")
        _, data, _ = self._fitted()
        if users is None:
            wanted = data.user_ids
        elif isinstance(users, str | bytes) or np.isscalar(users):
            wanted = np.asarray([users])  # one user id, not an iterable of characters
        else:
            wanted = np.asarray(list(users) if not isinstance(users, np.ndarray | pd.Series) else users)
        index, found = lookup(data.user_ids, wanted)
        if not found.all():
            if on_unknown == "error":
                raise UnknownIdError(
                    describe_unknown(wanted[~found], "user id(s)")
                    + "; pass on_unknown='popular' or 'skip' to recommend anyway"
                )
            if on_unknown == "skip":
                wanted, index, found = wanted[found], index[found], found[found]
        k = max(0, min(k, data.n_items))
        top_items = np.zeros((len(wanted), k), dtype=np.int64)  # [R, k]
        top_scores = np.zeros((len(wanted), k), dtype=np.float32)  # [R, k]
        known = index[found]
        top_items[found], top_scores[found] = self._top_k(
            data.items, data.offsets[known], data.offsets[known + 1], k, filter_seen
        )
        top_items[~found], top_scores[~found] = self._popular(k)
        labels = np.asarray(wanted, dtype=object).copy()
        labels[found] = data.user_ids[known]  # the fitted raw ids, e.g. ints for ids read as text
        return self._frame(labels, top_items, top_scores)

    def recommend_for_histories(
        self,
        histories: Mapping[Any, Sequence[Any]] | Sequence[Sequence[Any]],
        k: int = 10,
        filter_seen: bool = True,
        unknown_items: str = "warn",
    ) -> pd.DataFrame:
        """Top-``k`` items for fresh histories of raw item ids (oldest first), without retraining.

        ``histories`` maps a label to its items (the label fills ``user_col``) or is a list
        (labels 0, 1, ...). Items the model does not know are dropped, with a warning
        (``unknown_items="warn"``), silently ("ignore") or raise :class:`UnknownIdError`
        ("error"). A history left empty gets the most frequent items.
        """
        if unknown_items not in ("warn", "ignore", "error"):
            raise ValueError(f"unknown_items must be 'warn', 'ignore' or 'error', not {unknown_items!r}")
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
        items = index[found] + 1  # internal ids
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[found], minlength=len(sequences)), out=offsets[1:])
        nonempty = offsets[1:] > offsets[:-1]  # [R]
        k = max(0, min(k, data.n_items))
        top_items = np.zeros((len(sequences), k), dtype=np.int64)  # [R, k]
        top_scores = np.zeros((len(sequences), k), dtype=np.float32)  # [R, k]
        top_items[nonempty], top_scores[nonempty] = self._top_k(
            items, offsets[:-1][nonempty], offsets[1:][nonempty], k, filter_seen
        )
        top_items[~nonempty], top_scores[~nonempty] = self._popular(k)
        return self._frame(np.asarray(labels, dtype=object), top_items, top_scores)
