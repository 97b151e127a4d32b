"""Bad input and hostile files, end to end through ``seqrec train / recommend / evaluate`` and the API.

Every case ends either in a clear error (CLI: exit code 2 and one line ``seqrec: error: ...``
naming the file and, where there is one, the line; no traceback; no ``metrics.json``) or in a
documented, checked outcome. The README's "Bad input" table summarises these cases.
"""

import gzip
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import TINY, clean_error, sets

import seqrec
from seqrec.cli import main
from seqrec.config import ConfigError
from seqrec.data.interactions import DataError

API_TINY = {"max_epochs": 1, "hidden": 8, "max_length": 10, "batch_size": 16, "threads": 1}


# ---------------------------------------------------------------- helpers


def train(path: Path, fmt: str, out: Path, *overrides: str) -> int:
    return main(["train", "--out", str(out), *sets(f'data.path="{path}"', f"data.format={fmt}", *TINY, *overrides)])


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def one_unseen(users: list, items: list) -> dict:
    """Each user sees every item but one (``items[j % len(items)]``), so top-1 with seen items
    filtered is exactly that item: a check that raw ids map back without loss."""
    rng = np.random.default_rng(0)
    return {u: [items[k] for k in rng.permutation(len(items)) if k != j % len(items)] for j, u in enumerate(users)}


def pairs_text(histories: dict) -> str:
    return "".join(f"{u} {i}\n" for u, seq in histories.items() for i in seq)


def recommend_all(run: Path, tmp_path: Path, *extra: str) -> pd.DataFrame:
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(run), "--out", str(out), *extra]) == 0
    return pd.read_csv(out, dtype=str)


def finite_metrics(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    for part in ("valid", "test", "popularity_test"):
        assert metrics[part] and all(math.isfinite(v) for v in metrics[part].values())
    return metrics


# ---------------------------------------------------------------- unreadable files


def test_binary_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # random bytes, read as pairs or with the format guessed -> "binary data", nothing written
    garbage = write(tmp_path / "garbage.txt", np.random.default_rng(0).bytes(4096) + b"\x00")
    for fmt in ("pairs", "auto"):
        rc = train(garbage, fmt, tmp_path / "run")
        clean_error(capsys, rc, "garbage.txt: binary data")
        assert not (tmp_path / "run").exists()


def test_truncated_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a gzip stream cut in half -> "truncated or corrupt gzip file"
    text = "".join(f"{u} {i}\n" for u in range(2000) for i in range(20)).encode()
    packed = gzip.compress(text)
    cut = write(tmp_path / "cut.txt.gz", packed[: len(packed) // 2])
    rc = train(cut, "pairs", tmp_path / "run")
    clean_error(capsys, rc, "cut.txt.gz: truncated or corrupt gzip file", out=tmp_path / "run")


# ---------------------------------------------------------------- wrong delimiters


def test_comma_separated_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "1,2" read as whitespace separated pairs -> line 1 has 1 field, not 2
    path = write(tmp_path / "pairs.txt", "1,2\n1,3\n2,3\n")
    rc = train(path, "pairs", tmp_path / "run")
    clean_error(capsys, rc, "pairs.txt: line 1: expected 2 fields", out=tmp_path / "run")


def test_tab_separated_read_as_grouplens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a u.data-like file read as "::" separated -> line 1 has 1 field, not 4
    path = write(tmp_path / "ratings.dat", "1\t2\t5\t100\n1\t3\t4\t101\n")
    rc = train(path, "grouplens", tmp_path / "run")
    clean_error(capsys, rc, "ratings.dat: line 1: expected 4 fields", out=tmp_path / "run")


def test_semicolon_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a ";" separated .csv has one column "user_id;item_id" -> missing columns, listing the real ones
    path = write(tmp_path / "log.csv", "user_id;item_id\n1;2\n1;3\n")
    rc = train(path, "table", tmp_path / "run")
    clean_error(capsys, rc, "log.csv: missing column(s) ['user_id', 'item_id']", out=tmp_path / "run")


# ---------------------------------------------------------------- ids: negative, huge, missing, empty


def test_negative_ids_are_labels_and_map_back(tmp_path: Path) -> None:
    # negative raw ids (down to -2**63) are opaque labels: trained on and recommended back exactly
    users = [-1, -2, -3, -(2**63), -5, -6, -7, -8]
    items = [-100, -101, -102, -103, 0, 7]
    histories = one_unseen(users, items)
    run = tmp_path / "run"
    assert (
        train(write(tmp_path / "neg.txt", pairs_text(histories)), "pairs", run, "eval.ks=[1, 5]", "eval.metric=ndcg@5")
        == 0
    )
    recs = recommend_all(run, tmp_path)
    expected = {str(u): str(items[j % len(items)]) for j, u in enumerate(users)}
    assert dict(zip(recs["user"], recs["item"], strict=True)) == expected


def test_ids_near_two_to_the_62_map_back(tmp_path: Path) -> None:
    # int64 ids as large as 2**62 + k are kept exactly (no float round trip)
    users = [2**62 + k for k in range(6)]
    items = [2**62 + 1000 + k for k in range(5)]
    histories = one_unseen(users, items)
    run = tmp_path / "run"
    assert (
        train(write(tmp_path / "huge.txt", pairs_text(histories)), "pairs", run, "eval.ks=[1, 5]", "eval.metric=ndcg@5")
        == 0
    )
    recs = recommend_all(run, tmp_path)
    assert dict(zip(recs["user"], recs["item"], strict=True)) == {
        str(u): str(items[j % len(items)]) for j, u in enumerate(users)
    }


def test_ids_beyond_int64_in_a_line_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 2**64 in a pairs / user-per-line file -> "outside the int64 range", with the line
    big = 2**64 + 1
    pairs = write(tmp_path / "pairs.txt", f"1 2\n{big} 3\n")
    clean_error(
        capsys,
        train(pairs, "pairs", tmp_path / "run"),
        "pairs.txt: line 2: field 1 is an integer outside the int64 range",
        out=tmp_path / "run",
    )
    lines = write(tmp_path / "lines.txt", f"1 2 3\n2 3 {big}\n")
    clean_error(
        capsys,
        train(lines, "user_lines", tmp_path / "run"),
        "lines.txt: line 2: an integer outside the int64 range",
        out=tmp_path / "run",
    )


def test_ids_beyond_int64_in_a_table_are_labels(tmp_path: Path) -> None:
    # a CSV column with 2**64 + k is read as text: distinct labels, recommended back exactly
    users = [2**64 + k for k in range(6)]
    items = [10, 11, 12, 13, 14]
    histories = one_unseen(users, items)
    table = "user_id,item_id\n" + "".join(f"{u},{i}\n" for u, seq in histories.items() for i in seq)
    run = tmp_path / "run"
    assert train(write(tmp_path / "big.csv", table), "table", run, "eval.ks=[1, 5]", "eval.metric=ndcg@5") == 0
    assert json.loads((run / "metrics.json").read_text())["data"]["users"] == 6
    users_file = write(tmp_path / "users.txt", f"{2**64 + 2}\n")
    recs = recommend_all(run, tmp_path, "--users", str(users_file))
    assert recs.values.tolist()[0][:2] == [str(2**64 + 2), str(items[2])]


def test_uint64_ids_survive_save_and_load(tmp_path: Path) -> None:
    # uint64 ids above 2**63 are stored unsigned (not wrapped to negative numbers) by save/load
    users = [2**63 + k for k in range(6)]
    histories = one_unseen(users, [1, 2, 3, 4, 5])
    frame = pd.DataFrame([(u, i) for u, seq in histories.items() for i in seq], columns=["user_id", "item_id"])
    frame["user_id"] = frame["user_id"].astype(np.uint64)
    model = seqrec.SASRec(**API_TINY).fit(frame)
    loaded = seqrec.load(model.save(tmp_path / "m.pt"))
    recs = loaded.recommend([2**63 + 3], k=1)
    assert recs["user_id"].tolist() == [2**63 + 3] and recs["item_id"].tolist() == [4]


@pytest.mark.parametrize(
    "column,value,message",
    [
        ("user_id", np.nan, "row 3: missing value in column 'user_id'"),
        ("item_id", None, "row 3: missing value in column 'item_id'"),
        ("item_id", pd.NA, "row 3: missing value in column 'item_id'"),
        ("user_id", "", "row 3: empty value in column 'user_id'"),
        ("item_id", "  ", "row 3: empty value in column 'item_id'"),
    ],
)
def test_dataframe_missing_or_empty_ids(column: str, value: object, message: str) -> None:
    # NaN / None / NA / "" / blank user or item -> DataError naming the row and column
    frame = pd.DataFrame({"user_id": ["a", "a", "a", "b", "b", "b"], "item_id": ["x", "y", "z"] * 2}, dtype=object)
    frame.loc[3, column] = value
    with pytest.raises(DataError, match=re.escape(message)):
        seqrec.SASRec(**API_TINY).fit(frame)


def test_user_without_items_in_user_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a line holding only a user id -> "a user id with no items", with the line
    path = write(tmp_path / "lines.txt", "1 2 3 4\n2\n3 4 5 6\n")
    rc = train(path, "user_lines", tmp_path / "run")
    clean_error(capsys, rc, "lines.txt: line 2: a user id with no items", out=tmp_path / "run")


# ---------------------------------------------------------------- timestamps


def test_nan_timestamp_in_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an empty or "nan" timestamp field -> "missing value in column 'ts'" with the file line
    for field in ("", "nan"):
        path = write(tmp_path / "log.csv", f"user_id,item_id,ts\n1,1,10\n1,2,11\n1,3,{field}\n")
        rc = train(path, "table", tmp_path / "run", "data.timestamp_col=ts")
        clean_error(capsys, rc, "log.csv: line 4: missing value in column 'ts'", out=tmp_path / "run")


def test_nan_timestamp_in_dataframe() -> None:
    # a NaN timestamp -> DataError naming the row (never a silently misplaced interaction)
    frame = pd.DataFrame({"user_id": [1, 1, 1, 2], "item_id": [1, 2, 3, 1], "ts": [1.0, np.nan, 3.0, 4.0]})
    with pytest.raises(DataError, match=r"<DataFrame>: row 1: missing value in column 'ts'"):
        seqrec.SASRec(timestamp_col="ts", **API_TINY).fit(frame)


# ---------------------------------------------------------------- degenerate datasets


def test_single_user(tmp_path: Path) -> None:
    # one user with 10 items trains, tests that one user, and its metrics are finite
    run = tmp_path / "run"
    assert train(write(tmp_path / "one.txt", "".join(f"7 {i}\n" for i in range(10))), "pairs", run) == 0
    assert finite_metrics(run)["data"]["users"] == 1
    recs = recommend_all(run, tmp_path, "--keep-seen", "--k", "3")
    assert recs["user"].tolist() == ["7"] * 3


def test_no_user_with_three_interactions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # every user has < 3 items: nothing to validate on -> a clear DataError before anything is written
    path = write(tmp_path / "short.txt", "".join(f"{u} {u + i}\n" for u in range(20) for i in range(2)))
    rc = train(path, "pairs", tmp_path / "run")
    clean_error(capsys, rc, "short.txt: no user has 3 or more interactions, leave-one-out has nothing to validate on")
    assert not (tmp_path / "run").exists()
    # the API says the same and points at validation=False; with one item each there is nothing at all
    frame = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [1, 2, 3]})
    with pytest.raises(ValueError, match="validation=False"):
        seqrec.SASRec(**API_TINY).fit(frame)
    with pytest.raises(ValueError, match="no user has 2 or more interactions"):
        seqrec.SASRec(validation=False, **API_TINY).fit(frame)


def test_item_only_in_a_test_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # item 777 is only user 99's test target: it is in the catalog (rankable, untrained embedding),
    # and validation, test and `seqrec evaluate` metrics are finite
    rng = np.random.default_rng(1)
    text = "".join(f"{u} {i}\n" for u in range(20) for i in rng.choice(30, 6, replace=False)) + "99 1\n99 2\n99 777\n"
    run = tmp_path / "run"
    assert train(write(tmp_path / "pairs.txt", text), "pairs", run) == 0
    finite_metrics(run)
    assert 777 in seqrec.load(run).data_.item_ids
    capsys.readouterr()
    assert main(["evaluate", "--model", str(run)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert all(math.isfinite(v) for part in evaluated.values() for v in part.values())


# ---------------------------------------------------------------- configs


@pytest.mark.parametrize(
    "override,message",
    [
        ("train.batch_size=abc", "train.batch_size: expected int, got str 'abc'"),  # string for int
        ("model.dropout=[0.1]", "model.dropout: expected float, got list [0.1]"),  # list for float
        ("train.batch_size=true", "train.batch_size: expected int, got bool True"),  # bool is not an int here
        ("train.seed=99999999999999999999999", "train.seed: 99999999999999999999999 is outside the 64-bit"),
        ("train.batch_size=-1", "train.batch_size must be at least 1, got -1"),
        ("model.max_length=0", "model.max_length must be at least 1, got 0"),
        ("model.dropout=1.5", "model.dropout must be in [0, 1)"),
        ("train.lr=-1", "train.lr must be > 0"),
        ("train.lr=nan", "train.lr must be > 0"),
        ("train.patience=0", "train.patience must be at least 1"),
        ("train.negatives=-5", "train.negatives must be at least 0"),
        ("train.device=tpu9", "train.device 'tpu9' is not a torch device"),
        ("model.block=post_lm", "model.block must be one of pre_norm, post_norm, sasrec_pytorch, ligr; got 'post_lm'"),
        ("model.init=zeros", "model.init must be one of xavier, normal, normal_torch_mha, torch_default; got 'zeros'"),
        ("model.max_length=1099511627776", "cannot build a 'sasrec' model"),  # 2**40 positions: no memory
    ],
)
def test_bad_config_values(tmp_path: Path, capsys: pytest.CaptureFixture[str], override: str, message: str) -> None:
    # wrong types and out-of-range values -> one line naming the key, before any directory exists
    out = tmp_path / "run"
    rc = main(["train", "--out", str(out), *sets(*TINY, override)])
    clean_error(capsys, rc, message)
    assert not out.exists()


def test_bad_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the same checks on a TOML file: the message names the file and the key
    for text, message in [
        ("[train]\nbatch_size = true\n", "train.batch_size: expected int, got bool"),
        ("[train]\nbatch_size = -1\n", "train.batch_size must be at least 1"),
        ("[model]\nmax_length = 0\n", "model.max_length must be at least 1"),
        ("[model]\ndropout = 1.5\n", "model.dropout must be in [0, 1)"),
    ]:
        config = write(tmp_path / "bad.toml", text)
        rc = main(["train", "--config", str(config), "--out", str(tmp_path / "run")])
        clean_error(capsys, rc, f"{config}: ", message)
        assert not (tmp_path / "run").exists()


def test_api_rejects_wrong_types_and_ranges() -> None:
    # the estimator's keywords go through the same typed, range-checked config, at construction
    with pytest.raises(ConfigError, match="batch_size: expected int, got bool"):
        seqrec.SASRec(batch_size=True)
    with pytest.raises(ConfigError, match="lr: expected float, got str"):
        seqrec.SASRec(lr="0.1")
    with pytest.raises(ConfigError, match=re.escape("SASRec(...): train.batch_size must be at least 1, got -1")):
        seqrec.SASRec(batch_size=-1)
    with pytest.raises(ConfigError, match=re.escape("model.dropout must be in [0, 1)")):
        seqrec.BERT4Rec(dropout=1.5)
