"""One active training per run directory: ``DIR/.lock``, and no stale files of an earlier run.

A run holds ``DIR/.lock`` (created with ``O_CREAT | O_EXCL``, so exactly one process wins; it
records pid, host and start time) while it writes into ``DIR``. A second run into the same
directory fails at once naming the holder; a lock left by a killed process (its pid no longer
alive on this host) is replaced, with a note on stderr. A fresh run refuses a directory that
holds files of an earlier run unless asked to clear them (``--overwrite``), so no run ever
mixes its files with another's.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

LOCK_NAME = ".lock"
# every file a run directory may hold from seqrec itself (the data record lives in config.toml);
# ``--overwrite`` removes these and nothing else
RUN_FILES = ("config.toml", "log.jsonl", "best.pt", "checkpoint.pt", "metrics.json")

_held: set[str] = set()  # lock paths held by this process (a lock naming our pid but not here is stale)
_held_guard = threading.Lock()


class RunDirError(RuntimeError):
    """A run directory that cannot be used as asked: locked, holding an earlier run, or unfinished."""


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (``/proc/PID/stat`` field 22), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (one owned by another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(path: Path) -> dict[str, object] | None:
    """The holder recorded in a lock file: ``{"pid", "host", ...}``; None when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        parts = text.split()  # also accept a plain "PID HOST"
        if parts and parts[0].isdigit():
            return {"pid": int(parts[0]), "host": parts[1] if len(parts) > 1 else ""}
        return None
    return holder if isinstance(holder, dict) else None


def _describe(holder: dict[str, object]) -> str:
    since = holder.get("since")
    when = f", since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if isinstance(since, int) else ""
    return f"pid {holder.get('pid')} on {holder.get('host') or 'an unknown host'}{when}"


def stale_reason(path: Path) -> str | None:
    """Why the lock at ``path`` is stale (its process is gone), or None when it may be held."""
    holder = read_lock(path)
    if holder is None:
        return None
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int) or (host and host != socket.gethostname()):
        return None  # another machine's process cannot be checked from here
    if pid == os.getpid():
        with _held_guard:
            held = str(path) in _held
        return None if held else f"left by an earlier run of this process (pid {pid})"
    if not _alive(pid):
        return f"pid {pid} is no longer running"
    started = holder.get("start")
    if isinstance(started, str) and _process_start(pid) not in (None, started):
        return f"pid {pid} now belongs to another process"
    return None


def active_holder(run_dir: Path) -> str | None:
    """``pid N on HOST, since ...`` of the live process holding ``run_dir``'s lock, else None."""
    path = run_dir / LOCK_NAME
    if not path.exists() or stale_reason(path) is not None:
        return None
    holder = read_lock(path)
    return _describe(holder) if holder else "a process whose lock file cannot be read"


def busy_message(run_dir: Path) -> str | None:
    """One line saying who holds ``run_dir``'s lock, or None when no live process does."""
    path = run_dir / LOCK_NAME
    who = active_holder(run_dir)
    if who is None:
        return None
    return (
        f"{run_dir} is in use by another seqrec train ({who}); wait for it to finish, "
        f"use another --out, or remove {path} if that process is gone"
    )


def earlier_run_files(run_dir: Path) -> list[str]:
    """The seqrec files of an earlier run that ``run_dir`` holds, metrics.json (a finished run) first."""
    names = sorted((n for n in RUN_FILES if (run_dir / n).exists()), key=lambda n: n != "metrics.json")
    return names


def check_out_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Refuse early, before any data is read, a directory that a run cannot write into.

    Read-only: nothing is created. The checks are repeated under the lock by :class:`RunLock`.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise FileExistsError(errno.EEXIST, "exists and is not a directory (--out names a directory)", str(run_dir))
    busy = busy_message(run_dir)
    if busy:
        raise RunDirError(busy)
    found = earlier_run_files(run_dir) if run_dir.is_dir() and not resume else []
    if found and not overwrite:
        raise RunDirError(
            f"{run_dir} holds an earlier run ({', '.join(found)}); use --overwrite to clear it or another --out"
        )


class RunLock:
    """``with RunLock(dir):`` holds ``dir/.lock`` for the run; a live holder raises RunDirError."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LOCK_NAME
        self.held = False

    def _create(self) -> bool:
        """Create the lock file exclusively with our pid; False when it already exists."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        pid = os.getpid()
        holder = {"pid": pid, "host": socket.gethostname(), "since": int(time.time()), "start": _process_start(pid)}
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(holder) + "\n")
        return True

    def acquire(self) -> None:
        """Take the lock, replacing a stale one (noted on stderr); raise RunDirError when it is held."""
        for _ in range(3):  # a stale lock removed by two processes at once: one of them creates the new one
            if self._create():
                with _held_guard:
                    _held.add(str(self.path))
                self.held = True
                return
            reason = stale_reason(self.path)
            if reason is None:
                busy = busy_message(self.run_dir)
                if busy is None:  # released between our attempt and the look: try again
                    continue
                raise RunDirError(busy)
            print(f"seqrec: note: replacing the stale lock {self.path} ({reason})", file=sys.stderr, flush=True)
            self.path.unlink(missing_ok=True)
        raise RunDirError(f"{self.path}: could not take the lock (another run keeps taking it); try again")

    def release(self) -> None:
        """Remove the lock file; a directory that became unwritable keeps it (it is then stale)."""
        if not self.held:
            return
        self.held = False
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # e.g. a read-only directory: the next run sees our pid gone (or not held) and replaces it
        finally:
            with _held_guard:
                _held.discard(str(self.path))

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


def clear_earlier_run(run_dir: Path, overwrite: bool) -> None:
    """Under the lock: refuse (or, with ``overwrite``, remove) the files of an earlier run in ``run_dir``."""
    found = earlier_run_files(run_dir)
    if found and not overwrite:
        raise RunDirError(
            f"{run_dir} holds an earlier run ({', '.join(found)}); use --overwrite to clear it or another --out"
        )
    for name in RUN_FILES:
        for path in (run_dir / name, run_dir / (name + ".tmp")):
            path.unlink(missing_ok=True)
