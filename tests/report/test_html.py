"""report.html: one self-contained file with the results table, inline figures and example users."""

import base64
import re
import struct
import subprocess
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from seqrec.cli import main
from seqrec.data.synthetic import synthetic_interactions
from seqrec.report import NoFinishedRunError, find_runs, plots, summarise, to_markdown, write_html_report, write_report
from seqrec.report.examples import examples, pick
from seqrec.runs import load_run

MakeRun = Callable[..., Path]  # the make_run fixture of conftest.py
CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """The parts of a report.html the tests look at: header cells, body rows, images, links, list items."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self.references: list[str] = []  # every src= and href=
        self.hits: list[str] = []  # text of <li class="hit">
        self._cell: list[str] | None = None
        self._where = ""
        self._hit: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.references += [value or "" for name, value in attrs if name in ("src", "href")]
        if tag == "img":
            self.images.append(found.get("src") or "")
        elif tag in ("thead", "tbody"):
            self._where = tag
        elif tag == "tr" and self._where == "tbody":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "li" and found.get("class") == "hit":
            self._hit = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell)
            (self.headers if tag == "th" else self.rows[-1]).append(text)
            self._cell = None
        elif tag == "li" and self._hit is not None:
            self.hits.append("".join(self._hit))
            self._hit = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._hit is not None:
            self._hit.append(data)


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def report(make_run: MakeRun, tmp_path: Path) -> Path:
    """Three finished fake ML-1M runs (no weights), one of them in a directory named with a "<"."""
    make_run("bert4rec", model="bert4rec", base=0.3)
    make_run("sasrec<ce", base=0.2)
    make_run("sasrec-bce", loss="bce", base=0.1)
    return write_html_report(find_runs([tmp_path / "runs"]), tmp_path / "out")


def test_table_has_the_markdown_columns_and_one_row_per_run(report: Path, tmp_path: Path) -> None:
    page = Page(report.read_text(encoding="utf-8"))
    rows = summarise(find_runs([tmp_path / "runs"]))
    markdown = [[cell.strip() for cell in line.strip("|").split("|")] for line in to_markdown(rows).splitlines()]
    assert page.headers == markdown[0]  # the same column spec, whatever columns it holds
    assert page.rows == markdown[2:]
    # the columns these runs (ks = [10]) have, in order
    expected = ["dataset", "model", "HR@10", "NDCG@10", "MRR", "best epoch", "epochs", "train s", "s/epoch"]
    expected += ["peak MB", "paper HR@10", "paper NDCG@10", "NDCG@10 vs paper", "paper s", "seeds", "status"]
    assert [h for h in page.headers if h in expected] == expected
    model = page.headers.index("model")
    assert [row[model] for row in page.rows] == ["BERT4Rec", "SASRec", "SASRec+"]  # grid order, one row a run
    ndcg, versus = page.headers.index("NDCG@10"), page.headers.index("NDCG@10 vs paper")
    # SASRec+ (base 0.2): ndcg@10 = 0.2 * (1 + 10/100) / 2 = 0.11; vs the paper's 0.1821: 0.11 / 0.1821 - 1 = -39.6%
    assert (page.rows[2][ndcg], page.rows[2][versus]) == ("0.1100", "-39.6%")


def test_figures_are_inline_pngs(report: Path) -> None:
    page = Page(report.read_text(encoding="utf-8"))
    if not has_matplotlib():
        assert not page.images and "Plots need matplotlib" in report.read_text(encoding="utf-8")
        return
    assert len(page.images) == 2  # ours beside the paper, validation curves
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.partition(",")[2]).startswith(PNG_MAGIC)


def test_without_matplotlib_the_page_says_plots_need_it(
    make_run: MakeRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plots, "_pyplot", lambda: None)
    make_run("sasrec-ce")
    text = write_html_report(find_runs([tmp_path / "runs"]), tmp_path / "out").read_text(encoding="utf-8")
    assert Page(text).images == []
    assert text.count("Plots need matplotlib") == 1  # the curves; the paper's bars are left out with them


def test_nothing_is_loaded_from_elsewhere(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    page = Page(text)
    assert len(page.references) == (2 if has_matplotlib() else 0)  # the two figures, inline
    assert all(ref.startswith("data:image/png;base64,") for ref in page.references)
    assert not re.search(r"https?://", text)
    assert "<link" not in text and "<script" not in text and "@import" not in text


def test_text_from_runs_is_escaped(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "sasrec&lt;ce" in text and "sasrec<ce" not in text


def test_without_weights_the_examples_are_a_note(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "No example users: they need a finished run directory with best.pt" in text


def test_no_finished_run_is_an_error_naming_the_directory(
    make_run: MakeRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (make_run("sasrec-ce") / "metrics.json").unlink()
    runs_dir = tmp_path / "runs"
    assert main(["report", str(runs_dir), "--html"]) == 2
    error = capsys.readouterr().err
    assert f"{runs_dir}: no finished run" in error and "sasrec-ce" in error
    assert sorted(p.name for p in runs_dir.iterdir()) == ["sasrec-ce"]  # nothing written
    with pytest.raises(NoFinishedRunError, match="no finished run"):
        write_html_report(find_runs([runs_dir]), tmp_path / "out")
    write_report(find_runs([runs_dir]), tmp_path / "tables", html=True)  # tables of unfinished runs still
    assert "report.html skipped" in capsys.readouterr().out
    assert not (tmp_path / "tables" / "report.html").exists()


def test_report_html_flag_writes_every_file(make_run: MakeRun, tmp_path: Path) -> None:
    make_run("sasrec-ce")
    assert main(["report", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "--html"]) == 0
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"results.md", "results.csv", "report.html"} <= written
    assert not [name for name in written if name.endswith(".tmp")]


# ---------------------------------------------------------------- a trained run: example users

TITLES = {item: f"Film <{item}> & co" for item in range(1, 501)}  # synthetic raw items are 1..500


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "runs" / "sasrec-ce"
    sets = ["data.dataset=synthetic", "train.max_epochs=2", "model.hidden=16", "model.max_length=20"]
    assert main(["train", "--out", str(out), *[a for s in [*sets, "eval.valid_users=300"] for a in ("--set", s)]]) == 0
    return out


def test_pick_spreads_users_evenly() -> None:
    # linspace(0, 999, 4) = 0, 333, 666, 999; fewer candidates than asked: all of them
    assert pick(1000, 4).tolist() == [0, 333, 666, 999]
    assert pick(3, 4).tolist() == [0, 1, 2]


def test_examples_are_the_test_users_lists(trained: Path) -> None:
    est = load_run(trained)
    found = examples(est, n_users=4, last=5, k=10)
    data = synthetic_interactions()  # every user has >= 20 items, so all 1000 are test users
    assert [e.user for e in found] == [0, 333, 666, 999]
    for example in found:
        sequence = data.item_ids[data.sequence(example.user)].tolist()
        assert example.target == sequence[-1]  # leave-one-out: the last item is held out
        assert example.history == sequence[-6:-1]  # the 5 items before it
        history = {example.user: sequence[:-1]}
        expected = est.recommend_for_histories(history, k=10)[est.item_col].tolist()
        assert example.top == expected  # the public API gives the same top-10
        if example.target in example.top:
            assert example.rank == example.top.index(example.target) + 1
        else:
            assert example.rank > 10


@pytest.fixture(scope="module")
def trained_report(trained: Path) -> Iterator[Path]:
    yield write_html_report(find_runs([trained.parent]), trained.parent / "out", titles_of=lambda c, p: (TITLES, ""))


def test_example_users_show_titles_and_mark_the_test_item(trained: Path, trained_report: Path) -> None:
    text = trained_report.read_text(encoding="utf-8")
    found = examples(load_run(trained), 4, 5, 10)
    hits = [e for e in found if e.hit]
    assert Page(text).hits == [f"Film <{e.target}> & co #{e.target} ✓ test item" for e in hits]
    assert text.count('<div class="user">') == 4
    assert f"Film &lt;{found[0].history[0]}&gt; &amp; co" in text and "Film <" not in text


def test_example_users_need_titles(trained: Path, tmp_path: Path) -> None:
    text = write_html_report(find_runs([trained.parent]), tmp_path / "out").read_text(encoding="utf-8")
    assert "no example users: no item titles are known for &#x27;synthetic&#x27;" in text
    assert '<div class="user">' not in text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium to render with")
def test_report_renders_in_headless_chromium(trained_report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    command += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    command += [f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,1600"]
    subprocess.run([*command, trained_report.as_uri()], check=True, capture_output=True, timeout=120)
    png = shot.read_bytes()
    assert png.startswith(PNG_MAGIC)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk: the window size
    assert (width, height) == (1280, 1600)
    assert len(png) > 50_000  # a table, figures and lists: ~240 KB; a blank page is ~9 KB, two lines of text ~12 KB
