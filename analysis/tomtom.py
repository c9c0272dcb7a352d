"""TOMTOM motif comparison (Gupta et al. 2007) as MEME 4.11 runs it, with a choice of column score.

memelite offers only the Euclidean column distance; MEME 4.x's default, and so most likely the
paper's, was Pearson correlation. This module computes TOMTOM's complete-score p-values for
either, in vectorised numpy, following the method of MEME 4.11's ``tomtom`` (read for facts):

1. Every target is used in both orientations (its reverse complement is a second target). Each
   query column is scored against every column of every target of both orientations:
   Pearson correlation of the two 4-letter probability columns (``pearson``), or minus their
   Euclidean distance (``euclidean``).
2. Complete scores: each query column's scores are shifted so that their median over all target
   columns is 0; a query column left unaligned then contributes 0.
3. The shifted scores of the query are scaled to integers 0..100 (one scale and offset for the
   whole query). The null distribution of query column i is its empirical score distribution
   over all target columns; the null of an alignment's summed score is the convolution of the
   nulls of the aligned query columns.
4. The score of a target in one orientation is its best alignment (all relative offsets with
   at least ``min_overlap`` aligned columns; ties: the larger overlap). Its p-value is the
   probability that the best of the ``w_query + w_target - 1`` alignments in the two
   orientations of a random target of the same width scores at least as well (alignments
   treated as independent).
5. Per target, the orientation with the smaller p-value is reported.

E-values are p x (number of targets). q-values are not computed here (see
:func:`analysis.motifs.qvalues`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DISTANCES = ("pearson", "euclidean")
BINS = 100  # MEME's scaled range of one column score
SHIFT_QUANTILE = 0.5  # complete scores: each query column's median score becomes 0


@dataclass(frozen=True)
class TomtomResult:
    """TOMTOM results for ``n_queries`` x ``n_targets`` (best orientation per target).

    ``offsets[i, j]`` = d means query column k is aligned with column k + d of the target as
    oriented (``strands[i, j]`` 0: the target as given, 1: its reverse complement).
    """

    p_values: np.ndarray
    offsets: np.ndarray
    overlaps: np.ndarray
    strands: np.ndarray

    @property
    def e_values(self) -> np.ndarray:
        """p-value x number of targets (TOMTOM's E-value)."""
        return self.p_values * self.p_values.shape[1]


def column_scores(query: np.ndarray, columns: np.ndarray, distance: str = "pearson") -> np.ndarray:
    """(w_query, n_columns) similarity of each query column with each target column.

    ``query`` is (w, 4) and ``columns`` (n, 4), rows are probability columns in one letter order.
    ``pearson``: correlation over the 4 letters (0 where a column has no variance, as MEME);
    ``euclidean``: minus the Euclidean distance.
    """
    query = np.asarray(query, dtype=np.float64)
    columns = np.asarray(columns, dtype=np.float64)
    if distance == "pearson":
        # MEME centres at 1/alphabet size, the mean of a probability column.
        q = query - 1.0 / query.shape[1]
        t = columns - 1.0 / columns.shape[1]
        numerator = np.einsum("ik,jk->ij", q, t)  # (w x 4) by (n x 4): einsum beats a BLAS call here
        denominator = np.sqrt(np.sum(q * q, axis=1))[:, None] * np.sqrt(np.sum(t * t, axis=1))[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator != 0, numerator / np.where(denominator != 0, denominator, 1.0), 0.0)
    if distance == "euclidean":
        squared = (np.sum(query ** 2, axis=1)[:, None] + np.sum(columns ** 2, axis=1)[None, :]
                   - 2.0 * np.einsum("ik,jk->ij", query, columns))
        return -np.sqrt(np.maximum(squared, 0.0))
    raise ValueError(f"distance={distance!r}; expected one of {', '.join(DISTANCES)}")


def reverse_complement(matrix: np.ndarray) -> np.ndarray:
    """Reverse complement of a (w, 4) matrix in A,C,G,T (or A,G,C,T) order."""
    return np.asarray(matrix)[::-1, ::-1]


def _median_shift(scores: np.ndarray) -> np.ndarray:
    """Subtract from each row MEME's median (mean of the order statistics floor/ceil(n/2) - 1)."""
    n = scores.shape[1]
    i1 = max(int(np.floor(SHIFT_QUANTILE * n)) - 1, 0)
    i2 = max(int(np.ceil(SHIFT_QUANTILE * n)) - 1, i1)
    part = np.partition(scores, (i1, i2), axis=1)
    return scores - (part[:, i1] + part[:, i2])[:, None] / 2.0


def _range_log_cdf(scaled: np.ndarray, small_scaled: float) -> tuple[dict, int]:
    """log P(score < k) of the summed null score of every contiguous range of query columns.

    Returns ``({(start, end): log_cdf}, length)`` where ``log_cdf[k]`` = log(1 - P(score >= k)) on
    a common axis on which every range's score counts the unaligned query columns at the offset
    (MEME's "extended" pmf), and the axis length. The tail P(score >= k) is summed directly, so
    tiny p-values keep their precision.
    """
    w, n_columns = scaled.shape
    column_pmfs = [np.bincount(row, minlength=BINS + 1) / n_columns for row in scaled]
    length = int(np.ceil(BINS * w + 1 - (w - 1) * small_scaled))
    log_cdf = {}
    for start in range(w):
        pmf = np.ones(1)
        for end in range(start, w):
            pmf = np.convolve(pmf, column_pmfs[end])
            overlap = end - start + 1
            shift = -int(np.rint(small_scaled * (w - overlap)))  # >= 0: small_scaled <= 0
            extended = np.zeros(length)
            extended[shift:shift + pmf.size] = pmf[: length - shift]
            survival = np.minimum(np.cumsum(extended[::-1])[::-1], 1.0)
            with np.errstate(divide="ignore"):
                log_cdf[start, end] = np.log1p(-survival)
    return log_cdf, length


def _max_alignment_pvalues(log_cdf: dict, w: int, target_width: int, index: np.ndarray) -> np.ndarray:
    """P(best of the 2 (w + L - 1) alignments of a random width-L target >= k) at each k of ``index``.

    P(max >= k) = 1 - prod over alignments and the two orientations of P(score < k).
    """
    total = np.zeros(len(index))
    for i in range(w + target_width - 1):
        if i < w:
            start = w - i - 1
            end = min(w, start + target_width) - 1
        else:
            start = 0
            end = min(w, target_width + w - i - 1) - 1
        total += 2.0 * log_cdf[start, end][index]
    return -np.expm1(total)


def _diagonal_sums(blocks: np.ndarray, w: int) -> np.ndarray:
    """(n, w + L - 1) sums of ``blocks`` (n, w, L) along offsets d = -(w-1)..L-1 (query k, target k + d)."""
    n, _, target_width = blocks.shape
    padded = np.pad(blocks, ((0, 0), (0, 0), (w - 1, w - 1)))
    columns = np.arange(w)[:, None] + np.arange(w + target_width - 1)[None, :]
    return padded[:, np.arange(w)[:, None], columns].sum(axis=1)


def tomtom(queries: list[np.ndarray], targets: list[np.ndarray], distance: str = "pearson",
           min_overlap: int = 1) -> TomtomResult:
    """Compare each (w, 4) query with each (w, 4) target (probabilities, same letter order).

    Complete-score TOMTOM p-values with the chosen column score (module docstring). Returns a
    :class:`TomtomResult` with (n_queries, n_targets) arrays, best orientation per target.
    """
    if distance not in DISTANCES:
        raise ValueError(f"distance={distance!r}; expected one of {', '.join(DISTANCES)}")
    if min_overlap < 1:
        raise ValueError(f"min_overlap must be >= 1, got {min_overlap}")
    targets = [np.asarray(t, dtype=np.float64) for t in targets]
    oriented = [m for t in targets for m in (t, reverse_complement(t))]  # MEME's order: t, rc(t)
    widths = np.array([m.shape[0] for m in oriented])
    starts = np.concatenate([[0], np.cumsum(widths)[:-1]])
    columns = np.concatenate(oriented)
    shape = (len(queries), len(targets))
    p_out, off_out, ovl_out, strand_out = (np.ones(shape), np.zeros(shape, int), np.zeros(shape, int),
                                           np.zeros(shape, int))
    for qi, query in enumerate(queries):
        query = np.asarray(query, dtype=np.float64)
        w = query.shape[0]
        shifted = _median_shift(column_scores(query, columns, distance))
        small, large = float(shifted.min()), float(shifted.max())
        scale = BINS / (large - small) if large > small else 1.0
        scaled = np.rint((shifted - small) * scale).astype(np.int64)
        log_cdf, axis_length = _range_log_cdf(scaled, small * scale)
        p = np.ones(len(oriented))
        offsets = np.zeros(len(oriented), int)
        overlaps = np.zeros(len(oriented), int)
        for width in np.unique(widths):
            members = np.flatnonzero(widths == width)
            blocks = np.stack([scaled[:, s:s + width] for s in starts[members]])
            sums = _diagonal_sums(blocks, w)  # (n, w + width - 1)
            d = np.arange(-(w - 1), width)
            n_aligned = np.minimum(w, width - d) - np.maximum(0, -d)
            mo = min(min_overlap, w, width)
            # Complete score (shifted, scaled, offset removed) of every alignment; ties: larger overlap.
            value = np.rint(sums + n_aligned * small * scale)
            key = np.where(n_aligned >= mo, value * (w + 1) + n_aligned, -np.inf)
            best = np.argmax(key, axis=1)
            best_value = value[np.arange(len(members)), best]
            index = np.clip(np.rint(best_value - w * small * scale).astype(np.int64), 0, axis_length - 1)
            p[members] = _max_alignment_pvalues(log_cdf, w, int(width), index)
            offsets[members], overlaps[members] = d[best], n_aligned[best]
        p = p.reshape(-1, 2)
        strand = np.argmin(p, axis=1)  # ties: the target as given
        rows = np.arange(len(targets))
        p_out[qi] = p[rows, strand]
        off_out[qi] = offsets.reshape(-1, 2)[rows, strand]
        ovl_out[qi] = overlaps.reshape(-1, 2)[rows, strand]
        strand_out[qi] = strand
    return TomtomResult(np.clip(p_out, 0.0, 1.0), off_out, ovl_out, strand_out)
