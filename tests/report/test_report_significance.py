"""The report's paired comparison with the reference row (SASRec+), from per_user.npz files written by hand."""

import csv
import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from seqrec.per_user import PER_USER_FILE, PerUser, write_per_user
from seqrec.report import find_runs, summarise, to_csv, to_markdown

MakeRun = Callable[..., Path]  # the make_run fixture of conftest.py
USERS = np.array(["u1", "u2", "u3", "u4", "u5", "u6"])


def keep_ranks(run: Path, ranks: Sequence[float], users: np.ndarray = USERS) -> None:
    """Write run's per_user.npz: these 1-based ranks of the six users' targets (items t1..t6)."""
    items = np.array([f"t{u[1:]}" for u in users])
    write_per_user(run / PER_USER_FILE, PerUser(users, items, np.array(ranks, dtype=np.float64)))


# NDCG@10 of rank r: 1 / log2(r + 1) within the top 10; 1 -> 1, 2 -> 0.630930, 5 -> 0.386853, 3 -> 0.5
REFERENCE = [1, 2, 20, 1, 5, 11]  # [1, 0.630930, 0, 1, 0.386853, 0]
BCE = [2, 2, 1, 30, 5, 3]  # [0.630930, 0.630930, 1, 0, 0.386853, 0.5]
SAMPLED = [1, 1, 1, 1, 1, 1]  # [1, 1, 1, 1, 1, 1]


@pytest.fixture
def rows(make_run: MakeRun, tmp_path: Path) -> list[dict]:
    keep_ranks(make_run("sasrec-ce"), REFERENCE)
    keep_ranks(make_run("sasrec-bce", loss="bce"), BCE)
    keep_ranks(make_run("sasrec-sampled-ce", loss="sampled_ce"), SAMPLED)
    make_run("bert4rec", model="bert4rec")  # no per_user.npz: its cells stay "-"
    return summarise(find_runs([tmp_path / "runs"]))


def by_key(rows: list[dict]) -> dict[str, dict]:
    return {row["key"]: row for row in rows}


def test_differences_and_wilcoxon_by_hand(rows: list[dict]) -> None:
    row = by_key(rows)
    # SASRec (bce) - SASRec+: [-0.369070, 0, 1, -1, 0, 0.5], mean = 0.130930 / 6 = 0.021822
    gain = [1.0, 1 / math.log2(3), 0.0, 1.0, 1 / math.log2(6), 0.0]
    bce = [1 / math.log2(3), 1 / math.log2(3), 1.0, 0.0, 1 / math.log2(6), 0.5]
    assert row["sasrec-bce"]["ndcg@10 diff"] == pytest.approx((sum(bce) - sum(gain)) / 6, abs=1e-12)
    assert row["sasrec-bce"]["ndcg@10 diff"] == pytest.approx(0.021822, abs=1e-6)
    # non-zero differences: -0.369 (rank 1), 1 and -1 (tied, 3.5 each), 0.5 (rank 2) -> W+ = 3.5 + 2 = 5.5, n = 4
    # var = 4*5*9/24 - (8 - 2)/48 = 7.375; z = (5.5 - 5) / sqrt(7.375) = 0.184115; p = 0.853923
    p_bce = math.erfc(0.5 / math.sqrt(7.375) / math.sqrt(2))
    assert row["sasrec-bce"]["ndcg@10 p"] == pytest.approx(p_bce, abs=1e-12)
    assert p_bce == pytest.approx(0.853923, abs=1e-6)
    # SASRec+ 3000 - SASRec+: [0, 0.369070, 1, 0, 0.613147, 1], all 4 non-zero positive -> W+ = 1 + 2 + 3.5 + 3.5 = 10
    # z = (10 - 5) / sqrt(7.375) = 1.841149; p = 0.065600
    p_sampled = math.erfc(5 / math.sqrt(7.375) / math.sqrt(2))
    assert row["sasrec-sampled-ce"]["ndcg@10 p"] == pytest.approx(p_sampled, abs=1e-12)
    assert p_sampled == pytest.approx(0.065600, abs=1e-6)
    # Holm over the two: 0.065600 * 2 = 0.131199; 0.853923 * 1, kept monotone -> 0.853923
    assert row["sasrec-sampled-ce"]["ndcg@10 p holm"] == pytest.approx(2 * p_sampled, abs=1e-12)
    assert row["sasrec-bce"]["ndcg@10 p holm"] == pytest.approx(p_bce, abs=1e-12)
    low, high = row["sasrec-bce"]["ndcg@10 ci low"], row["sasrec-bce"]["ndcg@10 ci high"]
    assert -1 <= low < row["sasrec-bce"]["ndcg@10 diff"] < high <= 1  # within the smallest and largest difference
    assert row["sasrec-bce"]["reference"] == "sasrec-ce"
    for key in ("sasrec-ce", "bert4rec"):  # the reference itself, and a row without per-user results
        assert not set(row[key]) & {"ndcg@10 diff", "ndcg@10 ci low", "ndcg@10 ci high", "ndcg@10 p", "reference"}


def test_markdown_and_csv_show_the_comparison(rows: list[dict]) -> None:
    lines = [[cell.strip() for cell in line.strip("|").split("|")] for line in to_markdown(rows).splitlines()]
    header = lines[0]
    for name in ("ΔNDCG@10 vs SASRec+", "95% CI", "p (Holm)"):
        assert name in header
    assert "p (Wilcoxon)" not in header  # the unadjusted p is in the CSV only
    table = {line[header.index("model")]: line for line in lines[2:]}
    diff, ci, p = (header.index(name) for name in ("ΔNDCG@10 vs SASRec+", "95% CI", "p (Holm)"))
    assert table["SASRec"][diff] == "+0.0218"
    assert table["SASRec"][ci].startswith("[") and table["SASRec"][ci].endswith("]")
    assert table["SASRec"][p] == "0.8539"
    assert [table[model][diff] for model in ("SASRec+", "BERT4Rec")] == ["-", "-"]
    assert [table[model][ci] for model in ("SASRec+", "BERT4Rec")] == ["-", "-"]
    csv_rows = list(csv.DictReader(io.StringIO(to_csv(rows))))
    bce = next(r for r in csv_rows if r["key"] == "sasrec-bce")
    row = by_key(rows)["sasrec-bce"]
    assert float(bce["ndcg@10 ci low"]) == row["ndcg@10 ci low"]
    assert float(bce["ndcg@10 ci high"]) == row["ndcg@10 ci high"]
    assert float(bce["ndcg@10 p"]) == row["ndcg@10 p"] and bce["reference"] == "sasrec-ce"
    assert next(r for r in csv_rows if r["key"] == "bert4rec")["ndcg@10 diff"] == ""
    assert table["SASRec"][ci] == f"[{row['ndcg@10 ci low']:+.4f}, {row['ndcg@10 ci high']:+.4f}]"


def test_seeds_are_averaged_per_user_before_pairing(make_run: MakeRun, tmp_path: Path) -> None:
    # SASRec (bce) over two seeds: ranks [1, 1, 20, 20, 20, 20] and [20, 20, 20, 20, 20, 20]
    # -> per-user NDCG@10 [0.5, 0.5, 0, 0, 0, 0]; minus the reference's [1, 1, 0, 0, 0, 0] -> [-0.5, -0.5, 0, 0, 0, 0]
    keep_ranks(make_run("sasrec-ce"), [1, 1, 20, 20, 20, 20])
    keep_ranks(make_run("sasrec-bce", loss="bce"), [1, 1, 20, 20, 20, 20])
    keep_ranks(make_run("sasrec-bce-seed1", loss="bce", seed=1), [20] * 6)
    row = by_key(summarise(find_runs([tmp_path / "runs"])))["sasrec-bce"]
    assert row["ndcg@10 diff"] == pytest.approx(-1 / 6, abs=1e-15)
    # a resample's mean is -0.5 k / 6, k ~ Binomial(6, 1/3) of the -0.5s drawn: P(k = 0) = (2/3)^6 = 0.088 > 2.5%,
    # so the upper end is 0; P(k >= 5) = 13/729 = 1.8% < 2.5% < P(k >= 4) = 73/729, so the lower end lies
    # between k = 5 (-5/12) and k = 4 (-1/3)
    assert row["ndcg@10 ci high"] == 0.0
    assert -5 / 12 - 1e-12 <= row["ndcg@10 ci low"] <= -1 / 3 + 1e-12
    # two equal non-zero differences, both negative: W+ = 0, mean = 1.5, var = 2*3*5/24 - 6/48 = 1.125
    assert row["ndcg@10 p"] == pytest.approx(math.erfc(1.5 / math.sqrt(1.125) / math.sqrt(2)), abs=1e-12)


def test_no_comparison_without_per_user_files_or_with_another_split(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_run("sasrec-ce")
    make_run("sasrec-bce", loss="bce")
    rows = summarise(find_runs([tmp_path / "runs"]))
    assert "Δ" not in to_markdown(rows) and "reference" not in to_csv(rows).splitlines()[0].split(",")
    # per-user files, but the other run holds other users: no cells, a note on stderr naming both
    keep_ranks(tmp_path / "runs" / "sasrec-ce", REFERENCE)
    keep_ranks(tmp_path / "runs" / "sasrec-bce", BCE, users=np.array(["u1", "u2", "u3", "u4", "u5", "u9"]))
    make_run("bert4rec", model="bert4rec")
    keep_ranks(tmp_path / "runs" / "bert4rec", SAMPLED)
    capsys.readouterr()
    row = by_key(summarise(find_runs([tmp_path / "runs"])))
    assert "ndcg@10 diff" not in row["sasrec-bce"] and "ndcg@10 diff" in row["bert4rec"]
    err = capsys.readouterr().err
    assert "seqrec: note: ml-1m: no significance for sasrec-bce:" in err and "hold different test users" in err
