"""seqrec: train, evaluate and use SASRec and BERT4Rec with the losses that decide their quality.

The estimators ``seqrec.SASRec`` and ``seqrec.BERT4Rec`` (fit / recommend / save) and
``seqrec.load`` come from :mod:`seqrec.api`, imported on first use so that ``import seqrec``
stays light. ``seqrec.SASRec`` is the estimator; the network is ``seqrec.models.sasrec.SASRec``.
"""

from typing import Any

__version__ = "0.1.0"

_API = ("SequentialRecommender", "SASRec", "BERT4Rec", "load", "load_run")
__all__ = [*_API, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        from seqrec import api

        return getattr(api, name)
    raise AttributeError(f"module 'seqrec' has no attribute {name!r}")
