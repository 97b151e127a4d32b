"""A fake finished run directory: config.toml, metrics.json and log.jsonl, nothing trained."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from seqrec.config import Config, to_toml

MakeRun = Callable[..., Path]


def _metrics(ks: list[int], base: float) -> dict[str, float]:
    values = {"mrr": base / 2}
    for k in ks:
        values[f"hr@{k}"], values[f"ndcg@{k}"] = base * (1 + k / 100), base * (1 + k / 100) / 2
    return values


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """``make_run(name, ks=[10], model="sasrec", loss="ce", ...)`` writes a run under tmp_path/runs."""

    def make(
        name: str,
        ks: list[int] | None = None,
        model: str = "sasrec",
        loss: str = "ce",
        negatives: int = 0,
        dataset: str = "ml-1m",
        base: float = 0.2,
        seed: int = 0,
    ) -> Path:
        ks = ks or [10]
        config = Config()
        config.data.dataset, config.model.name, config.train.loss = dataset, model, loss
        config.train.negatives, config.train.seed, config.eval.ks = negatives, seed, ks
        config.eval.metric = f"ndcg@{ks[0]}"
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        (run / "config.toml").write_text(to_toml(config), encoding="utf-8")
        metrics = {
            "valid": _metrics(ks, base),
            "test": _metrics(ks, base),
            "best_epoch": 2,
            "epochs": 3,
            "stopped_early": False,
            "train_seconds": 30.0,
            "seconds_per_epoch": 10.0,
            "peak_rss_mb": 500.0,
        }
        (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        log = [
            {"epoch": e, "loss": 1.0, "valid": _metrics(ks, base * e / 3), "elapsed_seconds": 10.0 * e}
            for e in (1, 2, 3)
        ]
        (run / "log.jsonl").write_text("".join(json.dumps(row) + "\n" for row in log), encoding="utf-8")
        return run

    return make
