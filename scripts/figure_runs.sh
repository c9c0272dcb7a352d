#!/usr/bin/env bash
# Small CPU runs behind the figures of docs/ANALYSIS.md, on a synthetic bundle (so every figure says
# "synthetic data"). Then `make figures FIG3_RUN=runs/fig3/cnn-128-projection FIG3_Q=1e-3` draws them
# (so few filters of this small run pass the paper's q < 1e-8 that the PCA uses q < 1e-3; the title says so).
#
#   runs/fig2/{cnn,danq}-500{,-dropout,-projection,-projection-dropout}   Fig. 2 (8 runs)
#   runs/sweep/{cnn,danq}-{32,128}{...}/seed{0,1}                           Fig. 1 (32 runs)
#   runs/fig3/cnn-128-projection                                            Fig. 3
#
# Far shorter than the paper's protocol (35 epochs on 4.4 M sequences): a few hundred steps each, a
# 1,280-sequence training subset for Fig. 2 so that over-fitting shows within 8 epochs. About an hour
# on 2 shared CPU cores. Re-running resumes or skips finished runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${FIGURE_DATA:-scratch/figdata}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-}

if [[ ! -f $DATA/truth.json ]]; then
    "$PY" -m data.synthetic "$DATA" --n-train 16000 --n-valid 1000 --n-test 1000 --num-motifs 16
fi

for model in cnn-500 cnn-500-dropout cnn-500-projection cnn-500-projection-dropout \
             danq-500 danq-500-dropout danq-500-projection danq-500-projection-dropout; do
    "$PY" train.py --model "$model" --data "$DATA" --out "runs/fig2/$model" --resume \
        --epochs 8 --steps-per-epoch 20 --batch-size 64 --lr 2e-3 --max-train-samples 1280 \
        --max-valid-samples 300 --seed 0 --verbose 0
done

"$PY" -m analysis.sweep run --data "$DATA" --root runs/sweep --families cnn danq --sizes 32 128 --seeds 0 1 \
    --epochs 3 --steps-per-epoch 20 --batch-size 64 --lr 2e-3 --max-valid-samples 300

# Fig. 3: a projection CNN on the central 200 bp, where the generator plants its motifs.
"$PY" train.py --model cnn-300-projection --filters 128 --sequence-length 200 --data "$DATA" \
    --out runs/fig3/cnn-128-projection --resume --epochs 8 --steps-per-epoch 300 --batch-size 32 --lr 3e-3 \
    --max-valid-samples 300 --seed 0 --verbose 0
