"""JASPAR motifs from the `pyjaspar` package (offline SQLite), as plain numpy.

Every matrix returned here is in **A, C, G, T** column order, the order JASPAR,
MEME and TOMTOM use. The DeepSEA one-hot order is A, G, C, T: convert at the
boundary with :func:`acgt_to_agct` / :func:`agct_to_acgt`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from data.encoding import ACGT, acgt_to_agct, agct_to_acgt, reverse_complement  # noqa: F401  (re-exported)


@dataclass(frozen=True)
class Motif:
    """One JASPAR matrix: counts (length, 4) in A, C, G, T order."""

    matrix_id: str
    name: str
    tf_class: str
    counts: np.ndarray

    @property
    def probabilities(self) -> np.ndarray:
        """Position probability matrix (rows sum to 1)."""
        totals = self.counts.sum(axis=1, keepdims=True)
        return self.counts / np.maximum(totals, 1e-12)


@functools.lru_cache(maxsize=None)
def load_motifs(release: str = "JASPAR2018", collection: str = "CORE",
                tax_group: str = "vertebrates") -> tuple[Motif, ...]:
    """All motifs of one JASPAR release/collection/taxon, sorted by matrix ID."""
    from pyjaspar import jaspardb  # imported lazily: it opens an SQLite file

    releases = jaspardb().get_releases()
    if release not in releases:
        raise ValueError(f"unknown JASPAR release {release!r}; available: {', '.join(releases)}")
    db = jaspardb(release=release)
    motifs = []
    for m in db.fetch_motifs(collection=collection, tax_group=[tax_group]):
        counts = np.array([m.counts[base] for base in ACGT], dtype=np.float64).T
        tf_class = "; ".join(m.tf_class) if isinstance(m.tf_class, (list, tuple)) else str(m.tf_class or "")
        motifs.append(Motif(m.matrix_id, m.name, tf_class, counts))
    motifs.sort(key=lambda motif: motif.matrix_id)
    return tuple(motifs)
