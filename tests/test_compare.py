"""``seqrec compare``: paired differences of finished runs on one split, and the runs it refuses."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_bad_input import TINY, clean_error, sets

from seqrec.cli import main
from seqrec.compare import compare_runs, compare_values
from seqrec.per_user import PER_USER_FILE, PerUser, read_per_user, write_per_user
from seqrec.significance import bootstrap_ci, holm, wilcoxon


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two finished runs on the synthetic data: grid/ce (SASRec+) and grid/bce (SASRec)."""
    root = tmp_path_factory.mktemp("compare") / "grid"
    for name, loss in (("ce", "ce"), ("bce", "bce")):
        assert main(["train", "--out", str(root / name), *sets(*TINY, f"train.loss={loss}")]) == 0
    return root


def ndcg10(run: Path) -> np.ndarray:
    """Per-user NDCG@10 by hand, 1 / log2(rank + 1) within the top 10, in raw-user-id order."""
    per_user = read_per_user(run / PER_USER_FILE)
    order = np.argsort(per_user.users, kind="stable")
    return np.where(per_user.ranks <= 10, 1 / np.log2(per_user.ranks + 1), 0.0)[order]


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def edit_config(run: Path, old: str, new: str) -> None:
    config = run / "config.toml"
    text = config.read_text()
    assert old in text, (old, text)
    config.write_text(text.replace(old, new))


def test_compare_rows_are_the_paired_statistics_of_the_per_user_values(grid: Path) -> None:
    ce, bce = grid / "ce", grid / "bce"
    rows, pairs = compare_runs([ce, bce], resamples=2000)
    assert pairs == 1000
    reference, other = rows
    test = {run: json.loads((run / "metrics.json").read_text())["test"] for run in (ce, bce)}
    assert (reference.name, reference.mean, reference.diff, reference.p) == (str(ce), test[ce]["ndcg@10"], None, None)
    assert other.mean == test[bce]["ndcg@10"]  # the per-user file's mean is metrics.json's figure
    assert other.diff == test[bce]["ndcg@10"] - test[ce]["ndcg@10"]
    differences = ndcg10(bce) - ndcg10(ce)  # [1000]
    assert other.diff == pytest.approx(float(differences.mean()), abs=1e-12)
    assert other.p == pytest.approx(wilcoxon(differences).p, abs=1e-12)
    assert other.p_holm == other.p  # one comparison: Holm leaves it
    assert (other.low, other.high) == pytest.approx(bootstrap_ci(differences, 2000), abs=1e-12)
    assert other.low is not None and other.high is not None and other.diff is not None
    assert other.low < other.diff < other.high


def test_compare_values_holm_across_rows() -> None:
    # three runs against the reference (row 0) on four users; differences vs the reference:
    #   row 1: [1, 1, 1, 1] -> W+ = 10, n = 4, var = 4*5*9/24 - (64 - 4)/48 = 7.5 - 1.25 = 6.25
    #          z = (10 - 5) / 2.5 = 2, p = erfc(2 / sqrt 2) = 0.045500
    #   row 2: [0, 0, 0, 0] -> p = 1
    #   row 3: [1, -1, 0, 0] -> W+ = 1.5, n = 2, var = 2*3*5/24 - (8 - 2)/48 = 1.125, z = 0, p = 1
    # Holm: sorted 0.0455 * 3 = 0.136501, then 1 * 2 -> 1, 1 * 1 -> 1
    values = np.array([[0.0, 0.0, 0.5, 0.5], [1.0, 1.0, 1.5, 1.5], [0.0, 0.0, 0.5, 0.5], [1.0, -1.0, 0.5, 0.5]])
    rows = compare_values(["ref", "up", "same", "mixed"], values, 0, resamples=500)
    assert [row.diff for row in rows] == [None, 1.0, 0.0, 0.0]
    assert rows[1].p == pytest.approx(math.erfc(2 / math.sqrt(2)), abs=1e-12)
    assert rows[1].p == pytest.approx(0.045500, abs=1e-6)
    assert [rows[2].p, rows[3].p] == [1.0, 1.0]
    assert [row.p_holm for row in rows[1:]] == pytest.approx(holm([rows[1].p or 0, 1.0, 1.0]), abs=1e-15)
    assert rows[1].p_holm == pytest.approx(3 * 0.0455003, abs=1e-6)
    assert (rows[1].low, rows[1].high) == (1.0, 1.0)  # equal differences: the interval collapses
    assert (rows[2].low, rows[2].high) == (0.0, 0.0)


def test_compare_command_prints_the_table(grid: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a directory of runs and a --reference: the reference first, then the others in directory order
    assert main(["compare", str(grid), "--reference", str(grid / "bce"), "--bootstrap", "500"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| run | NDCG@10 | ΔNDCG@10 vs reference | 95% CI | p (Wilcoxon) | p (Holm) |"
    assert lines[2].startswith(f"| {grid / 'bce'} | ") and lines[2].endswith("| reference | - | - | - |")
    assert lines[3].startswith(f"| {grid / 'ce'} | ")
    ce, bce = (json.loads((grid / n / "metrics.json").read_text())["test"]["ndcg@10"] for n in ("ce", "bce"))
    cells = [cell.strip() for cell in lines[3].strip("|").split("|")]
    assert cells[1] == f"{ce:.4f}" and cells[2] == f"{ce - bce:+.4f}"
    assert cells[3].startswith("[") and cells[3].endswith("]")
    assert "Paired over 1000 test targets" in lines[5] and "Wilcoxon signed-rank" in lines[5]
    assert "500 resamples" in lines[5]


def test_compare_other_metric(grid: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(grid / "ce"), str(grid / "bce"), "--metric", "hr@100", "--bootstrap", "100"]) == 0
    out = capsys.readouterr().out
    hr = json.loads((grid / "bce" / "metrics.json").read_text())["test"]["hr@100"]
    assert "ΔHR@100 vs reference" in out and f"| {grid / 'bce'} | {hr:.4f} |" in out


# ---------------------------------------------------------------- refused


def test_runs_of_different_datasets_are_refused(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = copy_run(grid / "bce", tmp_path / "other")
    edit_config(other, 'dataset = "synthetic"', 'dataset = "ml-1m"')
    rc = main(["compare", str(grid / "ce"), str(other)])
    clean_error(capsys, rc, f"{grid / 'ce'} and {other} were not tested on the same data and split")
    clean_error(capsys, main(["compare", str(grid / "ce"), str(other)]), "data.dataset is 'synthetic' in")


def test_runs_of_different_data_files_are_refused(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # both runs record a data file (the seqrec-data line); their sha256 differ
    a, b = copy_run(grid / "ce", tmp_path / "a"), copy_run(grid / "bce", tmp_path / "b")
    for run, sha in ((a, "1" * 64), (b, "2" * 64)):
        record = {"seqrec": "0.2", "dataset": "", "path": "/data/log.csv", "size": 10, "sha256": sha}
        config = run / "config.toml"
        config.write_text(f"# seqrec-data: {json.dumps(record)}\n" + config.read_text())
    rc = main(["compare", str(a), str(b)])
    clean_error(capsys, rc, "the data file's sha256 (config.toml's seqrec-data line) is '111", str(a), str(b))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("filter_seen = true", "filter_seen = false", "eval.filter_seen is True in"),
        ('split = "leave_one_out"', 'split = "temporal"', "eval.split is 'leave_one_out' in"),
        ("min_user_interactions = 0", "min_user_interactions = 5", "data.min_user_interactions is 0 in"),
    ],
)
def test_runs_of_different_splits_are_refused(
    grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture, old: str, new: str, key: str
) -> None:
    other = copy_run(grid / "bce", tmp_path / "other")
    edit_config(other, old, new)
    clean_error(capsys, main(["compare", str(grid / "ce"), str(other)]), key, str(other))


def test_runs_with_different_users_are_refused(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = copy_run(grid / "bce", tmp_path / "other")
    per_user = read_per_user(other / PER_USER_FILE)
    keep = per_user.users != "7"
    write_per_user(other / PER_USER_FILE, PerUser(per_user.users[keep], per_user.items[keep], per_user.ranks[keep]))
    rc = main(["compare", str(grid / "ce"), str(other)])
    clean_error(capsys, rc, "hold different test users (1000 and 999 targets; 1 users only in the first", "'7'")


def test_runs_with_different_targets_are_refused(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    other = copy_run(grid / "bce", tmp_path / "other")
    per_user = read_per_user(other / PER_USER_FILE)
    items = per_user.items.copy()
    items[per_user.users == "3"] = "not-the-target"
    write_per_user(other / PER_USER_FILE, PerUser(per_user.users, items, per_user.ranks))
    rc = main(["compare", str(grid / "ce"), str(other)])
    clean_error(capsys, rc, "hold different test targets for 1 of 1000 rows (e.g. user '3')")


def test_a_run_without_per_user_file_is_refused(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old = copy_run(grid / "bce", tmp_path / "old")
    (old / PER_USER_FILE).unlink()
    rc = main(["compare", str(grid / "ce"), str(old)])
    clean_error(capsys, rc, f"{old}: no per_user.npz", f"write it with `seqrec evaluate --model {old}`")


def test_unfinished_runs_are_refused(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    unfinished = copy_run(grid / "bce", tmp_path / "runs" / "bce")
    (unfinished / "metrics.json").unlink()
    rc = main(["compare", str(grid / "ce"), str(unfinished)])
    clean_error(capsys, rc, f"{unfinished}: the run has not finished (no metrics.json)")
    # a directory of runs none of which has finished
    rc = main(["compare", str(grid / "ce"), str(tmp_path / "runs")])
    clean_error(capsys, rc, f"{tmp_path / 'runs'}: no finished run (none of its 1 run directories has metrics.json)")


def test_other_bad_arguments(grid: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ce = str(grid / "ce")
    clean_error(capsys, main(["compare", ce, str(tmp_path / "nope")]), f"{tmp_path / 'nope'}: no such run directory")
    clean_error(
        capsys, main(["compare", ce, str(tmp_path)]), f"{tmp_path}: not a seqrec run directory (no config.toml)"
    )
    clean_error(capsys, main(["compare", ce, ce]), "compare needs at least two finished runs")
    clean_error(capsys, main(["compare", ce, str(grid / "bce"), "--metric", "recall@10"]), "unknown metric 'recall@10'")
    clean_error(capsys, main(["compare", ce, str(grid / "bce"), "--bootstrap", "0"]), "--bootstrap must be at least 1")
    rc = main(["compare", ce, str(grid / "bce"), "--reference", str(tmp_path)])
    clean_error(capsys, rc, f"--reference {tmp_path}: not a seqrec run directory")
