"""The targets a subcommand reports: selected by name (``--targets``), with their name fields.

Every per-target output carries the same description of its targets: ``index`` (the model's
output column), ``name`` (``cell_type|assay|treatment``), the three fields apart, and DeepSEA's
``category`` (DNase, TF binding, histone marks). DeepSEA's names are not unique (GM12878|CTCF|None
is four targets from different labs), so a wide TSV heads each target's column ``name:index``. A model whose output is not DeepSEA's 919
targets has names ``target_<i>`` and empty fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from data.features import NAME_FIELDS, category, name_fields, select_targets, target_names

#: Columns of the targets table, in order (``column``: the target's column header in a wide TSV).
TARGET_COLUMNS = ("index", "name", *NAME_FIELDS, "category", "column")
#: What describes a target in a long (one row per target) table.
DESCRIPTION_COLUMNS = ("name", *NAME_FIELDS, "category")


@dataclass(frozen=True)
class Targets:
    """Selected targets: model output indices (ascending) and their descriptions."""

    indices: np.ndarray  # int64 (K,)
    names: tuple[str, ...]
    num_model_targets: int

    @classmethod
    def select(cls, patterns: Sequence[str] | None, num_targets: int) -> "Targets":
        """The targets matching any of ``patterns`` (names, globs, fields, categories; all if None)."""
        names = target_names(num_targets)
        indices = select_targets(patterns, names)
        return cls(np.asarray(indices, dtype=np.int64), tuple(names[i] for i in indices), num_targets)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def all(self) -> bool:
        return len(self.names) == self.num_model_targets

    def field(self, key: str) -> list[str]:
        """One name field (cell_type, assay, treatment) of every selected target."""
        return [name_fields(n)[key] for n in self.names]

    @property
    def categories(self) -> list[str]:
        return [category(int(i), self.num_model_targets) for i in self.indices]

    @property
    def columns(self) -> list[str]:
        """Unique column headers ``name:index`` (``GM12878|CTCF|None:127``)."""
        return [f"{n}:{int(i)}" for i, n in zip(self.indices, self.names)]

    def rows(self) -> list[dict]:
        """The targets table: one dict per target with :data:`TARGET_COLUMNS`."""
        return [{"index": int(i), "name": n, **name_fields(n), "category": c, "column": col}
                for i, n, c, col in zip(self.indices, self.names, self.categories, self.columns)]

    def take(self, scores: np.ndarray) -> np.ndarray:
        """The selected columns of (..., T) model scores."""
        return scores if self.all else scores[..., self.indices]
