"""Streaming top-10 recommendation for 1,000,000 users and 50,000 items: users per second and peak memory.

A synthetic log (seeded): 1M users, each with 20-50 items drawn from a Zipf-like distribution
over 50k items (p(rank r) ~ 1 / (r + 10)). The estimator is SASRec with the paper's sizes
(hidden 64, 2 blocks, 1 head, max_length 50) built with ``SequentialRecommender.from_parts``
from seeded initial weights, NOT trained: inference cost does not depend on the weights.

Each measurement runs in a fresh child (see ``_common.run_child``) and does what
``seqrec recommend --model M --users all --k 10 --out FILE.parquet --chunk-users N`` does after
loading the model: ``seqrec.batch.write_recommendations(model, None, FILE.parquet, k=10,
chunk_users=N)`` (seen items filtered), with ``N`` the default chunk and a smaller one. Peak RSS
is the child's ``VmHWM``: over its whole life, and from a reset just before the recommend call
(so the second one holds the data, the model and what the streaming adds).

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_recommend_scale.py`` (about 10 minutes
on 2 threads). Writes results/bench/recommend_1m.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as common

K = 10
HIDDEN, BLOCKS, HEADS, MAX_LENGTH = 64, 2, 1, 50


# ================================================================================== child


def synthetic_log(users: int, items: int, min_len: int, max_len: int, seed: int) -> Any:
    """CSR histories with lengths uniform in [min_len, max_len] and items from a skewed distribution."""
    import numpy as np

    from seqrec.data.interactions import Interactions

    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, users)  # [U]
    offsets = np.zeros(users + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    weights = 1.0 / (np.arange(items) + 10.0)
    cdf = np.cumsum(weights / weights.sum())
    internal = np.searchsorted(cdf, rng.random(int(offsets[-1]))) + 1  # [N] internal ids 1..items
    popular_first = rng.permutation(items) + 1  # so that popularity is not the id order
    flat = popular_first[np.minimum(internal, items) - 1].astype(np.int64)
    return Interactions(offsets, flat, np.arange(users, dtype=np.int64), np.arange(items + 1, dtype=np.int64))


def build_estimator(data: Any, seed: int) -> Any:
    """SASRec with the paper's sizes and seeded untrained weights, ready to recommend."""
    import numpy as np

    from seqrec.config import Config
    from seqrec.estimator import SequentialRecommender
    from seqrec.models import build_model

    config = Config()
    config.model.name, config.model.max_length = "sasrec", MAX_LENGTH
    config.model.hidden, config.model.blocks, config.model.heads = HIDDEN, BLOCKS, HEADS
    config.train.device = "cpu"
    weights = build_model(config.model, data.n_items, seed=seed).state_dict()
    counts = np.bincount(data.items, minlength=data.n_items + 1)
    return SequentialRecommender.from_parts(config, weights, data, counts, False, "<benchmark>")


def child_main(spec: dict[str, Any], result_file: str) -> None:
    import gc

    import pyarrow.parquet as pq
    import torch

    from seqrec.batch import write_recommendations

    torch.set_num_threads(spec["threads"])
    started = time.perf_counter()
    data = synthetic_log(spec["users"], spec["items"], spec["min_len"], spec["max_len"], spec["seed"])
    model = build_estimator(data, spec["seed"])
    setup_seconds = time.perf_counter() - started
    gc.collect()
    rss_before = common.rss_mb()
    peak_reset = common.reset_peak_rss()
    with tempfile.TemporaryDirectory(dir=spec["tmp_dir"]) as tmp:
        out = Path(tmp) / "recs.parquet"
        started = time.perf_counter()
        rows, users = write_recommendations(model, None, out, k=K, chunk_users=spec["chunk_users"], progress=False)
        seconds = time.perf_counter() - started
        peak_during = common.peak_rss_mb() if peak_reset else None
        meta = pq.ParquetFile(out).metadata
        first = pq.ParquetFile(out).read_row_group(0).column("user")[0].as_py()
        last = pq.ParquetFile(out).read_row_group(meta.num_row_groups - 1).column("user")[-1].as_py()
        file_mb = out.stat().st_size / 2**20
    result = spec | {
        "interactions": int(data.n_interactions),
        "setup_seconds": setup_seconds,
        "recommend_seconds": seconds,
        "users_per_second": spec["users"] / seconds,
        "rows": rows,
        "rows_in_file": meta.num_rows,
        "row_groups": meta.num_row_groups,
        "users_in_order": bool(first == int(data.user_ids[0]) and last == int(data.user_ids[-1])),
        "users_with_rows": users,
        "file_mb": file_mb,
        "rss_before_recommend_mb": rss_before,
        "peak_rss_during_recommend_mb": peak_during,
        "peak_rss_mb": common.peak_rss_mb(),
        "versions": common.torch_info(),
    }
    common.write_child_result(result_file, result)


# ================================================================================= parent


def markdown(payload: dict[str, Any], headers: list[str], table: list[list[Any]]) -> str:
    first = payload["measurements"][0]
    return "\n".join(
        [
            f"# Streaming top-{K} recommendation: up to {first['users']:,} users, {first['items']:,} items",
            "",
            f"`{payload['command_equivalent']}`, run as `seqrec.batch.write_recommendations` (what the CLI "
            "calls after loading the model) in a fresh child per row; seen items filtered, full catalog.",
            "",
            f"- data: synthetic, N users (the table's 'users') with {first['min_len']}-{first['max_len']} items each "
            f"({first.get('interactions', 0):,} interactions for the first row), items Zipf-like (p ~ 1/(rank+10)), "
            f"seed {first['seed']}; each row generates its own log",
            f"- model: {payload['model']}",
            f"- torch threads: {first['threads']}; load average before the run: "
            f"{payload['machine']['load_average_at_start']}",
            "- peak RSS (whole child) includes building the synthetic data; 'during' is from a reset just before "
            "the recommend call; 'added' is that peak minus the RSS before the call",
            "",
            common.markdown_table(headers, table),
            "",
            f"Total benchmark wall time: {payload['total_seconds']:.0f} s.",
            "",
            "## Machine",
            "",
            common.machine_markdown(payload["machine"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--min-len", type=int, default=20)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument(
        "--runs",
        nargs="+",
        default=["1000000:10000", "100000:10000", "100000:1000"],
        help="USERS:CHUNK_USERS per measurement (a log of USERS users, streamed CHUNK_USERS at a time)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--tmp-dir", default=None, help="where the parquet files are written (then deleted)")
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    parser.add_argument("--stem", default="recommend_1m")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(json.loads(args.child), args.result_file)
        return

    machine = common.machine_info()
    print(f"load average {os.getloadavg()}; {args.items:,} items", flush=True)
    started = time.perf_counter()
    results = []
    for run in args.runs:
        users, chunk = (int(x) for x in run.split(":"))
        spec = {
            "users": users,
            "items": args.items,
            "min_len": args.min_len,
            "max_len": args.max_len,
            "chunk_users": chunk,
            "threads": args.threads,
            "seed": args.seed,
            "tmp_dir": args.tmp_dir,
        }
        print(f"  {users:,} users, --chunk-users {chunk} ...", end="", flush=True)
        result = spec | common.run_child(sys.executable, __file__, spec, args.timeout)
        common.print_outcome(result, "users_per_second", "users/s")
        results.append(result)
    total = time.perf_counter() - started

    headers = [
        "chunk users",
        "users",
        "recommend s",
        "users/s",
        "rows",
        "file MiB",
        "RSS before MiB",
        "peak during MiB",
        "added MiB",
        "peak RSS (child) MiB",
        "setup s",
    ]
    table = []
    for r in results:
        during, before = r.get("peak_rss_during_recommend_mb"), r.get("rss_before_recommend_mb")
        added = during - before if during is not None and before is not None else None
        table.append(
            [
                r["chunk_users"],
                r["users"],
                r.get("recommend_seconds"),
                r.get("users_per_second"),
                r.get("rows"),
                r.get("file_mb"),
                before,
                during,
                added,
                r.get("peak_rss_mb"),
                r.get("setup_seconds"),
            ]
        )
    print()
    print(common.text_table(headers, table))
    payload = {
        "k": K,
        "filter_seen": True,
        "command_equivalent": f"seqrec recommend --users all --k {K} --out FILE.parquet --chunk-users N",
        "model": f"SASRec hidden {HIDDEN}, {BLOCKS} blocks, {HEADS} head, max_length {MAX_LENGTH}; "
        "untrained (SequentialRecommender.from_parts with seeded initial weights)",
        "machine": machine,
        "total_seconds": total,
        "rows": [dict(zip(headers, row, strict=True)) for row in table],
        "measurements": results,
    }
    paths = common.write_outputs(args.stem, payload, markdown(payload, headers, table), args.out)
    print(f"\ntotal {total:.0f} s; wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
