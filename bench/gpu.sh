#!/usr/bin/env bash
# Record the benchmark tables on a CUDA GPU and write docs/BENCHMARKS_GPU.md.
#
# Measures every paper model (training and inference sequences/s at batch 256, time per full-data
# epoch), the projection pairs, strand-averaged inference and, for each Table 1 model, the fast
# paths: the faithful CRNN (hard-sigmoid gate, recurrent dropout 0.2: no cuDNN) against
# --fast-lstm (cuDNN), mixed precision and XLA. docs/BENCHMARKS.md links the page once it exists.
#
# Usage: bash bench/gpu.sh [--quick] [--allow-cpu] [any python -m bench.run_all option]
#   --quick      smoke-test sizes (minutes on a CPU; the numbers mean nothing)
#   --allow-cpu  run even without a GPU (for testing this script; GPU-only variants are skipped)
# Environment: PY (python to use) [default: .venv/bin/python, else python3]
# TensorFlow needs its CUDA libraries to see the GPU: pip install "tensorflow[and-cuda]==2.21.0" (as requirements.txt pins).
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
        -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$arg") ;;
    esac
done

gpu_visible() {
    # nvidia-smi first: it answers in milliseconds where importing TensorFlow takes seconds.
    command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 &&
        "$PY" -c 'import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices("GPU") else 1)' 2>/dev/null
}

if gpu_visible; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
elif [[ "$allow_cpu" -eq 0 ]]; then
    echo "error: bench/gpu.sh: no CUDA GPU visible to TensorFlow (is tensorflow[and-cuda] installed?" \
        "pass --allow-cpu to run on CPU anyway)" >&2
    exit 1
else
    echo "bench/gpu.sh: no GPU visible; running on CPU because of --allow-cpu" >&2
fi

exec "$PY" -m bench.run_all --gpu "${args[@]}"
