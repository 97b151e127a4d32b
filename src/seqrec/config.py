"""Experiment configuration: TOML sections mapped onto dataclasses, every field with a default.

Unknown sections or keys and values of the wrong type are rejected with a message naming the
file and the key.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration that cannot be used (the message names the file and key)."""


@dataclass
class DataConfig:
    dataset: str = "synthetic"  # a catalog name (see `seqrec datasets`), or "synthetic"
    path: str = ""  # a file to read instead of a catalog dataset
    format: str = "auto"  # pairs | user_lines | grouplens | udata | table | auto
    data_dir: str = ""  # a directory looked at before SEQREC_DATA_DIR and the cache
    user_col: str = "user_id"
    item_col: str = "item_id"
    timestamp_col: str = ""
    min_item_interactions: int = 0
    min_user_interactions: int = 0
    drop_duplicates: bool = False


@dataclass
class ModelConfig:
    name: str = "sasrec"
    hidden: int = 64
    blocks: int = 2
    heads: int = 1
    dropout: float = 0.1
    max_length: int = 200
    ff_hidden: int = 0  # 0: same as hidden (SASRec); BERT4Rec uses 4 * hidden
    mask_prob: float = 0.2  # BERT4Rec only
    # BERT4Rec only: true gives a sequence with no item drawn its last item masked (false: the paper's code,
    # which skips such a sequence)
    mask_last_if_none: bool = False
    mlm_head: bool = True  # BERT4Rec only: dense + GELU + layer norm before the output (false: none)
    # variants of published code: a named set of the switches below ("paper-code"), or each switch on its own;
    # every model checks its own switches (see seqrec.models)
    variant: str = ""
    block: str = "pre_norm"  # pre_norm | post_norm | sasrec_pytorch | ligr (seqrec.models.blocks.BLOCKS)
    # false: a separate output item table for scoring (gSASRec's default), the input table only embeds
    tie_embeddings: bool = True
    # normal_torch_mha: N(0, 0.02) but the attention's q/k/v projection Xavier-uniform, as the paper's code
    # initialises; normal: N(0, 0.02) everywhere; xavier: Xavier-normal (seqrec 0.1's default);
    # torch_default: PyTorch's own per module (embeddings N(0, 1), Linear Kaiming-uniform), as gSASRec-pytorch
    init: str = "normal_torch_mha"
    positions: str = "from_end"  # from_end | from_start (counted from the window's first item); BERT4Rec too


@dataclass
class TrainConfig:
    loss: str = "ce"  # bce | ce | sampled_ce | gbce (seqrec.objectives.LOSSES)
    loss_args: dict[str, Any] = field(default_factory=dict)  # the loss's own parameters, e.g. {exclude_seen = true}
    # "": the loss's own; uniform | unseen | popularity | in_batch | mixed (seqrec.objectives.SAMPLERS)
    sampler: str = ""
    sampler_args: dict[str, Any] = field(default_factory=dict)  # the sampler's own parameters, e.g. {alpha = 0.5}
    negatives: int = 0  # 0: the loss's default (1 for bce, 256 for gbce, 3000 for sampled_ce)
    # shorthands for loss_args (not set: the loss's default; setting one and loss_args' entry too is an error)
    gbce_t: float | None = None  # loss_args.t of gbce, in [0, 1] (0.75 by default)
    logq: bool | None = None  # loss_args.logq of sampled_ce: correct each negative's logit by -log(m q(j))
    lr: float = 1e-3
    lr_schedule: str = "constant"  # constant | linear | cosine: decay to 0 at the last step of max_epochs
    warmup_epochs: float = 0.0  # linear warm-up from 0 over this many epochs (fractions allowed)
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 100
    patience: int = 10
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # 0: torch's default
    amp: str = ""  # "bf16": bfloat16 autocast for the encoder (GPU)
    compile: bool = False  # torch.compile the encoder
    length_groups: int = 4  # each batch runs as at most this many parts of similar length: same maths, less padding


@dataclass
class EvalConfig:
    ks: list[int] = field(default_factory=lambda: [10, 100])
    split: str = "leave_one_out"  # how validation and test targets are held out (seqrec.data.split.SPLITS)
    # eval.split = "temporal": where the test and validation periods start, each a quantile of all
    # interaction times in (0, 1) or a timestamp (> 1) in the data's units; 0: not set
    test_from: float = 0.0
    valid_from: float = 0.0
    targets: str = "first"  # temporal split: "first" item after a cut per user, or "all" of them in turn
    metric: str = "ndcg@10"  # early-stopping metric on validation
    every: int = 1  # validate every this many epochs (and after the last); patience still counts epochs
    valid_users: int = 10000  # at most this many validation users (a seeded random subset)
    filter_seen: bool = True
    batch_size: int = 256


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return dataclasses.asdict(self)


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """Check ``value`` against a field type; ints are accepted where floats are expected.

    ``X | None`` (an optional field, not set when None) takes an X, or None from a dict (TOML has no None).
    """
    if isinstance(kind, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return None if value is None else _coerce(value, inner, where)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool or kind is str or kind is int or kind is float:
        if type(value) is not kind:
            raise ConfigError(f"{where}: expected {kind.__name__}, got {type(value).__name__} {value!r}")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise ConfigError(f"{where}: {value} is outside the 64-bit integer range")
        return value
    if typing.get_origin(kind) is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {type(value).__name__} {value!r}")
        return [_coerce(v, item_kind, where) for v in value]
    if typing.get_origin(kind) is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table of names and values, got {type(value).__name__} {value!r}")
        for name, item in value.items():
            if not isinstance(item, bool | int | float | str):
                raise ConfigError(f"{where}.{name}: expected a number, boolean or string, got {item!r}")
        return dict(value)
    raise ConfigError(f"{where}: unsupported type {kind}")


def from_dict(raw: dict[str, Any], source: str = "<config>") -> Config:
    """Build a Config from nested dicts, rejecting unknown sections, keys and wrong types."""
    config = Config()
    sections = {f.name: f for f in dataclasses.fields(Config)}
    for section_name, values in raw.items():
        if section_name not in sections:
            raise ConfigError(f"{source}: unknown section [{section_name}]; known: {', '.join(sections)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{section_name}] must be a table of keys")
        section = getattr(config, section_name)
        hints = typing.get_type_hints(type(section))
        for key, value in values.items():
            if key not in hints:
                raise ConfigError(f"{source}: unknown key {section_name}.{key}; known: {', '.join(hints)}")
            setattr(section, key, _coerce(value, hints[key], f"{source}: {section_name}.{key}"))
    if config.model.variant:
        _apply_variant(config.model, set(raw.get("model", {})), source)
    return config


def _apply_variant(model: ModelConfig, explicit: set[str], source: str) -> None:
    """Set the switches of ``model.variant`` that the config does not set itself (explicit keys win)."""
    from seqrec.models import variant_values  # the models own their variants; they import this module

    try:
        values = variant_values(model.name, model.variant)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    for key, value in values.items():
        if key not in explicit:
            setattr(model, key, value)


def parse_override(text: str) -> tuple[str, str, Any]:
    """``section.key=value`` with a TOML value (strings may be written bare)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    path, value_text = text.split("=", 1)
    section, key = path.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text
    if "." in key:  # a table entry: train.loss_args.t=0.75
        key, name = key.split(".", 1)
        value = {name: value}
    return section, key, value


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a TOML file (or start from defaults) and apply ``section.key=value`` overrides."""
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = str(path)
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{source}: not valid TOML: {error}") from None
    for text in overrides:
        section, key, value = parse_override(text)
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"--set {text!r}: [{section}] is not a section")
        if isinstance(value, dict) and isinstance(raw[section].get(key), dict):
            value = {**raw[section][key], **value}
        raw[section][key] = value
    return from_dict(raw, source)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def to_toml(config: Config, header: str = "") -> str:
    """The resolved config as TOML, every field written out (an optional field not set as a comment)."""
    lines = [f"# {line}" for line in header.splitlines()]
    for section, values in config.to_dict().items():
        lines.append(f"\n[{section}]")
        lines.extend(
            f"# {key}: not set" if value is None else f"{key} = {_toml_value(value)}" for key, value in values.items()
        )
    return "\n".join(lines).lstrip("\n") + "\n"
