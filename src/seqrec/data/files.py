"""File access for the readers: a missing, unreadable or non-regular path is one clear :class:`DataError`.

Every reader calls :func:`check_file` before opening anything, so a FIFO is never opened (which
would block) and a permission problem is never reported as a corrupt file.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from pathlib import Path

from seqrec.data.interactions import DataError

PathLike = str | Path
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def os_error(path: Path, exc: BaseException, after_line: int | None = None) -> DataError:
    """The message for an error raised while opening or reading ``path``: says which kind of problem it is."""
    if isinstance(exc, PermissionError):
        return DataError(f"{path}: permission denied (the file cannot be read by this user)")
    if isinstance(exc, IsADirectoryError):
        return DataError(f"{path}: is a directory, expected a data file")
    where = f" after line {after_line}" if after_line else ""
    if isinstance(exc, GZIP_ERRORS):
        return DataError(f"{path}: truncated or corrupt gzip file{where} ({exc})")
    return DataError(f"{path}: cannot be read{where} ({exc})")


def check_file(path: PathLike) -> Path:
    """``path`` as a Path if it is an existing, readable regular file; else a DataError saying what it is."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        broken = " (a broken symbolic link)" if os.path.islink(path) else ""
        raise DataError(f"{path}: file not found{broken}") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied (a folder on the way cannot be searched)") from None
    except OSError as exc:
        raise os_error(path, exc) from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{path}: is a directory, expected a data file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO/pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise DataError(f"{path}: not a regular file ({kind}); expected a data file on disk")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise os_error(path, exc) from None
    return path


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_data(path: Path) -> gzip.GzipFile | io.BufferedReader:
    """The file's bytes, decompressed when it is gzip (detected by its magic bytes, not its name)."""
    return gzip.GzipFile(path, "rb") if is_gzip(path) else open(path, "rb")


def compression(path: Path) -> str | None:
    return "gzip" if is_gzip(path) else None


def read_bytes(path: Path, limit: int = -1) -> bytes:
    """The (decompressed) bytes of a file, or its first ``limit`` bytes; checks text-ness."""
    try:
        with open_data(path) as f:
            data = f.read(limit)
    except (OSError, *GZIP_ERRORS) as exc:
        raise os_error(path, exc) from None
    if not data.strip():
        raise DataError(f"{path}: file is empty")
    if b"\x00" in data:
        raise DataError(f"{path}: binary data (NUL bytes), expected a text file")
    return data
