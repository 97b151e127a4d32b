"""The public Python API in one place: the estimators, and loading a saved model or a run directory.

``SASRec``, ``BERT4Rec`` and ``SequentialRecommender`` live in :mod:`seqrec.estimator`, the
one-file model format in :mod:`seqrec.model_file`, run directories in :mod:`seqrec.runs`.
"""

from __future__ import annotations

from pathlib import Path

from seqrec.estimator import BERT4Rec, SASRec, SequentialRecommender
from seqrec.ids import UnknownIdError
from seqrec.model_file import read_model_file
from seqrec.runs import evaluate_run, load_run

__all__ = ["BERT4Rec", "SASRec", "SequentialRecommender", "UnknownIdError", "evaluate_run", "load", "load_run"]


def load(
    path: str | Path, device: str | None = None, allow_changed_data: bool = False, allow_unfinished: bool = False
) -> SequentialRecommender:
    """Read a file written by :meth:`SequentialRecommender.save`, or a run directory (see :func:`load_run`,
    which the two ``allow_`` keywords are passed to).

    Raises ValueError naming the file when it is not a seqrec model, is truncated or corrupt,
    or holds weights that do not fit its config.
    """
    path = Path(path)
    if path.is_dir():
        return load_run(path, device, allow_changed_data, allow_unfinished)
    contents = read_model_file(path)
    config = contents.config
    if device is not None:
        config.train.device = device
    return SequentialRecommender.from_parts(
        config, contents.state_dict, contents.data, contents.popularity, contents.validation, str(path)
    )
