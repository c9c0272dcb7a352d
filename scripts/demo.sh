#!/usr/bin/env bash
# `make demo`: synthetic DeepSEA-format data -> CRNN-320 with and without projection -> evaluation -> loss curves.
#
# A short CPU budget (well under 10 minutes on 2 cores): the two models are the paper's CRNN-320 and
# CRNN-320-projection, trained with the paper's protocol except for a shorter schedule (700 steps of
# 32 sequences, a higher learning rate, 500 bp inputs, half the validation set). Re-running resumes
# an interrupted run and skips finished ones. Settings can be changed through the environment:
#   DEMO_DATA (demo_data)  DEMO_RUNS (runs/demo)  PY (.venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
DATA=${DEMO_DATA:-demo_data}
RUNS=${DEMO_RUNS:-runs/demo}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONHASHSEED=${PYTHONHASHSEED:-0}
MODELS=(crnn-320 crnn-320-projection)
# The demo schedule: the paper's reduced 500 bp input (centre crop; CRNN parameter counts do not
# depend on the length), 7 epochs x 100 steps of 32 sequences at lr 1e-3, 1000 of the 2000
# validation sequences. About 2.5 minutes per model on 2 idle cores.
TRAIN_FLAGS=(--sequence-length 500 --batch-size 32 --lr 1e-3 --steps-per-epoch 100 --epochs 7
             --max-valid-samples 1000 --verbose 2)
start=$SECONDS

step() { printf '\n== %s (%ds)\n' "$1" $((SECONDS - start)); }
# Run a Python step without TensorFlow's start-up chatter (absl lines printed before logging is set up).
quiet() {
    "$@" 2> >(grep --line-buffered -v -E '^(WARNING: All log messages before absl|To enable the following instructions|[IWE]0000 .*(port\.cc|cudart_stub|cuda_platform|cpu_feature_guard))' >&2)
}

step "data: synthetic DeepSEA-format bundle in $DATA"
if [[ -f "$DATA/train.mat" && -f "$DATA/valid.mat" && -f "$DATA/test.mat" ]]; then
    echo "$DATA already holds train.mat, valid.mat and test.mat; reusing it"
else
    # 16 motifs keep the demo learnable in a few hundred steps on a CPU.
    "$PY" -m data.synthetic "$DATA" --n-train 20000 --n-valid 2000 --n-test 2000 --num-motifs 16 --overwrite
fi

for model in "${MODELS[@]}"; do
    step "train $model -> $RUNS/$model"
    # --resume starts a missing run, continues an interrupted one, and skips a finished one.
    quiet "$PY" train.py --model "$model" --data "$DATA" --out "$RUNS/$model" --resume "${TRAIN_FLAGS[@]}"
done

if [[ -f evaluate.py ]]; then
    for model in "${MODELS[@]}"; do
        step "evaluate $model on the test split"
        quiet "$PY" evaluate.py "$RUNS/$model" --data "$DATA" --no-progress
    done
    step "table"
    quiet "$PY" evaluate.py --table "${MODELS[@]/#/$RUNS/}" -o "$RUNS/table.md"
else
    echo "evaluate.py not present: skipping evaluation"
fi

if [[ -f analysis/loss_curves.py ]]; then
    step "loss curves"
    quiet "$PY" -m analysis.loss_curves "${MODELS[@]/#/$RUNS/}" -o "$RUNS/loss_curves.png" --train --layout overlay
else
    echo "analysis/loss_curves.py not present: skipping the loss-curve figure"
fi

step "done"
echo "runs:        $RUNS/{$(IFS=,; echo "${MODELS[*]}")}  (config.json, history.csv, best_model.keras, metrics_test.json)"
[[ -f "$RUNS/table.md" ]] && echo "table:       $RUNS/table.md"
[[ -f "$RUNS/loss_curves.png" ]] && echo "loss curves: $RUNS/loss_curves.png"
echo "total time:  $((SECONDS - start)) s"
