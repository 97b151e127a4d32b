#!/usr/bin/env bash
# GPU check, within a 10-minute budget: seconds per ML-1M epoch for each model and loss, with
# and without bf16 autocast, then one full SASRec+ (ce) run to early stopping.
# Usage (repository root, on the GPU machine):  OUT=/some/dir bash benchmarks/gpu.sh
# Needs ml-1m.txt.gz in $SEQREC_DATA_DIR (default ../shared/data). Writes $OUT/gpu_*.{log,json}.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
export SEQREC_DATA_DIR="${SEQREC_DATA_DIR:-$(realpath ../shared/data)}"
out="${OUT:-results/bench/gpu}"
mkdir -p "$out"
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))" | tee "$out/gpu_device.txt"

epoch() {  # name config [extra --set ...]: two epochs, the second is the timed one
    local name=$1 config=$2; shift 2
    timeout 120 python3 -m seqrec train --config "configs/$config.toml" --set train.device=cuda \
        --set train.max_epochs=2 --set train.patience=100 "$@" --out "$out/runs/$name" > "$out/gpu_$name.log" 2>&1
    python3 - "$out/runs/$name/log.jsonl" "$name" <<'PY' | tee -a "$out/gpu_epochs.txt"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{sys.argv[2]:28s} epoch 2: {rows[-1]['epoch_seconds']:.2f} s train + {rows[-1]['eval_seconds']:.2f} s validation")
PY
}

for model in sasrec-bce sasrec-ce sasrec-sampled-ce bert4rec; do
    epoch "ml-1m-$model" "ml-1m-$model"
    epoch "ml-1m-$model-bf16" "ml-1m-$model" --set train.amp=bf16
done

# one full SASRec+ run to early stopping (paper: best epoch 63, 540 s on its GPU)
timeout 420 python3 -m seqrec train --config configs/ml-1m-sasrec-ce.toml --set train.device=cuda \
    --out "$out/runs/ml-1m-sasrec-ce-full" > "$out/gpu_full_sasrec_ce.log" 2>&1
cp "$out/runs/ml-1m-sasrec-ce-full/metrics.json" "$out/gpu_full_sasrec_ce.json" 2>/dev/null \
    || echo "the full run did not finish within its 420 s budget; see gpu_full_sasrec_ce.log"
