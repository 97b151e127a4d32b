"""Top-K recommendations for many users streamed to a file, chunk by chunk.

:func:`write_recommendations` asks the model for ``chunk_users`` users at a time and appends
each chunk's rows to the output (CSV/TSV appended as text, parquet through pyarrow's
``ParquetWriter``), so memory is bounded by the chunk, not by the number of users. The rows
go to a temporary file beside the destination that is renamed over it at the end: a failure
leaves no file under the final name.

The rows are those of one ``model.recommend`` call over every user, in the same order, with
the same columns; scores may differ in the last float32 bit, since a user's score depends on
which other users share its scoring batch (the BLAS summation order changes).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from tqdm import tqdm

from seqrec.ids import lookup
from seqrec.io import replace_atomic

if TYPE_CHECKING:
    from seqrec.recommending import Recommending

DEFAULT_CHUNK_USERS = 10_000
COLUMNS = ["user", "item", "score", "rank"]  # the output's column names, whatever the model's columns


class _Sink(Protocol):
    def write(self, frame: pd.DataFrame) -> None: ...


def output_format(out: Path) -> str:
    """``"parquet"`` for a ``.parquet`` name, ``"tsv"`` for ``.tsv``, else ``"csv"``."""
    suffix = out.suffix.lower()
    return "parquet" if suffix == ".parquet" else "tsv" if suffix == ".tsv" else "csv"


def _pyarrow(out: Path) -> Any:
    """``pyarrow`` with its parquet module loaded, or a one-line error naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401  (loads the submodule)
    except ImportError as error:
        raise ValueError(f"{out}: writing parquet needs pyarrow (pip install 'seqrec[parquet]'): {error}") from None
    return pyarrow


class _TextSink:
    """CSV/TSV: the header with the first chunk, then rows appended chunk by chunk."""

    def __init__(self, handle: IO[str], sep: str) -> None:
        self.handle, self.sep, self.started = handle, sep, False

    def write(self, frame: pd.DataFrame) -> None:
        frame.to_csv(self.handle, index=False, sep=self.sep, header=not self.started)
        self.started = True


class _ParquetSink:
    """Parquet: one row group per non-empty chunk, the schema set by the first one.

    A table with no rows at all is written by pandas, as the non-streaming path does; a later
    chunk whose column types differ from the first one's (e.g. text labels of unknown users
    among integer user ids) is cast to them, or refused in one line.
    """

    def __init__(self, tmp: Path, out: Path, pa: Any) -> None:
        self.tmp, self.out, self.pa = tmp, out, pa
        self.writer: Any = None
        self.last: pd.DataFrame | None = None

    def write(self, frame: pd.DataFrame) -> None:
        self.last = frame
        if len(frame) == 0:
            return
        try:
            table = self.pa.Table.from_pandas(frame, preserve_index=False)
            if self.writer is None:
                self.writer = self.pa.parquet.ParquetWriter(self.tmp, table.schema)
            elif not table.schema.equals(self.writer.schema, check_metadata=False):
                table = table.cast(self.writer.schema)
        except (self.pa.ArrowInvalid, self.pa.ArrowTypeError, self.pa.ArrowNotImplementedError) as error:
            reason = str(error).splitlines()[0][:200]
            raise ValueError(f"{self.out}: cannot write these rows as parquet ({reason}); write .csv instead") from None
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        elif self.last is not None:
            self.last.to_parquet(self.tmp, index=False)


@contextmanager
def _open_sink(tmp: Path, out: Path) -> Iterator[_Sink]:
    """A sink for ``out``'s format writing to ``tmp``; closed (footer written) on success only."""
    kind = output_format(out)
    if kind != "parquet":
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            yield _TextSink(handle, "\t" if kind == "tsv" else ",")
        return
    sink = _ParquetSink(tmp, out, _pyarrow(out))
    try:
        yield sink
    except BaseException:
        if sink.writer is not None:
            sink.writer.close()  # release the file; replace_atomic removes it
        raise
    sink.close()


def _as_array(users: Any) -> np.ndarray:
    """Raw user ids as an array (one id, a list, an array or a Series), as ``recommend`` reads them."""
    if isinstance(users, str | bytes) or np.isscalar(users):
        return np.asarray([users])
    if isinstance(users, np.ndarray | pd.Series):
        return np.asarray(users)
    return np.asarray(list(users))


def write_recommendations(
    model: Recommending,
    users: Sequence[Any] | np.ndarray | None,
    out: str | Path,
    k: int = 10,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    progress: bool | None = None,
    **recommend_kwargs: Any,
) -> tuple[int, int]:
    """Write ``model.recommend(users, k, **recommend_kwargs)`` to ``out`` (.csv, .tsv, .parquet), chunk by chunk.

    ``users``: raw ids in the order wanted, ``None`` for every fitted user. Columns are
    ``user, item, score, rank``. ``recommend_kwargs`` (``filter_seen``, ``on_unknown``,
    ``items``, ``exclude``) go to every chunk's call. With ``on_unknown="error"`` every user
    is checked before the first chunk, so an unknown one fails at once with the model's own
    message. ``progress``: a tqdm bar on stderr (``None``: only when stderr is a terminal).
    Returns (rows written, users with at least one row; a user repeated across chunks counts
    once per chunk).
    """
    out = Path(out)
    if isinstance(chunk_users, bool) or not isinstance(chunk_users, int | np.integer) or chunk_users < 1:
        raise ValueError(f"chunk_users must be a positive integer, not {chunk_users!r}")
    if output_format(out) == "parquet":
        _pyarrow(out)  # fail before any scoring
    _, data, _ = model._fitted()
    wanted = data.user_ids if users is None else _as_array(users)
    if users is not None and recommend_kwargs.get("on_unknown", "error") == "error" and len(wanted):
        _, found = lookup(data.user_ids, wanted)
        if not found.all():  # raises the model's own message, naming every unknown user
            model.recommend(wanted[~found], k=k, **recommend_kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    counts = [0, 0]

    def write(tmp: Path) -> None:
        disable = None if progress is None else not progress  # None: tqdm shows it only on a terminal
        bar = tqdm(total=len(wanted), unit="user", desc="recommend", file=sys.stderr, disable=disable)
        with bar, _open_sink(tmp, out) as sink:
            for start in range(0, max(len(wanted), 1), chunk_users):  # one call even for no users: the header
                chunk = wanted[start : start + chunk_users]
                frame = model.recommend(chunk, k=k, **recommend_kwargs)
                frame.columns = COLUMNS
                sink.write(frame)
                counts[0] += len(frame)
                counts[1] += int(frame["user"].nunique())
                bar.update(len(chunk))

    replace_atomic(out, write)
    return counts[0], counts[1]
