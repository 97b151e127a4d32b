"""Hostile or broken checkpoints and model files, end to end through ``seqrec train / recommend /
evaluate`` and ``seqrec.load``: each is refused with one clear line, and nothing in them runs."""

import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch
from helpers import TINY, clean_error, sets, write_interrupted_state

import seqrec
from seqrec.cli import main


class Malicious:
    """Unpickling calls ``open(marker, "w")``: creating the marker file is the proof of code execution."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("bad_input") / "run"
    assert main(["train", "--out", str(run), *sets(*TINY)]) == 0
    return run


def interrupted_copy(finished_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    write_interrupted_state(run)  # as if killed after its first epoch's checkpoint
    return run


def test_resume_with_another_models_config(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a SASRec checkpoint resumed under a BERT4Rec config -> "weights do not fit this 'bert4rec' model"
    run = interrupted_copy(finished_run, tmp_path)
    config = run / "config.toml"
    config.write_text(config.read_text().replace('name = "sasrec"', 'name = "bert4rec"'))
    rc = main(["train", "--resume", str(run)])
    clean_error(capsys, rc, "checkpoint.pt: weights do not fit this 'bert4rec' model", out=run)


def test_model_file_whose_weights_do_not_fit(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a saved model whose config says hidden=16 but whose weights have hidden=8 -> "do not fit"
    saved = seqrec.load(finished_run).save(tmp_path / "model.pt")
    payload = torch.load(saved, weights_only=True)
    payload["config"]["model"]["hidden"] = 16
    torch.save(payload, saved)
    with pytest.raises(ValueError, match=re.escape(str(saved)) + ": the weights do not fit a 'sasrec' model"):
        seqrec.load(saved)
    rc = main(["recommend", "--model", str(saved), "--out", str(tmp_path / "r.csv")])
    clean_error(capsys, rc, "model.pt: the weights do not fit")
    assert not (tmp_path / "r.csv").exists()


def test_half_written_files(finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a model file or a run's best.pt cut in half -> "not a readable ..." from recommend and evaluate
    saved = seqrec.load(finished_run).save(tmp_path / "model.pt")
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    rc = main(["recommend", "--model", str(saved), "--out", str(tmp_path / "r.csv")])
    clean_error(capsys, rc, "model.pt: not a readable seqrec model file")
    run = interrupted_copy(finished_run, tmp_path)
    best = run / "best.pt"
    best.write_bytes(best.read_bytes()[: best.stat().st_size // 2])
    clean_error(capsys, main(["evaluate", "--model", str(run)]), "best.pt: not a readable weights file")


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_malicious_pickle_is_refused_unrun(
    finished_run: Path, tmp_path: Path, writer: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # a checkpoint / model file whose unpickling would call open(marker, "w"): refused by
    # torch.load(weights_only=True) with one line, and the marker file is never created
    marker = tmp_path / "marker"
    payload = {"format": "seqrec-training-checkpoint-v1", "model": Malicious(marker)}
    run = interrupted_copy(finished_run, tmp_path)
    hostile = run / "checkpoint.pt"
    with open(hostile, "wb") as f:
        pickle.dump(payload, f) if writer == "pickle" else torch.save(payload, f)
    shutil.copy(hostile, run / "best.pt")

    clean_error(
        capsys,
        main(["train", "--resume", str(run)]),
        "checkpoint.pt: not a readable seqrec checkpoint",
        "refused",
        out=run,
    )
    with pytest.raises(ValueError, match=re.escape(str(hostile)) + ": not a readable seqrec model file.*refused"):
        seqrec.load(hostile)
    clean_error(
        capsys,
        main(["recommend", "--model", str(run), "--out", str(tmp_path / "r.csv")]),
        "best.pt: not a readable weights file",
        "refused",
    )
    clean_error(capsys, main(["evaluate", "--model", str(run)]), "best.pt: not a readable weights file")
    assert not marker.exists()
    assert "weights_only=False" not in capsys.readouterr().err  # never advise the unsafe way out
