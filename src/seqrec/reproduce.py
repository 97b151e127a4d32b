"""``seqrec reproduce``: the paper's grid on one dataset, each run to early stopping, then the report.

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

from seqrec.config import Config, ConfigError, load_config, to_toml
from seqrec.io import write_text_atomic
from seqrec.paper import GRID
from seqrec.report import find_runs, write_report

QUICK_EPOCHS = 3
QUICK_VALID_USERS = 1000


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


def plan_runs(
    dataset: str,
    out: Path,
    models: list[str],
    seeds: int,
    max_epochs: int | None,
    quick: bool,
    data_dir: str | None = None,
) -> list[Plan]:
    """One plan per (model, seed), with the overrides that the options ask for."""
    unknown = sorted(set(models) - set(GRID))
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; the grid is {list(GRID)}")
    plans = []
    for key in models:
        path = configs_dir() / f"{dataset}-{key}.toml"
        if not path.exists():
            raise ConfigError(f"{path}: no config for {key} on {dataset}; write one like configs/ml-1m-{key}.toml")
        base_seed = load_config(path).train.seed
        for k in range(seeds):
            overrides = [f"train.seed={base_seed + k}"]
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


def reproduce(
    dataset: str = "synthetic",
    out: str | Path | None = None,
    models: list[str] | None = None,
    seeds: int = 1,
    max_epochs: int | None = None,
    quick: bool = False,
    data_dir: str | None = None,
) -> str:
    """Run the grid and write results.md, results.csv and curves.png; returns the table."""
    out_dir = Path(out) if out is not None else Path("results") / (dataset + ("-quick" if quick else ""))
    models = models or list(GRID)
    plans = plan_runs(dataset, out_dir, models, seeds, max_epochs, quick, data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "dataset": dataset,
        "models": models,
        "seeds": seeds,
        "max_epochs": max_epochs,
        "quick": quick,
        "command": "seqrec " + " ".join(sys.argv[1:]),
    }
    write_text_atomic(out_dir / "reproduce.json", json.dumps(manifest, indent=2) + "\n")
    failed = [plan.out.name for plan in plans if execute(plan) != 0]
    runs = find_runs([out_dir])  # every run in the directory, so partial grids add up
    title = f"seqrec reproduce --dataset {dataset}" + (" (QUICK: a demo budget, not the paper's)" if quick else "")
    table = write_report(runs, out_dir, quick=quick, title=title)
    if failed:
        raise RuntimeError(f"runs failed: {', '.join(failed)} (their directories hold what they wrote)")
    return table
