# The demo's data and schedule, sourced by scripts/demo.sh and scripts/demo_seeds.sh so that both
# train exactly the same thing. Why each value is what it is: docs/DEMO.md.
DEMO_MODELS=(crnn-320 crnn-320-projection)
# python -m data.synthetic: 6 planted JASPAR motifs of 16-21 bp (CTCF, REST, ESR1, MAFK, NR3C1, RFX5),
# each driving 110-250 of the 919 targets, sampled close to their consensus (PWMs raised to the 6th
# power), 3/4 of further instances repeating a sequence's first motif; otherwise the generator's
# defaults (Poisson(4) instances in the central 200 bp, label noise 5% false negatives, 0.3% false
# positives). Every motif is then learned well within the schedule, whatever the seed.
DEMO_DATA_FLAGS=(--n-train 20000 --n-valid 2000 --n-test 2000 --num-motifs 6 --min-motif-length 16
                 --pwm-sharpening 6 --repeat-probability 0.75)
# train.py: 200 bp centre crops (the central 200 bp that DeepSEA labels describe, where the motifs
# are planted), 8 epochs x 250 steps of 32 sequences at lr 2e-3, validation on 1000 of the 2000
# validation sequences; Adam, ReduceLROnPlateau and EarlyStopping as in the paper.
DEMO_TRAIN_FLAGS=(--sequence-length 200 --batch-size 32 --lr 2e-3 --steps-per-epoch 250 --epochs 8
                  --max-valid-samples 1000)
