"""torchrun with 2 CPU processes (gloo): completes, rank 0 alone writes, metrics match one process.

Tolerance: with dropout off the only difference from a single process is that DDP averages
the two shards' mean losses instead of taking one mean over the whole batch; after 4 epochs
validation and test NDCG@10 agree within 0.01 absolute (measured difference ~0.003).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from seqrec.cli import main

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--set",
    "train.max_epochs=4",
    "--set",
    "train.patience=100",
    "--set",
    "train.lr=0.005",
    "--set",
    "train.batch_size=64",
    "--set",
    "model.dropout=0.0",
    "--set",
    "model.hidden=16",
    "--set",
    "model.max_length=20",
    "--set",
    "train.threads=1",
]


def test_two_process_training_matches_single_process(tmp_path: Path) -> None:
    single, multi = tmp_path / "single", tmp_path / "multi"
    assert main(["train", *ARGS, "--out", str(single)]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29517",
        "-m",
        "seqrec",
        "train",
        *ARGS,
        "--out",
        str(multi),
    ]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in multi.iterdir()) == sorted(p.name for p in single.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["multi", "single"]  # nothing else written
    one, two = (json.loads((d / "metrics.json").read_text()) for d in (single, multi))
    assert two["processes"] == 2 and one["processes"] == 1
    assert abs(one["test"]["ndcg@10"] - two["test"]["ndcg@10"]) < 0.01
    logs = [
        [json.loads(x)["valid"]["ndcg@10"] for x in (d / "log.jsonl").read_text().splitlines()] for d in (single, multi)
    ]
    assert len(logs[0]) == len(logs[1]) == 4
    assert all(abs(a - b) < 0.01 for a, b in zip(*logs, strict=True))
