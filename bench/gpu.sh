#!/usr/bin/env bash
# Record the benchmark tables on a CUDA GPU into docs/BENCHMARKS_GPU.md (about 10 minutes).
#
# Tables, in this order (the page is rewritten after each, so a session cut short keeps what it
# measured): builds of every Table 1 model (faithful LSTM: recurrent dropout, hard-sigmoid gate,
# no cuDNN; --fast-lstm on cuDNN; --jit; mixed_float16; --fast-lstm with mixed_float16) with the
# full-data epoch time of each; training throughput of every model with the projection speedups;
# train.py against bare train_on_batch; inference.
#
# Usage: bash bench/gpu.sh [--quick] [--allow-cpu] [--only TABLES] [--out PAGE]
#   --quick      smoke-test sizes (the numbers mean nothing; the page goes to scratch/)
#   --allow-cpu  run even without a GPU, to test this script (the page goes to scratch/)
# Environment: PY (python to use) [default: .venv/bin/python, else python3]
# TensorFlow needs its CUDA libraries to see the GPU: pip install "tensorflow[and-cuda]==2.21.0".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z "${PY:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

allow_cpu=0
args=()
for arg in "$@"; do
    case "$arg" in
        --allow-cpu) allow_cpu=1 ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$arg") ;;
    esac
done

if "$PY" -c 'import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices("GPU") else 1)' 2>/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
elif [[ "$allow_cpu" -eq 0 ]]; then
    echo "error: bench/gpu.sh: TensorFlow sees no CUDA GPU (is tensorflow[and-cuda] installed?);" \
        "pass --allow-cpu to run on the CPU anyway" >&2
    exit 1
else
    echo "bench/gpu.sh: no GPU visible; running on the CPU because of --allow-cpu" >&2
    # Never replace the GPU page with CPU figures.
    if [[ " ${args[*]-} " != *" --out "* ]]; then args+=(--out scratch/BENCHMARKS_GPU.cpu.md); fi
fi

exec "$PY" -m bench.run_all --gpu ${args[@]+"${args[@]}"}
