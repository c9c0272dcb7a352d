#!/usr/bin/env bash
# Regenerate every figure of the demo runs (called by `make figures`; run `make demo` first).
#
#   Fig. 2  loss curves of runs/demo/crnn-320 and runs/demo/crnn-320-projection
#   Fig. 3  first-layer motifs -> TOMTOM vs JASPAR 2018 (both runs), logos, projection PCA
#           and the forward/reverse-complement cosine statistic (projection run)
#   Fig. 1  test AUPRC vs first-layer size, if a sweep has been run into $SWEEP_ROOT
#
# Full figures (PNG + PDF) go to $FIG_DIR; small PNG copies to docs/figures/.
# Override with environment variables: DEMO_RUNS, DEMO_DATA, SWEEP_ROOT, N_SEQUENCES.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
DEMO_RUNS=${DEMO_RUNS:-runs/demo}
DEMO_DATA=${DEMO_DATA:-demo_data}
SWEEP_ROOT=${SWEEP_ROOT:-runs/sweep}
N_SEQUENCES=${N_SEQUENCES:-4000}
FIG_DIR=${FIG_DIR:-$DEMO_RUNS/figures}
DOC_DIR=docs/figures
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

PLAIN=$DEMO_RUNS/crnn-320
PROJ=$DEMO_RUNS/crnn-320-projection
for run in "$PLAIN" "$PROJ"; do
  if [[ ! -f $run/best_model.keras || ! -f $run/history.csv ]]; then
    echo "error: $run: no trained demo run (best_model.keras, history.csv); run 'make demo' first" >&2
    exit 2
  fi
done
if [[ ! -d $DEMO_DATA ]]; then
  echo "error: $DEMO_DATA: demo data not found; run 'make demo' first" >&2
  exit 2
fi
mkdir -p "$FIG_DIR" "$DOC_DIR"

echo "== Fig. 2: loss curves"
"$PY" -m analysis.loss_curves "$PLAIN" "$PROJ" --train -o "$FIG_DIR/fig2_loss_curves"

echo "== Fig. 3: motifs of the first-layer filters, matched to JASPAR 2018 with TOMTOM"
for run in "$PLAIN" "$PROJ"; do
  "$PY" -m analysis.motifs "$run" --data "$DEMO_DATA" --n-sequences "$N_SEQUENCES" --logos 8
done
cp "$PROJ/motifs/logos.png" "$FIG_DIR/fig3_logos.png"

echo "== Fig. 3: PCA of the projection columns"
"$PY" -m analysis.projection_pca "$PROJ" -o "$FIG_DIR/fig3_projection_pca"

if compgen -G "$SWEEP_ROOT/*/metrics_test.json" > /dev/null; then
  echo "== Fig. 1: first-layer sweep ($SWEEP_ROOT)"
  "$PY" -m analysis.sweep plot "$SWEEP_ROOT" -o "$FIG_DIR/fig1_sweep"
else
  echo "== Fig. 1: skipped (no evaluated runs in $SWEEP_ROOT; see docs/ANALYSIS.md for the sweep)"
fi

for png in "$FIG_DIR"/fig*.png; do
  cp "$png" "$DOC_DIR/"
done
echo "figures in $FIG_DIR; PNG copies in $DOC_DIR:"
ls -l "$DOC_DIR"
