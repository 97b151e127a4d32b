"""What a model's items that never occur in training do to its test figures.

Items that appear only as some user's validation or test target get no gradient as a positive
and never appear in an input. A full softmax pushes their scores down at every step; seqrec's
``unseen`` sampler pushes them down whenever it draws them; a sampler that draws only from the
items of the training data (as the paper's code does: ``all_items = df[item_col].unique()``
over the training frame) leaves them at their initial N(0, 0.02) draw.

This script re-scores a finished run's test users twice: as trained, and with the embedding
rows of the never-trained items re-drawn from N(0, 0.02) (the state they would have if no loss
ever touched them), and prints test HR@10 / NDCG@10 of both and the share of top-10 slots those
items take. An evaluation-only counterfactual: the other items were trained beside the pushed-down
rows, which a run with the other sampler would not have done.

Run: ``PYTHONPATH=src python benchmarks/untrained_items.py RUN_DIR [RUN_DIR...] [--seed 0] [--out FILE.json]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrec.data.interactions import item_counts
from seqrec.data.split import make_split
from seqrec.evaluation import rank_targets
from seqrec.metrics import mean_metrics
from seqrec.runs import load_run


def measure(run_dir: str, seed: int) -> dict[str, Any]:
    est = load_run(run_dir)
    model, data, _ = est._fitted()
    config = est.config
    split = make_split(config.eval.split, data, config.eval, config.data.path or config.data.dataset)
    assert split.test is not None
    counts = item_counts(data.items, *split.train_offsets, data.n_items)  # [I + 1]
    untrained = np.flatnonzero(counts[1:] == 0) + 1  # internal ids never in a training range
    result: dict[str, Any] = {"run": run_dir, "items": int(data.n_items), "untrained_items": int(len(untrained))}
    table = model.item_embedding.weight  # [I + 1, D]
    for label in ("as_trained", "untrained_redrawn"):
        if label == "untrained_redrawn":
            generator = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                rows = torch.from_numpy(untrained)
                table[rows] = torch.randn(len(rows), table.shape[1], generator=generator) * 0.02
        ranks, lists = rank_targets(model, data, split.test, 10, config.eval.filter_seen, 256, "cpu")
        metrics = mean_metrics(ranks, [10])
        share = float(np.isin(lists, untrained).mean())  # of all top-10 slots
        result[label] = {"hr@10": metrics["hr@10"], "ndcg@10": metrics["ndcg@10"], "top10_share_untrained": share}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = [measure(run, args.seed) for run in args.runs]
    for r in results:
        a, b = r["as_trained"], r["untrained_redrawn"]
        print(
            f"{r['run']}: {r['untrained_items']} of {r['items']} items never in training; test NDCG@10 "
            f"{a['ndcg@10']:.4f} -> {b['ndcg@10']:.4f}, HR@10 {a['hr@10']:.4f} -> {b['hr@10']:.4f}; "
            f"their share of top-10 slots {a['top10_share_untrained']:.4f} -> {b['top10_share_untrained']:.4f}"
        )
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
