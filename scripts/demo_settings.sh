# The demo's data and schedule, sourced by scripts/demo.sh and scripts/demo_seeds.sh so that both
# train exactly the same thing. Why each value is what it is: docs/DEMO.md.
DEMO_MODELS=(crnn-320 crnn-320-projection)
# python -m data.synthetic: 6 planted JASPAR motifs of 15-21 bp (CTCF, REST, ...), each driving 100-250
# of the 919 targets, so that every motif is learned within the schedule; other settings are the
# generator's defaults (4 instances per sequence in the central 200 bp, label noise 5% / 0.3%).
DEMO_DATA_FLAGS=(--n-train 20000 --n-valid 2000 --n-test 2000 --num-motifs 6 --min-motif-length 15)
# train.py: 250 bp centre crops (the planted centre and 25 bp each side), 6 epochs x 250 steps of 32
# sequences at lr 1e-3, validation on 1000 of the 2000 validation sequences; Adam, ReduceLROnPlateau
# and EarlyStopping as in the paper.
DEMO_TRAIN_FLAGS=(--sequence-length 250 --batch-size 32 --lr 1e-3 --steps-per-epoch 250 --epochs 6
                  --max-valid-samples 1000)
