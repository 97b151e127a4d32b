"""ML-1M for the benchmark children: seqrec's reader and leave-one-out split, and a RecTools frame.

Both libraries train on exactly the same sequences: seqrec's training ranges (every user's
items without the last two). ML-1M pairs have no timestamps, so the RecTools frame gets a
``datetime`` built from the position in the file (one second per interaction), which keeps
each user's order and has no ties. Imported only inside children (needs seqrec on the path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from _common import ML1M

if TYPE_CHECKING:
    import pandas as pd

    from seqrec.data.interactions import Interactions
    from seqrec.data.split import LeaveOneOut


def load_ml1m() -> Interactions:
    from seqrec.data.readers import read_interactions

    return read_interactions(ML1M, "pairs")


def load_ml1m_split() -> tuple[Interactions, LeaveOneOut]:
    from seqrec.data.split import leave_one_out

    data = load_ml1m()
    return data, leave_one_out(data)


def rectools_frame(data: Interactions, starts: np.ndarray, ends: np.ndarray) -> pd.DataFrame:
    """Interactions ``items[starts[u]:ends[u]]`` of every user as a RecTools interactions frame.

    Columns user_id, item_id (raw ids), weight (1.0) and datetime (strictly increasing in
    file order, so the per-user order is the chronological order of the source).
    """
    import pandas as pd

    from seqrec.data.interactions import gather_ranges

    users, positions = gather_ranges(np.arange(len(data.items)), starts, ends)  # row of each, its index
    return pd.DataFrame(
        {
            "user_id": data.user_ids[users],
            "item_id": data.item_ids[data.items[positions]],
            "weight": np.ones(len(positions), dtype=np.float32),
            "datetime": pd.Timestamp("2000-01-01") + pd.to_timedelta(positions, unit="s"),
        }
    )
