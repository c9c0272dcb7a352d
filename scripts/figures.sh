#!/usr/bin/env bash
# `make figures`: redraw the paper's figures from whatever runs exist, into $FIG_DIR (runs/demo/figures).
# It never writes into docs/figures; `make readme-figures` copies the PNGs there. It owns $FIG_DIR's
# figures, so re-running replaces them (--force).
#
#   Fig. 1  test AUPRC vs first-layer size, CNN | DanQ-style, 4 variants, seeds   <- $SWEEP_ROOT (analysis.sweep run)
#   Fig. 2  validation loss of cnn-500* | danq-500*, the 4 variants               <- $FIG2_RUNS/{cnn,danq}-500*
#   demo    loss curves of the demo's CRNN-320 pair in one panel                   <- $DEMO_RUNS/crnn-320{,-projection}
#   Fig. 3  PCA of the projection columns of well-matched filters + logos          <- $FIG3_RUN (a projection run)
#
# scripts/figure_runs.sh trains small runs for Figs. 1-3 on a synthetic bundle; `make demo` makes the demo runs.
# A figure whose runs are missing is skipped with a message; it is an error only when none can be drawn.
# Override with environment variables: DEMO_RUNS, SWEEP_ROOT, FIG2_RUNS, FIG3_RUN, FIG3_Q, FIG_DIR, N_SEQUENCES, PY.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh

PY=${PY:-.venv/bin/python}
DEMO_RUNS=${DEMO_RUNS:-runs/demo}
SWEEP_ROOT=${SWEEP_ROOT:-runs/sweep}
FIG2_RUNS=${FIG2_RUNS:-runs/fig2}
FIG3_RUN=${FIG3_RUN:-$DEMO_RUNS/crnn-320-projection}
FIG3_Q=${FIG3_Q:-1e-8}  # the paper's PCA threshold on the best match's q-value
FIG_DIR=${FIG_DIR:-$DEMO_RUNS/figures}
N_SEQUENCES=${N_SEQUENCES:-4000}
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

mkdir -p "$FIG_DIR"
made=0

echo "== Fig. 1: first-layer sweep ($SWEEP_ROOT)"
if [[ -d $SWEEP_ROOT ]] && quiet "$PY" -m analysis.sweep plot "$SWEEP_ROOT" -o "$FIG_DIR/fig1_sweep" --force; then
    made=$((made + 1))
else
    echo "   skipped (no evaluated sweep runs; python -m analysis.sweep run ..., see docs/ANALYSIS.md)"
fi

echo "== Fig. 2: loss curves of cnn-500* and danq-500* ($FIG2_RUNS)"
shopt -s nullglob
fig2=("$FIG2_RUNS"/cnn-500* "$FIG2_RUNS"/danq-500*)
shopt -u nullglob
if (( ${#fig2[@]} )); then
    quiet "$PY" -m analysis.loss_curves "${fig2[@]}" -o "$FIG_DIR/fig2_loss_curves" --force
    made=$((made + 1))
else
    echo "   skipped (no runs; scripts/figure_runs.sh trains them)"
fi

echo "== demo: loss curves of the CRNN-320 pair ($DEMO_RUNS)"
if [[ -d $DEMO_RUNS/crnn-320 && -d $DEMO_RUNS/crnn-320-projection ]]; then
    quiet "$PY" -m analysis.loss_curves "$DEMO_RUNS/crnn-320" "$DEMO_RUNS/crnn-320-projection" --layout overlay \
        --train -o "$FIG_DIR/demo_loss_curves" --force
    made=$((made + 1))
else
    echo "   skipped (no demo runs; make demo)"
fi

echo "== Fig. 3: motifs of $FIG3_RUN (Pearson TOMTOM vs JASPAR 2018), PCA of its projection columns, logos"
if [[ -d $FIG3_RUN ]]; then
    quiet "$PY" -m analysis.motifs "$FIG3_RUN" --n-sequences "$N_SEQUENCES"
    quiet "$PY" -m analysis.projection_pca "$FIG3_RUN" --q-threshold "$FIG3_Q" -o "$FIG_DIR/fig3_projection_pca" --force
    made=$((made + 1))
else
    echo "   skipped (no run $FIG3_RUN; make demo, or FIG3_RUN=RUN_DIR of a projection run)"
fi

if (( made == 0 )); then
    echo "error: no figure could be drawn: no runs found (make demo, or bash scripts/figure_runs.sh)" >&2
    exit 2
fi
echo "$made figure(s) in $FIG_DIR (make readme-figures copies the PNGs into docs/figures)"
