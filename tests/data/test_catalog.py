"""Dataset catalog: search path, downloads (urlopen mocked: no network), errors, describe."""

import dataclasses
import hashlib
import io
import urllib.error
import urllib.request
import zipfile

import pytest

from seqrec.data import catalog
from seqrec.data.catalog import (
    DATASETS,
    data_dirs,
    describe_datasets,
    load_dataset,
    locate,
)
from seqrec.data.interactions import DataError

UDATA = "1\t10\t5\t300\n1\t11\t3\t100\n2\t10\t4\t50\n"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache and data dir, and no real network whatever a test does."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SEQREC_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)


def test_data_dirs_order(tmp_path):
    assert data_dirs(tmp_path / "x") == [
        tmp_path / "x",
        tmp_path / "data",
        tmp_path / "cache" / "seqrec",
    ]
    assert data_dirs() == [tmp_path / "data", tmp_path / "cache" / "seqrec"]


def test_locate_and_load_from_env_dir(tmp_path):
    (tmp_path / "data" / "ml-100k.data").write_text(UDATA)
    assert locate("ml-100k") == tmp_path / "data" / "ml-100k.data"
    x = load_dataset("ml-100k")
    assert (x.n_users, x.n_items, x.n_interactions) == (2, 2, 3)
    # an explicit data_dir comes first
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "ml-100k.data").write_text(UDATA)
    assert locate("ml-100k", data_dir=tmp_path / "own") == tmp_path / "own" / "ml-100k.data"


def test_missing_file_without_url_names_directories(tmp_path):
    with pytest.raises(DataError) as err:
        locate("steam")
    msg = str(err.value)
    assert "steam.txt not found in" in msg
    assert str(tmp_path / "data") in msg and str(tmp_path / "cache" / "seqrec") in msg
    assert "put steam.txt into one of them" in msg and "SEQREC_DATA_DIR" in msg


def test_failed_download_names_directories_and_url(tmp_path):
    with pytest.raises(DataError) as err:
        locate("ml-100k")
    msg = str(err.value)
    assert "ml-100k.data or ml-100k-u.data not found in" in msg and str(tmp_path / "data") in msg
    assert "downloading https://files.grouplens.org/datasets/movielens/ml-100k.zip failed" in msg
    assert "network disabled" in msg
    assert list((tmp_path / "cache" / "seqrec").iterdir()) == []  # no temp file left behind
    with pytest.raises(DataError, match="or allow downloading it from"):
        locate("ml-100k", download=False)


def test_unknown_name_lists_known_names():
    with pytest.raises(
        DataError,
        match="unknown dataset 'ml-2m'; known: ml-1m, ml-1m-full, .*synthetic",
    ):
        load_dataset("ml-2m")


def zip_bytes(member: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(member, text)
    return buf.getvalue()


def test_download_zip_member_uses_download_format_and_filters(tmp_path, monkeypatch):
    # items 1..5 rated by 5 users each (kept), item 99 once (dropped by min_item_interactions=5)
    lines = [f"{u}::{i}::4::{1000 + 10 * i}" for u in range(1, 6) for i in range(1, 6)] + ["1::99::4::1"]
    payload = zip_bytes("ml-1m/ratings.dat", "\n".join(lines) + "\n")
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    monkeypatch.setitem(
        DATASETS,
        "ml-1m",
        dataclasses.replace(DATASETS["ml-1m"], sha256=hashlib.sha256(payload).hexdigest()),
    )
    x = load_dataset("ml-1m")
    assert (x.n_users, x.n_items, x.n_interactions) == (5, 5, 25)
    cache = tmp_path / "cache" / "seqrec"
    assert sorted(p.name for p in cache.iterdir()) == ["ml-1m-ratings.dat"]
    assert locate("ml-1m") == cache / "ml-1m-ratings.dat"  # found now, no second download
    # ml-1m-full shares the download and reads it unfiltered
    assert load_dataset("ml-1m-full").n_interactions == 26


def test_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"1 2\n"))
    monkeypatch.setitem(DATASETS, "beauty", dataclasses.replace(DATASETS["beauty"], sha256="0" * 64))
    with pytest.raises(DataError, match="checksum mismatch"):
        locate("beauty")
    assert list((tmp_path / "cache" / "seqrec").iterdir()) == []


def test_describe_datasets(tmp_path):
    (tmp_path / "data" / "ml-100k.data").write_text(UDATA)
    rows = {r["name"]: r for r in describe_datasets()}
    assert set(rows) == set(DATASETS)
    assert rows["ml-100k"]["path"] == str(tmp_path / "data" / "ml-100k.data")
    assert (
        rows["ml-100k"]["users"],
        rows["ml-100k"]["items"],
        rows["ml-100k"]["interactions"],
    ) == (2, 2, 3)
    assert rows["ml-100k"]["expected_interactions"] == 100_000
    assert rows["ml-1m"]["path"] == "not found" and "users" not in rows["ml-1m"]
    assert rows["ml-1m"]["expected_users"] == 6040


def test_catalog_entries_are_consistent():
    for d in DATASETS.values():
        assert d.fmt in ("pairs", "user_lines", "grouplens", "udata", "table"), d.name
        assert d.url is not None or d.howto, d.name  # either downloadable or says where to get it
        assert d.sha256 is None or len(d.sha256) == 64
    assert catalog.cache_dir().name == "seqrec"
