"""The interactions a data config names: a file, a catalog dataset, or the synthetic default."""

from __future__ import annotations

from typing import Any

import numpy as np

from seqrec.config import DataConfig
from seqrec.data.catalog import load_dataset
from seqrec.data.interactions import Interactions
from seqrec.data.readers import guess_format, read_interactions


def load_data(data: DataConfig) -> Interactions:
    """Read ``data.path`` (in ``data.format``) or the catalog dataset ``data.dataset``, then filter."""
    filters: dict[str, Any] = {
        "min_item_interactions": data.min_item_interactions,
        "min_user_interactions": data.min_user_interactions,
        "drop_duplicates": data.drop_duplicates,
    }
    if data.path:
        fmt = guess_format(data.path) if data.format == "auto" else data.format
        if fmt != "table":  # the column names only mean something to tables
            return read_interactions(data.path, fmt, **filters)
        table = {"user_col": data.user_col, "item_col": data.item_col, "timestamp_col": data.timestamp_col or None}
        return read_interactions(data.path, fmt, **table, **filters)
    interactions = load_dataset(data.dataset, data.data_dir or None)
    if any(filters.values()):
        # refilter through the same constructor; timestamps are already reflected in the order
        users = np.repeat(np.arange(interactions.n_users), interactions.lengths)
        interactions = Interactions.from_arrays(
            interactions.user_ids[users], interactions.item_ids[interactions.items], source=data.dataset, **filters
        )
    return interactions
