"""Every loss and sampler by name with its own parameters, from TOML and ``--set``: the shorthand
keys ``train.gbce_t`` and ``train.logq``, ``train.sampler`` for ``sampled_ce``, and the refused
combinations, each message naming the keys."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from seqrec.cli import main
from seqrec.config import ConfigError, TrainConfig, load_config, to_toml
from seqrec.objectives import build_objective, loss_arguments, resolved_sampler
from seqrec.objectives.losses import CE, GBCE, SampledCE
from seqrec.objectives.samplers import (
    InBatchSampler,
    MixedSampler,
    PopularitySampler,
    Sampler,
    SamplerBatch,
    UniformSampler,
    UnseenSampler,
)
from seqrec.validation import check_config

ROOT = Path(__file__).resolve().parents[2]


def test_gbce_from_toml_with_its_negatives_and_t(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[train]\nloss = "gbce"\nnegatives = 256\ngbce_t = 0.75\n')
    config = check_config(load_config(path))
    objective = build_objective(config.train)
    assert objective.loss == GBCE(t=0.75)
    assert isinstance(objective.sampler, UniformSampler) and objective.sampler.n == 256
    # --set gives another t; an int is taken as a float
    assert build_objective(load_config(path, ["train.gbce_t=0"]).train).loss == GBCE(t=0.0)
    assert build_objective(load_config(path, ["train.gbce_t=1"]).train).loss == GBCE(t=1.0)


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [
        ("uniform", MixedSampler),  # uniform per sequence: the uniform part of mixed alone
        ("unseen", UnseenSampler),
        ("popularity", PopularitySampler),
        ("in_batch", InBatchSampler),
        ("mixed", MixedSampler),
    ],
)
@pytest.mark.parametrize("logq", [True, False])
def test_every_sampler_for_sampled_ce_through_set(sampler: str, expected: type[Sampler], logq: bool) -> None:
    sets = ["train.loss=sampled_ce", f"train.sampler={sampler}", f"train.logq={str(logq).lower()}", "train.negatives=9"]
    config = check_config(load_config(None, sets))
    objective = build_objective(config.train)
    assert objective.loss == SampledCE(logq=logq)
    assert objective.sampler is not None and type(objective.sampler) is expected and objective.sampler.n == 9
    assert resolved_sampler(config.train) == sampler


def test_uniform_for_sampled_ce_draws_per_sequence_with_log_q_of_one_over_the_catalog() -> None:
    objective = build_objective(TrainConfig(loss="sampled_ce", sampler="uniform", negatives=6, logq=True))
    assert isinstance(objective.sampler, MixedSampler) and objective.sampler.in_batch is False
    targets = torch.tensor([[0, 1, 2], [3, 4, 0], [5, 5, 1]])  # three sequences, 5 items

    def no_seen() -> torch.Tensor:
        raise AssertionError("uniform draws never look at the seen items")

    drawn = objective.draw(SamplerBatch(targets, 5, no_seen), torch.Generator().manual_seed(0))
    assert drawn is not None and drawn.items.shape == (3, 6)  # [B, n], shared by each sequence's positions
    assert ((drawn.items >= 1) & (drawn.items <= 5)).all()
    torch.testing.assert_close(drawn.log_q, torch.full((3, 6), -math.log(5)))  # q = 1/5
    # sampler_args are checked against uniform's parameters (none), not mixed's
    with pytest.raises(ConfigError, match="train.sampler_args: sampler 'uniform' has no parameter.*in_batch"):
        build_objective(TrainConfig(loss="sampled_ce", sampler="uniform", sampler_args={"in_batch": True}))


def test_sampler_parameters_and_ce_exclude_seen_by_set() -> None:
    config = load_config(None, ["train.loss=sampled_ce", "train.sampler=popularity", "train.sampler_args.alpha=0.5"])
    sampler = build_objective(config.train).sampler
    assert isinstance(sampler, PopularitySampler) and sampler.alpha == 0.5
    sampler.prepare(np.array([0, 1, 4]))  # q ∝ sqrt(count): 1 / (1 + 2) and 2 / 3
    assert sampler.log_q is not None
    torch.testing.assert_close(sampler.log_q[1:], torch.tensor([math.log(1 / 3), math.log(2 / 3)]))
    config = load_config(None, ["train.loss=ce", "train.loss_args.exclude_seen=true"])
    assert build_objective(config.train).loss == CE(exclude_seen=True)


def test_the_shorthands_are_loss_args() -> None:
    assert loss_arguments(TrainConfig(loss="gbce", gbce_t=0.5)) == {"t": 0.5}
    assert loss_arguments(TrainConfig(loss="sampled_ce", logq=False)) == {"logq": False}
    assert loss_arguments(TrainConfig(loss="sampled_ce", loss_args={"logq": True})) == {"logq": True}
    assert loss_arguments(TrainConfig(loss="gbce")) == {}  # not set: the loss's default (t = 0.75)
    assert build_objective(TrainConfig(loss="gbce")).loss == GBCE(t=0.75)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["train.loss=ce", "train.sampler=popularity"],
            "train.sampler 'popularity': loss 'ce' uses no negatives; drop",
        ),
        (
            ["train.loss=bce", "train.sampler=in_batch"],
            "train.sampler 'in_batch' draws negatives per sequence, loss 'bce' needs them per position: "
            "with train.loss = 'bce' choose train.sampler from uniform",
        ),
        (
            ["train.loss=sampled_ce", "train.sampler=uniform", "train.sampler_args.alpha=1"],
            "train.sampler_args: sampler 'uniform' has no parameter(s) alpha",
        ),
        (["train.loss=bce", "train.gbce_t=0.5"], "train.gbce_t applies to train.loss = 'gbce' only, not 'bce'"),
        (["train.loss=ce", "train.logq=true"], "train.logq applies to train.loss = 'sampled_ce' only, not 'ce'"),
        (
            ["train.loss=gbce", "train.gbce_t=0.5", "train.loss_args.t=0.25"],
            "train.gbce_t = 0.5 and train.loss_args.t = 0.25 set the same parameter; keep one",
        ),
        (
            ["train.loss=sampled_ce", "train.logq=true", "train.loss_args.logq=false"],
            "train.logq = True and train.loss_args.logq = False set the same parameter; keep one",
        ),
        (["train.loss=gbce", "train.gbce_t=1.5"], "train.gbce_t: loss 'gbce': t must be in [0, 1], got 1.5"),
        (["train.loss=gbce", "train.gbce_t=high"], "train.gbce_t: expected float, got str 'high'"),
        (["train.loss=sampled_ce", "train.logq=1"], "train.logq: expected bool, got int 1"),
    ],
)
def test_refused_combinations_name_the_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sets: list[str], message: str
) -> None:
    out = tmp_path / "run"
    args = [arg for text in sets for arg in ("--set", text)]
    assert main(["train", *args, "--set", "train.max_epochs=1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqrec: error: ") and message in err, err
    assert not out.exists()  # refused before the run directory is made


def test_resolved_config_round_trips_with_the_new_keys_set_and_not(tmp_path: Path) -> None:
    for sets in (
        ["train.loss=gbce", "train.gbce_t=0.25", "model.block=ligr", "model.tie_embeddings=false"],
        ["train.loss=sampled_ce", "train.sampler=mixed", "train.logq=true", "train.negatives=256"],
        [],  # neither shorthand set: written as comments, read back as not set
    ):
        config = load_config(None, sets)
        text = to_toml(config, header="seqrec train")
        path = tmp_path / "config.toml"
        path.write_text(text)
        assert load_config(path) == config
        if not sets:
            assert "# gbce_t: not set\n# logq: not set\n" in text and config.train.gbce_t is None


def test_configs_written_before_the_new_keys_still_load() -> None:
    old = load_config(ROOT / "tests" / "fixtures" / "run-v0.1.0" / "config.toml")
    assert (old.train.gbce_t, old.train.logq, old.model.tie_embeddings, old.model.block) == (
        None,
        None,
        True,
        "pre_norm",
    )
    for name in ("ml-1m-sasrec-bce", "ml-1m-sasrec-ce", "ml-1m-sasrec-sampled-ce", "beauty-bert4rec"):
        config = check_config(load_config(ROOT / "configs" / f"{name}.toml"))
        assert config.train.gbce_t is None and config.train.logq is None and config.model.tie_embeddings is True


def test_the_python_api_takes_the_keys_as_keywords() -> None:
    from seqrec.api import SASRec

    model = SASRec(loss="gbce", gbce_t=0.5, negatives=64, block="ligr", tie_embeddings=False)
    assert (model.config.train.gbce_t, model.config.model.block, model.config.model.tie_embeddings) == (
        0.5,
        "ligr",
        False,
    )
    with pytest.raises(ConfigError, match="train.logq applies to train.loss = 'sampled_ce' only, not 'gbce'"):
        SASRec(loss="gbce", logq=True)
