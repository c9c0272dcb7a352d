"""The 919 DeepSEA targets: names in output order, their name fields, categories, and selection.

Names are ``cell_type|assay|treatment`` (``K562|BRF1|None``), from data/reference/deepsea_features.tsv.
Categories follow DeepSEA's own blocks, as DeepSEA and DanQ report them: targets 0-124 are DNase
accessibility, 125-814 TF binding, 815-918 histone marks.
"""
from __future__ import annotations

import csv
import fnmatch
import functools
from pathlib import Path
from typing import Iterable, Sequence

from cli import UserError

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
NUM_TARGETS = 919
#: DeepSEA's target blocks: (category, first index, end index).
CATEGORIES = (("DNase", 0, 125), ("TF binding", 125, 815), ("histone marks", 815, 919))
NAME_FIELDS = ("cell_type", "assay", "treatment")


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


def name_fields(name: str) -> dict[str, str]:
    """``cell_type``, ``assay``, ``treatment`` of a ``cell|assay|treatment`` name ('' where absent)."""
    parts = name.split("|")
    if len(parts) != 3:
        return {"cell_type": "", "assay": "", "treatment": ""}
    return dict(zip(NAME_FIELDS, parts))


def category(index: int, num_targets: int = NUM_TARGETS) -> str:
    """DeepSEA's category of target ``index`` ('' when the targets are not DeepSEA's 919)."""
    if num_targets != NUM_TARGETS:
        return ""
    for name, start, end in CATEGORIES:
        if start <= index < end:
            return name
    raise IndexError(f"target index {index} out of range 0..{NUM_TARGETS - 1}")


def select_targets(patterns: Iterable[str] | None, names: Sequence[str]) -> list[int]:
    """Indices of the targets matching any of ``patterns`` (all targets when None), in output order.

    A pattern is a shell glob, case-insensitive: with ``|`` it matches the whole name
    (``'GM12878|CTCF|*'``); without, any one field (``CTCF``, ``K562``, ``H3K4me3``), a whole name,
    a category (``DNase``, ``TF binding``, ``histone marks``) or an index. A pattern that matches
    nothing is an error, so a typo never silently empties a report.
    """
    if patterns is None:
        return list(range(len(names)))
    patterns = list(patterns)
    chosen: set[int] = set()
    for pattern in patterns:
        glob = pattern.lower()
        hits = set()
        for i, name in enumerate(names):
            fields = [name] if "|" in pattern else [name, *name.split("|"), str(i),
                                                     category(i, len(names))]
            if any(fnmatch.fnmatchcase(f.lower(), glob) for f in fields if f):
                hits.add(i)
        if not hits:
            raise UserError(f"--targets {pattern!r} matches none of the {len(names)} targets (names look "
                            f"like {names[0]!r}; use cell_type|assay|treatment globs, a field, or a category)")
        chosen |= hits
    return sorted(chosen)
