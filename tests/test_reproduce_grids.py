"""``seqrec reproduce --grid extended`` and ``--data FILE [--format F] [--settings short|long]``:
the plans (no training), the settings chosen from the median sequence length, bad input, and
one short run on a user's file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seqrec.cli import main
from seqrec.config import ConfigError, load_config
from seqrec.data.interactions import DataError
from seqrec.paper import EXTENDED, GRID, ROWS
from seqrec.reproduce import choose_settings, configs_dir, data_file, plan_runs, reproduce

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def write_pairs(path: Path, lengths: list[int]) -> Path:
    """A ``pairs`` file ("user item" lines): user u has ``lengths[u]`` items, cycling over 1..30."""
    lines = [f"{user} {1 + (user + step) % 30}" for user, length in enumerate(lengths) for step in range(length)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_extended_plan_lists_every_row_with_its_committed_config(tmp_path: Path) -> None:
    plans = plan_runs("ml-1m", tmp_path / "out", list(ROWS), 1, None, False)
    assert [plan.key for plan in plans] == [*GRID, *EXTENDED]
    for plan in plans:
        assert plan.config_path == configs_dir() / f"ml-1m-{plan.key}.toml" and plan.config_path.exists()
        assert plan.out == tmp_path / "out" / plan.key and plan.overrides == ["train.seed=0"]
    gbce = load_config(plans[4].config_path)
    assert (gbce.train.loss, gbce.train.negatives, gbce.train.gbce_t) == ("gbce", 256, 0.75)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["reproduce", "--dataset", "beauty", "--grid", "extended", "--dry-run", "--out", str(out)]
    assert main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 11 and not out.exists()
    assert lines[4].startswith("sasrec-gbce  [gSASRec 256]  ") and "beauty-sasrec-gbce.toml" in lines[4]
    assert lines[-1].startswith("sasrec-ligr-sampled-ce  [SASRec+ LiGR 3000]  ")
    # the paper's grid is the default, and --models picks rows of either grid
    assert main(["reproduce", "--dry-run", "--models", "sasrec-ce,sasrec-mixed", "--out", str(out)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["sasrec-ce", "sasrec-mixed"]
    assert main(["reproduce", "--dry-run", "--out", str(out)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == list(GRID)


def test_settings_follow_the_median_sequence_length() -> None:
    # median of [2, 3, 60] is 3: short; of [2, 51, 60] 51 > 50: long; of [50, 50, 99] exactly 50: short;
    # of four users [10, 50, 52, 90] (50 + 52) / 2 = 51: long
    assert choose_settings([2, 3, 60]) == ("short", 3.0)
    assert choose_settings([2, 51, 60]) == ("long", 51.0)
    assert choose_settings([50, 50, 99]) == ("short", 50.0)
    assert choose_settings([10, 50, 52, 90]) == ("long", 51.0)


def test_data_file_picks_short_or_long_configs_from_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = write_pairs(tmp_path / "short.txt", [4, 5, 70])  # median 5
    long = write_pairs(tmp_path / "long.txt", [3, 55, 60])  # median 55
    chosen = data_file(short, "pairs")
    assert (chosen.settings, chosen.median_length, chosen.path) == ("short", 5.0, short.resolve())
    assert data_file(long).settings == "long"  # format auto
    assert data_file(long, settings="short").settings == "short"  # given: the file is not read
    plans = plan_runs("synthetic", tmp_path / "out", ["sasrec-ce"], 1, None, False, data=data_file(long, "pairs"))
    assert plans[0].config_path.name == "ml-1m-sasrec-ce.toml"
    assert plans[0].overrides == ["train.seed=0", f'data.path="{long.resolve()}"', 'data.format="pairs"']
    config = load_config(plans[0].config_path, plans[0].overrides)
    assert (config.model.max_length, config.data.path, config.data.format) == (200, str(long.resolve()), "pairs")

    out = tmp_path / "out"
    assert main(["reproduce", "--data", str(short), "--dry-run", "--models", "bert4rec", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "short.txt: median sequence length 5: the paper's short settings" in printed
    assert "beauty-bert4rec.toml" in printed and not out.exists()
    assert main(["reproduce", "--data", str(short), "--settings", "long", "--dry-run", "--grid", "extended"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 11 and all("/ml-1m-" in line for line in lines)
    assert all(" results/short/" in line for line in lines)  # the default --out is named after the file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{tmp}/missing.csv"], "missing.csv: file not found"),
        (["--data", "{tmp}"], "is a directory, expected a data file"),
        (["--data", "{file}", "--dataset", "ml-1m"], "--data runs the grid on your file and --dataset"),
        (["--settings", "short"], "--settings applies to --data FILE only"),
        (["--format", "pairs"], "--format applies to --data FILE only"),
        (["--data", "{file}", "--format", "csv"], "--format 'csv': choose one of pairs, user_lines"),
        (["--dataset", "steam", "--grid", "extended"], "steam-bert4rec.toml: no config for bert4rec on steam"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    file = write_pairs(tmp_path / "f.txt", [3, 4, 5])
    filled = [a.format(tmp=tmp_path, file=file) for a in args]
    assert main(["reproduce", "--dry-run", *filled]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqrec: error: ") and message in err, err


def test_bad_settings_and_grid_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_pairs(tmp_path / "f.txt", [3, 4, 5])
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "--data", str(file), "--settings", "medium"])
    assert exit_info.value.code == 2
    assert "argument --settings: invalid choice: 'medium'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "--grid", "huge"])
    assert "argument --grid: invalid choice: 'huge'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--settings 'medium': choose one of long, short"):
        data_file(file, settings="medium")
    with pytest.raises(ConfigError, match="unknown --grid 'huge'; known: paper, extended"):
        reproduce(grid="huge", dry_run=True)
    with pytest.raises(DataError, match="f.txt: file is empty"):
        data_file(write_pairs(tmp_path / "f.txt", []))


def test_one_epoch_of_an_extended_row_on_a_users_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "repro"
    args = ["reproduce", "--data", str(FIXTURES / "tiny.csv"), "--models", "sasrec-gbce", "--max-epochs", "1"]
    assert main([*args, "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tiny.csv: median sequence length" in printed and "the paper's short settings" in printed
    assert "| tiny.csv | gSASRec 256 |" in printed
    config = load_config(out / "sasrec-gbce" / "config.toml")
    assert (config.train.loss, config.train.negatives, config.train.gbce_t, config.model.max_length) == (
        "gbce",
        256,
        0.75,
        50,
    )
    manifest = json.loads((out / "reproduce.json").read_text())
    assert manifest["settings"] == "short" and manifest["data"]["path"] == str((FIXTURES / "tiny.csv").resolve())
