"""``seqrec reproduce``: the paper's grid on one dataset, each run to early stopping, then the report.

The grid is the paper's four rows (``--grid paper``) or those and one row per later loss, sampler
and block (``--grid extended``; ``seqrec.paper.GRIDS``), each from its committed config
``configs/<dataset>-<key>.toml``. ``--data FILE`` runs the grid on a user's own interactions
with the paper's settings for long sequences (ML-1M's configs: max_length 200) or short ones
(Beauty's: 50), chosen by ``--settings`` or from the file's median sequence length.

Runs are ``seqrec train`` subprocesses (so each one's peak memory is its own) writing to
``OUT/<model>`` (seed 0) or ``OUT/<model>-seed<k>``. A finished run (with ``metrics.json``) is
skipped, an interrupted one (with ``checkpoint.pt``) is resumed, so an interrupted reproduction
continues where it stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqrec.config import Config, ConfigError, DataConfig, load_config, to_toml
from seqrec.io import write_text_atomic
from seqrec.paper import GRIDS, ROWS
from seqrec.report import find_runs, write_report

QUICK_EPOCHS = 3
QUICK_VALID_USERS = 1000

SETTINGS: dict[str, str] = {"long": "ml-1m", "short": "beauty"}
"""``--settings`` -> the dataset whose committed configs hold the paper's settings for such
sequences: long (max_length 200, as ML-1M and ML-20M) or short (50, as Beauty, Steam and Yelp)."""
SHORT_MAX_LENGTH = 50
"""The short settings' window: data whose median sequence is longer gets the long settings."""


def configs_dir() -> Path:
    """The committed configs: beside the source tree in a checkout, else ./configs."""
    beside = Path(__file__).resolve().parents[2] / "configs"
    return beside if beside.is_dir() else Path("configs")


@dataclass
class Plan:
    key: str
    seed: int
    config_path: Path
    out: Path
    overrides: list[str]


@dataclass(frozen=True)
class DataFile:
    """``--data``: a user's interactions file, its format, and the settings its runs take."""

    path: Path
    format: str
    settings: str  # a key of SETTINGS
    median_length: float | None = None  # when the settings were chosen from it

    def overrides(self) -> list[str]:
        return [f"data.path={json.dumps(str(self.path))}", f"data.format={json.dumps(self.format)}"]


def grid_models(grid: str) -> list[str]:
    """The row keys of grid ``grid`` (paper | extended)."""
    if grid not in GRIDS:
        raise ConfigError(f"unknown --grid {grid!r}; known: {', '.join(GRIDS)}")
    return list(GRIDS[grid])


def choose_settings(lengths: np.ndarray | list[int]) -> tuple[str, float]:
    """``long`` when the median sequence length exceeds SHORT_MAX_LENGTH, else ``short``; and the median."""
    values = np.asarray(lengths)
    if values.size == 0:
        raise ConfigError("no sequences to choose the settings from")
    median = float(np.median(values))
    return ("long" if median > SHORT_MAX_LENGTH else "short"), median


def data_file(path: str | Path, data_format: str = "auto", settings: str | None = None) -> DataFile:
    """``--data``/``--format``/``--settings`` checked; without ``settings``, the file is read and
    the settings chosen from its median sequence length (``choose_settings``)."""
    from seqrec.data.files import check_file
    from seqrec.data.loading import load_data
    from seqrec.data.readers import FORMATS

    if settings is not None and settings not in SETTINGS:
        raise ConfigError(f"--settings {settings!r}: choose one of {', '.join(SETTINGS)}")
    if data_format != "auto" and data_format not in FORMATS:
        raise ConfigError(f"--format {data_format!r}: choose one of {', '.join(FORMATS)} or auto")
    checked = check_file(path).resolve()  # DataError naming the file when it is missing or unreadable
    if settings is not None:
        return DataFile(checked, data_format, settings)
    interactions = load_data(DataConfig(path=str(checked), format=data_format))
    chosen, median = choose_settings(interactions.lengths)
    return DataFile(checked, data_format, chosen, median)


def plan_runs(
    dataset: str,
    out: Path,
    models: list[str],
    seeds: int,
    max_epochs: int | None,
    quick: bool,
    data_dir: str | None = None,
    data: DataFile | None = None,
) -> list[Plan]:
    """One plan per (model, seed), with the overrides that the options ask for. With ``data``, the
    configs of its settings' dataset (``SETTINGS``) are run on its file instead of ``dataset``."""
    unknown = sorted(set(models) - set(ROWS))
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; the grids' rows are {list(ROWS)}")
    configs = SETTINGS[data.settings] if data is not None else dataset
    plans = []
    for key in models:
        path = configs_dir() / f"{configs}-{key}.toml"
        if not path.exists():
            raise ConfigError(f"{path}: no config for {key} on {configs}; write one like configs/ml-1m-{key}.toml")
        base_seed = load_config(path).train.seed
        for k in range(seeds):
            overrides = [f"train.seed={base_seed + k}", *(data.overrides() if data is not None else [])]
            if quick:
                overrides += [f"train.max_epochs={QUICK_EPOCHS}", f"eval.valid_users={QUICK_VALID_USERS}"]
            if max_epochs is not None:
                overrides.append(f"train.max_epochs={max_epochs}")
            if data_dir:
                overrides.append(f'data.data_dir="{data_dir}"')
            name = key if k == 0 else f"{key}-seed{k}"
            plans.append(Plan(key, base_seed + k, path, out / name, overrides))
    return plans


def _experiment(config: Config) -> str:
    """The config without the settings that change where and how fast a run goes, not its result."""
    config.train.threads, config.train.device, config.data.data_dir = 0, "cpu", ""
    config.train.length_groups, config.train.compile = 1, False
    return to_toml(config)


def _check_same_config(plan: Plan) -> None:
    """A finished run is reused only if it ran the experiment this plan asks for."""
    wanted = _experiment(load_config(plan.config_path, plan.overrides))
    found = _experiment(load_config(plan.out / "config.toml"))
    if wanted != found:
        raise ConfigError(f"{plan.out} holds a run with a different config; use another --out or remove it")


def execute(plan: Plan) -> int:
    """Run (or resume, or skip) one plan in a subprocess; returns its exit status."""
    if (plan.out / "metrics.json").exists():
        _check_same_config(plan)
        print(f"[skip] {plan.out} already finished", flush=True)
        return 0
    env = {**os.environ}
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if (plan.out / "checkpoint.pt").exists():
        _check_same_config(plan)
        print(f"[resume] {plan.out}", flush=True)
        command = [sys.executable, "-m", "seqrec", "train", "--resume", str(plan.out)]
    else:
        # a run of this plan stopped before its first checkpoint is started again: --overwrite
        # clears its files (seqrec train refuses a directory holding another run's files)
        restart = (plan.out / "config.toml").exists()
        if restart:
            _check_same_config(plan)
        print(f"[{'restart' if restart else 'run'}] {plan.out}", flush=True)
        sets = [arg for o in plan.overrides for arg in ("--set", o)]
        command = [
            sys.executable,
            "-m",
            "seqrec",
            "train",
            "--config",
            str(plan.config_path),
            *sets,
            "--out",
            str(plan.out),
            *(["--overwrite"] if restart else []),
        ]
    return run_child(command, env)


def run_child(command: list[str], env: dict[str, str]) -> int:
    """``subprocess.call``, except that a SIGTERM to this process also stops the run.

    Without it, ``kill`` on ``seqrec reproduce`` would leave its ``seqrec train`` running on
    alone. The run is stopped with SIGTERM too (its checkpoint is written atomically, so it
    resumes from the last finished epoch), and this process exits with status 143.
    """
    child = subprocess.Popen(command, env=env)
    if threading.current_thread() is not threading.main_thread():  # signal handlers live there only
        return child.wait()

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return child.wait()
    except BaseException:  # SIGTERM, Ctrl-C: the run goes with us
        child.terminate()
        child.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def describe_plans(plans: list[Plan]) -> str:
    """One line per planned run: key, label, config file, output directory and overrides."""
    return "\n".join(
        f"{p.key}  [{ROWS[p.key].label}]  {p.config_path} -> {p.out}  {' '.join(p.overrides)}" for p in plans
    )


def reproduce(
    dataset: str = "synthetic",
    out: str | Path | None = None,
    models: list[str] | None = None,
    seeds: int = 1,
    max_epochs: int | None = None,
    quick: bool = False,
    data_dir: str | None = None,
    grid: str = "paper",
    data: DataFile | None = None,
    dry_run: bool = False,
) -> str:
    """Run the grid and write results.md, results.csv and curves.png; returns the table (with
    ``dry_run``, only the plan: ``describe_plans``, nothing run or written)."""
    name = data.path.stem if data is not None else dataset
    out_dir = Path(out) if out is not None else Path("results") / (name + ("-quick" if quick else ""))
    models = models or grid_models(grid)
    plans = plan_runs(dataset, out_dir, models, seeds, max_epochs, quick, data_dir, data)
    if dry_run:
        return describe_plans(plans)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "dataset": dataset if data is None else None,
        "data": None if data is None else {"path": str(data.path), "format": data.format},
        "settings": None if data is None else data.settings,
        "median_length": None if data is None else data.median_length,
        "grid": grid,
        "models": models,
        "seeds": seeds,
        "max_epochs": max_epochs,
        "quick": quick,
        "command": "seqrec " + " ".join(sys.argv[1:]),
    }
    write_text_atomic(out_dir / "reproduce.json", json.dumps(manifest, indent=2) + "\n")
    failed = [plan.out.name for plan in plans if execute(plan) != 0]
    runs = find_runs([out_dir])  # every run in the directory, so partial grids add up
    source = f"--dataset {dataset}" if data is None else f"--data {data.path.name} --settings {data.settings}"
    title = f"seqrec reproduce {source}" + (" --grid extended" if grid == "extended" else "")
    title += " (QUICK: a demo budget, not the paper's)" if quick else ""
    table = write_report(runs, out_dir, quick=quick, title=title, html=True)
    if failed:
        raise RuntimeError(f"runs failed: {', '.join(failed)} (their directories hold what they wrote)")
    return table
