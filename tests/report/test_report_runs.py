"""Reading run directories: grid labels, and summaries of runs evaluated at any ks."""

from collections.abc import Callable
from pathlib import Path

from seqrec.paper import GRID, PAPER, model_key
from seqrec.report import find_runs, read_run, summarise, to_markdown

MakeRun = Callable[..., Path]  # the make_run fixture of conftest.py


def test_run_evaluated_at_10_only_is_reported_without_100_columns(make_run: MakeRun) -> None:
    run = make_run("sasrec-ce", ks=[10])
    rows = summarise(find_runs([run.parent]))
    table = to_markdown(rows)
    assert "@100" not in table
    header = table.splitlines()[0]
    assert "| HR@10 | NDCG@10 | MRR | best epoch |" in header
    assert rows[0]["ndcg@10 vs paper"] == rows[0]["ndcg@10"] / PAPER["ml-1m"]["sasrec-ce"].ndcg10 - 1


def test_metric_a_run_lacks_shows_a_dash(make_run: MakeRun, tmp_path: Path) -> None:
    make_run("sasrec-ce", ks=[10])
    make_run("sasrec-bce", ks=[10, 100], loss="bce")
    rows = summarise(find_runs([tmp_path / "runs"]))
    lines = to_markdown(rows).splitlines()
    assert "| HR@10 | NDCG@10 | HR@100 | NDCG@100 | MRR |" in lines[0]
    by_model = {line.split(" | ")[1]: line.split(" | ") for line in lines[2:]}
    assert by_model["SASRec+"][4:6] == ["-", "-"]
    assert by_model["SASRec"][4:6] == ["0.4000", "0.2000"]


def test_labels_come_from_the_grid(make_run: MakeRun) -> None:
    assert read_run(make_run("a", model="bert4rec")).label == "BERT4Rec"
    assert read_run(make_run("b", loss="sampled_ce")).label == "SASRec+ 3000"
    assert read_run(make_run("c", loss="sampled_ce", negatives=256)).label == "SASRec+ 256"
    outside = read_run(make_run("d", model="bert4rec", loss="bce"))
    assert (outside.key, outside.label) == ("bert4rec-bce", "bert4rec-bce")


def test_grid_keys_round_trip_through_model_key() -> None:
    assert list(GRID) == ["bert4rec", "sasrec-bce", "sasrec-ce", "sasrec-sampled-ce"]
    for key, row in GRID.items():
        assert model_key(row.model, row.loss) == key


def test_seeds_are_averaged_with_their_spread(make_run: MakeRun, tmp_path: Path) -> None:
    make_run("sasrec-ce", base=0.2)
    make_run("sasrec-ce-seed1", base=0.4, seed=1)
    [row] = summarise(find_runs([tmp_path / "runs"]))
    assert row["seeds"] == 2 and abs(row["hr@10"] - 0.33) < 1e-12
    assert "| 0.3300 ± 0.1556 |" in to_markdown([row])
