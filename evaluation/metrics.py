"""Per-target classification metrics of the paper: PRROC's AUPRC, average precision and AUROC.

All three are computed from one sort per target column and shared cumulative counts, vectorised
over targets and processed in column blocks to bound memory.

* :func:`auprc` is what R's PRROC returns as
  ``pr.curve(scores.class0=score, weights.class0=label)$auc.davis.goadrich``, the metric of the
  paper's Table 1: the precision-recall curve through one point per distinct score (ties form one
  point), integrated with Davis & Goadrich's interpolation inside steps that add more than one
  positive and change the precision, trapezoids elsewhere, and a rectangle for the first point.
* :func:`average_precision` is scikit-learn's ``average_precision_score`` (step function).
* :func:`auroc` is scikit-learn's ``roc_auc_score`` (trapezoids, ties as diagonal steps).

Inputs are ``(N,)`` or ``(N, T)``: labels in {0, 1} and finite-or-infinite scores (NaN rejected).
A target without positives gets NaN for all three metrics; one without negatives gets AUPRC = AP = 1
and AUROC = NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["auprc", "average_precision", "auroc", "all_metrics", "per_target_metrics"]

#: Elements (rows x targets) processed at once; bounds peak memory to a few hundred MB.
BLOCK_ELEMENTS = 4_000_000

_FLOAT32_EXACT = (np.float32, np.float16, np.bool_, np.int8, np.uint8, np.int16, np.uint16)


def _check(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate and return (labels uint8 (N, T), scores (N, T), was_1d)."""
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true shape {y_true.shape} differs from y_score shape {y_score.shape}")
    if y_true.ndim not in (1, 2):
        raise ValueError(f"expected (N,) or (N, T) arrays, got shape {y_true.shape}")
    if y_true.shape[0] == 0:
        raise ValueError("no rows to score (N = 0)")
    was_1d = y_true.ndim == 1
    if was_1d:
        y_true, y_score = y_true[:, None], y_score[:, None]
    if y_true.dtype != np.bool_:
        if not (np.issubdtype(y_true.dtype, np.number)):
            raise ValueError(f"labels must be numeric 0/1, got dtype {y_true.dtype}")
        if not np.all((y_true == 0) | (y_true == 1)):
            raise ValueError("labels must be 0 or 1 (PRROC's Davis-Goadrich AUPRC needs 0/1 weights)")
    if not np.issubdtype(y_score.dtype, np.number) and y_score.dtype != np.bool_:
        raise ValueError(f"scores must be numeric, got dtype {y_score.dtype}")
    if np.issubdtype(y_score.dtype, np.floating) and np.isnan(y_score).any():
        raise ValueError("scores contain NaN")
    return y_true.astype(np.uint8, copy=False), y_score, was_1d


def _sorted_block(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort a (N, Tb) block by descending score, per column.

    Returns ``lab`` (Tb, N) uint8, the labels in descending score order, and ``is_end`` (Tb, N) bool,
    True at the last element of each run of equal scores (so order inside a tie run never matters).
    """
    if scores.dtype.type in _FLOAT32_EXACT:
        # Fast path: pack an order-reversing integer image of the float32 score and the label into
        # one int64 key and sort values (SIMD sort): no argsort and no gathers.
        s = np.ascontiguousarray(scores.T, dtype=np.float32) + np.float32(0.0)  # -0.0 -> +0.0
        bits = s.view(np.int32)
        bits ^= (bits >> 31) & np.int32(0x7FFFFFFF)  # int32 image ordered like the floats
        keys = np.negative(bits, dtype=np.int64)  # descending scores sort first
        keys <<= 1
        keys |= labels.T
        keys.sort(axis=1)
        lab = (keys & 1).astype(np.uint8)
        keys |= 1  # drop the label: equal keys <=> equal scores
        is_end = np.empty(keys.shape, dtype=bool)
        np.not_equal(keys[:, :-1], keys[:, 1:], out=is_end[:, :-1])
    else:
        s = np.ascontiguousarray(scores.T, dtype=np.float64)
        order = np.argsort(-s, axis=1)
        lab = np.take_along_axis(np.ascontiguousarray(labels.T), order, axis=1)
        s = np.take_along_axis(s, order, axis=1)
        is_end = np.empty(s.shape, dtype=bool)
        np.not_equal(s[:, :-1], s[:, 1:], out=is_end[:, :-1])
    is_end[:, -1] = True
    return lab, is_end


def _block_metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """(positives, auprc, ap, auroc) for each column of a (N, Tb) block."""
    n, tb = labels.shape
    lab, is_end = _sorted_block(labels, scores)
    # Cumulative positives over the flattened block: the difference between consecutive tie-run
    # ends is the run's positive count, also across target boundaries (a row ends with a run end).
    cum = np.cumsum(lab.ravel(), dtype=np.int64)
    ends = np.flatnonzero(is_end.ravel())
    cum_at_end = cum[ends]
    d_all = np.diff(cum_at_end, prepend=0)
    # Only PR/ROC points that add positives contribute to any of the three metrics.
    keep = np.flatnonzero(d_all)
    end = ends[keep]
    prev_end = np.where(keep > 0, ends[keep - 1], -1)
    row = end // n
    before_row = np.zeros(tb, dtype=np.int64)
    before_row[1:] = cum[np.arange(1, tb) * n - 1]
    positives = (cum[np.arange(1, tb + 1) * n - 1] - before_row).astype(np.float64)
    negatives = n - positives

    d_tp = d_all[keep].astype(np.float64)
    tp = (cum_at_end[keep] - before_row[row]).astype(np.float64)
    tp_prev = tp - d_tp
    fp = (end - row * n + 1) - tp
    run_start = prev_end + 1 - row * n  # column where this point's tie run starts
    fp_prev = run_start - tp_prev
    d_fp = fp - fp_prev
    first = run_start == 0  # the target's first PR point

    ap = np.zeros(tb)
    auc = np.zeros(tb)
    pr = np.zeros(tb)
    precision = tp / (tp + fp)  # tp >= 1 here
    with np.errstate(invalid="ignore", divide="ignore"):
        precision_prev = tp_prev / (tp_prev + fp_prev)  # NaN at a first point
        # sklearn average precision: sum over points of (recall step) x precision.
        ap += np.bincount(row, weights=d_tp * precision, minlength=tb)
        # sklearn AUROC (trapezoids, ties diagonal) = per positive, the negatives ranked below
        # plus half the negatives tied with it.
        auc += np.bincount(row, weights=d_tp * (negatives[row] - fp + d_fp / 2.0), minlength=tb)
        # PRROC Davis-Goadrich: trapezoid from the previous point, rectangle at the first point,
        # interpolation in unit TP steps where a point adds > 1 positive and changes precision.
        interp = (d_tp > 1) & (precision != precision_prev) & ~first
        term = d_tp * (precision_prev + precision) / 2.0
        term[first] = d_tp[first] * precision[first]
        if interp.any():
            term[interp] = _interpolated_steps(tp_prev[interp], fp_prev[interp],
                                               d_tp[interp], d_fp[interp])
        pr += np.bincount(row, weights=term, minlength=tb)
        ap /= positives
        pr /= positives
        auc /= positives * negatives

    nan = positives == 0
    ap[nan] = np.nan
    pr[nan] = np.nan
    auc[nan | (negatives == 0)] = np.nan
    return positives.astype(np.int64), pr, ap, auc


def _interpolated_steps(tp_prev: np.ndarray, fp_prev: np.ndarray, d_tp: np.ndarray,
                        d_fp: np.ndarray) -> np.ndarray:
    """Davis-Goadrich area of each step: sum over x = 0..d-1 of the trapezoid between precisions
    (tp_prev + x) / (tp_prev + x + fp_prev + h x) at x and x + 1, h = d_fp / d_tp, summed per step.

    The result is in units of positives (divided by the target's positive count by the caller).
    """
    reps = d_tp.astype(np.int64)
    offsets = np.zeros(len(reps), dtype=np.int64)
    np.cumsum(reps[:-1], out=offsets[1:])
    x = np.arange(reps.sum(), dtype=np.float64) - np.repeat(offsets, reps)
    a = np.repeat(tp_prev, reps)
    b = np.repeat(fp_prev, reps)
    h = np.repeat(d_fp / d_tp, reps)
    lo = (a + x) / (a + x + b + h * x)
    hi = (a + x + 1) / (a + x + 1 + b + h * (x + 1))
    return np.add.reduceat((lo + hi) / 2.0, offsets)


def all_metrics(y_true: Any, y_score: Any, *,
                block_elements: int = BLOCK_ELEMENTS) -> dict[str, np.ndarray]:
    """Positives, AUPRC (PRROC Davis-Goadrich), AP and AUROC per target, from one sort per target.

    Parameters
    ----------
    y_true, y_score : array-like, (N,) or (N, T)
        0/1 labels and scores (higher = more likely positive).
    block_elements : int
        Rows x targets handled at once (memory bound).

    Returns
    -------
    dict with ``positives`` (T,) int64 and ``auprc``, ``ap``, ``auroc`` (T,) float64
    (scalars' arrays of shape (1,) for 1-D input).
    """
    labels, scores, _ = _check(y_true, y_score)
    n, t = labels.shape
    step = max(1, block_elements // n)
    out = {"positives": np.empty(t, np.int64), "auprc": np.empty(t), "ap": np.empty(t),
           "auroc": np.empty(t)}
    for start in range(0, t, step):
        cols = slice(start, min(t, start + step))
        pos, pr, ap, auc = _block_metrics(labels[:, cols], scores[:, cols])
        out["positives"][cols], out["auprc"][cols], out["ap"][cols], out["auroc"][cols] = pos, pr, ap, auc
    return out


def _one(name: str, y_true: Any, y_score: Any) -> float | np.ndarray:
    was_1d = np.ndim(y_true) == 1
    values = all_metrics(y_true, y_score)[name]
    return float(values[0]) if was_1d else values


def auprc(y_true: Any, y_score: Any) -> float | np.ndarray:
    """PRROC ``pr.curve(scores.class0=y_score, weights.class0=y_true)$auc.davis.goadrich``.

    A float for (N,) input, an array (T,) for (N, T) input; NaN where a target has no positives.
    """
    return _one("auprc", y_true, y_score)


def average_precision(y_true: Any, y_score: Any) -> float | np.ndarray:
    """scikit-learn's ``average_precision_score`` per target; NaN where a target has no positives."""
    return _one("ap", y_true, y_score)


def auroc(y_true: Any, y_score: Any) -> float | np.ndarray:
    """scikit-learn's ``roc_auc_score`` per target; NaN where a target lacks positives or negatives."""
    return _one("auroc", y_true, y_score)


def per_target_metrics(y_true: Any, y_score: Any) -> dict[str, Any]:
    """All metrics for (N, T) arrays, skipping targets without positives (as the paper does).

    Returns
    -------
    dict with ``positives`` (T,) int64; ``auprc``, ``ap``, ``auroc`` (T,) float64 with NaN for
    skipped targets; ``skipped`` (indices of targets without positives, int64) and ``num_skipped``.
    """
    if np.ndim(y_true) != 2:
        raise ValueError(f"per_target_metrics expects (N, T) arrays, got shape {np.shape(y_true)}")
    result: dict[str, Any] = all_metrics(y_true, y_score)
    skipped = np.flatnonzero(result["positives"] == 0)
    result["skipped"] = skipped
    result["num_skipped"] = int(len(skipped))
    return result
