"""The grids: the paper's four rows, the extended rows, and the key a run's config is reported under."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqrec.config import load_config
from seqrec.paper import EXTENDED, GRID, GRIDS, ROWS, run_key

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_the_extended_grid_is_the_papers_rows_then_one_row_per_new_objective_or_block() -> None:
    assert list(GRIDS["paper"]) == list(GRID) == ["bert4rec", "sasrec-bce", "sasrec-ce", "sasrec-sampled-ce"]
    assert list(GRIDS["extended"]) == [*GRID, *EXTENDED] == list(ROWS)
    assert list(EXTENDED) == [
        "sasrec-gbce",
        "sasrec-logq-256",
        "sasrec-logq-3000",
        "sasrec-in-batch",
        "sasrec-mixed",
        "sasrec-ce-exclude-seen",
        "sasrec-ligr-sampled-ce",
    ]
    labels = [row.label for row in EXTENDED.values()]
    assert labels == [
        "gSASRec 256",
        "SASRec+ pop. logQ 256",
        "SASRec+ pop. logQ 3000",
        "SASRec+ in-batch logQ",
        "SASRec+ mixed logQ 256",
        "SASRec+ excl. seen",
        "SASRec+ LiGR 3000",
    ]


@pytest.mark.parametrize("dataset", ["ml-1m", "beauty", "synthetic"])
def test_each_committed_config_is_reported_under_its_own_row(dataset: str) -> None:
    for key in ROWS:
        config = load_config(CONFIGS / f"{dataset}-{key}.toml")
        assert run_key(config) == key, key
    # the ablation config (the paper code's layout) is still a SASRec+ run
    assert run_key(load_config(CONFIGS / "ablation-ml-1m-sasrec-ce-paper-code.toml")) == "sasrec-ce"


def test_runs_outside_the_grids_get_a_key_that_says_what_sets_them_apart() -> None:
    def key(*sets: str) -> str:
        return run_key(load_config(None, list(sets)))

    assert key("train.loss=sampled_ce", "train.negatives=256") == "sasrec-sampled-ce"  # SASRec+ 256: the paper row
    assert key("train.loss=sampled_ce", "train.sampler=popularity") == "sasrec-sampled-ce-popularity"
    # the logQ popularity rows are their exact negatives; another count is outside them
    assert key("train.loss=sampled_ce", "train.sampler=popularity", "train.logq=true", "train.negatives=256") == (
        "sasrec-logq-256"
    )
    assert key("train.loss=sampled_ce", "train.sampler=popularity", "train.logq=true", "train.negatives=512") == (
        "sasrec-sampled-ce-popularity-logq"
    )
    assert key("train.loss=sampled_ce", "train.loss_args.logq=true", "train.sampler=in_batch") == "sasrec-in-batch"
    assert key("train.loss=ce", "model.block=ligr", "model.tie_embeddings=false") == "sasrec-ce-ligr-untied"
    assert key("train.loss=gbce", "train.gbce_t=0.5", "train.negatives=64") == "sasrec-gbce"  # same row, other t
    assert key("train.loss=bce", "model.block=post_norm") == "sasrec-bce"
