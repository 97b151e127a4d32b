"""ML-1M's same-second order: rebuild the paper's order for users 1-2999 and measure what it changes.

``ml-1m.txt.gz`` (shared data) has the paper's users, items and counts, but ratings given in the
same second are in another order than in the paper's file, which keeps GroupLens' ``ratings.dat``
line order within a second (a stable sort on time). ``ml-1m-ratings-part.dat.gz`` holds the raw
ratings of GroupLens users 1-2999; this script

- ``build``: matches each of those users to a user of ``ml-1m.txt.gz`` by their set of items
  (movie ids mapped with ``ml-1m.itemmap.tsv.gz``), reorders the matched users' items by a stable
  sort on time, leaves every other user as it is, and writes the copy (``pairs`` format, the same
  user and item ids) plus ``restored_users.txt`` (the ids of the reordered users) to ``--out``;
- ``run``: trains one config per seed on both files (``seqrec train``, early stopping, an epoch
  cap) into ``--runs``;
- ``report``: test and validation NDCG@10 of the restored users and of the others, per file,
  mean ± std over seeds, from each run's per-user results.

The copy is built from ``../shared/data`` on every machine and never committed (MovieLens'
licence forbids redistribution)::

    python benchmarks/ml1m_order.py build --data ../shared/data --out runs/ml1m-order
    python benchmarks/ml1m_order.py run --data ../shared/data --out runs/ml1m-order \\
        --config configs/ml-1m-sasrec-ce.toml --seeds 0 1 2 --max-epochs 200
    python benchmarks/ml1m_order.py report --out runs/ml1m-order --results results/ml1m-order
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

FILES = ("shared", "restored")


def read_pairs(path: Path) -> dict[int, list[int]]:
    """``user item`` lines -> each user's items in file order."""
    sequences: dict[int, list[int]] = defaultdict(list)
    with gzip.open(path, "rt") as lines:
        for number, line in enumerate(lines, 1):
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{number}: expected 'user item', got {line!r}")
            sequences[int(parts[0])].append(int(parts[1]))
    return sequences


def read_item_map(path: Path) -> dict[int, int]:
    """MovieLens movie id -> the ML-1M file's item id."""
    with gzip.open(path, "rt") as lines:
        header = next(lines).split()
        if header != ["new_item_id", "movielens_movie_id"]:
            raise ValueError(f"{path}:1: expected the header 'new_item_id movielens_movie_id', got {header}")
        return {int(movie): int(item) for item, movie in (line.split() for line in lines)}


def read_raw_orders(path: Path, item_of_movie: dict[int, int]) -> dict[int, list[int]]:
    """GroupLens ``ratings.dat`` lines -> each raw user's items (mapped ids) by a stable sort on time.

    Movies outside the map (fewer than 5 ratings in the whole of ML-1M) are dropped, as the
    paper's preprocessing does.
    """
    rated: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # user -> (time, line, item)
    with gzip.open(path, "rt", encoding="latin-1") as lines:
        for number, line in enumerate(lines, 1):
            user, movie, _, time = line.rstrip("\n").split("::")
            if int(movie) in item_of_movie:
                rated[int(user)].append((int(time), number, item_of_movie[int(movie)]))
    return {user: [item for _, _, item in sorted(rows)] for user, rows in rated.items()}


def restore(shared: dict[int, list[int]], raw: dict[int, list[int]]) -> tuple[dict[int, list[int]], list[int]]:
    """The shared sequences with every raw user's matched sequence replaced by the raw order.

    A raw user matches the one shared user holding the same items; a raw user with no match or
    with several (identical item sets) is an error, since the copy would not be the paper's.
    """
    by_items: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for user, items in shared.items():
        by_items[tuple(sorted(items))].append(user)
    restored = dict(shared)
    matched = []
    for raw_user, items in sorted(raw.items()):
        candidates = by_items.get(tuple(sorted(items)), [])
        if len(candidates) != 1:
            raise ValueError(f"GroupLens user {raw_user} matches {len(candidates)} users of the ML-1M file, not 1")
        restored[candidates[0]] = items
        matched.append(candidates[0])
    return restored, sorted(matched)


def build(data: Path, out: Path) -> None:
    shared = read_pairs(data / "ml-1m.txt.gz")
    raw = read_raw_orders(data / "ml-1m-ratings-part.dat.gz", read_item_map(data / "ml-1m.itemmap.tsv.gz"))
    restored, matched = restore(shared, raw)
    changed_test = sum(restored[u][-1] != shared[u][-1] for u in matched)
    changed_pair = sum(restored[u][-2:] != shared[u][-2:] for u in matched)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "ml-1m-restored.txt.gz.partial"
    with gzip.open(partial, "wt") as lines:
        for user in sorted(restored):
            lines.writelines(f"{user} {item}\n" for item in restored[user])
    os.replace(partial, out / "ml-1m-restored.txt.gz")
    (out / "restored_users.txt").write_text("".join(f"{u}\n" for u in matched))
    summary = {
        "restored_users": len(matched),
        "test_item_changed": changed_test,
        "valid_or_test_item_changed": changed_pair,
        "interactions": sum(map(len, restored.values())),
    }
    (out / "build.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


def run(data: Path, out: Path, config: str, seeds: list[int], max_epochs: int, threads: int) -> None:
    paths = {"shared": data / "ml-1m.txt.gz", "restored": out / "ml-1m-restored.txt.gz"}
    if not paths["restored"].exists():
        raise SystemExit(f"{paths['restored']} is missing: run `build` first")
    for seed in seeds:
        for name, path in paths.items():
            run_dir = out / f"{name}-seed{seed}"
            if (run_dir / "metrics.json").exists():
                continue
            settings = [f"data.path={json.dumps(str(path))}", "data.format=pairs", f"train.seed={seed}"]
            settings += [f"train.max_epochs={max_epochs}", f"train.threads={threads}"]
            command = [sys.executable, "-m", "seqrec", "train", "--config", config, "--out", str(run_dir)]
            command += [a for s in settings for a in ("--set", s)]
            if (run_dir / "checkpoint.pt").exists():
                command += ["--resume", str(run_dir)]
            print(" ".join(command), flush=True)
            subprocess.run(command, check=True)


def group_figures(run_dir: Path, restored_users: set[str]) -> dict[str, float]:
    """Test NDCG@10 of the restored users and of the others, from the run's per-user results."""
    from seqrec.per_user import PER_USER_FILE, read_per_user

    per_user = read_per_user(run_dir / PER_USER_FILE)
    ndcg = per_user.values("ndcg@10")  # [E]
    inside = np.isin(per_user.users, sorted(restored_users))  # [E]
    return {"restored": float(ndcg[inside].mean()), "others": float(ndcg[~inside].mean())}


def report(out: Path, results: Path) -> None:
    restored_users = set((out / "restored_users.txt").read_text().split())
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in FILES}
    runs = {}
    for name in FILES:
        for run_dir in sorted(out.glob(f"{name}-seed*")):
            if (run_dir / "metrics.json").exists():
                figures = group_figures(run_dir, restored_users)
                metrics = json.loads((run_dir / "metrics.json").read_text())
                figures["all"] = metrics["test"]["ndcg@10"]
                figures["best_epoch"] = metrics["best_epoch"]
                rows[name].append(figures)
                runs[run_dir.name] = figures
    lines = ["| file | seeds | test NDCG@10, restored users | others | all users | best epochs |"]
    lines.append("|---|---|---|---|---|---|")
    for name, figures in rows.items():
        if not figures:
            continue
        cells = []
        for key in ("restored", "others", "all"):
            values = np.array([f[key] for f in figures])
            cells.append(f"{values.mean():.4f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.4f}")
        epochs = ", ".join(str(int(f["best_epoch"])) for f in figures)
        lines.append(f"| {name} | {len(figures)} | {' | '.join(cells)} | {epochs} |")
    results.mkdir(parents=True, exist_ok=True)
    (results / "ml1m_order.json").write_text(json.dumps(runs, indent=2) + "\n")
    (results / "ml1m_order.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["build", "run", "report"])
    parser.add_argument("--data", default="../shared/data", help="directory with the shared ML-1M files")
    parser.add_argument("--out", default="runs/ml1m-order", help="where the copy and the runs go")
    parser.add_argument("--config", default="configs/ml-1m-sasrec-ce.toml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", default="results/ml1m-order", help="where `report` writes its table")
    args = parser.parse_args()
    if args.step == "build":
        build(Path(args.data), Path(args.out))
    elif args.step == "run":
        run(Path(args.data), Path(args.out), args.config, args.seeds, args.max_epochs, args.threads)
    else:
        report(Path(args.out), Path(args.results))


if __name__ == "__main__":
    main()
