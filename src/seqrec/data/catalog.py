"""Dataset catalog: known datasets, where their files are looked for, and how they are fetched.

A dataset's file is looked for, by name, in each of :func:`data_dirs` in turn: the explicit
``data_dir`` argument, then ``$SEQREC_DATA_DIR`` (``os.pathsep`` separated), then the user
cache (``$XDG_CACHE_HOME/seqrec`` or ``~/.cache/seqrec``). If it is nowhere and the dataset
has a download address, it is downloaded into the cache (to a temporary file, checksum
checked when one is known, then renamed, so a broken download never looks like a file).

Some datasets are stored locally in a prepared form (e.g. ``ml-1m.txt.gz``, pairs) but are
downloaded in their upstream form (GroupLens ``ratings.dat`` inside a zip); the download then
has its own format and reader arguments (``download_fmt``, ``download_kwargs``), chosen so that
both forms give the same statistics.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqrec.data.interactions import DataError, Interactions
from seqrec.data.readers import read_interactions
from seqrec.data.synthetic import synthetic_interactions

GROUPLENS = "https://files.grouplens.org/datasets/movielens/"


@dataclass(frozen=True)
class DatasetInfo:
    """What is known about one dataset: its file, format, expected statistics and source."""

    name: str
    description: str
    filename: str  # the prepared local file's name
    fmt: str  # a readers.FORMATS name
    reader_kwargs: dict[str, Any] = field(default_factory=dict)  # columns, filters
    users: int | None = None  # expected statistics (after reader_kwargs' filters)
    items: int | None = None
    interactions: int | None = None
    url: str | None = None  # download address; None: the user must supply the file
    sha256: str | None = None  # of the file at ``url``, when known
    archive_member: str | None = None  # the file to take out of the zip at ``url``
    download_fmt: str | None = None  # format of the downloaded file, if not ``fmt``
    download_kwargs: dict[str, Any] | None = None  # reader arguments for it, if not ``reader_kwargs``
    howto: str = ""  # where to get the file when there is no url

    @property
    def download_filename(self) -> str | None:
        """Name of the downloaded (and extracted) file in the cache."""
        if self.url is None:
            return None
        if self.archive_member is not None:
            return self.archive_member.replace("/", "-")  # "ml-1m/ratings.dat" -> "ml-1m-ratings.dat"
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    def expected(self) -> dict[str, int | None]:
        return {
            "users": self.users,
            "items": self.items,
            "interactions": self.interactions,
        }


DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in [
        DatasetInfo(
            "ml-1m",
            "MovieLens-1M as in the BERT4Rec paper: items with < 5 ratings dropped. The prepared file "
            "(ids renumbered by first appearance) or, downloaded, GroupLens ratings.dat with "
            "min_item_interactions=5 (raw MovieLens ids; same-second ties in timestamp order).",
            "ml-1m.txt.gz",
            "pairs",
            users=6040,
            items=3416,
            interactions=999_611,
            url=GROUPLENS + "ml-1m.zip",
            archive_member="ml-1m/ratings.dat",
            download_fmt="grouplens",
            download_kwargs={"min_item_interactions": 5},
        ),
        DatasetInfo(
            "ml-1m-full",
            "MovieLens-1M, every rating (GroupLens ml-1m.zip, ratings.dat).",
            "ml-1m-full.txt.gz",
            "pairs",
            users=6040,
            items=3706,
            interactions=1_000_209,
            url=GROUPLENS + "ml-1m.zip",
            archive_member="ml-1m/ratings.dat",
            download_fmt="grouplens",
        ),
        DatasetInfo(
            "ml-100k",
            "MovieLens-100K u.data (GroupLens ml-100k.zip).",
            "ml-100k.data",
            "udata",
            users=943,
            items=1682,
            interactions=100_000,
            url=GROUPLENS + "ml-100k.zip",
            archive_member="ml-100k/u.data",
        ),
        DatasetInfo(
            "ml-20m",
            "MovieLens-20M ratings.csv (GroupLens ml-20m.zip, 190 MB download).",
            "ml-20m-ratings.csv",
            "table",
            {"user_col": "userId", "item_col": "movieId", "timestamp_col": "timestamp"},
            users=138_493,
            items=26_744,
            interactions=20_000_263,
            url=GROUPLENS + "ml-20m.zip",
            archive_member="ml-20m/ratings.csv",
        ),
        DatasetInfo(
            "beauty",
            "Amazon Beauty as prepared by the BERT4Rec paper (FeiSun/BERT4Rec data/beauty.txt).",
            "beauty.txt.gz",
            "pairs",
            users=40_226,
            items=54_542,
            interactions=353_962,
            url="https://raw.githubusercontent.com/FeiSun/BERT4Rec/master/data/beauty.txt",
            download_fmt="pairs",
        ),
        DatasetInfo(
            "steam",
            "Steam as prepared by the BERT4Rec paper (user item pairs, in time order).",
            "steam.txt",
            "pairs",
            users=281_428,
            items=13_044,
            howto="No stable download address: build it with the BERT4Rec authors' preprocessing from the "
            "UCSD Steam reviews (https://cseweb.ucsd.edu/~jmcauley/datasets.html#steam_data), "
            "as 'user item' lines in time order",
        ),
        DatasetInfo(
            "sports",
            "Amazon Sports and Outdoors, 5-core, S3-Rec version (one user per line).",
            "sports.txt",
            "user_lines",
            users=35_598,
            items=18_357,
            interactions=296_337,
            url="https://raw.githubusercontent.com/RUCAIBox/CIKM2020-S3Rec/master/data/Sports_and_Outdoors.txt",
        ),
    ]
}


def cache_dir() -> Path:
    """Where downloads go: ``$XDG_CACHE_HOME/seqrec`` or ``~/.cache/seqrec``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqrec"


def data_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Directories searched for dataset files, in order: argument, $SEQREC_DATA_DIR, cache."""
    dirs = [Path(data_dir)] if data_dir is not None else []
    dirs += [Path(p) for p in os.environ.get("SEQREC_DATA_DIR", "").split(os.pathsep) if p]
    dirs.append(cache_dir())
    return list(dict.fromkeys(dirs))


def info(name: str) -> DatasetInfo:
    """The catalog entry of ``name``; unknown names raise DataError listing the known ones."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join([*DATASETS, 'synthetic'])}")
    return DATASETS[name]


def _find(d: DatasetInfo, dirs: list[Path]) -> tuple[Path, str, dict[str, Any]] | None:
    """First existing file of ``d`` with the format and reader arguments that go with it."""
    for directory in dirs:
        if (directory / d.filename).is_file():
            return directory / d.filename, d.fmt, d.reader_kwargs
        if d.download_filename and (directory / d.download_filename).is_file():
            kwargs = d.reader_kwargs if d.download_kwargs is None else d.download_kwargs
            return directory / d.download_filename, d.download_fmt or d.fmt, kwargs
    return None


def locate(name: str, data_dir: str | Path | None = None, download: bool = True) -> Path:
    """Path of dataset ``name``'s file, downloading it into the cache if needed and possible."""
    return _locate(name, data_dir, download)[0]


def _locate(name: str, data_dir: str | Path | None, download: bool) -> tuple[Path, str, dict[str, Any]]:
    d = info(name)
    dirs = data_dirs(data_dir)
    found = _find(d, dirs)
    if found is not None:
        return found
    names = " or ".join(dict.fromkeys(n for n in (d.filename, d.download_filename) if n))
    where = f"dataset {name!r}: {names} not found in {', '.join(str(p) for p in dirs)}"
    advice = f"put {d.filename} into one of them (or pass data_dir= / set SEQREC_DATA_DIR)"
    if d.url is None:
        raise DataError(f"{where}; {advice}. {d.howto}".rstrip())
    if not download:
        raise DataError(f"{where}; {advice}, or allow downloading it from {d.url}")
    try:
        _download(d, cache_dir())
    except (
        OSError,
        ValueError,
        zipfile.BadZipFile,
        KeyError,
    ) as exc:  # URLError is an OSError
        raise DataError(f"{where}; downloading {d.url} failed ({exc}); {advice}") from None
    found = _find(d, [cache_dir()])
    assert found is not None
    return found


def _download(d: DatasetInfo, target_dir: Path) -> None:
    """Fetch ``d.url`` into ``target_dir`` (checksum, zip member) via temp files and a rename."""
    assert d.url is not None and d.download_filename is not None
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkstemp(dir=target_dir, prefix=".download-")[1])
    try:
        digest = hashlib.sha256()
        with (
            urllib.request.urlopen(d.url, timeout=60) as response,
            open(tmp, "wb") as out,
        ):
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if d.sha256 is not None and digest.hexdigest() != d.sha256:
            raise ValueError(f"checksum mismatch: sha256 {digest.hexdigest()}, expected {d.sha256}")
        if d.archive_member is not None:
            member = tmp.with_name(tmp.name + ".member")
            try:
                with (
                    zipfile.ZipFile(tmp) as archive,
                    archive.open(d.archive_member) as src,
                    open(member, "wb") as out,
                ):
                    shutil.copyfileobj(src, out, 1 << 20)
                member.replace(target_dir / d.download_filename)
            finally:
                member.unlink(missing_ok=True)
        else:
            tmp.replace(target_dir / d.download_filename)
    finally:
        tmp.unlink(missing_ok=True)


def load_dataset(name: str, data_dir: str | Path | None = None, download: bool = True) -> Interactions:
    """Load a catalog dataset (or "synthetic", the default synthetic log) as Interactions."""
    if name == "synthetic":
        return synthetic_interactions()
    path, fmt, kwargs = _locate(name, data_dir, download)
    return read_interactions(path, fmt, **kwargs)


def _tie_shares(data: Interactions) -> dict[str, str]:
    """Leave-one-out targets that share their time with another item of the user (tie order decides them)."""
    from seqrec.data.split import leave_one_out
    from seqrec.data.temporal import targets_sharing_time

    shares = targets_sharing_time(leave_one_out(data))
    return {f"{name}_targets_tied": f"{s['tied']}/{s['targets']} ({s['share']:.1%})" for name, s in shares.items()}


def describe_datasets(data_dir: str | Path | None = None, load: bool = True) -> list[dict[str, Any]]:
    """One row per catalog dataset: expected statistics, local path or "not found", actual statistics.

    Nothing is downloaded; with ``load`` the local files are read (ML-20M takes a while).
    """
    rows = []
    dirs = data_dirs(data_dir)
    for d in DATASETS.values():
        row: dict[str, Any] = {
            "name": d.name,
            "description": d.description,
            "format": d.fmt,
        }
        row.update({f"expected_{k}": v for k, v in d.expected().items()})
        found = _find(d, dirs)
        row["path"] = str(found[0]) if found else "not found"
        if found and load:
            try:
                data = read_interactions(found[0], found[1], **found[2])
                stats = data.stats()
                row.update({k: stats[k] for k in ("users", "items", "interactions")})
                if data.timestamps is not None:
                    row.update(_tie_shares(data))
            except DataError as exc:
                row["error"] = str(exc)
        rows.append(row)
    return rows
