#!/usr/bin/env bash
# `make demo-seeds`: the demo's two models trained at seeds 0, 1 and 2 on the same demo data, with
# the demo's schedule (scripts/demo_settings.sh), each evaluated on the test split; then a table of
# model, seed, test AUPRC, AUROC and fraction of the oracle AUPRC, and the spread over seeds.
# About three times `make demo`. Re-running resumes an interrupted run and skips finished ones.
# Settings through the environment:
#   DEMO_DATA (demo_data)  DEMO_SEED_RUNS (runs/demo-seeds)  DEMO_SEEDS ("0 1 2")  PY (.venv/bin/python)
#   DEMO_EXTRA_FLAGS (none): more train.py flags, e.g. "--precision mixed_bfloat16" (with its own DEMO_SEED_RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

PY=${PY:-.venv/bin/python}
DATA=${DEMO_DATA:-demo_data}
RUNS=${DEMO_SEED_RUNS:-runs/demo-seeds}
read -r -a SEEDS <<< "${DEMO_SEEDS:-0 1 2}"
read -r -a EXTRA <<< "${DEMO_EXTRA_FLAGS:-}"
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONHASHSEED=${PYTHONHASHSEED:-0}
source scripts/demo_settings.sh


step "data: synthetic DeepSEA-format bundle in $DATA (the demo's)"
if ! "$PY" -m data.synthetic "$DATA" "${DEMO_DATA_FLAGS[@]}" --reuse; then
    echo "(data from an earlier version of the demo? remove $DATA, or set DEMO_DATA)" >&2
    exit 2
fi

run_dirs=()
for seed in "${SEEDS[@]}"; do
    for model in "${DEMO_MODELS[@]}"; do
        out=$RUNS/$model-seed$seed
        run_dirs+=("$out")
        step "train $model, seed $seed -> $out"
        quiet "$PY" train.py --model "$model" --data "$DATA" --out "$out" --resume --seed "$seed" \
            "${DEMO_TRAIN_FLAGS[@]}" ${EXTRA[@]+"${EXTRA[@]}"} --verbose 2
        step "evaluate $out"
        quiet "$PY" evaluate.py "$out" --data "$DATA" --no-progress
    done
done

step "seed spread"
quiet "$PY" -m analysis.demo_seeds "${run_dirs[@]}" -o "$RUNS/seeds.md" --force
echo "report: $RUNS/seeds.md   total time: $SECONDS s"
