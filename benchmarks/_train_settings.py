"""The paper's ML-1M training settings shared by the training benchmarks (seqrec and RecTools alike)."""

from __future__ import annotations

HIDDEN, BLOCKS, MAX_LENGTH, BATCH, DROPOUT, LR = 64, 2, 200, 128, 0.1, 1e-3
HEADS = {"sasrec": 1, "bert4rec": 2}
FF_HIDDEN = {"sasrec": HIDDEN, "bert4rec": 4 * HIDDEN}
MASK_PROB = 0.2
RECTOOLS_LOSS = {"bce": "BCE", "ce": "softmax", "sampled_ce": "sampled_softmax", "gbce": "gBCE"}
