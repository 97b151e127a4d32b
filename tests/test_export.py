"""``seqrec export``: the ONNX encoder and item matrix give the model's user vectors and top-10,
the files are what the manifest says, and bad input ends in one ``seqrec: error:`` line."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

import seqrec.export
from seqrec.api import BERT4Rec, SASRec, SequentialRecommender
from seqrec.cli import main
from seqrec.data.synthetic import synthetic_interactions
from seqrec.models.bert4rec import BERT4Rec as BERT4RecNetwork
from seqrec.models.sasrec import SASRec as SASRecNetwork

FIXTURES = Path(__file__).parent / "fixtures"
MAX_LENGTH = 20
TINY: dict[str, Any] = {"max_epochs": 3, "hidden": 32, "max_length": MAX_LENGTH, "batch_size": 64, "validation": False}


def interaction_frame(string_ids: bool) -> pd.DataFrame:
    """300 users over ~80 items; item ids ints far from 1..I, or strings."""
    x = synthetic_interactions(n_users=300, n_items=80, min_length=5, max_length=40, seed=1)
    raw = x.item_ids[x.items]
    items = [f"i{i}" for i in raw] if string_ids else (raw.astype(np.int64) * 10 + 7).tolist()
    return pd.DataFrame({"user_id": np.repeat(x.user_ids, x.lengths), "item_id": items})


class Exported:
    """A fitted estimator, its export directory and the exported files read back."""

    def __init__(self, model: SequentialRecommender, directory: Path) -> None:
        import onnxruntime

        self.model, self.directory = model, directory
        self.ids = json.loads((directory / "ids.json").read_text(encoding="utf-8"))
        self.items = np.load(directory / "items.npy")  # [I, D]
        self.session = onnxruntime.InferenceSession(str(directory / "encoder.onnx"), providers=["CPUExecutionProvider"])
        self.internal = {raw: i + 1 for i, raw in enumerate(self.ids["item_ids"])}

    def batch(self, histories: list[list[Any]]) -> np.ndarray:
        """Raw histories -> internal ids [R, max_length], the last max_length items, left-padded."""
        batch = np.zeros((len(histories), self.ids["max_length"]), dtype=np.int64)
        for row, history in enumerate(histories):
            known = [self.internal[x] for x in history][-self.ids["max_length"] :]
            batch[row, batch.shape[1] - len(known) :] = known
        return batch

    def top_k(self, histories: list[list[Any]], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw ids [R, k] and scores [R, k] from the exported files, seen items removed."""
        batch = self.batch(histories)
        users = self.session.run(None, {"history": batch})[0]  # [R, D]
        scores = users @ self.items.T  # [R, I]
        for row, history in enumerate(histories):
            scores[row, [self.internal[x] - 1 for x in history]] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # [R, k]
        raw = np.asarray(self.ids["item_ids"], dtype=object)
        return raw[top], np.take_along_axis(scores, top, axis=1)


def torch_user_vectors(model: SequentialRecommender, batch: np.ndarray) -> np.ndarray:
    """What ``score_next`` multiplies with the item matrix, from the model's own ``encode``: [R, D]."""
    network = model.model_
    assert network is not None
    history = torch.from_numpy(batch)  # [R, L]
    if isinstance(network, BERT4RecNetwork):
        mask = torch.full_like(history[:, :1], network.mask_token)
        history = torch.cat([history, mask], dim=1)[:, -network.max_length :]
    with torch.no_grad():
        return network.encode(history, last_only=True)[:, -1].numpy()


@pytest.fixture(scope="module", params=["sasrec", "bert4rec"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch.set_num_threads(4)
    string_ids = request.param == "bert4rec"
    estimator = SASRec if request.param == "sasrec" else BERT4Rec
    model = estimator(ff_hidden=64, **TINY).fit(interaction_frame(string_ids))
    root = tmp_path_factory.mktemp(request.param)
    saved = model.save(root / "model.pt")
    assert main(["export", "--model", str(saved), "--out", str(root / "export")]) == 0
    return Exported(model, root / "export")


def random_histories(exported: Exported, count: int = 500) -> list[list[Any]]:
    """``count`` histories of known raw items, lengths 1..1.5 max_length (some cut by the encoder)."""
    rng = np.random.default_rng(7)
    lengths = rng.integers(1, MAX_LENGTH * 3 // 2 + 1, count)
    lengths[:4] = [1, MAX_LENGTH - 1, MAX_LENGTH, MAX_LENGTH * 3 // 2]
    known = exported.ids["item_ids"]
    return [[known[i] for i in rng.integers(0, len(known), n)] for n in lengths]


def assert_same_top_k(exported: Exported, histories: list[list[Any]], expected: pd.DataFrame, k: int) -> None:
    """Exported top-k equals ``expected`` (one row per user and rank, in order): scores at every rank,
    ids wherever the scores are not tied."""
    items, scores = exported.top_k(histories, k)
    want_items = expected["item_id"].to_numpy(dtype=object).reshape(len(histories), k)
    want_scores = expected["score"].to_numpy().reshape(len(histories), k)
    assert np.abs(scores - want_scores).max() < 1e-4  # measured about 2e-6
    differ = items != want_items
    assert (np.abs(scores - want_scores)[differ] < 1e-4).all()  # only tied items may swap
    assert differ.any(axis=1).mean() <= 0.01  # measured: no row differs


def test_onnx_user_vectors_and_top10_match_pytorch(exported: Exported) -> None:
    histories = random_histories(exported)
    batch = exported.batch(histories)
    users = exported.session.run(None, {"history": batch})[0]  # [500, D]
    assert np.abs(users - torch_user_vectors(exported.model, batch)).max() < 1e-4  # measured about 1e-6
    untrimmed = exported.session.run(None, {"history": np.asarray([h[-1:] for h in batch.tolist()])})[0]
    assert untrimmed.shape == users.shape  # any length runs; one item [R, 1] as well

    expected = exported.model.recommend_for_histories(histories, k=10)
    assert len(expected) == 10 * len(histories)
    assert_same_top_k(exported, histories, expected, 10)


def test_onnx_top10_matches_recommend_for_every_fitted_user(exported: Exported) -> None:
    model = exported.model
    assert model.data_ is not None
    data = model.data_
    bounds = zip(data.offsets[:-1], data.offsets[1:], strict=True)
    histories = [data.item_ids[data.items[a:b]].tolist() for a, b in bounds]
    expected = model.recommend(list(data.user_ids), k=10)
    assert_same_top_k(exported, histories, expected, 10)


def test_export_files_ids_and_manifest(exported: Exported) -> None:
    directory, model = exported.directory, exported.model
    assert sorted(p.name for p in directory.iterdir()) == sorted(seqrec.export.FILES)
    assert sorted(p.name for p in directory.parent.iterdir()) == ["export", "model.pt"]  # no partial directory
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    assert manifest["seqrec_version"] == seqrec.__version__ and manifest["onnx_opset"] == seqrec.export.OPSET
    assert manifest["config"] == model.config.to_dict()
    assert model.data_ is not None and model.popularity_ is not None
    n_items = model.data_.n_items
    assert manifest["shapes"]["items.npy"] == [n_items, 32] and exported.items.dtype == np.float32
    assert manifest["check"]["max_abs_score_difference"] < 1e-4
    assert exported.ids["max_length"] == MAX_LENGTH and len(exported.ids["item_ids"]) == n_items
    kinds = {type(x) for x in exported.ids["item_ids"]}
    assert kinds == ({str} if model.config.model.name == "bert4rec" else {int})  # raw ids kept as they were
    assert exported.ids["item_ids"] == model.data_.item_ids[1:].tolist()
    assert np.load(directory / "popularity.npy").tolist() == model.popularity_[1:].tolist()


@pytest.mark.parametrize(
    "network",
    [
        SASRecNetwork(40, hidden=16, heads=2, max_length=12, block="sasrec_pytorch", positions="from_start"),
        SASRecNetwork(40, hidden=16, blocks=1, max_length=12, block="post_norm", init="normal"),
        BERT4RecNetwork(40, hidden=16, blocks=1, max_length=12, positions="from_start", mlm_head=False),
    ],
    ids=["sasrec-paper-code", "sasrec-post-norm-1-block", "bert4rec-paper-code"],
)
def test_every_layout_and_position_scheme_exports_the_same_scores(network: Any, tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    encoder = seqrec.export.ServingEncoder(network)
    seqrec.export.export_onnx(encoder, tmp_path / "encoder.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    items = seqrec.export.item_matrix(network)  # [I, D]
    generator = torch.Generator().manual_seed(0)
    for length in (1, 5, 12, 17):  # longer than max_length: the encoder keeps the last 12
        history = torch.randint(1, 41, (6, length), generator=generator)  # [6, L]
        history[0, : length - 1] = 0  # one history of a single item, left-padded
        got = session.run(None, {"history": history.numpy()})[0] @ items.T  # [6, I]
        with torch.no_grad():
            expected = network.eval().score_next(history)[:, 1:].numpy()  # [6, I]
        assert np.abs(got - expected).max() < 1e-4


def test_run_directory_exports(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    run = tmp_path / "run"
    argv = ["train", "--out", str(run), "--set", "data.dataset=synthetic", "--set", "train.max_epochs=1"]
    for override in ("model.hidden=16", "model.max_length=10", "eval.valid_users=100"):
        argv += ["--set", override]
    assert main(argv) == 0
    assert main(["export", "--model", str(run), "--out", str(tmp_path / "export")]) == 0
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["model"]["max_length"] == 10
    assert manifest["check"]["max_abs_score_difference"] < 1e-4


# ---------------------------------------------------------------- bad input


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("seqrec: error: "), err
    return err.strip()


@pytest.fixture(scope="module")
def old_model() -> Path:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return FIXTURES / "model-v0.1.0.pt"


def test_non_empty_out_refused_and_force_replaces(
    old_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["export", "--model", str(old_model), "--out", str(out)]) == 2
    assert "exists and is not empty; pass --force" in error_line(capsys)
    assert main(["export", "--model", str(old_model), "--out", str(out), "--force"]) == 2
    assert "holds files that are not an export's (notes.txt); not replaced, even with --force" in error_line(capsys)
    assert (out / "notes.txt").read_text() == "mine"  # files that are not an export's are never replaced

    (out / "notes.txt").unlink()  # an empty directory is fine
    assert main(["export", "--model", str(old_model), "--out", str(out)]) == 0
    assert main(["export", "--model", str(old_model), "--out", str(out)]) == 2
    assert error_line(capsys) == f"seqrec: error: {out}: exists and is not empty; pass --force to replace its export"
    (out / "items.npy").write_bytes(b"stale")
    assert main(["export", "--model", str(old_model), "--out", str(out), "--force"]) == 0
    assert np.load(out / "items.npy").shape == (15, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing left beside it


def test_failed_export_leaves_no_directory_and_the_old_one_intact(
    old_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(estimator: Any, directory: Path) -> dict[str, Any]:
        (directory / "encoder.onnx").write_bytes(b"half")
        raise RuntimeError("disk trouble")

    out = tmp_path / "out"
    assert main(["export", "--model", str(old_model), "--out", str(out)]) == 0
    before = (out / "manifest.json").read_bytes()
    monkeypatch.setattr(seqrec.export, "write_export", fail)
    assert main(["export", "--model", str(old_model), "--out", str(tmp_path / "new")]) == 2
    assert main(["export", "--model", str(old_model), "--out", str(out), "--force"]) == 2
    assert capsys.readouterr().err.count("seqrec: error: disk trouble") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "manifest.json").read_bytes() == before


def test_model_file_of_0_1_0_exports(old_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["export", "--model", str(old_model), "--out", str(out)]) == 0
    exported = Exported(seqrec.load(old_model), out)
    expected = pd.read_csv(FIXTURES / "model-v0.1.0-recs.csv")  # users 0 and 5, top 3, written by 0.1.0
    data = exported.model.data_
    assert data is not None
    rows = [int(np.flatnonzero(data.user_ids == user)[0]) for user in (0, 5)]
    histories = [data.item_ids[data.items[data.offsets[r] : data.offsets[r + 1]]].tolist() for r in rows]
    items, scores = exported.top_k(histories, 3)
    assert items.ravel().tolist() == expected["item_id"].tolist()
    np.testing.assert_allclose(scores.ravel(), expected["score"], atol=1e-5)


def test_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    missing = tmp_path / "missing.pt"
    assert main(["export", "--model", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert error_line(capsys) == f"seqrec: error: {missing}: no such model file"
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as exit_info:  # no --model at all: argparse's usage error
        main(["export", "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --model" in capsys.readouterr().err


def test_without_onnxruntime_one_line_with_the_install_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime raises ImportError
    argv = ["export", "--model", str(FIXTURES / "model-v0.1.0.pt"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "pip install 'seqrec[export]'" in error_line(capsys)
    assert not (tmp_path / "out").exists()
