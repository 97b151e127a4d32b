#!/usr/bin/env bash
# Runs every benchmark in order and writes results/bench/*.json and *.md.
# Run it on a quiet machine: the figures are only comparable when nothing else is running.
# QUICK=1 runs every script at tiny scale (a check that they work; figures meaningless),
# writing to ${OUT:-/tmp/seqrec-bench-quick} instead of results/bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=".venv/bin/python"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"

if [ ! -x benchmarks/.venv-rectools/bin/python ]; then
    bash benchmarks/setup_rectools.sh
fi

if [ "${QUICK:-0}" = 1 ]; then
    out="${OUT:-/tmp/seqrec-bench-quick}"
    "$python" benchmarks/bench_train.py --batches 2 --epochs 1 --out "$out"
    "$python" benchmarks/bench_recommend.py --fit-users 300 --repeats 1 --out "$out"
    "$python" benchmarks/bench_scale.py --catalogs 2000,20000 --steps 1 --out "$out"
    "$python" benchmarks/bench_flops.py --trials 1 --min-seconds 0.05 --train-json "$out/train_ml1m.json" --out "$out"
    exit 0
fi

"$python" benchmarks/bench_train.py            # about 25-40 min on 2 cores
"$python" benchmarks/bench_recommend.py        # about 5 min
"$python" benchmarks/bench_scale.py            # about 10 min (1M chunked: ~1-2 min per step on 2 cores)
"$python" benchmarks/bench_flops.py            # 1 min; reads results/bench/train_ml1m.json
