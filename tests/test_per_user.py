"""per_user.npz: each test target's rank beside metrics.json, from which the test metrics follow exactly."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_bad_input import TINY, sets

from seqrec.cli import main
from seqrec.data.interactions import Interactions
from seqrec.data.split import leave_one_out
from seqrec.data.synthetic import synthetic_interactions
from seqrec.per_user import PER_USER_FILE, PerUser, from_eval_set, read_per_user, write_per_user

INF = float("inf")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("per_user") / "run"
    assert main(["train", "--out", str(out), *sets(*TINY)]) == 0
    return out


def ndcg10_by_hand(ranks: np.ndarray) -> np.ndarray:
    """NDCG@10 of one relevant item at 1-based rank r: 1 / log2(r + 1) when r <= 10, else 0."""
    return np.where(ranks <= 10, 1 / np.log2(ranks + 1), 0.0)


def test_trained_run_keeps_one_row_per_test_user_and_its_metrics_follow_exactly(run: Path) -> None:
    metrics = json.loads((run / "metrics.json").read_text())
    per_user = read_per_user(run / PER_USER_FILE)
    # the synthetic data: 1000 users with 20..60 items each, raw ids 0..999, all tested by leave-one-out
    assert len(per_user) == 1000
    assert sorted(per_user.users.tolist(), key=int) == [str(u) for u in range(1000)]
    assert per_user.users.dtype.kind == "U" and per_user.items.dtype.kind == "U"
    assert bool(np.all(per_user.ranks >= 1)) and bool(np.all(per_user.ranks == np.floor(per_user.ranks)))
    # bit for bit: the same ranks, the same exactly rounded means
    assert per_user.metrics([10, 100]) == metrics["test"]
    assert float(ndcg10_by_hand(per_user.ranks).mean()) == pytest.approx(metrics["test"]["ndcg@10"], abs=1e-12)
    assert float((per_user.ranks <= 100).mean()) == metrics["test"]["hr@100"]


def test_target_items_are_the_users_last_items(run: Path) -> None:
    # leave-one-out tests each user's last item: the synthetic data's raw ids, as text
    data = synthetic_interactions()
    last = {str(u): str(data.item_ids[data.items[data.offsets[u + 1] - 1]]) for u in range(data.n_users)}
    per_user = read_per_user(run / PER_USER_FILE)
    assert dict(zip(per_user.users.tolist(), per_user.items.tolist(), strict=True)) == last


def test_ranks_map_to_raw_ids_and_metrics_by_hand(tmp_path: Path) -> None:
    # users "ann" (4 items), "bob" (3), "cy" (2: training only); test targets: ann's d, bob's g
    data = Interactions.from_arrays(
        np.array(["ann"] * 4 + ["bob"] * 3 + ["cy"] * 2), np.array(["a", "b", "c", "d", "e", "f", "g", "a", "b"])
    )
    test = leave_one_out(data).test
    # 0-based ranks: ann's target first (0), bob's target removed as seen (+inf)
    per_user = from_eval_set(data, test, np.array([0.0, INF]))
    assert per_user.users.tolist() == ["ann", "bob"] and per_user.items.tolist() == ["d", "g"]
    assert per_user.ranks.tolist() == [1.0, INF]
    write_per_user(tmp_path / PER_USER_FILE, per_user)
    back = read_per_user(tmp_path / PER_USER_FILE)
    assert back.users.tolist() == ["ann", "bob"] and back.ranks.tolist() == [1.0, INF]
    # ann: hit at rank 1 -> hr 1, ndcg 1/log2(2) = 1, rr 1; bob: a miss everywhere -> 0, 0, 0; means 0.5
    assert back.metrics([1]) == {"mrr": 0.5, "hr@1": 0.5, "ndcg@1": 0.5}


def test_values_for_any_k() -> None:
    # 1-based ranks 1, 3, 12: NDCG@10 = [1, 1/log2(4) = 0.5, 0]; HR@12 = [1, 1, 1]; MRR = [1, 1/3, 1/12]
    per_user = PerUser(np.array(["a", "b", "c"]), np.array(["x", "y", "z"]), np.array([1.0, 3.0, 12.0]))
    assert per_user.values("ndcg@10").tolist() == [1.0, 0.5, 0.0]
    assert per_user.values("hr@12").tolist() == [1.0, 1.0, 1.0]
    assert per_user.values("mrr").tolist() == pytest.approx([1.0, 1 / 3, 1 / 12], abs=1e-15)
    for bad in ("ndcg", "ndcg@0", "recall@10", "NDCG@x"):
        with pytest.raises(ValueError, match=f"unknown metric '{bad}'; use ndcg@K, hr@K"):
            per_user.values(bad)


def test_temporal_split_with_all_targets_keeps_each_target(tmp_path: Path) -> None:
    # 40 users with 10 items each at times u + 100 * step: the test cut at step 8 leaves two test targets
    # per user (steps 8 and 9); user 0 repeats its step-2 item at step 9, a target removed as seen (+inf)
    rows = ["user_id,item_id,ts"]
    for u in range(40):
        items = [f"i{(u * 7 + 3 * step) % 60}" for step in range(10)]
        if u == 0:
            items[9] = items[2]
        rows += [f"u{u},{item},{u + 100 * step}" for step, item in enumerate(items)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    split = [
        'data.timestamp_col="ts"',
        "eval.split=temporal",
        "eval.valid_from=600",
        "eval.test_from=800",
        'eval.targets="all"',
    ]
    assert main(["train", "--out", str(out), *sets(f'data.path="{log}"', *TINY, *split)]) == 0
    per_user = read_per_user(out / PER_USER_FILE)
    assert len(per_user) == 80  # 40 users x 2 test targets
    assert per_user.users[:2].tolist() == ["u0", "u0"]
    assert per_user.items[:2].tolist() == ["i24", "i6"]  # u0's steps 8 and 9: (3 * 8) % 60, then item 2's i6
    assert per_user.ranks[1] == INF
    assert per_user.metrics([10, 100]) == json.loads((out / "metrics.json").read_text())["test"]


def test_evaluate_back_fills_a_run_without_the_file(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    old = tmp_path / "old"
    shutil.copytree(run, old)
    (old / PER_USER_FILE).unlink()  # as a run trained before runs kept per-user results
    capsys.readouterr()
    assert main(["evaluate", "--model", str(old)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["test"] == json.loads((run / "metrics.json").read_text())["test"]  # stdout stays JSON
    assert f"{old / PER_USER_FILE} written" in err
    written, original = read_per_user(old / PER_USER_FILE), read_per_user(run / PER_USER_FILE)
    for field in ("users", "items", "ranks"):
        assert np.array_equal(getattr(written, field), getattr(original, field))
    # a second evaluate leaves it as it is
    assert main(["evaluate", "--model", str(old)]) == 0
    assert "already holds" in capsys.readouterr().err


def test_evaluate_does_not_back_fill_when_the_figures_differ(
    run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    old = tmp_path / "old"
    shutil.copytree(run, old)
    (old / PER_USER_FILE).unlink()
    metrics = json.loads((old / "metrics.json").read_text())
    metrics["test"]["ndcg@10"] += 0.01  # as if metrics.json came from other weights
    (old / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    assert main(["evaluate", "--model", str(old)]) == 0
    err = capsys.readouterr().err
    assert "not written: the re-scored test metrics differ from" in err and "ndcg@10" in err
    assert not (old / PER_USER_FILE).exists()
    # an unfinished run (used with --allow-unfinished) gets none either
    (old / "metrics.json").unlink()
    assert main(["evaluate", "--model", str(old), "--allow-unfinished"]) == 0
    assert "not written: the run has not finished" in capsys.readouterr().err
    assert not (old / PER_USER_FILE).exists()


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match=f"{text}: not a readable per-user results file"):
        read_per_user(text)
    partial = tmp_path / "partial.npz"
    np.savez(partial, users=np.array(["a"]), items=np.array(["x"]))
    with pytest.raises(ValueError, match=f"{partial}: not a per-user results file \\(no ranks"):
        read_per_user(partial)
    bare = tmp_path / "bare.npy"
    np.save(bare, np.arange(3))
    with pytest.raises(ValueError, match=f"{bare}: not a readable per-user results file .*a single array"):
        read_per_user(bare)
    uneven = tmp_path / "uneven.npz"
    np.savez(uneven, users=np.array(["a", "b"]), items=np.array(["x"]), ranks=np.array([1.0]))
    with pytest.raises(ValueError, match=f"{uneven}: malformed per-user results"):
        read_per_user(uneven)
    with pytest.raises(FileNotFoundError):
        read_per_user(tmp_path / "missing.npz")
