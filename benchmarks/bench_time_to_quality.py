"""Wall seconds until a model is good enough: when each recipe first reaches validation NDCG@10 thresholds.

A recipe is a named ``seqrec train`` run, a config file plus ``--set`` overrides (``RECIPES``: ML-1M thresholds
.16 .17 .18 with sasrec-ce, sasrec-sampled-ce-3000 (200 epochs) and a "fast" cosine candidate; Beauty .030 with
sasrec-ce and sasrec-sampled-ce-3000); ``--recipe NAME CONFIG [key=value ...]`` adds or replaces one. Each runs in
a fresh ``seqrec train`` process (``train.threads``, ``data.data_dir``) into WORK/DATASET/NAME. Seconds are the
log's ``elapsed_seconds``: training plus validation since the first epoch (no data loading, model building or
final test). The log is also polled every 0.5 s, so each epoch gets the process wall time from start to its log
line (data loading included, +-0.5 s). Per threshold: the first epoch at or above it and its seconds; then the
best epoch (the first of the highest value), its figure and seconds, and test NDCG@10 / HR@10 of metrics.json.
``--budget-seconds`` interrupts a recipe (SIGINT; seqrec keeps its finished epochs) past that process wall time:
its best epoch is then tested with ``seqrec evaluate --allow-unfinished``.

With ``--rectools-python``, RecTools 0.19's softmax SASRec with the settings of ``--rectools-recipe`` trains on
seqrec's leave-one-out training sequences, validated seqrec's way after every epoch (benchmarks/_rectools_quality.py),
until ``--rectools-budget-seconds`` (at an epoch's end; twice it: mid-epoch), max_epochs or patience.
/proc/loadavg is recorded at start and end (warning above 0.5 at start: run it on an idle machine).
``--report-only`` rebuilds the report from the run directories; ``--from-run NAME DIR`` adds a finished run's log.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_time_to_quality.py --dataset ml-1m --threads 2
--rectools-python benchmarks/.venv-rectools/bin/python``. Writes results/bench/time_to_quality_ml1m.json
and .md (``--dataset beauty``: time_to_quality_beauty).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import _common as common

METRIC = "ndcg@10"
THRESHOLDS = {"ml-1m": [0.16, 0.17, 0.18], "beauty": [0.030]}
RECIPES: dict[str, dict[str, tuple[str, list[str]]]] = {
    "ml-1m": {
        "sasrec-ce": ("configs/ml-1m-sasrec-ce.toml", []),
        "sasrec-sampled-ce-3000": ("configs/ml-1m-sasrec-sampled-ce.toml", ["train.max_epochs=200"]),
        "fast": ("configs/ml-1m-sasrec-sampled-ce-cosine.toml", []),  # lr 2e-3, cosine, 1 warm-up epoch, 60 epochs
    },
    "beauty": {
        "sasrec-ce": ("configs/beauty-sasrec-ce.toml", []),
        "sasrec-sampled-ce-3000": ("configs/beauty-sasrec-sampled-ce.toml", []),
    },
}
RECTOOLS = "rectools-softmax"
WALL_FILE, CAPPED_FILE, OUTPUT_FILE = "bench_wall.json", "bench_capped_metrics.json", "bench_output.txt"


@dataclass
class Recipe:
    """A named run: config file and overrides, or (``source``) a finished run directory to read."""

    name: str
    config: str = ""
    overrides: list[str] = field(default_factory=list)
    source: str = ""


# ================================================================================ pure helpers


def read_log(path: Path) -> list[dict[str, Any]]:
    """The rows of a log.jsonl; a torn last line (still being written) is left out. Missing file: []."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    rows = []
    for number, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if number < len(lines):
                raise ValueError(f"{path}: line {number} is not JSON") from None
    return rows


def validated(rows: list[dict[str, Any]], metric: str = METRIC) -> list[dict[str, Any]]:
    """The rows that carry a validation figure (with eval.every > 1 the others have none)."""
    return [r for r in rows if isinstance(r.get("valid"), dict) and metric in r["valid"]]


def point(row: dict[str, Any], wall: dict[int, float], metric: str = METRIC) -> dict[str, Any]:
    epoch, elapsed = int(row["epoch"]), row["elapsed_seconds"]
    return {"epoch": epoch, "valid": row["valid"][metric], "elapsed_seconds": elapsed, "wall_seconds": wall.get(epoch)}


def first_reaching(
    rows: list[dict[str, Any]], threshold: float, wall: dict[int, float] | None = None, metric: str = METRIC
) -> dict[str, Any] | None:
    """The first validated epoch whose ``metric`` is >= ``threshold`` (epoch, value, seconds), or None."""
    for row in validated(rows, metric):
        if row["valid"][metric] >= threshold:
            return point(row, wall or {}, metric)
    return None


def best_point(
    rows: list[dict[str, Any]], wall: dict[int, float] | None = None, metric: str = METRIC
) -> dict[str, Any] | None:
    """The best validated epoch; on a tie the first one (as seqrec's early stopping keeps it)."""
    best = None
    for row in validated(rows, metric):
        if best is None or row["valid"][metric] > best["valid"][metric]:
            best = row
    return None if best is None else point(best, wall or {}, metric)


def summarise(
    name: str, rows: list[dict[str, Any]], thresholds: list[float], metrics: dict[str, Any], bench: dict[str, Any]
) -> dict[str, Any]:
    """One recipe's figures from its log rows, its metrics.json (or capped test metrics) and the wall record."""
    wall = {int(k): v for k, v in bench.get("wall_seconds_at_epoch", {}).items()}
    test = metrics.get("test") or {}
    # seqrec is capped by this script (bench record), RecTools by its child (metrics.json)
    capped = bench.get("capped_at_seconds") or metrics.get("capped_at_seconds")
    return {
        "recipe": name,
        "epochs": len(rows),
        "elapsed_seconds": rows[-1]["elapsed_seconds"] if rows else None,
        "total_wall_seconds": bench.get("total_wall_seconds"),
        "capped_at_seconds": capped,
        "thresholds": {threshold_label(t): first_reaching(rows, t, wall) for t in thresholds},
        "best": best_point(rows, wall),
        "test_ndcg@10": test.get("ndcg@10"),
        "test_hr@10": test.get("hr@10"),
        "finished": bool(metrics) and not capped,
        "error": bench.get("error"),
        "loadavg": bench.get("loadavg"),
    }


def threshold_label(t: float) -> str:
    """0.16 -> ".16", 0.03 -> ".03"."""
    return f"{t:g}".removeprefix("0")


def threshold_cell(summary: dict[str, Any], label: str, key: str = "elapsed_seconds") -> str:
    """ "1,234 s (ep 40)", or why there is no figure: capped, or not reached in N epochs / S s."""
    reached = summary["thresholds"].get(label)
    if reached is not None:
        return "-" if reached[key] is None else f"{reached[key]:,.0f} s (ep {reached['epoch']})"
    best = summary["best"]
    if summary["capped_at_seconds"] is not None:
        return f"capped at {summary['capped_at_seconds']:,.0f} s, reached {fmt_metric(best and best['valid'])}"
    if not summary["epochs"]:
        return f"no epoch finished in {summary['total_wall_seconds'] or 0:,.0f} s"
    total = summary["total_wall_seconds" if key == "wall_seconds" else "elapsed_seconds"] or 0
    return f"not reached in {summary['epochs']} epochs / {total:,.0f} s"


def fmt_metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}".removeprefix("0")


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def markdown(payload: dict[str, Any], title: str) -> str:
    """The report: one row per recipe, thresholds as columns, then the settings of the run."""
    labels = [threshold_label(t) for t in payload["thresholds"]]
    headers = ["recipe", *(f"to {m} (s, epoch)" for m in labels), "best epoch", "best valid", "s to best"]
    headers += ["test NDCG@10", "test HR@10", "epochs", "total wall s"]
    table, walls = [], []
    for s in payload["rows"]:
        if s.get("not_measured"):
            table.append([s["recipe"], f"not measured: {s['not_measured']}"] + [""] * (len(headers) - 2))
            continue
        best = s["best"] or {}
        cells = [s["recipe"], *(threshold_cell(s, m) for m in labels), str(best.get("epoch", "-"))]
        cells += [fmt_metric(best.get("valid")), fmt_seconds(best.get("elapsed_seconds"))]
        cells += [fmt_metric(s["test_ndcg@10"]), fmt_metric(s["test_hr@10"]), str(s["epochs"])]
        table.append([*cells, fmt_seconds(s["total_wall_seconds"])])
        if s["total_wall_seconds"] is not None:
            walls.append([s["recipe"], *(threshold_cell(s, m, "wall_seconds") for m in labels)])
    lines = [f"# {title}", "", common.markdown_table(headers, table), ""]
    lines += ["Seconds: `elapsed_seconds` of log.jsonl, training plus validation since the first epoch (no data"]
    lines += ["loading, model building or final test). Validation NDCG@10: all items ranked, seen items removed."]
    lines += ["Best: the first epoch of the highest validation NDCG@10; test: that epoch's weights."]
    if walls:
        lines += ["", "Process wall time from start (data loading included) to the epoch's log line, +-0.5 s:", ""]
        lines += [common.markdown_table(["recipe", *(f"to {m}" for m in labels)], walls)]
    lines += ["", "## Recipes", ""]
    threads = {s["recipe"]: s.get("torch_threads") for s in payload["rows"]}
    for r in payload["recipes"]:
        what = f"finished run `{r['source']}`" if r["source"] else f"`{r['config']}` " + " ".join(r["overrides"])
        what = f"RecTools 0.19 SASRecModel, loss softmax, the settings of {what}" if r["name"] == RECTOOLS else what
        lines.append(
            f"- {r['name']}: {what}" + (f" (torch threads {threads[r['name']]})" if threads.get(r["name"]) else "")
        )
    load = payload["load_average"]
    lines += ["", "## Run", "", f"- command: `{payload['command']}`", f"- threads: {payload['threads']}"]
    lines += [f"- /proc/loadavg at start: {load['start']}", f"- /proc/loadavg at end: {load['end']}"]
    return "\n".join(lines + [f"- {note}" for note in payload["notes"]]) + "\n"


# ===================================================================================== running


def child_command(recipe: Recipe, run_dir: Path, args: argparse.Namespace) -> list[str]:
    sets = [*recipe.overrides, f"train.threads={args.threads}", f"data.data_dir={args.data_dir}"]
    command = [sys.executable, "-m", "seqrec", "train", "--config", recipe.config, "--out", str(run_dir)]
    return command + [a for s in sets for a in ("--set", s)] + ["--overwrite"]


def run_polled(command: list[str], run_dir: Path, budget: float, threads: int) -> dict[str, Any]:
    """Run ``command`` writing ``run_dir/log.jsonl``; note each epoch's wall time; SIGINT past ``budget`` s."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in (WALL_FILE, CAPPED_FILE, "metrics.json", "log.jsonl"):  # no earlier epoch may be timed
        (run_dir / name).unlink(missing_ok=True)
    env = common.child_env() | ({"OMP_NUM_THREADS": str(threads)} if threads > 0 else {})
    started, load_start = time.perf_counter(), loadavg()
    wall: dict[int, float] = {}
    capped = None
    with open(run_dir / OUTPUT_FILE, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=common.REPO)
        while True:
            done = proc.poll() is not None
            now = time.perf_counter() - started
            for row in read_log(run_dir / "log.jsonl"):
                wall.setdefault(int(row["epoch"]), round(now, 2))
            if done:
                break
            if budget and now > budget and capped is None:
                capped = round(now, 2)
                proc.send_signal(signal.SIGINT)  # seqrec stops cleanly: finished epochs and best.pt stay
                try:
                    proc.wait(120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                continue
            time.sleep(0.5)
    total = round(time.perf_counter() - started, 2)
    record: dict[str, Any] = {"command": shlex.join(command), "returncode": proc.returncode}
    record |= {"total_wall_seconds": total, "capped_at_seconds": capped, "wall_seconds_at_epoch": wall}
    record["loadavg"] = {"start": load_start, "end": loadavg()}
    if proc.returncode != 0 and capped is None:
        tail = (run_dir / OUTPUT_FILE).read_text(encoding="utf-8").strip().splitlines()[-5:]
        record["error"] = f"exit status {proc.returncode}: " + " / ".join(tail)
    (run_dir / WALL_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return record


def score_capped(run_dir: Path) -> None:
    """Test the best epoch within the cap (best.pt) with ``seqrec evaluate --allow-unfinished``."""
    if not (run_dir / "best.pt").exists():
        return
    command = [sys.executable, "-m", "seqrec", "evaluate", "--model", str(run_dir), "--allow-unfinished"]
    proc = subprocess.run(command, env=common.child_env(), cwd=common.REPO, capture_output=True, text=True)
    if proc.returncode == 0:
        (run_dir / CAPPED_FILE).write_text(proc.stdout)


def run_rectools(recipe: Recipe, run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The RecTools child under its venv's python; interrupted past twice its budget (it checks at epoch ends)."""
    spec = {"config": recipe.config, "overrides": [*recipe.overrides, f"data.data_dir={args.data_dir}"]}
    spec |= {"threads": args.threads, "budget_seconds": args.rectools_budget_seconds, "out": str(run_dir)}
    script = common.BENCH_DIR / "_rectools_quality.py"
    command = [str(args.rectools_python), str(script), json.dumps(spec)]
    return run_polled(command, run_dir, 2 * args.rectools_budget_seconds, args.threads)


def rectools_row(args: argparse.Namespace, recipe: Recipe, run_dir: Path, thresholds: list[float]) -> dict[str, Any]:
    """Run RecTools (unless ``--report-only``) and summarise it, or say why it was not measured."""
    python = args.rectools_python
    if python is not None and python.exists() and not args.report_only:
        print(f"[run] {RECTOOLS} (settings of {args.rectools_recipe}) -> {run_dir}", flush=True)
        run_rectools(recipe, run_dir, args)
    elif (python is None or not python.exists()) and not (args.report_only and (run_dir / "log.jsonl").exists()):
        return {"recipe": RECTOOLS, "not_measured": f"{python} not found" if python else "--rectools-python not given"}
    return load_summary(recipe, run_dir, thresholds)


def load_summary(recipe: Recipe, run_dir: Path, thresholds: list[float]) -> dict[str, Any]:
    """Summarise a run directory: its log, metrics.json (or the capped test metrics) and wall record."""

    def read(name: str) -> dict[str, Any]:
        return dict(json.loads((run_dir / name).read_text())) if (run_dir / name).exists() else {}

    if not (run_dir / "log.jsonl").exists():
        return {"recipe": recipe.name, "not_measured": read(WALL_FILE).get("error") or f"no log.jsonl in {run_dir}"}

    metrics = read("metrics.json") or read(CAPPED_FILE)
    summary = summarise(recipe.name, read_log(run_dir / "log.jsonl"), thresholds, metrics, read(WALL_FILE))
    return summary | {"dir": str(run_dir), "torch_threads": metrics.get("torch_threads")}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--dataset", choices=sorted(RECIPES), default="ml-1m")
    p.add_argument("--thresholds", type=float, nargs="+", help="validation NDCG@10 (default: the dataset's)")
    p.add_argument("--recipes", nargs="*", help="names of the recipes to run (default: all; none: only --from-run)")
    p.add_argument("--recipe", nargs="+", action="append", default=[], help="NAME CONFIG [key=value ...]")
    p.add_argument("--from-run", nargs=2, action="append", default=[], metavar=("NAME", "DIR"))
    p.add_argument("--threads", type=int, default=2, help="train.threads of every run")
    p.add_argument("--data-dir", type=Path, default=common.REPO.parent / "shared" / "data")
    p.add_argument("--work", type=Path, default=common.REPO / "runs" / "time-to-quality", help="run directories")
    p.add_argument("--budget-seconds", type=float, default=0.0, help="stop a seqrec recipe past this wall time")
    p.add_argument("--rectools-python", type=Path, help="RecTools venv's python (absent: RecTools not run)")
    p.add_argument("--rectools-recipe", default="sasrec-ce", help="the recipe whose config RecTools mirrors")
    p.add_argument("--rectools-budget-seconds", type=float, default=1800.0)
    p.add_argument("--report-only", action="store_true", help="rebuild the report from the run directories")
    p.add_argument("--out", type=Path, default=common.RESULTS)
    p.add_argument("--stem", help="output file name (default: time_to_quality_<dataset without '-'>)")
    p.add_argument("--title", help="report title")
    p.add_argument("--note", action="append", default=[], help="a line added to the report")
    return p.parse_args(argv)


def recipes_of(args: argparse.Namespace) -> tuple[list[Recipe], dict[str, Recipe]]:
    """(the recipes to report, in order; every known recipe by name). SystemExit names bad input."""
    known = {name: Recipe(name, config, list(sets)) for name, (config, sets) in RECIPES[args.dataset].items()}
    for entry in args.recipe:
        if len(entry) < 2:
            raise SystemExit(f"--recipe {' '.join(entry)}: expected NAME CONFIG [key=value ...]")
        name, config, *sets = entry
        if not (common.REPO / config).is_file():  # the children run in the repository: make it absolute
            if not Path(config).is_file():
                raise SystemExit(f"--recipe {name}: config file {config} not found")
            config = str(Path(config).resolve())
        known[name] = Recipe(name, config, sets)
    names = list(known) if args.recipes is None else args.recipes
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"--recipes: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in names]
    for name, directory in args.from_run:
        if not (Path(directory) / "log.jsonl").is_file():
            raise SystemExit(f"--from-run {name}: {directory} has no log.jsonl")
        chosen.append(Recipe(name, source=directory))
    return chosen, known


def check_configs(recipes: list[Recipe]) -> None:
    """Read every recipe's config with its overrides before any training: SystemExit names a bad one."""
    from seqrec.config import ConfigError, load_config

    for recipe in recipes:
        try:
            load_config(common.REPO / recipe.config, recipe.overrides)
        except ConfigError as error:
            raise SystemExit(f"recipe {recipe.name}: {error}") from None


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "unknown"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    thresholds = args.thresholds or THRESHOLDS[args.dataset]
    recipes, known = recipes_of(args)
    notes = list(args.note)
    load_start = "not recorded (--report-only)" if args.report_only else loadavg()
    if not args.report_only and os.getloadavg()[0] > 0.5:
        notes.append(f"warning: 1-minute load {os.getloadavg()[0]:.2f} > 0.5 at start; the machine was not idle")
        print(notes[-1], file=sys.stderr)
    work = args.work / args.dataset
    if not args.report_only:
        check_configs([r for r in recipes if not r.source] + [v for k, v in known.items() if k == args.rectools_recipe])
    rows = []
    for recipe in recipes:
        run_dir = Path(recipe.source) if recipe.source else work / recipe.name
        if not args.report_only and not recipe.source:
            print(f"[run] {recipe.name} -> {run_dir}", flush=True)
            record = run_polled(child_command(recipe, run_dir, args), run_dir, args.budget_seconds, args.threads)
            if record["capped_at_seconds"] is not None:
                score_capped(run_dir)
        rows.append(load_summary(recipe, run_dir, thresholds))
    base = None if args.recipes == [] else known.get(args.rectools_recipe)  # only --from-run: no RecTools row
    rectools = Recipe(RECTOOLS, base.config, base.overrides) if base else None
    if rectools is not None:
        rows.append(rectools_row(args, rectools, work / RECTOOLS, thresholds))
    elif args.recipes != []:
        rows.append({"recipe": RECTOOLS, "not_measured": f"no recipe {args.rectools_recipe!r} to mirror"})
    notes += [f"{row['recipe']} failed: {row['error']}" for row in rows if row.get("error")]
    command = shlex.join(["python", *(sys.argv if argv is None else [__file__, *argv])])
    payload: dict[str, Any] = {"dataset": args.dataset, "thresholds": thresholds, "metric": f"validation {METRIC}"}
    load_end = load_start if args.report_only else loadavg()
    payload |= {"command": command, "threads": args.threads, "load_average": {"start": load_start, "end": load_end}}
    payload |= {"recipes": [asdict(r) for r in recipes] + ([asdict(rectools)] if rectools else [])}
    payload |= {"rows": rows, "notes": notes}
    report = markdown(payload, args.title or f"Time to quality, {args.dataset}")
    paths = common.write_outputs(
        args.stem or f"time_to_quality_{args.dataset.replace('-', '')}", payload, report, args.out
    )
    print(report)
    print("wrote " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
