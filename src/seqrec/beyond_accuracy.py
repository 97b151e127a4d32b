"""Beyond-accuracy metrics of the top-K lists a model recommends: catalog coverage, novelty and
average recommendation popularity, each at every K of ``eval.ks`` (the lists come from the
same pass as the ranking metrics: :func:`seqrec.evaluation.evaluate_with_lists`).

For top-K lists of internal item ids (0 = an empty slot, when a user had fewer candidates than
K) and the items' training counts ``c`` (index 0 padding):

- ``coverage@K``: distinct items in any user's top-K / catalog size;
- ``novelty@K``: mean over the recommended items of -log2(c(i) / sum c), an item never seen in
  training counted as seen once (so the figure stays finite);
- ``arp@K`` (average recommendation popularity): mean over the recommended items of c(i).
"""

from __future__ import annotations

import numpy as np


def beyond_accuracy(top_items: np.ndarray, counts: np.ndarray, ks: list[int] | tuple[int, ...]) -> dict[str, float]:
    """The three metrics at each K from top-K lists [U, K_max] and training counts [I + 1]."""
    n_items = len(counts) - 1
    share = np.maximum(counts, 1) / max(int(counts[1:].sum()), 1)  # [I + 1]
    out: dict[str, float] = {}
    for k in sorted(ks):
        lists = top_items[:, :k]  # [U, k]
        real = lists[lists > 0]  # recommended items, empty slots left out
        out[f"coverage@{k}"] = len(np.unique(real)) / max(n_items, 1)
        out[f"novelty@{k}"] = float(-np.log2(share[real]).mean()) if len(real) else 0.0
        out[f"arp@{k}"] = float(counts[real].mean()) if len(real) else 0.0
    return out
