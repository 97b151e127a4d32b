"""Config files: defaults, overrides, typos and wrong types rejected with the key named."""

from pathlib import Path

import pytest

from seqrec.config import ConfigError, load_config, to_toml


def test_defaults_are_the_paper_sasrec_settings() -> None:
    config = load_config()
    assert (config.model.hidden, config.model.blocks, config.model.heads) == (64, 2, 1)
    assert (config.model.dropout, config.model.max_length) == (0.1, 200)
    assert (config.train.lr, config.train.batch_size, config.train.max_epochs, config.train.patience) == (
        0.001,
        128,
        100,
        10,
    )


def test_file_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[train]\nloss = "bce"\nlr = 1\n[eval]\nks = [5]\n')
    config = load_config(path, ["train.batch_size=7", "model.name=bert4rec", "data.dataset=ml-1m"])
    assert config.train.loss == "bce" and config.train.lr == 1.0 and config.eval.ks == [5]
    assert config.train.batch_size == 7 and config.model.name == "bert4rec" and config.data.dataset == "ml-1m"


def test_round_trip_through_toml(tmp_path: Path) -> None:
    config = load_config(None, ["train.loss=sampled_ce", 'data.path="a \\"b\\".txt"'])
    path = tmp_path / "resolved.toml"
    path.write_text(to_toml(config, header="seqrec train"))
    assert load_config(path) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train]\nlos = 'ce'\n", r"c\.toml: unknown key train\.los; known: loss"),
        ("[trian]\nloss = 'ce'\n", r"c\.toml: unknown section \[trian\]"),
        ("[train]\nbatch_size = '128'\n", r"c\.toml: train\.batch_size: expected int, got str"),
        ("[eval]\nks = [10, 'x']\n", r"c\.toml: eval\.ks: expected int"),
        ("[train\n", r"c\.toml: not valid TOML"),
    ],
)
def test_bad_configs_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_bad_override() -> None:
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["batch_size=3"])


def test_tables_of_parameters_round_trip_and_merge_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[train]\nloss = "bce"\nloss_args = {t = 0.75, name = "x"}\n')
    config = load_config(path, ["train.loss_args.k=3", "train.sampler_args.alpha=0.5"])
    assert config.train.loss_args == {"t": 0.75, "name": "x", "k": 3}  # the override adds to the file's table
    assert config.train.sampler_args == {"alpha": 0.5}
    again = tmp_path / "again.toml"
    again.write_text(to_toml(config))
    assert load_config(again).train.loss_args == {"t": 0.75, "name": "x", "k": 3}
    path.write_text("[train]\nloss_args = {t = [1, 2]}\n")
    with pytest.raises(ConfigError, match=r"train.loss_args.t: expected a number, boolean or string"):
        load_config(path)


def test_a_named_variant_fills_the_switches_not_set_explicitly() -> None:
    config = load_config(None, ["model.variant=paper-code"])
    assert (config.model.block, config.model.init, config.model.positions) == (
        "sasrec_pytorch",
        "normal_torch_mha",
        "from_start",
    )
    config = load_config(None, ["model.variant=paper-code", "model.init=xavier"])  # explicit wins
    assert (config.model.block, config.model.init) == ("sasrec_pytorch", "xavier")
    config = load_config(None, ["model.name=bert4rec", "model.variant=paper-code"])
    assert (config.model.mlm_head, config.model.mask_last_if_none) == (False, False)
    with pytest.raises(ConfigError, match="model.variant .fast. is not a variant of sasrec; known: paper-code"):
        load_config(None, ["model.variant=fast"])


def test_optional_keys_take_their_type_or_none_from_a_dict() -> None:
    from seqrec.config import from_dict

    # a model file stores config.to_dict(), where a shorthand that is not set is None
    config = from_dict({"train": {"loss": "gbce", "gbce_t": None, "logq": None}, "model": {"tie_embeddings": False}})
    assert (config.train.gbce_t, config.train.logq, config.model.tie_embeddings) == (None, None, False)
    assert from_dict({"train": {"gbce_t": 1}}).train.gbce_t == 1.0  # an int where a float is expected
    with pytest.raises(ConfigError, match=r"<config>: train.logq: expected bool, got str 'yes'"):
        from_dict({"train": {"logq": "yes"}})
    with pytest.raises(ConfigError, match=r"train.batch_size: expected int, got NoneType None"):
        from_dict({"train": {"batch_size": None}})  # None only where a key may be not set
