"""Data: interactions, readers, the dataset catalog and a synthetic generator."""

from seqrec.data.catalog import DATASETS, load_dataset
from seqrec.data.interactions import DataError, Interactions
from seqrec.data.readers import from_dataframe, read_interactions
from seqrec.data.synthetic import synthetic_interactions

__all__ = [
    "DATASETS",
    "DataError",
    "Interactions",
    "from_dataframe",
    "load_dataset",
    "read_interactions",
    "synthetic_interactions",
]
