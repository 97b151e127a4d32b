"""Estimator API: one contract every model passes (fit, recommend, seen items, unknown users,
fresh histories, save/load), plus the file errors and the README example."""

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import readme_python_block

import seqrec
from seqrec.api import BERT4Rec, SASRec, SequentialRecommender, UnknownIdError, load
from seqrec.config import ConfigError
from seqrec.data.synthetic import synthetic_interactions

TINY: dict[str, Any] = {"max_epochs": 2, "hidden": 16, "max_length": 12, "batch_size": 32, "ff_hidden": 32}
README = Path(__file__).parents[1] / "README.md"


def synthetic_frame() -> pd.DataFrame:
    """50 users over ~30 items with string ids ("u7", "i12") and shuffled rows ordered by a timestamp."""
    x = synthetic_interactions(n_users=50, n_items=30, min_length=4, max_length=15, seed=3)
    users = np.repeat(x.user_ids, x.lengths)
    frame = pd.DataFrame(
        {
            "user": [f"u{u}" for u in users],
            "item": [f"i{i}" for i in x.item_ids[x.items]],
            "ts": np.arange(len(users)),
        }
    )
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame()


def histories(frame: pd.DataFrame) -> dict[str, list[str]]:
    ordered = frame.sort_values("ts")
    return {u: g["item"].tolist() for u, g in ordered.groupby("user", sort=False)}


@pytest.fixture(scope="module", params=[SASRec, BERT4Rec], ids=["sasrec", "bert4rec"])
def fitted(request: pytest.FixtureRequest, frame: pd.DataFrame) -> SequentialRecommender:
    return request.param(user_col="user", item_col="item", timestamp_col="ts", **TINY).fit(frame)


# ---------------------------------------------------------------- construction


def test_model_defaults_and_overrides() -> None:
    b = BERT4Rec()
    assert (b.config.model.name, b.config.model.heads, b.config.model.ff_hidden) == ("bert4rec", 2, 256)
    assert (b.config.train.max_epochs, b.config.train.patience) == (200, 20)
    assert BERT4Rec(heads=4, max_epochs=3).config.model.heads == 4
    s = SASRec("bce", hidden=32, weight_decay=0.1, eval_batch_size=7, min_item_interactions=5)
    assert (s.config.model.name, s.config.model.heads, s.config.train.max_epochs) == ("sasrec", 1, 100)
    assert (s.config.train.loss, s.config.model.hidden, s.config.train.weight_decay) == ("bce", 32, 0.1)
    assert (s.config.eval.batch_size, s.config.data.min_item_interactions) == (7, 5)
    assert SequentialRecommender("bert4rec").config.model.heads == 2  # same defaults by name
    with pytest.raises(TypeError, match="hiden"):
        SASRec(hiden=3)
    with pytest.raises(ConfigError, match="hidden"):
        SASRec(hidden="big")


def test_estimator_is_not_the_network() -> None:
    from seqrec.models.sasrec import SASRec as Network

    assert seqrec.SASRec is SASRec and seqrec.load is load and seqrec.BERT4Rec is BERT4Rec
    assert seqrec.SASRec is not Network


def test_not_fitted() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        SASRec().recommend(["u1"])


# ---------------------------------------------------------------- the contract


def test_recommend_shape_ranks_raw_ids_and_no_seen_items(fitted: SequentialRecommender, frame: pd.DataFrame) -> None:
    users = ["u7", "u3", "u7"]  # order kept, repeats allowed
    out = fitted.recommend(users, k=5)
    assert list(out.columns) == ["user", "item", "score", "rank"]
    assert out["user"].tolist() == [u for u in users for _ in range(5)]
    assert out["rank"].tolist() == [1, 2, 3, 4, 5] * 3
    assert set(out["item"]) <= set(frame["item"])
    single = fitted.recommend("u7", k=5)  # a single id is one user (scores may differ in the last bits:
    assert single["item"].tolist() == out["item"][:5].tolist()  # batches of other shapes)
    seen = histories(frame)
    for row, user in enumerate(users):
        block = out.iloc[5 * row : 5 * row + 5]
        assert not set(block["item"]) & set(seen[user])
        assert block["score"].is_monotonic_decreasing


def test_recommend_every_item_is_the_catalog_minus_the_seen(fitted: SequentialRecommender, frame: pd.DataFrame) -> None:
    n_items = frame["item"].nunique()
    seen = histories(frame)
    unfiltered = fitted.recommend(["u1"], k=1000, filter_seen=False)
    filtered = fitted.recommend(["u1"], k=1000)
    assert sorted(unfiltered["item"]) == sorted(frame["item"].unique())
    assert len(filtered) == n_items - len(set(seen["u1"]))  # no padding rows, no -inf scores
    assert filtered["rank"].tolist() == list(range(1, len(filtered) + 1))


def test_recommend_all_users(fitted: SequentialRecommender, frame: pd.DataFrame) -> None:
    out = fitted.recommend(k=3)
    assert sorted(out["user"].unique()) == sorted(frame["user"].unique())
    assert len(out) == 3 * frame["user"].nunique()


def test_unknown_users(fitted: SequentialRecommender, frame: pd.DataFrame) -> None:
    unknown = [f"x{i}" for i in range(7)]
    with pytest.raises(UnknownIdError) as info:
        fitted.recommend(["u1", *unknown])
    message = str(info.value)
    assert "7 unknown user id(s): 'x0', 'x1', 'x2', 'x3', 'x4' and 2 more" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)

    assert fitted.recommend(["x0", "u1"], on_unknown="skip", k=2)["user"].tolist() == ["u1", "u1"]

    out = fitted.recommend(["x0", "u1"], on_unknown="popular", k=4)
    counts = frame["item"].value_counts()
    expected = sorted(counts.index, key=lambda item: (-counts[item], item))[:4]  # ties by id
    assert out[out["user"] == "x0"]["item"].tolist() == expected
    assert out[out["user"] == "x0"]["score"].tolist() == [float(counts[i]) for i in expected]
    assert out[out["user"] == "u1"].equals(fitted.recommend(["u1"], k=4).set_axis(range(4, 8)))


def test_histories_match_recommend(fitted: SequentialRecommender, frame: pd.DataFrame) -> None:
    seen = histories(frame)
    users = ["u2", "u9", "u0"]
    direct = fitted.recommend(users, k=6)
    fresh = fitted.recommend_for_histories({u: seen[u] for u in users}, k=6)
    assert fresh[["user", "item", "rank"]].equals(direct[["user", "item", "rank"]])
    np.testing.assert_allclose(fresh["score"], direct["score"], rtol=1e-5, atol=1e-5)

    as_list = fitted.recommend_for_histories([seen["u2"]], k=6)
    assert as_list["user"].tolist() == [0] * 6 and as_list["item"].tolist() == direct["item"][:6].tolist()


def test_histories_unknown_items_and_empty(fitted: SequentialRecommender, frame: pd.DataFrame) -> None:
    history = histories(frame)["u4"]
    clean = fitted.recommend_for_histories([history], k=5)
    with pytest.warns(UserWarning, match="1 unknown item id.*'nope'"):
        dirty = fitted.recommend_for_histories([["nope", *history]], k=5)
    assert dirty.equals(clean)
    with pytest.raises(UnknownIdError, match="nope"):
        fitted.recommend_for_histories([["nope", *history]], unknown_items="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = fitted.recommend_for_histories({"new": [], "lost": ["nope"]}, k=3, unknown_items="ignore")
    popular = fitted.recommend(["x"], k=3, on_unknown="popular")
    assert empty["item"].tolist() == popular["item"].tolist() * 2


def test_save_load_round_trip(fitted: SequentialRecommender, tmp_path: Path) -> None:
    path = fitted.save(tmp_path / "sub" / "model.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.pt"]  # no temporary file left
    loaded = load(path)
    assert type(loaded) is type(fitted) and loaded.config == fitted.config
    cases: list[dict[str, Any]] = [{"k": 7}, {"k": 3, "filter_seen": False}]
    for kwargs in cases:
        pd.testing.assert_frame_equal(
            loaded.recommend(["u1", "u5"], **kwargs),
            fitted.recommend(["u1", "u5"], **kwargs),
        )
    pd.testing.assert_frame_equal(
        loaded.recommend_for_histories([["i3", "i4"]]), fitted.recommend_for_histories([["i3", "i4"]])
    )


# ---------------------------------------------------------------- files that are not models


def test_load_rejects_garbage_truncated_and_foreign_files(tmp_path: Path, frame: pd.DataFrame) -> None:
    model = SASRec(user_col="user", item_col="item", timestamp_col="ts", **TINY).fit(frame)
    good = model.save(tmp_path / "good.pt")

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a model\n" * 10)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    bare = tmp_path / "best.pt"
    assert model.model_ is not None
    torch.save(model.model_.state_dict(), bare)
    for path, reason in [(garbage, "not a readable"), (truncated, "not a readable"), (bare, "not a seqrec model")]:
        with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + reason):
            load(path)

    payload = torch.load(good, weights_only=True)
    payload["config"]["model"]["name"] = "bert4rec"  # weights of a SASRec, config of a BERT4Rec
    other = tmp_path / "other.pt"
    torch.save(payload, other)
    with pytest.raises(ValueError, match=re.escape(str(other)) + ".*do not fit a 'bert4rec' model"):
        load(other)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.pt")


# ---------------------------------------------------------------- numeric ids, training on everything


def test_numeric_ids_and_training_on_all_items() -> None:
    frame = pd.DataFrame({"user_id": [10, 10, 10, 20, 20, 30, 30, 30, 30], "item_id": [1, 2, 3, 1, 3, 2, 3, 4, 5]})
    model = SASRec(validation=False, max_epochs=3, patience=1, hidden=8, max_length=5).fit(frame)
    assert model.result_ is not None and len(model.result_.history) == 3  # no early stopping
    out = model.recommend(["20", 30], k=2)  # ids read from a text file are matched as numbers
    assert out["user_id"].tolist() == [20, 20, 30] and out["user_id"].dtype.kind == "i"
    assert out["item_id"].dtype.kind == "i"
    assert set(out[out["user_id"] == 30]["item_id"]) == {1}  # the only unseen item for user 30 ...
    assert len(out[out["user_id"] == 30]) == 1  # ... so one row, not two


def test_validation_needs_three_items() -> None:
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 2, 3]})
    with pytest.raises(ValueError, match="validation=False"):
        SASRec(max_epochs=1, hidden=8).fit(frame)


# ---------------------------------------------------------------- the README example


def readme_example() -> str:
    return readme_python_block("Python API")


def test_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the example saves a file
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)  # noqa: S102
