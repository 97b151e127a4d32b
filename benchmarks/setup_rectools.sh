#!/usr/bin/env bash
# Creates benchmarks/.venv-rectools: a separate environment with RecTools 0.19.0 and the same
# torch build as the project venv, so that seqrec and RecTools are timed on the same torch.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-rectools"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/pip" install --upgrade pip
# torch first, pinned to the build the project uses (a local CPU wheel is found by pip here),
# so that rectools[torch] does not pull a different one.
"$venv/bin/pip" install 'torch==2.13.0'
"$venv/bin/pip" install 'rectools[torch]==0.19.0'
"$venv/bin/python" - <<'PY'
import rectools
import torch
from rectools.models import BERT4RecModel, SASRecModel  # noqa: F401

print(f"rectools {rectools.__version__}, torch {torch.__version__}: SASRecModel and BERT4RecModel import")
PY
