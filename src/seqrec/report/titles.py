"""Item titles of the catalog datasets that have them, keyed by the raw item ids a run's data holds.

MovieLens-1M's titles are GroupLens ``movies.dat`` (``MovieID::Title::Genres``, latin-1), kept as
``ml-1m-movies.dat`` beside the data files. The downloaded GroupLens ratings (and ``ml-1m-full``)
use MovieLens movie ids, the prepared ``ml-1m.txt.gz`` renumbers them; for that file
``ml-1m.itemmap.tsv.gz`` (header ``new_item_id movielens_movie_id``) maps its ids back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seqrec.config import Config
from seqrec.data.catalog import data_dirs, info, locate
from seqrec.data.interactions import DataError
from seqrec.fingerprint import read_record


@dataclass(frozen=True)
class TitleFiles:
    """Where a dataset's titles are: the titles file, and the id map of its prepared (renumbered) file."""

    titles: str  # GroupLens movies.dat format
    renumbered_map: str = ""  # for the catalog's prepared file: "<its id>\t<movie id>" with a header


TITLES: dict[str, TitleFiles] = {
    "ml-1m": TitleFiles("ml-1m-movies.dat", "ml-1m.itemmap.tsv.gz"),
    "ml-1m-full": TitleFiles("ml-1m-movies.dat"),
}


def read_movies(path: Path) -> dict[int, str]:
    """Movie id -> title of a GroupLens ``movies.dat``; DataError naming the file and line if malformed."""
    titles: dict[int, str] = {}
    with open(path, encoding="latin-1") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("::")
            if len(fields) != 3 or not fields[0].isdigit():
                raise DataError(f"{path}: line {number}: expected 'MovieID::Title::Genres', got {line.strip()[:80]!r}")
            titles[int(fields[0])] = fields[1]
    return titles


def read_item_map(path: Path) -> dict[int, int]:
    """The prepared file's item id -> MovieLens movie id, from a two-column TSV with a header."""
    try:
        frame = pd.read_csv(path, sep="\t", dtype="int64")
    except (ValueError, OSError) as error:
        raise DataError(f"{path}: expected tab separated integer columns with a header ({error})") from None
    if frame.shape[1] != 2:
        raise DataError(f"{path}: expected 2 columns (new_item_id, movielens_movie_id), found {frame.shape[1]}")
    return dict(zip(frame.iloc[:, 0].tolist(), frame.iloc[:, 1].tolist(), strict=True))


def _find(name: str, directories: list[Path]) -> Path | None:
    return next((d / name for d in directories if (d / name).is_file()), None)


def item_titles(config: Config, run: Path | None = None) -> tuple[dict[int, str] | None, str]:
    """Titles by the raw item ids of the run's data, or None and the reason there are none.

    Looks in the data file's directory, then in the catalog's directories (``data.data_dir``,
    ``$SEQREC_DATA_DIR``, the cache); never downloads.
    """
    data = config.data
    if data.path or data.dataset not in TITLES:
        what = data.path or data.dataset
        return None, f"no item titles are known for {what!r} (the catalog has them for {', '.join(TITLES)})"
    files = TITLES[data.dataset]
    record = read_record(run / "config.toml") if run is not None else None
    recorded = (record or {}).get("path")
    try:
        source = Path(recorded) if isinstance(recorded, str) else locate(data.dataset, data.data_dir or None, False)
    except DataError as error:
        return None, f"the data file is not here to tell which ids it uses ({error})"
    directories = list(dict.fromkeys([source.parent, *data_dirs(data.data_dir or None)]))
    titles_path = _find(files.titles, directories)
    if titles_path is None:
        return None, f"{files.titles} not found in {', '.join(map(str, directories))}"
    try:
        movies = read_movies(titles_path)
        if not files.renumbered_map or source.name != info(data.dataset).filename:
            return movies, ""  # MovieLens movie ids
        map_path = _find(files.renumbered_map, directories)
        if map_path is None:
            return (
                None,
                f"{files.renumbered_map} (ids of {source.name}) not found in {', '.join(map(str, directories))}",
            )
        ids = read_item_map(map_path)
    except (DataError, OSError) as error:
        return None, str(error)
    return {item: movies[movie] for item, movie in ids.items() if movie in movies}, ""
