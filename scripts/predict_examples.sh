#!/usr/bin/env bash
# The README's predict.py examples on the model `make demo` trained, then the summary the README
# quotes: do the top targets of each core variant belong to the destroyed motif (sites.tsv), how far
# they drop, how little the controls move, and the largest single-base effect in the CTCF window.
# Writes into $OUT (scratch/predict-examples), which must not exist yet.
#   DEMO_DATA (demo_data)  MODEL (runs/demo/crnn-320-projection)  OUT  PY (.venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DEMO_DATA:-demo_data}
M=${MODEL:-runs/demo/crnn-320-projection}
OUT=${OUT:-scratch/predict-examples}
X=$OUT/ex
T=("Dnd41|CTCF|None" "K562|NRSF|None")
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}

if [[ -e $OUT ]]; then
    echo "error: $OUT exists; remove it or set OUT to a new directory" >&2
    exit 2
fi
mkdir -p "$OUT"
"$PY" -m data.example_inputs "$DATA" "$X"
"$PY" predict.py sequences   --model "$M" --fasta "$X/sequences.fa" --center -o "$OUT/seqs.tsv" --targets "${T[@]}" --no-progress
"$PY" predict.py regions     --model "$M" --bed "$X/regions.bed" --genome "$X/genome.fa" -o "$OUT/regions.tsv" --targets "${T[@]}" --no-progress
"$PY" predict.py variants    --model "$M" --vcf "$X/variants.vcf" --genome "$X/genome.fa" -o "$OUT/effects.tsv" --top 3 --no-progress
"$PY" predict.py mutagenesis --model "$M" --region chr1:1401-1600 --genome "$X/genome.fa" -o "$OUT/ism.h5" --no-progress
"$PY" predict.py export      --model "$M" "$OUT/exported"
"$PY" - "$OUT" <<'PYEOF'
import csv, sys
import h5py, numpy as np
out = sys.argv[1]
def rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))
drives = {r["name"]: set(r["targets"].split(",")) for r in rows(f"{out}/ex/sites.tsv")}
effects = rows(f"{out}/effects.tsv")
core = [r for r in effects if r["id"].endswith("_core")]
control = [r for r in effects if r["id"].endswith("_control")]
hits = sum(r["name"] in drives[r["id"].removesuffix("_core")] for r in core)
drops = [abs(float(r["diff"])) for r in core]
with h5py.File(f"{out}/ism.h5", "r") as h5:
    ism = float(np.abs(h5["effect"][:]).max())
print(f"core variants: {hits} of {len(core)} top targets are driven by the destroyed motif; "
      f"drops {min(drops):.2f}-{max(drops):.2f}")
print(f"controls: largest change {max(abs(float(r['diff'])) for r in control):.4f}")
print(f"mutagenesis of the CTCF window: largest single-base effect {ism:.3f}")
PYEOF
