"""Published figures of "Turning Dross Into Gold Loss" (Klenitskiy & Vasilev, RecSys 2023), Table 2.

Full-catalog ranking; training seconds were measured on a GPU the paper does not name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperResult:
    hr10: float
    ndcg10: float
    seconds: float
    best_epoch: int


# model keys: bert4rec (BERT4Rec, ce), sasrec-bce (SASRec), sasrec-ce (SASRec+), sasrec-sampled-ce (SASRec+ 3000)
PAPER: dict[str, dict[str, PaperResult]] = {
    "ml-1m": {
        "bert4rec": PaperResult(0.2843, 0.1537, 1409, 197),
        "sasrec-bce": PaperResult(0.2500, 0.1341, 486, 53),
        "sasrec-ce": PaperResult(0.3152, 0.1821, 540, 63),
        "sasrec-sampled-ce": PaperResult(0.3159, 0.1857, 769, 85),
    },
    "ml-20m": {
        "bert4rec": PaperResult(0.2816, 0.1703, 14758, 68),
        "sasrec-bce": PaperResult(0.2001, 0.1067, 2495, 30),
        "sasrec-ce": PaperResult(0.2983, 0.1833, 9959, 46),
        "sasrec-sampled-ce": PaperResult(0.3090, 0.1872, 4125, 39),
    },
    "steam": {
        "bert4rec": PaperResult(0.1242, 0.0662, 4893, 74),
        "sasrec-bce": PaperResult(0.0981, 0.0506, 2140, 39),
        "sasrec-ce": PaperResult(0.1191, 0.0641, 1262, 16),
        "sasrec-sampled-ce": PaperResult(0.1206, 0.0652, 1226, 14),
    },
    "beauty": {
        "bert4rec": PaperResult(0.0338, 0.0187, 2325, 87),
        "sasrec-bce": PaperResult(0.0246, 0.0126, 521, 26),
        "sasrec-ce": PaperResult(0.0533, 0.0327, 332, 6),
        "sasrec-sampled-ce": PaperResult(0.0490, 0.0295, 296, 8),
    },
    "yelp": {
        "bert4rec": PaperResult(0.0442, 0.0223, 10166, 21),
        "sasrec-bce": PaperResult(0.0228, 0.0115, 655, 3),
        "sasrec-ce": PaperResult(0.0482, 0.0246, 2505, 3),
        "sasrec-sampled-ce": PaperResult(0.0462, 0.0237, 1965, 5),
    },
}

MODEL_NAMES: dict[str, str] = {
    "bert4rec": "BERT4Rec",
    "sasrec-bce": "SASRec",
    "sasrec-ce": "SASRec+",
    "sasrec-sampled-ce": "SASRec+ 3000",
}
