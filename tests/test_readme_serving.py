"""The README's "## Serving" example runs as written against a fresh export and recommends what
``recommend_for_histories`` does, the most frequent items for a history of unknown items."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import readme_python_block

from seqrec.api import SASRec
from seqrec.cli import main

README = Path(__file__).parents[1] / "README.md"


def serving_example() -> str:
    return readme_python_block("Serving")


def test_readme_serving_example_runs_and_matches_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.chdir(tmp_path)  # the example reads export/ from the working directory
    log = pd.DataFrame(  # the log of the "## Python API" example
        {
            "user_id": ["ann", "ann", "ann", "ann", "bob", "bob", "bob", "cid", "cid", "cid", "cid"],
            "item_id": ["tea", "cup", "pot", "mug", "tea", "cup", "pot", "cup", "pot", "mug", "jar"],
            "time": [1, 2, 3, 4, 1, 2, 3, 1, 2, 3, 4],
        }
    )
    model = SASRec(timestamp_col="time", hidden=16, max_epochs=5, max_length=3).fit(log)
    model.save("model.pt")
    assert main(["export", "--model", "model.pt", "--out", "export"]) == 0
    capsys.readouterr()

    namespace: dict = {}
    exec(compile(serving_example(), "README.md", "exec"), namespace)  # noqa: S102
    assert capsys.readouterr().out.strip()  # the example prints its recommendations

    recommend = namespace["recommend"]
    histories = [["tea", "cup"], ["tea", "new"], ["jar", "mug", "cup", "pot", "tea"], ["tea"] * 7]
    expected = model.recommend_for_histories(histories, k=3, unknown_items="ignore")
    got = recommend(histories, k=3)
    assert got == [expected[expected["user_id"] == row]["item_id"].tolist() for row in range(len(histories))]
    assert got[2] == []  # every item seen: nothing left to recommend

    popular = model.recommend(["dan"], k=2, on_unknown="popular")["item_id"].tolist()
    assert recommend([["new"], []], k=2) == [popular, popular]
