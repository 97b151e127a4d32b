"""seqrec: train, evaluate and use SASRec and BERT4Rec with the losses that decide their quality."""

__version__ = "0.1.0"
