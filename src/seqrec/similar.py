"""Item-to-item neighbours from a fitted model's output embeddings, and the ``seqrec similar`` command.

Two items are similar when their rows of the tied output matrix [I + 1, D] point the same
way: the score is their dot product (``metric="dot"``, the quantity the model ranks next
items by) or its cosine (``metric="cosine"``, blind to the rows' lengths, i.e. popularity).
Query items are scored in chunks, so a large catalog never needs an [I, I] matrix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from seqrec.data.interactions import Interactions
from seqrec.ids import UnknownIdError, describe_unknown, lookup
from seqrec.models.base import SequenceModel
from seqrec.recommending import as_id_array

if TYPE_CHECKING:
    pass

METRICS = ("dot", "cosine")
BLOCK_ELEMENTS = 2**25
"""Scores held at once by default: a [chunk, I + 1] float32 block of at most 128 MiB."""


def item_vectors(model: SequenceModel, metric: str) -> torch.Tensor:
    """The output embeddings [I + 1, D] as float32, rows scaled to unit length for ``cosine``."""
    vectors = model.output_embeddings().detach().float()  # [I + 1, D]
    if metric == "cosine":
        vectors = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)  # [I + 1, D]; padding stays 0
    return vectors


@torch.no_grad()
def top_similar(vectors: torch.Tensor, queries: np.ndarray, k: int, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` internal items and scores [Q, k] by ``vectors[q] @ vectors.T``, the query and padding excluded."""
    top_items = np.zeros((len(queries), k), dtype=np.int64)  # [Q, k]
    top_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)  # [Q, k]
    for begin in range(0, len(queries), chunk_size):
        rows = torch.from_numpy(queries[begin : begin + chunk_size]).to(vectors.device)  # [C]
        scores = vectors[rows] @ vectors.T  # [C, I + 1]
        scores[:, 0] = float("-inf")  # padding is no item
        scores[torch.arange(len(rows), device=vectors.device), rows] = float("-inf")  # nor is the query itself
        values, indices = scores.topk(k, dim=1)  # [C, k]
        top_items[begin : begin + len(rows)] = indices.cpu().numpy()
        top_scores[begin : begin + len(rows)] = values.cpu().numpy()
    return top_items, top_scores


def similar_items(
    model: SequenceModel,
    data: Interactions,
    items: Any = None,
    k: int = 10,
    metric: str = "dot",
    on_unknown: str = "error",
    item_col: str = "item_id",
    chunk_size: int | None = None,
) -> pd.DataFrame:
    """The ``k`` items most similar to each of ``items`` (raw ids; one id, a list, ``None``: every item).

    Returns columns ``[item_col, "similar_" + item_col, "score", "rank"]``, queries in the
    given order, rank 1-based; an item is never its own neighbour. Unknown items raise
    :class:`UnknownIdError` (``on_unknown="error"``) or are left out (``"skip"``).
    ``chunk_size`` query items are scored at a time (default: a block of about 128 MiB).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be 'dot' or 'cosine', not {metric!r}")
    if on_unknown not in ("error", "skip"):
        raise ValueError(f"on_unknown must be 'error' or 'skip', not {on_unknown!r}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if items is None:
        queries = np.arange(1, data.n_items + 1, dtype=np.int64)  # [Q] internal ids
    else:
        wanted = as_id_array(items)
        index, found = lookup(data.item_ids[1:], wanted)  # [Q], [Q]
        if not found.all() and on_unknown == "error":
            raise UnknownIdError(
                describe_unknown(pd.unique(wanted[~found]), "item id(s)") + "; pass on_unknown='skip' to leave them out"
            )
        queries = index[found].astype(np.int64) + 1  # [Q] internal ids
    k = max(0, min(k, data.n_items - 1))
    chunk = chunk_size or max(1, min(4096, BLOCK_ELEMENTS // (data.n_items + 1)))
    top_items, top_scores = top_similar(item_vectors(model, metric), queries, k, chunk)
    keep = np.isfinite(top_scores).ravel()
    return pd.DataFrame(
        {
            item_col: np.repeat(data.item_ids[queries], k)[keep],
            "similar_" + item_col: data.item_ids[top_items.ravel()[keep]],
            "score": top_scores.ravel()[keep],
            "rank": np.tile(np.arange(1, k + 1), len(queries))[keep],
        }
    )


# ---------------------------------------------------------------------- command line


def similar_command(
    model_spec: str,
    items_spec: str,
    k: int,
    metric: str,
    out_spec: str,
    on_unknown: str = "error",
    device: str | None = None,
    allow_changed_data: bool = False,
    allow_unfinished: bool = False,
) -> str:
    """``seqrec similar``: write columns item, similar_item, score, rank; returns the line to print."""
    from seqrec.api import load
    from seqrec.cli_files import check_out_file, checked_path, read_ids, write_table

    out = Path(out_spec)
    check_out_file(out)
    if k < 1:
        raise ValueError(f"--k must be at least 1, got {k}")
    model = load(model_spec, device, allow_changed_data, allow_unfinished)
    columns = list(dict.fromkeys((model.item_col, "item", "item_id")))
    items = None if items_spec == "all" else read_ids(checked_path(items_spec, "--items"), "item", columns)
    table = model.similar_items(items, k=k, metric=metric, on_unknown=on_unknown)
    table.columns = ["item", "similar_item", "score", "rank"]
    write_table(table, out)
    return f"{len(table)} similar items for {table['item'].nunique()} items written to {out}"
