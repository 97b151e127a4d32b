"""Full-catalog top-10 recommendation speed on ML-1M: seqrec vs RecTools 0.19.

Each library trains its model for 1 epoch on every ML-1M interaction (paper settings, see
``bench_train.py``; loss ce / softmax), then recommends the top 10 items of the whole catalog,
seen items filtered, for all 6040 users. Only the recommend call is timed: the median of
``--repeats`` calls (the first call is reported too). Peak RSS during recommendation is the
child's ``VmHWM`` after resetting it once training is done.

seqrec: ``seqrec.SASRec(...).fit(df).recommend(users, k=10, filter_seen=True)``
(``validation=False``: exactly 1 epoch on the full histories). RecTools:
``model.recommend(users, dataset, k=10, filter_viewed=True)`` on CPU with its default torch
ranking. Both return a long table (user, item, score, rank).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_recommend.py``.
Writes results/bench/recommend_ml1m.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import _common as common
import numpy as np
from _rectools_train import rectools_model
from _train_settings import BATCH, BLOCKS, DROPOUT, FF_HIDDEN, HEADS, HIDDEN, LR, MASK_PROB, MAX_LENGTH

K = 10


def fitted_data(spec: dict[str, Any]) -> Any:
    """ML-1M, or its first ``fit_users`` users (for quick checks)."""
    from _ml1m import load_ml1m

    from seqrec.data.interactions import Interactions

    data = load_ml1m()
    if spec["fit_users"]:
        n = spec["fit_users"]
        end = data.offsets[n]
        data = Interactions(data.offsets[: n + 1], data.items[:end], data.user_ids[:n], data.item_ids)
    return data


def seen_in_recommendations(data: Any, users: np.ndarray, items: np.ndarray) -> int:
    """How many recommended (raw user, raw item) pairs are in the user's history (should be 0)."""
    import pandas as pd

    from seqrec.data.interactions import gather_ranges

    rows, history = gather_ranges(data.items, data.offsets[:-1], data.offsets[1:])
    seen = pd.MultiIndex.from_arrays([data.user_ids[rows], data.item_ids[history]])
    return int(pd.MultiIndex.from_arrays([users, items]).isin(seen).sum())


# ============================================================================ child: seqrec


def seqrec_child(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from _ml1m import rectools_frame

    import seqrec

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    data = fitted_data(spec)
    name = spec["model"]
    params = {
        "hidden": HIDDEN,
        "blocks": BLOCKS,
        "heads": HEADS[name],
        "dropout": DROPOUT,
        "max_length": MAX_LENGTH,
        "batch_size": BATCH,
        "lr": LR,
        "seed": spec["seed"],
        "ff_hidden": FF_HIDDEN[name],
    }
    if name == "bert4rec":
        params["mask_prob"] = MASK_PROB
    frame = rectools_frame(data, data.offsets[:-1], data.offsets[1:])[["user_id", "item_id"]]
    estimator_class = seqrec.SASRec if name == "sasrec" else seqrec.BERT4Rec
    estimator = estimator_class(loss="ce", max_epochs=1, validation=False, **params).fit(frame)
    users = data.user_ids

    def recommend() -> tuple[np.ndarray, np.ndarray]:
        recs = estimator.recommend(users, k=K, filter_seen=True)
        return recs["user_id"].to_numpy(), recs["item_id"].to_numpy()

    return measure_recommend(recommend, data, spec["repeats"]) | {"versions": common.torch_info()}


# ========================================================================== child: RecTools


def rectools_child(spec: dict[str, Any]) -> dict[str, Any]:
    import _rectools_train
    import pytorch_lightning
    import rectools
    import torch
    from _ml1m import rectools_frame
    from rectools.dataset import Dataset

    if spec["threads"] > 0:
        torch.set_num_threads(spec["threads"])
    data = fitted_data(spec)
    dataset = Dataset.construct(rectools_frame(data, data.offsets[:-1], data.offsets[1:]))
    _rectools_train._TRAINER_KWARGS.update(max_epochs=1, min_epochs=1, deterministic=False)
    pytorch_lightning.seed_everything(spec["seed"], verbose=False)
    model = rectools_model(spec["model"], "ce", 0, 1)
    model.fit(dataset)
    users = data.user_ids

    def recommend() -> tuple[np.ndarray, np.ndarray]:
        recs = model.recommend(users, dataset, k=K, filter_viewed=True)
        return recs["user_id"].to_numpy(), recs["item_id"].to_numpy()

    versions = common.torch_info() | {"rectools": rectools.__version__}
    return measure_recommend(recommend, data, spec["repeats"]) | {
        "rectools_kwargs": _rectools_train.rectools_model_kwargs(spec["model"], "ce", 0, 1),
        "versions": versions,
    }


def measure_recommend(recommend: Any, data: Any, repeats: int = 3) -> dict[str, Any]:
    """Time ``recommend()`` ``repeats`` times; peak RSS from a reset after training."""
    import gc

    gc.collect()
    rss_before = common.rss_mb()
    peak_reset = common.reset_peak_rss()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        users, items = recommend()
        seconds.append(time.perf_counter() - started)
    return {
        "recommend_seconds_raw": seconds,
        "recommend_seconds": common.median(seconds),
        "first_call_seconds": seconds[0],
        "rss_before_recommend_mb": rss_before,
        "peak_rss_during_recommend_mb": common.peak_rss_mb() if peak_reset else None,
        "users": len(data.user_ids),
        "rows": len(users),
        "users_with_k": int((np.unique(users, return_counts=True)[1] == K).sum()),
        "seen_items_recommended": seen_in_recommendations(data, users, items),
    }


def child_main(spec: dict[str, Any], result_file: str) -> None:
    result = seqrec_child(spec) if spec["impl"] == "seqrec" else rectools_child(spec)
    common.write_child_result(result_file, spec | result | {"peak_rss_mb": common.peak_rss_mb()})


# ================================================================================== parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["sasrec", "bert4rec"], choices=["sasrec", "bert4rec"])
    parser.add_argument("--repeats", type=int, default=3, help="timed recommend calls (median)")
    parser.add_argument("--fit-users", type=int, default=0, help="only the first N users (quick checks); 0: all")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in every child (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-rectools", action="store_true")
    parser.add_argument("--rectools-python", default=None)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child), args.result_file)
        return

    rectools_python = None if args.no_rectools else common.rectools_python(args.rectools_python)
    machine = common.machine_info()
    results: list[dict[str, Any]] = []
    for model in args.models:
        for impl, python in (("seqrec", sys.executable), ("rectools", rectools_python)):
            spec = {
                "impl": impl,
                "model": model,
                "repeats": args.repeats,
                "fit_users": args.fit_users,
                "threads": args.threads,
                "seed": args.seed,
            }
            if python is None:
                why = "no RecTools venv"
                print(f"  {impl:8s} {model}: skipped ({why})")
                results.append(spec | {"status": "skipped", "error": why})
                continue
            print(f"  {impl:8s} {model} ...", end="", flush=True)
            result = spec | common.run_child(python, __file__, spec, args.timeout)
            if result["status"] == "ok":
                print(
                    f" {result['recommend_seconds']:.2f} s (first call {result['first_call_seconds']:.2f} s), "
                    f"{result['rows']} rows, seen recommended: {result['seen_items_recommended']}",
                    flush=True,
                )
            else:
                print(f" failed: {result['error']}\n    {result.get('stderr_tail', '')}", flush=True)
            results.append(result)

    headers = [
        "model",
        "library",
        "recommend s (median)",
        "first call s",
        "users",
        "rows",
        "seen recommended",
        "RSS before MiB",
        "peak during MiB",
        "seqrec / RecTools",
    ]
    table = []
    for r in results:
        other = next((o for o in results if o["model"] == r["model"] and o["impl"] == "rectools"), None)
        ratio = (
            r["recommend_seconds"] / other["recommend_seconds"]
            if r["impl"] == "seqrec" and r["status"] == "ok" and other and other["status"] == "ok"
            else None
        )
        table.append(
            [
                r["model"],
                r["impl"],
                r.get("recommend_seconds"),
                r.get("first_call_seconds"),
                r.get("users"),
                r.get("rows"),
                r.get("seen_items_recommended"),
                r.get("rss_before_recommend_mb"),
                r.get("peak_rss_during_recommend_mb"),
                ratio,
            ]
        )
    print()
    print(common.text_table(headers, table))
    comparisons = [dict(zip(headers, row, strict=True)) for row in table]
    payload = {"k": K, "filter_seen": True, "machine": machine, "comparisons": comparisons, "measurements": results}
    markdown = "\n".join(
        [
            "# Top-10 recommendation for every ML-1M user: seqrec vs RecTools",
            "",
            f"Full catalog, seen items filtered, model trained for 1 epoch; median of {args.repeats} recommend calls "
            "(only the call is timed). Peak RSS is measured from a reset after training.",
            "",
            common.markdown_table(headers, table),
            "",
            "## Machine",
            "",
            common.machine_markdown(machine),
        ]
    )
    paths = common.write_outputs("recommend_ml1m", payload, markdown, args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
