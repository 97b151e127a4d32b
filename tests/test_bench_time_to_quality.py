"""benchmarks/bench_time_to_quality.py: thresholds first crossed, best epoch, the report; the RecTools scorer."""

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))  # the benchmark scripts import their siblings (_common) by name
ttq = importlib.import_module("bench_time_to_quality")
rq = importlib.import_module("_rectools_quality")


def row(epoch: int, ndcg: float | None, elapsed: float) -> dict:
    return {"epoch": epoch, "valid": {} if ndcg is None else {"ndcg@10": ndcg}, "elapsed_seconds": elapsed}


# epoch 2 not validated (eval.every = 2 style); epoch 5 ties epoch 3's .17
LOG = [row(1, 0.10, 10.0), row(2, None, 20.0), row(3, 0.17, 33.0), row(4, 0.165, 44.0), row(5, 0.17, 55.0)]


def write_log(path: Path, rows: list[dict], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)
    return path


def test_first_reaching_takes_the_first_epoch_at_or_above_each_threshold() -> None:
    # .16: epoch 1 (.10) no, epoch 2 unvalidated, epoch 3 (.17) yes -> 33 s; .17: epoch 3 equals it -> 33 s
    wall = {3: 40.5}
    assert ttq.first_reaching(LOG, 0.16, wall) == {
        "epoch": 3,
        "valid": 0.17,
        "elapsed_seconds": 33.0,
        "wall_seconds": 40.5,
    }
    assert ttq.first_reaching(LOG, 0.17)["epoch"] == 3
    assert ttq.first_reaching(LOG, 0.17)["wall_seconds"] is None  # no wall record (a --from-run log)
    assert ttq.first_reaching(LOG, 0.05)["epoch"] == 1
    assert ttq.first_reaching(LOG, 0.18) is None  # the highest is .17


def test_best_point_keeps_the_first_of_tied_best_epochs() -> None:
    # .17 at epochs 3 and 5: seqrec's early stopping keeps 3 (strictly greater replaces)
    assert ttq.best_point(LOG)["epoch"] == 3
    assert ttq.best_point(LOG)["elapsed_seconds"] == 33.0
    assert ttq.best_point([row(1, None, 5.0)]) is None


def test_read_log_leaves_out_a_torn_last_line_and_names_a_bad_one(tmp_path: Path) -> None:
    assert len(ttq.read_log(write_log(tmp_path / "log.jsonl", LOG, tail='{"epoch": 6, "va'))) == 5
    assert ttq.read_log(tmp_path / "missing.jsonl") == []
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(LOG[0]) + "\n{oops\n" + json.dumps(LOG[2]) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl: line 2 is not JSON"):
        ttq.read_log(bad)


def test_summary_cells_reached_not_reached_and_capped() -> None:
    metrics = {"test": {"ndcg@10": 0.1683, "hr@10": 0.2987}}
    s = ttq.summarise("r", LOG, [0.16, 0.17, 0.18], metrics, {"wall_seconds_at_epoch": {"3": 40.5}})
    assert list(s["thresholds"]) == [".16", ".17", ".18"]
    assert ttq.threshold_cell(s, ".16") == "33 s (ep 3)"
    assert ttq.threshold_cell(s, ".16", "wall_seconds") == "40 s (ep 3)"  # 40.5 rounds to even
    assert ttq.threshold_cell(s, ".18") == "not reached in 5 epochs / 55 s"
    # a run stopped before its first epoch ended says so, with the wall time it was given
    none = ttq.summarise("r", [], [0.03], {}, {"total_wall_seconds": 956.4})
    assert ttq.threshold_cell(none, ".03") == "no epoch finished in 956 s"
    assert (s["test_ndcg@10"], s["test_hr@10"], s["finished"]) == (0.1683, 0.2987, True)
    capped = ttq.summarise("r", LOG, [0.18], metrics, {"capped_at_seconds": 60.2})
    assert ttq.threshold_cell(capped, ".18") == "capped at 60 s, reached .1700"
    assert capped["finished"] is False


def test_report_only_from_finished_runs(tmp_path: Path) -> None:
    # two finished run directories; no training, no RecTools row (only --from-run asked for)
    for name, rows in (("a", LOG), ("b", [row(1, 0.12, 30.0), row(2, 0.185, 61.0)])):
        (tmp_path / name).mkdir()
        write_log(tmp_path / name / "log.jsonl", rows)
        metrics = {"test": {"ndcg@10": 0.15, "hr@10": 0.25}, "torch_threads": 1}
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    args = ["--report-only", "--recipes", "--out", str(tmp_path / "out"), "--stem", "t", "--title", "T"]
    ttq.main(args + ["--from-run", "a", str(tmp_path / "a"), "--from-run", "b", str(tmp_path / "b")])
    payload = json.loads((tmp_path / "out" / "t.json").read_text())
    assert [r["recipe"] for r in payload["rows"]] == ["a", "b"]
    md = (tmp_path / "out" / "t.md").read_text()
    # b: .16, .17, .18 all first reached at epoch 2 (.185) after 61 s; best epoch 2, .1850
    assert "| b | 61 s (ep 2) | 61 s (ep 2) | 61 s (ep 2) | 2 | .1850 | 61 | .1500 | .2500 | 2 | - |" in md
    assert "| a | 33 s (ep 3) | 33 s (ep 3) | not reached in 5 epochs / 55 s | 3 | .1700 | 33 |" in md


def test_bad_recipes_are_named(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="--recipe x: config file nope.toml not found"):
        ttq.main(["--recipe", "x", "nope.toml", "--report-only"])
    with pytest.raises(SystemExit, match="--recipes: unknown zz; known: sasrec-ce"):
        ttq.main(["--recipes", "zz", "--report-only"])
    with pytest.raises(SystemExit, match=f"--from-run r: {tmp_path} has no log.jsonl"):
        ttq.main(["--recipes", "--from-run", "r", str(tmp_path), "--report-only"])


def test_seqrec_to_rectools_maps_raw_ids_and_marks_unknown_items() -> None:
    # seqrec items 1..3 have raw ids 30, 10, 20; RecTools' order: PAD, 10, 30 (20 never trained on)
    mapping = rq.seqrec_to_rectools(np.array([0, 30, 10, 20]), np.array(["PAD", 10, 30], dtype=object))
    assert mapping.tolist() == [0, 2, 1, -1]


class FakeTorchModel:
    """Item embeddings e_j = j (1-d); a session's embedding = its last item's embedding."""

    class ItemModel:
        def get_all_embeddings(self) -> torch.Tensor:
            return torch.arange(3, dtype=torch.float32)[:, None]  # [3, 1]: PAD, item 1, item 2

    def __init__(self) -> None:
        self.item_model = self.ItemModel()
        self.seen_x: torch.Tensor | None = None

    def eval(self) -> None:
        pass

    def encode_sessions(self, batch: dict, items: torch.Tensor) -> torch.Tensor:
        self.seen_x = batch["x"]
        return items[batch["x"]]  # [B, L, 1]

    def similarity_module(self, sessions: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return sessions @ items.T  # [B, 3]


def test_scorer_pads_to_rectools_length_and_orders_scores_as_seqrec_items() -> None:
    model = FakeTorchModel()
    scorer = rq.RecToolsScorer(model, np.array([0, 2, 1, -1]), session_max_len=4)
    scores = scorer.score_next(torch.tensor([[0, 1], [2, 1]]))  # seqrec ids; last items 1 and 1 -> RecTools 2
    assert model.seen_x is not None and model.seen_x.tolist() == [
        [0, 0, 0, 2],
        [0, 0, 1, 2],
    ]  # left-padded to 4 in RecTools ids
    # session embedding 2; RecTools item scores 2 * [0, 1, 2] = [0, 2, 4]; seqrec order [PAD, rt 2, rt 1, unknown]
    assert scores.tolist() == [[0.0, 4.0, 2.0, float("-inf")]] * 2
