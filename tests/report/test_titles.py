"""Item titles by the raw item ids of a run's data: MovieLens-1M's, through the id map of its prepared file."""

import gzip
from pathlib import Path

import pytest

from seqrec.config import Config
from seqrec.data.interactions import DataError
from seqrec.report.titles import item_titles, read_movies

SHARED = Path(__file__).parents[2].parent / "shared" / "data"
MOVIES = "10::GoldenEye (1995)::Action\n20::Money Train (1995)::Action\n30::Shanghai Triad (1995)::Drama\n"


def config(dataset: str, data_dir: Path) -> Config:
    result = Config()
    result.data.dataset, result.data.data_dir = dataset, str(data_dir)
    return result


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Movies 10, 20, 30; the prepared file renumbers 30 -> 1 and 10 -> 2 (20 has no rating there).
    The only directory looked in: no $SEQREC_DATA_DIR, an empty cache."""
    monkeypatch.delenv("SEQREC_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "ml-1m-movies.dat").write_bytes(MOVIES.encode("latin-1"))
    with gzip.open(tmp_path / "ml-1m.itemmap.tsv.gz", "wt") as out:
        out.write("new_item_id\tmovielens_movie_id\n1\t30\n2\t10\n")
    with gzip.open(tmp_path / "ml-1m.txt.gz", "wt") as out:
        out.write("1 1\n1 2\n")
    return tmp_path


def test_the_prepared_file_maps_its_ids_to_movies(data_dir: Path) -> None:
    titles, why = item_titles(config("ml-1m", data_dir))
    assert (titles, why) == ({1: "Shanghai Triad (1995)", 2: "GoldenEye (1995)"}, "")


def test_the_downloaded_ratings_use_movie_ids(data_dir: Path) -> None:
    (data_dir / "ml-1m.txt.gz").unlink()
    (data_dir / "ml-1m-ratings.dat").write_text("1::10::5::100\n")  # the GroupLens form: MovieLens ids
    titles, _ = item_titles(config("ml-1m", data_dir))
    assert titles == {10: "GoldenEye (1995)", 20: "Money Train (1995)", 30: "Shanghai Triad (1995)"}


def test_ml_1m_full_uses_movie_ids(data_dir: Path) -> None:
    (data_dir / "ml-1m-full.txt.gz").write_bytes((data_dir / "ml-1m.txt.gz").read_bytes())
    titles, _ = item_titles(config("ml-1m-full", data_dir))
    assert titles is not None and titles[20] == "Money Train (1995)"


def test_missing_files_say_which(data_dir: Path) -> None:
    (data_dir / "ml-1m.itemmap.tsv.gz").unlink()
    titles, why = item_titles(config("ml-1m", data_dir))
    assert titles is None and why.startswith("ml-1m.itemmap.tsv.gz (ids of ml-1m.txt.gz) not found in ")
    (data_dir / "ml-1m-movies.dat").unlink()
    titles, why = item_titles(config("ml-1m", data_dir))
    assert titles is None and why.startswith(f"ml-1m-movies.dat not found in {data_dir}")


def test_datasets_without_titles_say_so(tmp_path: Path) -> None:
    titles, why = item_titles(config("beauty", tmp_path))
    assert titles is None and why.startswith("no item titles are known for 'beauty'")


def test_a_malformed_movies_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "movies.dat"
    path.write_text("1::Toy Story (1995)::Animation\n2,Jumanji\n")
    with pytest.raises(DataError, match=rf"{path}: line 2: expected 'MovieID::Title::Genres'"):
        read_movies(path)


@pytest.mark.skipif(not (SHARED / "ml-1m-movies.dat").is_file(), reason="../shared/data not present")
def test_the_real_ml_1m_files() -> None:
    titles, why = item_titles(config("ml-1m", SHARED))
    assert titles is not None, why
    # ml-1m.itemmap.tsv.gz: 1 -> movie 3186, 2 -> 1721; movies.dat names them
    assert (titles[1], titles[2]) == ("Girl, Interrupted (1999)", "Titanic (1997)")
    assert len(titles) == 3416  # every item of the prepared file
