"""Shared test helpers."""

import re
from pathlib import Path

import pytest

from seqrec.config import load_config
from seqrec.data.loading import load_data
from seqrec.data.split import leave_one_out
from seqrec.models import build_model
from seqrec.training import fit


def write_interrupted_state(run: Path) -> Path:
    """Make ``run`` look killed after its first epoch: no metrics.json, a real checkpoint.pt.

    (A finished run drops its checkpoint, so one epoch of the run's own config is trained
    again to write it.)
    """
    (run / "metrics.json").unlink(missing_ok=True)
    config = load_config(run / "config.toml")
    config.train.max_epochs = 1
    data = load_data(config.data)
    model = build_model(config.model, data.n_items, seed=config.train.seed)
    fit(model, leave_one_out(data), config, checkpoint=run / "checkpoint.pt")
    return run / "checkpoint.pt"


README = Path(__file__).parents[1] / "README.md"


def readme_python_block(section: str) -> str:
    """The first ```python block after the README heading ``## {section}`` (so the docs run as written)."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^## {re.escape(section)}[ \t]*$", text, re.MULTILINE)
    assert heading, f"README.md has no '## {section}' section"
    match = re.search(r"```python\n(.*?)```", text[heading.end() :], re.DOTALL)
    assert match, f"no ```python block after '## {section}'"
    return match.group(1)


# ---------------------------------------------------------------- end-to-end bad-input cases

TINY = [
    "train.max_epochs=1",
    "model.hidden=8",
    "model.max_length=10",
    "train.batch_size=16",
    "train.threads=1",
    "eval.valid_users=100",
]


def sets(*overrides: str) -> list[str]:
    return [arg for override in overrides for arg in ("--set", override)]


def clean_error(capsys: pytest.CaptureFixture[str], rc: int, *fragments: str, out: Path | None = None) -> str:
    """Exit code 2, one ``seqrec: error:`` line holding ``fragments``, no traceback, no finished run."""
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqrec: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    if out is not None:
        assert not (out / "metrics.json").exists()
    return err
