"""The data record of a run: which file it was trained on, so a changed file is never used silently.

A run's item and user ids are positions in the data it read; the weights mean nothing for other
data. At the start of training a run records the absolute path, size and sha256 of the file it
read (for a catalog dataset, the file the catalog resolved) and the seqrec version, as one
comment line of ``config.toml`` (``# seqrec-data: {...}``, written atomically with it; TOML
readers skip it). ``recommend``, ``evaluate`` and ``train --resume`` compare the file with the
record and refuse a changed one unless asked. A run without the line (written by an older
seqrec) or on the built-in synthetic data is not checked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from seqrec import __version__
from seqrec.config import DataConfig
from seqrec.data.interactions import DataError

RECORD_KEY = "seqrec-data: "
CHUNK = 1 << 20  # hashing streams the file in 1 MiB chunks: ML-20M's 500 MB take about a second


class DataChangedError(DataError):
    """The data file of a run differs from the one it was trained on."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB chunks (constant memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def data_file(data: DataConfig) -> Path | None:
    """The file that ``data`` reads, as an absolute path; None for the built-in synthetic data.

    A catalog dataset that is not available locally raises DataError (nothing is downloaded here).
    """
    if data.path:
        return Path(os.path.abspath(data.path))
    if data.dataset == "synthetic":
        return None
    from seqrec.data.catalog import locate

    return Path(os.path.abspath(locate(data.dataset, data.data_dir or None, download=False)))


def make_record(data: DataConfig) -> dict[str, Any]:
    """What a run records of its data: seqrec version, dataset, absolute path, size and sha256."""
    record: dict[str, Any] = {"seqrec": __version__, "dataset": "" if data.path else data.dataset, "path": None}
    path = data_file(data)
    if path is not None:
        record.update(path=str(path), size=path.stat().st_size, sha256=sha256_file(path))
    return record


def record_header(record: dict[str, Any]) -> str:
    """The header line (``to_toml`` prefixes ``# ``) that stores ``record`` in config.toml."""
    return RECORD_KEY + json.dumps(record, sort_keys=True)


def read_record(config_path: Path) -> dict[str, Any] | None:
    """The data record stored in a run's config.toml; None for a run written without one."""
    try:
        lines = config_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("# " + RECORD_KEY):
            try:
                record = json.loads(line[len("# " + RECORD_KEY) :])
            except ValueError:
                return None
            return record if isinstance(record, dict) else None
    return None


def resolve_data(data: DataConfig, record: dict[str, Any] | None) -> DataConfig:
    """``data`` to read from here: a relative path missing from the current directory becomes the recorded one.

    config.toml keeps the path as it was given; the absolute path recorded when the run started
    makes the run usable from any directory.
    """
    recorded = (record or {}).get("path")
    if data.path and not os.path.isabs(data.path) and not os.path.exists(data.path) and isinstance(recorded, str):
        return dataclasses.replace(data, path=recorded)
    return data


def check_data(run_dir: Path, record: dict[str, Any] | None, data: DataConfig, allow_changed: bool = False) -> bool:
    """Compare the file ``data`` reads with the run's record; raise DataChangedError when it differs.

    Returns False when the check could not be made yet (a catalog file not available locally,
    or a missing file: reading it reports that), True otherwise. With ``allow_changed`` a
    difference is a warning on stderr instead of an error.
    """
    if not record or not isinstance(record.get("sha256"), str):
        return True  # an older run or synthetic data: unknown, not checked
    try:
        path = data_file(data)
    except DataError:
        return False
    if path is None or not path.is_file():
        return path is None
    size = path.stat().st_size
    sha256 = sha256_file(path) if size == record.get("size") else None  # another size: no need to hash
    if sha256 == record["sha256"]:
        return True
    was = f"{run_dir} was trained on {record.get('path')} (sha256 {record['sha256']}, {record.get('size')} bytes)"
    now = "the file now differs" if str(path) == record.get("path") else f"{path} differs from it"
    message = f"{was}; {now} ({f'sha256 {sha256}, ' if sha256 else ''}{size} bytes)"
    if allow_changed:
        print(f"seqrec: warning: {message}; used anyway (--allow-changed-data)", file=sys.stderr, flush=True)
        return True
    raise DataChangedError(f"{message}; pass --allow-changed-data to use it anyway")
