"""The model interface: config checks, variants, training batches, block registry, weight names."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from seqrec.config import ConfigError, ModelConfig, load_config
from seqrec.data.batches import CausalBatches, ClozeBatches
from seqrec.models import MODELS, build_model, check_model_config, variant_values
from seqrec.models.base import SequenceModel
from seqrec.models.bert4rec import BERT4Rec
from seqrec.models.blocks import BLOCKS, Block
from seqrec.models.sasrec import SASRec

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

# parameter names of one-block models as the single TransformerBlock class wrote them (the
# names in committed weight files)
BLOCK_KEYS = [
    f"blocks.0.{name}"
    for name in (
        "attention.qkv.weight",
        "attention.qkv.bias",
        "attention.out.weight",
        "attention.out.bias",
        "feed_forward.0.weight",
        "feed_forward.0.bias",
        "feed_forward.3.weight",
        "feed_forward.3.bias",
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
    )
]
SASREC_KEYS = [
    "item_embedding.weight",
    "position_embedding.weight",
    *BLOCK_KEYS,
    "final_norm.weight",
    "final_norm.bias",
]
BERT4REC_KEYS = [
    "item_embedding.weight",
    "position_embedding.weight",
    "embedding_norm.weight",
    "embedding_norm.bias",
    *BLOCK_KEYS,
]
HEAD_KEYS = ["head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias"]


def model_config(name: str = "sasrec", **fields: Any) -> ModelConfig:
    return dataclasses.replace(ModelConfig(name=name, heads=2 if name == "bert4rec" else 1), **fields)


# ---------------------------------------------------------------- check_config


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"block": "x"}, "model.block must be one of pre_norm, post_norm, sasrec_pytorch, ligr; got 'x'"),
        ({"init": "zeros"}, "model.init must be one of xavier, normal, normal_torch_mha, torch_default; got 'zeros'"),
        ({"positions": "middle"}, "model.positions must be one of from_end, from_start; got 'middle'"),
        ({"mask_prob": 0.5}, "model.mask_prob applies to bert4rec only"),
        ({"mlm_head": False}, "model.mlm_head applies to bert4rec only"),
        ({"hidden": 10, "heads": 3}, "model.hidden (10) must be divisible by model.heads (3)"),
        ({"heads": 0}, "model.heads must be at least 1, got 0"),
        ({"max_length": 0}, "model.max_length must be at least 1, got 0"),
        ({"ff_hidden": -1}, "model.ff_hidden must be at least 0, got -1"),
        ({"dropout": 1.0}, "model.dropout must be in [0, 1), got 1.0"),
        ({"dropout": float("nan")}, "model.dropout must be in [0, 1)"),
    ],
)
def test_sasrec_config_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_model_config(model_config("sasrec", **fields))


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"block": "sasrec_pytorch"}, "model.block applies to sasrec only"),
        ({"init": "normal"}, "model.init applies to sasrec only"),
        ({"positions": "sideways"}, "model.positions must be one of from_end, from_start; got 'sideways'"),
        ({"mask_prob": 0.0}, "model.mask_prob must be in (0, 1), got 0.0"),
        ({"mask_prob": 1.0}, "model.mask_prob must be in (0, 1), got 1.0"),
    ],
)
def test_bert4rec_config_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_model_config(model_config("bert4rec", **fields))


def test_a_resolved_config_of_seqrec_0_1_still_passes() -> None:
    # 0.1 wrote its defaults (init = "xavier", mask_last_if_none = true) into every config.toml
    check_model_config(model_config("sasrec", mask_last_if_none=True))
    check_model_config(model_config("bert4rec", init="xavier", mask_last_if_none=True))
    with pytest.raises(ConfigError, match=re.escape("model.init applies to sasrec only")):
        check_model_config(model_config("bert4rec", init="normal"))


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown model 'gru4rec'; known: bert4rec, sasrec")):
        check_model_config(ModelConfig(name="gru4rec"))


def test_switch_values_must_have_the_field_type() -> None:
    with pytest.raises(ConfigError, match="model.mlm_head must be one of true, false; got 1"):
        check_model_config(model_config("bert4rec", mlm_head=1))


def test_every_block_layout_passes_for_sasrec_and_runs() -> None:
    for layout in BLOCKS:
        config = model_config("sasrec", block=layout, hidden=8, max_length=5)
        check_model_config(config)
        model = build_model(config, n_items=7, seed=0).eval()
        assert isinstance(model, SASRec)
        assert isinstance(model.blocks[0], BLOCKS[layout])
        with torch.no_grad():
            assert model.score_next(torch.tensor([[0, 3, 4]])).shape == (1, 8)
    assert SASRec.OPTIONS["block"] == tuple(BLOCKS)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.toml")), ids=lambda path: path.name)
def test_committed_configs_pass(path: Path) -> None:
    # they write model-specific fields of the other model at their defaults
    check_model_config(load_config(path).model)


def test_defaults_pass_for_every_model_and_own_fields_may_change() -> None:
    for name in MODELS:
        check_model_config(model_config(name))
    check_model_config(model_config("sasrec", block="post_norm", init="normal", positions="from_start"))
    check_model_config(model_config("bert4rec", mask_prob=0.4, mlm_head=False, mask_last_if_none=False))


def test_options_are_config_fields_and_constructor_arguments() -> None:
    fields = {field.name for field in dataclasses.fields(ModelConfig)}
    for model in MODELS.values():
        assert set(model.owned_fields()) <= fields
        built = build_model(model_config(model.name, hidden=8, max_length=4), n_items=5)
        assert isinstance(built, model)


# ---------------------------------------------------------------- variants


def test_variant_values() -> None:
    assert variant_values("sasrec", "paper-code") == {
        "block": "sasrec_pytorch",
        "init": "normal_torch_mha",
        "positions": "from_start",
    }
    assert variant_values("bert4rec", "paper-code") == {
        "mlm_head": False,
        "positions": "from_start",
        "mask_last_if_none": False,
    }
    variant_values("sasrec", "paper-code")["block"] = "pre_norm"  # a copy: the registry is unchanged
    assert SASRec.VARIANTS["paper-code"]["block"] == "sasrec_pytorch"


def test_sasrec_paper_code_variant_is_the_ablation_config() -> None:
    ablation = load_config(CONFIGS / "ablation-ml-1m-sasrec-ce-paper-code.toml").model
    for field, value in variant_values("sasrec", "paper-code").items():
        assert getattr(ablation, field) == value


def test_every_variant_passes_its_model_checks() -> None:
    for name, model in MODELS.items():
        for variant in model.VARIANTS:
            values: dict[str, Any] = variant_values(name, variant)
            assert set(values) <= set(model.OPTIONS)
            model.check_config(dataclasses.replace(model_config(name), **values))


def test_unknown_variant_or_model() -> None:
    with pytest.raises(
        ConfigError, match=re.escape("model.variant 'paper' is not a variant of sasrec; known: paper-code")
    ):
        variant_values("sasrec", "paper")
    with pytest.raises(ConfigError, match=re.escape("unknown model 'gru4rec'; known: bert4rec, sasrec")):
        variant_values("gru4rec", "paper-code")


# ---------------------------------------------------------------- training batches


def test_training_batches_follow_the_objective() -> None:
    items = np.array([1, 2, 3, 4, 5, 6, 7])
    starts, ends = np.array([0, 3]), np.array([3, 7])
    sasrec = build_model(model_config("sasrec", hidden=8, max_length=5), n_items=7)
    causal = sasrec.training_batches(items, starts, ends, batch_size=4)
    assert isinstance(causal, CausalBatches)
    assert (causal.max_length, causal.batch_size, causal.inputs.shape[1]) == (5, 4, 5)
    bert = build_model(
        model_config("bert4rec", hidden=8, max_length=3, mask_prob=0.4, mask_last_if_none=False), n_items=7
    )
    cloze = bert.training_batches(items, starts, ends, batch_size=2)
    assert isinstance(cloze, ClozeBatches)
    assert (cloze.max_length, cloze.batch_size, cloze.sequences.shape[1]) == (3, 2, 3)
    assert (cloze.mask_token, cloze.mask_prob, cloze.mask_last_if_none) == (8, 0.4, False)


def test_mask_settings_are_not_parameters() -> None:
    a = BERT4Rec(5, hidden=8, mask_prob=0.5, mask_last_if_none=False)
    assert list(a.state_dict()) == list(BERT4Rec(5, hidden=8).state_dict())


# ---------------------------------------------------------------- blocks and weight names


def test_each_block_layout_class_is_registered() -> None:
    layouts = {cls for cls in Block.__subclasses__()}
    assert set(BLOCKS.values()) == layouts
    assert list(BLOCKS) == ["pre_norm", "post_norm", "sasrec_pytorch", "ligr"]
    for name, cls in BLOCKS.items():
        assert cls.layout == name


def test_unknown_block_layout_is_rejected() -> None:
    with pytest.raises(ValueError, match=re.escape("unknown block layout 'x'; known: pre_norm, post_norm")):
        SASRec(10, block="x")


@pytest.mark.parametrize("layout", [layout for layout in BLOCKS if layout != "ligr"])  # ligr adds gates
def test_sasrec_weight_names_are_unchanged(layout: str) -> None:
    model = SASRec(5, hidden=8, blocks=1, block=layout)
    assert list(model.state_dict()) == SASREC_KEYS
    # a state dict written with the old names loads strictly
    old = {key: torch.zeros_like(value) for key, value in zip(SASREC_KEYS, model.state_dict().values(), strict=True)}
    model.load_state_dict(old)
    assert model.final_norm.weight.abs().sum() == 0


def test_bert4rec_weight_names_are_unchanged() -> None:
    assert list(BERT4Rec(5, hidden=8, blocks=1).state_dict()) == BERT4REC_KEYS + HEAD_KEYS
    assert list(BERT4Rec(5, hidden=8, blocks=1, mlm_head=False).state_dict()) == BERT4REC_KEYS


def test_the_interface_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        SequenceModel(5, 10)  # type: ignore[abstract]
    model: SequenceModel = SASRec(5, hidden=8, max_length=4).eval()
    items = torch.tensor([[0, 1, 2]])
    torch.testing.assert_close(model(items), model.encode(items))
