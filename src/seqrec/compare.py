"""Paired comparison of finished runs on one split: difference vs a reference, 95% CI, Wilcoxon p, Holm.

Each run keeps its per-target test ranks (:mod:`seqrec.per_user`). Two runs are compared only
when they were tested on the same targets: the same data (the sha256 that config.toml's
``# seqrec-data:`` line records, else the dataset name or path), the same reading and
filtering settings (``data.*``), the same split (``eval.split``, its cuts ``eval.test_from``
and ``eval.valid_from``, ``eval.targets``) and ``eval.filter_seen``; then their rows are
aligned by raw user id (and, for users with several targets, by the targets' order), and the
target items must agree. Statistics are in :mod:`seqrec.significance`: the difference of
the means, a percentile-bootstrap 95% interval of it over the paired targets (fixed seed),
the two-sided Wilcoxon signed-rank p-value, and Holm's adjustment across the compared rows.
A user with several test targets (``eval.targets = "all"``) contributes one pair per target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seqrec.config import Config, load_config
from seqrec.fingerprint import read_record
from seqrec.metrics import exact_mean
from seqrec.per_user import PER_USER_FILE, PerUser, read_per_user
from seqrec.significance import bootstrap_ci, format_p, holm, wilcoxon

# config keys that decide which targets a run is tested on (besides the data file itself)
SPLIT_KEYS = (
    "data.format",
    "data.user_col",
    "data.item_col",
    "data.timestamp_col",
    "data.min_item_interactions",
    "data.min_user_interactions",
    "data.drop_duplicates",
    "eval.split",
    "eval.test_from",
    "eval.valid_from",
    "eval.targets",
    "eval.filter_seen",
)
SEED = 0  # the bootstrap's seed: the same runs always give the same interval


class CompareError(ValueError):
    """Runs that cannot be compared: unfinished, without per-user results, or on different splits."""


@dataclass(frozen=True)
class RunResults:
    """A finished run as a comparison needs it: its directory, config, data record and per-user results."""

    path: Path
    config: Config
    record: dict[str, Any]
    per_user: PerUser


def _setting(config: Config, key: str) -> Any:
    section, name = key.split(".")
    return getattr(getattr(config, section), name)


def load_results(run: Path) -> RunResults:
    """Read a finished run's config.toml and per_user.npz; CompareError naming the directory otherwise."""
    if not (run / "config.toml").is_file():
        raise CompareError(f"{run}: not a seqrec run directory (no config.toml)")
    if not (run / "metrics.json").is_file():
        raise CompareError(f"{run}: the run has not finished (no metrics.json); only finished runs are compared")
    if not (run / PER_USER_FILE).is_file():
        raise CompareError(
            f"{run}: no {PER_USER_FILE} (per-user test ranks; runs trained by an older seqrec lack it); "
            f"write it with `seqrec evaluate --model {run}`"
        )
    config = load_config(run / "config.toml")
    return RunResults(run, config, read_record(run / "config.toml") or {}, read_per_user(run / PER_USER_FILE))


def _data_source(results: RunResults) -> str:
    """What data a run read, when no sha256 is recorded: its path (as recorded) or the catalog dataset."""
    data = results.config.data
    return str(results.record.get("path") or data.path) if data.path else data.dataset


def check_same_split(a: RunResults, b: RunResults) -> None:
    """CompareError naming both directories and the first setting in which their test targets differ."""
    sha_a, sha_b = a.record.get("sha256"), b.record.get("sha256")
    pairs: list[tuple[str, Any, Any]]
    if isinstance(sha_a, str) and isinstance(sha_b, str):
        pairs = [("the data file's sha256 (config.toml's seqrec-data line)", sha_a, sha_b)]
    else:  # a run without a recorded sha256 (older seqrec, synthetic data): the name or path of its data
        key = "data.path" if a.config.data.path or b.config.data.path else "data.dataset"
        pairs = [(key, _data_source(a), _data_source(b))]
    pairs += [(key, _setting(a.config, key), _setting(b.config, key)) for key in SPLIT_KEYS]
    for key, value_a, value_b in pairs:
        if value_a != value_b:
            raise CompareError(
                f"{a.path} and {b.path} were not tested on the same data and split: {key} is {value_a!r} in "
                f"{a.path} but {value_b!r} in {b.path}; compare runs of one dataset and split"
            )


def _canonical(per_user: PerUser) -> np.ndarray:
    """The order [E] that sorts targets by raw user id, a user's targets kept in their split order."""
    return np.argsort(per_user.users, kind="stable")


def check_same_targets(a: RunResults, b: RunResults) -> None:
    """CompareError naming both directories when their per-user files hold different users or targets."""
    order_a, order_b = _canonical(a.per_user), _canonical(b.per_user)
    users_a, users_b = a.per_user.users[order_a], b.per_user.users[order_b]
    if len(users_a) != len(users_b) or not np.array_equal(users_a, users_b):
        only_a, only_b = np.setdiff1d(users_a, users_b), np.setdiff1d(users_b, users_a)
        example = (only_a.tolist() + only_b.tolist() + [""])[0]
        raise CompareError(
            f"{a.path} and {b.path} hold different test users ({len(users_a)} and {len(users_b)} targets; "
            f"{len(only_a)} users only in the first, {len(only_b)} only in the second, e.g. {example!r}); "
            "paired comparisons need the same users"
        )
    differ = np.flatnonzero(a.per_user.items[order_a] != b.per_user.items[order_b])
    if len(differ):
        raise CompareError(
            f"{a.path} and {b.path} hold different test targets for {len(differ)} of {len(users_a)} rows "
            f"(e.g. user {str(users_a[differ[0]])!r}); paired comparisons need the same split"
        )


def aligned_values(results: list[RunResults], metric: str) -> np.ndarray:
    """Each run's per-target ``metric`` [R, E], rows aligned (by raw user id) across runs.

    Every run must share the first one's split and targets (see :func:`check_same_split`).
    """
    for other in results[1:]:
        check_same_split(results[0], other)
        check_same_targets(results[0], other)
    return np.stack([r.per_user.values(metric)[_canonical(r.per_user)] for r in results])  # [R, E]


@dataclass(frozen=True)
class ComparisonRow:
    """One compared row: its metric mean and, except for the reference, the paired statistics."""

    name: str
    mean: float
    diff: float | None = None  # mean minus the reference's mean
    low: float | None = None  # 95% bootstrap interval of the difference
    high: float | None = None
    p: float | None = None  # two-sided Wilcoxon signed-rank
    p_holm: float | None = None  # Holm-adjusted across the non-reference rows


def compare_values(
    names: list[str], values: np.ndarray, reference: int, resamples: int = 10_000, level: float = 0.95
) -> list[ComparisonRow]:
    """Rows for aligned per-target values [R, E]: each row against row ``reference``, Holm across rows."""
    ref = values[reference]
    stats: dict[int, tuple[float, float, float]] = {}
    for i in range(len(names)):
        if i != reference:
            differences = values[i] - ref  # [E]
            low, high = bootstrap_ci(differences, resamples, level, SEED)
            stats[i] = (low, high, wilcoxon(differences).p)
    adjusted = dict(zip(stats, holm([p for _, _, p in stats.values()]), strict=True))
    rows = []
    for i, name in enumerate(names):
        mean = exact_mean(values[i])
        if i == reference:
            rows.append(ComparisonRow(name, mean))
        else:
            low, high, p = stats[i]
            rows.append(ComparisonRow(name, mean, mean - exact_mean(ref), low, high, p, adjusted[i]))
    return rows


def run_directories(dirs: list[Path]) -> list[Path]:
    """The finished runs named: each a run directory, or a directory holding run directories.

    CompareError for a missing directory, one holding no run, a run that has not finished, and a
    directory of runs none of which has finished; unfinished runs inside a directory of runs are
    left out.
    """
    found: list[Path] = []
    for directory in dirs:
        if not directory.is_dir():
            raise CompareError(f"{directory}: no such run directory")
        if (directory / "config.toml").exists():
            found.append(directory)
            continue
        runs = sorted(p for p in directory.iterdir() if (p / "config.toml").is_file())
        if not runs:
            raise CompareError(f"{directory}: not a seqrec run directory (no config.toml) and holds none")
        finished = [p for p in runs if (p / "metrics.json").is_file()]
        if not finished:
            raise CompareError(
                f"{directory}: no finished run (none of its {len(runs)} run directories has metrics.json)"
            )
        found += finished
    return found


def compare_runs(
    dirs: list[Path], reference: Path | None = None, metric: str = "ndcg@10", resamples: int = 10_000
) -> tuple[list[ComparisonRow], int]:
    """Compare finished runs (see :func:`run_directories`) against ``reference`` (default: the first).

    Returns the rows, the reference first, and the number of paired targets.
    """
    if resamples < 1:
        raise CompareError(f"--bootstrap must be at least 1, got {resamples}")
    paths = run_directories(dirs)
    if reference is not None:
        if not (reference / "config.toml").is_file():
            raise CompareError(f"--reference {reference}: not a seqrec run directory (no config.toml)")
        paths.insert(0, reference)
    unique: dict[Path, Path] = {}
    for path in paths:  # each run once, at its first mention
        unique.setdefault(path.resolve(), path)
    paths = list(unique.values())
    if len(paths) < 2:
        raise CompareError(f"compare needs at least two finished runs; got {', '.join(map(str, paths))}")
    results = [load_results(p) for p in paths]
    values = aligned_values(results, metric)  # [R, E], the reference (the first) in row 0
    return compare_values([str(p) for p in paths], values, 0, resamples), values.shape[1]


def comparison_table(rows: list[ComparisonRow], metric: str, pairs: int, resamples: int) -> str:
    """``seqrec compare``'s output: a markdown table and a note on the statistics."""
    name = metric.upper()
    lines = [
        f"| run | {name} | Δ{name} vs reference | 95% CI | p (Wilcoxon) | p (Holm) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.diff is None:
            cells = ["reference", "-", "-", "-"]
        else:
            assert row.low is not None and row.high is not None and row.p is not None and row.p_holm is not None
            cells = [f"{row.diff:+.4f}", f"[{row.low:+.4f}, {row.high:+.4f}]", format_p(row.p), format_p(row.p_holm)]
        lines.append("| " + " | ".join([row.name, f"{row.mean:.4f}", *cells]) + " |")
    note = (
        f"\nPaired over {pairs} test targets. 95% CI: percentile bootstrap of the mean difference "
        f"({resamples} resamples, seed {SEED}). p: two-sided Wilcoxon signed-rank test (normal "
        "approximation, zero differences dropped, tie-corrected variance); p (Holm): adjusted across "
        f"the {len(rows) - 1} compared run(s).\n"
    )
    return "\n".join(lines) + "\n" + note


def compare_command(dirs: list[str], reference: str | None, metric: str, resamples: int) -> str:
    """``seqrec compare``: the table for the runs ``dirs`` (see :func:`compare_runs`)."""
    ref = Path(reference) if reference else None
    rows, pairs = compare_runs([Path(d) for d in dirs], ref, metric, resamples)
    return comparison_table(rows, metric, pairs, resamples)


# keys of the report's significance cells: the metric's name plus one of these
DIFF, CI_LOW, CI_HIGH, P, P_HOLM = " diff", " ci low", " ci high", " p", " p holm"
REFERENCE = "reference"  # the key of the row compared with


def group_significance(
    groups: dict[str, list[Path]], reference: str, metric: str = "ndcg@10", resamples: int = 10_000
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The report's significance cells of each row (``groups``: row key -> its finished runs, one per seed).

    A row's per-target values are averaged over its seeds and compared with the ``reference``
    row's; Holm's adjustment runs over the rows compared. Rows that cannot be compared (a run
    without per_user.npz, another split) get no cells and a note saying why; without the
    reference row, or with nothing to compare it with, there are no cells at all.
    """
    notes: list[str] = []
    loaded: dict[str, list[RunResults]] = {}
    for key, paths in groups.items():
        missing = [p for p in paths if not (p / PER_USER_FILE).is_file()]
        if missing:
            notes.append(
                f"{key}: {missing[0]} has no {PER_USER_FILE} (`seqrec evaluate --model {missing[0]}` writes it)"
            )
        elif paths:
            try:
                loaded[key] = [load_results(p) for p in paths]
            except ValueError as error:
                notes.append(f"{key}: {error}")
    if not loaded:  # no run of the dataset keeps per-user results: nothing to say
        return {}, []
    if reference not in loaded:
        return {}, notes
    base = loaded[reference][0]
    names, values = [], []
    for key, results in loaded.items():
        try:
            per_seed = aligned_values([base, *results], metric)[1:]  # [S, E]
        except CompareError as error:
            notes.append(f"{key}: {error}")
            continue
        names.append(key)
        values.append(per_seed.mean(axis=0))  # [E] the row's value of each target, averaged over seeds
    if len(names) < 2:
        return {}, notes
    rows = compare_values(names, np.stack(values), names.index(reference), resamples)
    cells = {
        row.name: {
            metric + DIFF: row.diff,
            metric + CI_LOW: row.low,
            metric + CI_HIGH: row.high,
            metric + P: row.p,
            metric + P_HOLM: row.p_holm,
            REFERENCE: reference,
        }
        for row in rows
        if row.diff is not None
    }
    return cells, notes
