"""The 919 DeepSEA target names, in output order (shipped in data/reference/)."""
from __future__ import annotations

import csv
import functools
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
NUM_TARGETS = 919


@functools.lru_cache(maxsize=None)
def target_table() -> tuple[dict, ...]:
    """Rows of deepsea_features.tsv: index, cell_type, assay, treatment."""
    with open(REFERENCE_DIR / "deepsea_features.tsv", newline="") as handle:
        return tuple(csv.DictReader(handle, delimiter="\t"))


def target_names(num_targets: int = NUM_TARGETS) -> list[str]:
    """Names such as ``K562|BRF1|None``; generic ``target_<i>`` when the count is not 919."""
    if num_targets != NUM_TARGETS:
        return [f"target_{i}" for i in range(num_targets)]
    return [f"{r['cell_type']}|{r['assay']}|{r['treatment']}" for r in target_table()]
