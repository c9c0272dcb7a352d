#!/usr/bin/env bash
# `make demo`: synthetic DeepSEA-format data -> CRNN-320 with and without projection -> evaluation
# -> comparison with the oracle -> loss curves.
#
# A CPU budget (under 8 minutes on 2 idle cores): the paper's CRNN-320 and CRNN-320-projection,
# trained with the paper's protocol (Adam, ReduceLROnPlateau, EarlyStopping, best model kept) on a
# shorter schedule and synthetic data that a few minutes can learn: 6 planted motifs, 200 bp crops,
# 8 epochs x 250 steps of 32 at lr 2e-3 (scripts/demo_settings.sh; docs/DEMO.md says why).
# Both reach over 0.9 of the oracle test AUPRC at seeds 0, 1 and 2 (`make demo-seeds` measures it).
# Re-running resumes an interrupted run and skips finished ones. Settings through the environment:
#   DEMO_DATA (demo_data)  DEMO_RUNS (runs/demo)  PY (.venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

PY=${PY:-.venv/bin/python}
DATA=${DEMO_DATA:-demo_data}
RUNS=${DEMO_RUNS:-runs/demo}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONHASHSEED=${PYTHONHASHSEED:-0}
source scripts/demo_settings.sh
MODELS=("${DEMO_MODELS[@]}")
TRAIN_FLAGS=("${DEMO_TRAIN_FLAGS[@]}" --verbose 2)


step "data: synthetic DeepSEA-format bundle in $DATA"
# --reuse keeps a bundle made earlier with these same settings; one made with others is an error.
if ! "$PY" -m data.synthetic "$DATA" "${DEMO_DATA_FLAGS[@]}" --reuse; then
    echo "(data from an earlier version of the demo? remove $DATA and $RUNS, or set DEMO_DATA and DEMO_RUNS)" >&2
    exit 2
fi

for model in "${MODELS[@]}"; do
    step "train $model -> $RUNS/$model"
    # --resume starts a missing run, continues an interrupted one, and skips a finished one.
    quiet "$PY" train.py --model "$model" --data "$DATA" --out "$RUNS/$model" --resume "${TRAIN_FLAGS[@]}"
done

# The demo owns the table, report and figure it writes, so re-running replaces them (--force).
for model in "${MODELS[@]}"; do
    step "evaluate $model on the test split"
    quiet "$PY" evaluate.py "$RUNS/$model" --data "$DATA" --no-progress
done
step "table"
quiet "$PY" evaluate.py --table "${MODELS[@]/#/$RUNS/}" -o "$RUNS/table.md" --force
step "against the oracle (the generator's P(label | planted motifs), scored the same way)"
quiet "$PY" -m analysis.demo_seeds "${MODELS[@]/#/$RUNS/}" -o "$RUNS/oracle.md" --force
step "loss curves"
quiet "$PY" -m analysis.loss_curves "${MODELS[@]/#/$RUNS/}" -o "$RUNS/loss_curves.png" --train --layout overlay --force

step "done"
echo "runs:        $RUNS/{$(IFS=,; echo "${MODELS[*]}")}  (config.json, history.csv, best_model.keras, metrics_test.json)"
echo "table:       $RUNS/table.md"
echo "vs oracle:   $RUNS/oracle.md"
echo "loss curves: $RUNS/loss_curves.png"
echo "total time:  $SECONDS s"
