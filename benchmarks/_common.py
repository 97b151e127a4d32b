"""Helpers shared by the benchmark scripts: child processes, peak memory, machine info, output files.

Standard library only, so that it imports in both the project venv and ``.venv-rectools``.
Every measurement runs in a fresh interpreter (``run_child``) so that its peak RSS is its own;
the child reads its peak from ``/proc/self/status`` (``VmHWM``) and writes its result as JSON
to a file whose path the parent gives it.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SRC = REPO / "src"
RESULTS = REPO / "results" / "bench"
ML1M = Path(os.environ.get("SEQREC_BENCH_ML1M", "/work/shared/data/ml-1m.txt.gz"))
RECTOOLS_PYTHON = BENCH_DIR / ".venv-rectools" / "bin" / "python"


# ----------------------------------------------------------------------------------------- memory


def proc_status_mb(field: str) -> float:
    """A ``kB`` field of ``/proc/self/status`` (``VmHWM`` = peak RSS, ``VmRSS`` = current), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # fallback where there is no /proc: peak only

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return proc_status_mb("VmHWM")


def rss_mb() -> float:
    """Current resident memory of this process, in MiB."""
    return proc_status_mb("VmRSS")


def reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS (Linux ``clear_refs`` 5); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def mem_available_gb() -> float:
    """``MemAvailable`` from /proc/meminfo, in GiB (0 when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


# ----------------------------------------------------------------------------------- child process


def child_env() -> dict[str, str]:
    """The environment of a child: ``src`` on PYTHONPATH, no tqdm bars, unbuffered output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["TQDM_DISABLE"] = "1"
    return env


def run_child(
    python: str | Path, script: str | Path, spec: dict[str, Any], timeout: float | None = None
) -> dict[str, Any]:
    """Run ``python script --child SPEC --result-file F`` in a fresh interpreter and return its result.

    A child that fails (exception, killed by the OOM killer, timeout) gives
    ``{"status": "failed", "error": ...}`` instead of raising, so one bad row does not end a run.
    """
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        command = [str(python), str(script), "--child", json.dumps(spec), "--result-file", str(result_file)]
        started = time.perf_counter()
        try:
            proc = subprocess.run(command, env=child_env(), cwd=REPO, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
        wall = time.perf_counter() - started
        if result_file.exists():
            result: dict[str, Any] = json.loads(result_file.read_text())
            result.setdefault("status", "ok")
            result["child_wall_seconds"] = wall
            return result
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            error = f"killed by {name}" + (" (most likely the kernel's OOM killer)" if name == "SIGKILL" else "")
        else:
            error = f"exit status {proc.returncode}"
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-15:]
        return {"status": "failed", "error": error, "stderr_tail": "\n".join(tail), "child_wall_seconds": wall}


def print_outcome(result: dict[str, Any], rate_key: str = "seconds_per_epoch", unit: str = "s/epoch") -> None:
    """Finish a measurement's progress line: its rate and peak RSS, or why it failed (with the child's stderr)."""
    if result["status"] == "ok":
        print(f" {result[rate_key]:.2f} {unit}, peak RSS {result['peak_rss_mb']:.0f} MiB", flush=True)
        return
    print(f" {result['status']}: {result.get('error')}", flush=True)
    if result.get("stderr_tail"):
        print("    " + result["stderr_tail"].replace("\n", "\n    "), flush=True)


def write_child_result(path: str, result: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(result, indent=2) + "\n")


# ------------------------------------------------------------------------------------ machine info


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory and load of this machine (torch details come from the children)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    mem_total = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) / 2**20
    except OSError:
        pass
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "mem_total_gb": round(mem_total, 1),
        "mem_available_gb": round(mem_available_gb(), 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def torch_info() -> dict[str, Any]:
    """Versions and thread count, to be called inside a child after torch is set up."""
    import numpy
    import torch

    return {
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


# ------------------------------------------------------------------------------------------ output


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(headers)] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)


def machine_markdown(machine: dict[str, Any]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in machine.items())


def write_outputs(stem: str, payload: dict[str, Any], markdown: str, out_dir: Path = RESULTS) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.md`` under ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    md_path.write_text(markdown.rstrip() + "\n")
    return json_path, md_path


def rectools_python(explicit: str | None = None) -> Path | None:
    """The RecTools venv's interpreter, or None (with a note) when it has not been set up."""
    path = Path(explicit) if explicit else RECTOOLS_PYTHON
    if path.exists():
        return path
    print(f"note: {path} not found; RecTools rows are skipped (run benchmarks/setup_rectools.sh)")
    return None
