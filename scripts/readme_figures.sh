#!/usr/bin/env bash
# `make readme-figures`: copy the PNGs that `make figures` drew ($FIG_DIR, runs/demo/figures) into
# docs/figures, the figures README.md and docs/ANALYSIS.md show. Each file is copied under a
# temporary name and renamed, so an interrupted copy never leaves a half-written figure.
set -euo pipefail
cd "$(dirname "$0")/.."
FIG_DIR=${FIG_DIR:-${DEMO_RUNS:-runs/demo}/figures}
DOC_DIR=docs/figures
shopt -s nullglob
pngs=("$FIG_DIR"/*.png)
if (( ${#pngs[@]} == 0 )); then
    echo "error: $FIG_DIR: no figures (run make figures first)" >&2
    exit 2
fi
mkdir -p "$DOC_DIR"
for png in "${pngs[@]}"; do
    tmp=$(mktemp "$DOC_DIR/.$(basename "$png").XXXX")
    cp "$png" "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$DOC_DIR/$(basename "$png")"
    echo "copied $png -> $DOC_DIR/$(basename "$png")"
done
