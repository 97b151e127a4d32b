"""The paper's grid and its published figures: "Turning Dross Into Gold Loss" (Klenitskiy & Vasilev, RecSys 2023).

``GRID`` is the one definition of the four runs the paper compares (their keys, display labels,
model and loss); ``EXTENDED`` adds one row per later loss, sampler and block (``seqrec reproduce
--grid extended``); ``seqrec report`` names runs after them (:func:`run_key`). ``PAPER`` holds
Table 2: full-catalog ranking; training seconds were measured on a GPU the paper does not name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqrec.config import Config
from seqrec.objectives import loss_arguments, loss_class, resolved_negatives, resolved_sampler


@dataclass(frozen=True)
class GridRow:
    """One model of the grid: its key (config file and run directory name), label, model and loss,
    and the settings that tell its runs from other rows' (:func:`run_signature`)."""

    key: str  # e.g. "sasrec-sampled-ce": configs/<dataset>-<key>.toml, results/<dataset>/<key>
    name: str  # display name, e.g. "SASRec+"
    model: str  # config model.name
    loss: str  # config train.loss
    negatives: int = 0  # the paper's number of sampled negatives, shown in the label when not 0
    sampler: str = ""  # train.sampler ("": the loss's own)
    logq: bool = False  # sampled_ce's logQ correction
    exclude_seen: bool = False  # ce's exclude_seen
    block: str = ""  # "ligr", or "" for the classic layouts (pre_norm, post_norm, sasrec_pytorch)
    tie_embeddings: bool = True
    fixed_negatives: bool = False  # True: only runs with exactly ``negatives`` negatives are this row

    def signature(self) -> dict[str, Any]:
        """What a run of this row has (the keys of :func:`run_signature`)."""
        return {
            "model": self.model,
            "loss": self.loss,
            "sampler": self.sampler or loss_class(self.loss).default_sampler or "",
            "logq": self.logq,
            "exclude_seen": self.exclude_seen,
            "block": self.block,
            "tie_embeddings": self.tie_embeddings,
        }

    @property
    def label(self) -> str:
        """The paper's name for the row, e.g. "SASRec+ 3000"."""
        return self.run_label(self.negatives)

    def run_label(self, negatives: int) -> str:
        """The label of a run of this row that used ``negatives`` sampled negatives."""
        return f"{self.name} {negatives}" if self.negatives else self.name


GRID: dict[str, GridRow] = {
    row.key: row
    for row in (
        GridRow("bert4rec", "BERT4Rec", "bert4rec", "ce"),
        GridRow("sasrec-bce", "SASRec", "sasrec", "bce"),
        GridRow("sasrec-ce", "SASRec+", "sasrec", "ce"),
        GridRow("sasrec-sampled-ce", "SASRec+", "sasrec", "sampled_ce", negatives=3000),
    )
}


_LOGQ_POPULARITY: dict[str, Any] = {"sampler": "popularity", "logq": True, "fixed_negatives": True}

EXTENDED: dict[str, GridRow] = {
    row.key: row
    for row in (
        GridRow("sasrec-gbce", "gSASRec", "sasrec", "gbce", negatives=256),
        GridRow("sasrec-logq-256", "SASRec+ pop. logQ", "sasrec", "sampled_ce", 256, **_LOGQ_POPULARITY),
        GridRow("sasrec-logq-3000", "SASRec+ pop. logQ", "sasrec", "sampled_ce", 3000, **_LOGQ_POPULARITY),
        GridRow("sasrec-in-batch", "SASRec+ in-batch logQ", "sasrec", "sampled_ce", sampler="in_batch", logq=True),
        GridRow("sasrec-mixed", "SASRec+ mixed logQ", "sasrec", "sampled_ce", 256, sampler="mixed", logq=True),
        GridRow("sasrec-ce-exclude-seen", "SASRec+ excl. seen", "sasrec", "ce", exclude_seen=True),
        GridRow("sasrec-ligr-sampled-ce", "SASRec+ LiGR", "sasrec", "sampled_ce", negatives=3000, block="ligr"),
    )
}
"""Later losses, samplers and blocks, one row each, beside the paper's (``--grid extended``)."""

GRIDS: dict[str, dict[str, GridRow]] = {"paper": GRID, "extended": {**GRID, **EXTENDED}}
"""The grids ``seqrec reproduce --grid`` runs, by name."""

ROWS: dict[str, GridRow] = GRIDS["extended"]
"""Every row by key, in table order."""


def model_key(model: str, loss: str) -> str:
    """The grid key of a model and loss; outside the grid, ``<model>-<loss>`` with dashes."""
    for row in GRID.values():
        if (row.model, row.loss) == (model, loss):
            return row.key
    return f"{model}-{loss.replace('_', '-')}"


def run_signature(config: Config) -> dict[str, Any]:
    """The settings that tell the grid's rows apart, resolved (defaults filled in) from a run's config."""
    args = loss_arguments(config.train)
    return {
        "model": config.model.name,
        "loss": config.train.loss,
        "sampler": resolved_sampler(config.train),
        "logq": bool(args.get("logq", False)),
        "exclude_seen": bool(args.get("exclude_seen", False)),
        "block": "ligr" if config.model.block == "ligr" else "",
        "tie_embeddings": config.model.tie_embeddings,
    }


def run_key(config: Config) -> str:
    """The key of the row a run belongs to; outside every grid, ``<model>-<loss>`` with what sets it
    apart appended (``-<sampler>``, ``-logq``, ``-exclude-seen``, ``-ligr``, ``-untied``)."""
    found = run_signature(config)
    for row in ROWS.values():
        if row.signature() == found and (not row.fixed_negatives or resolved_negatives(config.train) == row.negatives):
            return row.key
    plain = {**found, "sampler": loss_class(found["loss"]).default_sampler or ""}
    extras = [found["sampler"]] * (found["sampler"] != plain["sampler"]) + [
        name for name in ("logq", "exclude_seen") if found[name]
    ]
    extras += [found["block"]] * bool(found["block"]) + ["untied"] * (not found["tie_embeddings"])
    return "-".join([model_key(found["model"], found["loss"]), *extras]).replace("_", "-")


@dataclass(frozen=True)
class PaperResult:
    """One cell group of Table 2: test HR@10 and NDCG@10, training seconds, best epoch."""

    hr10: float
    ndcg10: float
    seconds: float
    best_epoch: int


def _in_grid_order(*results: PaperResult) -> dict[str, PaperResult]:
    """One dataset's results, given in GRID order, keyed by grid key."""
    return dict(zip(GRID, results, strict=True))


# Each dataset in GRID order: BERT4Rec, SASRec, SASRec+, SASRec+ 3000.
PAPER: dict[str, dict[str, PaperResult]] = {
    "ml-1m": _in_grid_order(
        PaperResult(0.2843, 0.1537, 1409, 197),
        PaperResult(0.2500, 0.1341, 486, 53),
        PaperResult(0.3152, 0.1821, 540, 63),
        PaperResult(0.3159, 0.1857, 769, 85),
    ),
    "ml-20m": _in_grid_order(
        PaperResult(0.2816, 0.1703, 14758, 68),
        PaperResult(0.2001, 0.1067, 2495, 30),
        PaperResult(0.2983, 0.1833, 9959, 46),
        PaperResult(0.3090, 0.1872, 4125, 39),
    ),
    "steam": _in_grid_order(
        PaperResult(0.1242, 0.0662, 4893, 74),
        PaperResult(0.0981, 0.0506, 2140, 39),
        PaperResult(0.1191, 0.0641, 1262, 16),
        PaperResult(0.1206, 0.0652, 1226, 14),
    ),
    "beauty": _in_grid_order(
        PaperResult(0.0338, 0.0187, 2325, 87),
        PaperResult(0.0246, 0.0126, 521, 26),
        PaperResult(0.0533, 0.0327, 332, 6),
        PaperResult(0.0490, 0.0295, 296, 8),
    ),
    "yelp": _in_grid_order(
        PaperResult(0.0442, 0.0223, 10166, 21),
        PaperResult(0.0228, 0.0115, 655, 3),
        PaperResult(0.0482, 0.0246, 2505, 3),
        PaperResult(0.0462, 0.0237, 1965, 5),
    ),
}
