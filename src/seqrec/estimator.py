"""Estimator API: ``SASRec().fit(df).recommend(users)``, in the style of scikit-learn and RecTools.

Not to be confused with the networks: :class:`seqrec.estimator.SASRec` (exported as ``seqrec.SASRec``)
is an *estimator* that owns a config, the fitted data and a trained network, whereas
``seqrec.models.sasrec.SASRec`` is the ``nn.Module`` itself.

Fitting and validation. By default (``validation=True``) each user's sequence is split
leave-one-out and training stops early on the validation metric::

    items:      i_1  i_2  ...  i_{n-2}  i_{n-1}  i_n
    training:   [------ i_1 .. i_{n-2} -------]
    validation: input i_1 .. i_{n-2}           -> target i_{n-1}
    unused:                                             i_n

The best epoch's weights are kept and the model is **not** retrained on all items afterwards,
so the last two items of every user (with 3 or more) are never training targets. With
``validation=False`` the whole history of every user is trained on for exactly ``max_epochs``
epochs and the last epoch's weights are kept. Either way ``recommend`` reads every user's full
history, held-out items included. ``save`` writes the one-file format of :mod:`seqrec.model_file`.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import torch

from seqrec.config import Config, from_dict
from seqrec.data.interactions import Interactions, item_counts
from seqrec.data.readers import from_dataframe
from seqrec.data.split import Split, full_history, make_split
from seqrec.ids import UnknownIdError
from seqrec.io import mismatch
from seqrec.model_file import ModelFile, write_model_file
from seqrec.models import build_model
from seqrec.models.base import SequenceModel
from seqrec.recommending import Recommending
from seqrec.training import TrainResult, fit
from seqrec.validation import check_config

__all__ = ["BERT4Rec", "ESTIMATORS", "SASRec", "SequentialRecommender", "UnknownIdError"]

# Defaults that differ from the config's (which are SASRec's), per model name.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "sasrec": {},
    "bert4rec": {"heads": 2, "ff_hidden": 256, "max_epochs": 200, "patience": 20},
}

# Flat keyword -> config section. The data section's column names are set by their own
# arguments; ``batch_size`` is the training one (``eval_batch_size`` is the evaluation one).
_SECTIONS: dict[str, str] = {
    **{f.name: "eval" for f in dataclasses.fields(Config().eval)},
    **{f.name: "model" for f in dataclasses.fields(Config().model)},
    **{f.name: "train" for f in dataclasses.fields(Config().train)},
    "min_item_interactions": "data",
    "min_user_interactions": "data",
    "drop_duplicates": "data",
}
del _SECTIONS["name"]


class SequentialRecommender(Recommending):
    """A next-item recommender trained on interaction logs; any registered model by name.

    Arguments left as ``None`` take the model's defaults (:data:`MODEL_DEFAULTS`, then
    :class:`~seqrec.config.Config`). Further keywords (``weight_decay``, ``ff_hidden``,
    ``mask_prob``, ``ks``, ``metric``, ``valid_users``, ``eval_batch_size``, ``threads``,
    ``min_item_interactions``, ...) set the config field of that name.
    """

    def __init__(
        self,
        model: str = "sasrec",
        loss: str = "ce",
        *,
        user_col: str = "user_id",
        item_col: str = "item_id",
        timestamp_col: str | None = None,
        max_epochs: int | None = None,
        patience: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        seed: int | None = None,
        hidden: int | None = None,
        blocks: int | None = None,
        heads: int | None = None,
        dropout: float | None = None,
        max_length: int | None = None,
        negatives: int | None = None,
        device: str | None = None,
        validation: bool = True,
        verbose: bool = False,
        **params: Any,
    ) -> None:
        named = {
            "max_epochs": max_epochs,
            "patience": patience,
            "batch_size": batch_size,
            "lr": lr,
            "seed": seed,
            "hidden": hidden,
            "blocks": blocks,
            "heads": heads,
            "dropout": dropout,
            "max_length": max_length,
            "negatives": negatives,
            "device": device,
        }
        values = {**MODEL_DEFAULTS.get(model, {}), **{k: v for k, v in named.items() if v is not None}, **params}
        raw: dict[str, dict[str, Any]] = {
            "data": {"user_col": user_col, "item_col": item_col, "timestamp_col": timestamp_col or ""},
            "model": {"name": model},
            "train": {"loss": loss},
            "eval": {},
        }
        for key, value in values.items():
            if key == "eval_batch_size":
                raw["eval"]["batch_size"] = value
            elif key in _SECTIONS:
                raw[_SECTIONS[key]][key] = value
            else:
                raise TypeError(f"{type(self).__name__}() got an unknown parameter {key!r}")
        # values out of range fail here, as wrong types do, not deep inside fit()
        self.config: Config = check_config(
            from_dict(raw, source=f"{type(self).__name__}(...)"), f"{type(self).__name__}(...)"
        )
        self.validation = validation
        self.verbose = verbose
        self.model_: SequenceModel | None = None
        self.data_: Interactions | None = None
        self.popularity_: np.ndarray | None = None  # [I + 1] item counts in the fitted data
        self.result_: TrainResult | None = None

    def __repr__(self) -> str:
        c = self.config
        return (
            f"{type(self).__name__}(model={c.model.name!r}, loss={c.train.loss!r}, hidden={c.model.hidden}, "
            f"max_epochs={c.train.max_epochs}, validation={self.validation})"
        )

    # ------------------------------------------------------------------ fitting

    def fit(self, data: pd.DataFrame | Interactions) -> Self:
        """Train on a DataFrame (columns ``user_col``, ``item_col``, optional ``timestamp_col``) or Interactions.

        Without a timestamp column the row order is the time order.
        """
        config = copy.deepcopy(self.config)
        if isinstance(data, Interactions):
            interactions = data
        else:
            d = config.data
            interactions = from_dataframe(
                data,
                d.user_col,
                d.item_col,
                d.timestamp_col or None,
                min_item_interactions=d.min_item_interactions,
                min_user_interactions=d.min_user_interactions,
                drop_duplicates=d.drop_duplicates,
            )
        torch.manual_seed(config.train.seed)  # initial weights, as `seqrec train` draws them
        model = build_model(config.model, interactions.n_items)
        split: Split
        if self.validation:
            split = make_split(config.eval.split, interactions, config.eval, "fit() data")
            if split.valid is None or len(split.valid) == 0:
                raise ValueError(
                    "no user has 3 or more interactions, so there is nothing to validate on; "
                    "pass validation=False to train for a fixed number of epochs"
                )
        else:
            split = full_history(interactions)
            if not (interactions.lengths >= 2).any():
                raise ValueError("no user has 2 or more interactions: nothing to train on")

        def on_epoch(row: dict[str, Any]) -> None:
            if self.verbose:
                metric = config.eval.metric
                shown = f"  {metric} {row['valid'][metric]:.4f}" if row["valid"] else ""
                print(f"epoch {row['epoch']:3d}  loss {row['loss']:.4f}{shown}")

        self.result_ = fit(model, split, config, on_epoch)
        model.eval()
        self.model_, self.data_ = model, interactions
        offsets = interactions.offsets
        self.popularity_ = item_counts(interactions.items, offsets[:-1], offsets[1:], interactions.n_items)
        return self

    def _fitted(self) -> tuple[SequenceModel, Interactions, np.ndarray]:
        if self.model_ is None or self.data_ is None or self.popularity_ is None:
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit() or load() first")
        return self.model_, self.data_, self.popularity_

    def similar_items(
        self, items: Any = None, k: int = 10, metric: str = "dot", on_unknown: str = "error"
    ) -> pd.DataFrame:
        """Items nearest to each of ``items`` by output embeddings; see :func:`seqrec.similar.similar_items`."""
        from seqrec.similar import similar_items

        model, data, _ = self._fitted()
        return similar_items(model, data, items, k, metric, on_unknown, self.item_col)

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator to one file (atomically: a temporary file, then a rename)."""
        model, data, counts = self._fitted()
        contents = ModelFile(self.config, model.state_dict(), data, counts, self.validation)
        return write_model_file(Path(path), contents)

    @classmethod
    def from_parts(
        cls,
        config: Config,
        state_dict: Mapping[str, torch.Tensor],
        data: Interactions,
        counts: np.ndarray,
        validation: bool,
        source: str,
    ) -> SequentialRecommender:
        """An estimator of the class registered for ``config.model.name``, ready to recommend."""
        estimator_class = ESTIMATORS.get(config.model.name, SequentialRecommender)
        est = SequentialRecommender.__new__(estimator_class)
        est.config, est.validation, est.verbose, est.result_ = config, validation, False, None
        try:
            model = build_model(config.model, data.n_items)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        try:
            model.load_state_dict(state_dict)
        except (RuntimeError, ValueError) as error:
            raise ValueError(
                f"{source}: the weights do not fit a {config.model.name!r} model with "
                f"{data.n_items} items and this config ({mismatch(error)})"
            ) from None
        est.model_ = model.to(torch.device(config.train.device)).eval()
        est.data_, est.popularity_ = data, counts
        return est


class SASRec(SequentialRecommender):
    """Estimator for SASRec (the network is :class:`seqrec.models.sasrec.SASRec`)."""

    def __init__(self, loss: str = "ce", **kwargs: Any) -> None:
        super().__init__("sasrec", loss, **kwargs)


class BERT4Rec(SequentialRecommender):
    """Estimator for BERT4Rec: defaults heads=2, ff_hidden=256, max_epochs=200, patience=20."""

    def __init__(self, loss: str = "ce", **kwargs: Any) -> None:
        super().__init__("bert4rec", loss, **kwargs)


ESTIMATORS: dict[str, type[SequentialRecommender]] = {"sasrec": SASRec, "bert4rec": BERT4Rec}
