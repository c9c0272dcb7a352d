"""metrics.py against a slow line-by-line port of PRROC's R code and against scikit-learn."""
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from evaluation import metrics


def prroc_dg_reference(labels, scores):
    """Loop-based transcription of PRROC 1.4 ``pr.curve(scores.class0=s, weights.class0=w)``
    (R/PRROC.R, the weighted path) returning ``auc.davis.goadrich``; independent of metrics.py."""
    labels = [float(v) for v in labels]
    scores = [float(v) for v in scores]
    n = len(scores)
    # pr.curve: both classes get the same scores, weights.class1 = 1 - weights.class0; sorted ascending
    o0 = sorted(range(n), key=lambda i: scores[i])
    s0 = [scores[i] for i in o0]
    w0 = [labels[i] for i in o0]
    w1 = [1.0 - w for w in w0]
    # compute.pr: all.scores = c(s0, s1), pos weights = c(w0, 0), neg weights = c(0, w1)
    all_scores = s0 + s0
    w_pos = w0 + [0.0] * n
    w_neg = [0.0] * n + w1
    o = sorted(range(2 * n), key=lambda i: -all_scores[i])
    all_scores = [all_scores[i] for i in o]
    w_pos = [w_pos[i] for i in o]
    w_neg = [w_neg[i] for i in o]
    cum_pos, cum_neg, cp, cn = [], [], 0.0, 0.0
    for wp, wn in zip(w_pos, w_neg):
        cp += wp
        cn += wn
        cum_pos.append(cp)
        cum_neg.append(cn)
    keep = [all_scores[i] != all_scores[i + 1] for i in range(2 * n - 1)] + [True]
    tp = [c for c, k in zip(cum_pos, keep) if k]
    fp = [c for c, k in zip(cum_neg, keep) if k]
    r_fg = sum(w_pos)
    tp_prev = [0.0] + tp[:-1]
    fp_prev = [0.0] + fp[:-1]

    def div(a, b):  # R semantics for the few 0/0 and x/0 cases
        if b == 0:
            return math.nan if a == 0 else math.copysign(math.inf, a)
        return a / b

    rows, interp = [], []
    for i in range(len(tp)):
        prec = div(tp[i], tp[i] + fp[i])
        prec_prev = div(tp_prev[i], tp_prev[i] + fp_prev[i])
        # which(tp - tp.prev > 1 & prec != prec.prev): NA comparisons (NaN) are dropped by which()
        if tp[i] - tp_prev[i] > 1 and not math.isnan(prec_prev) and prec != prec_prev:
            interp.append(i)
        else:
            rows.append(i)
    auc = []
    for j, i in enumerate(rows):
        v = div(tp[i] - tp_prev[i], r_fg) * (div(tp_prev[i], tp_prev[i] + fp_prev[i])
                                              + div(tp[i], tp[i] + fp[i])) / 2
        auc.append(v)
    if math.isnan(auc[0]):
        i = rows[0]
        auc[0] = div(tp[i] - tp_prev[i], r_fg) * div(tp[i], tp[i] + fp[i])
    for i in interp:
        diff = tp[i] - tp_prev[i]
        h2 = (fp[i] - fp_prev[i]) / diff
        prcs = [(tp_prev[i] + x) / (tp_prev[i] + x + fp_prev[i] + h2 * x) for x in range(int(diff) + 1)]
        auc.append(sum(1 / r_fg * (prcs[k + 1] + prcs[k]) / 2 for k in range(len(prcs) - 1)))
    return sum(auc)  # NaN propagates, as R's sum does


def _cases():
    rng = np.random.default_rng(7)
    cases = {
        "ties": ([1, 0, 1, 1, 0, 0, 1, 0, 1, 0], [.9, .9, .9, .5, .5, .1, .1, .1, .1, .3]),
        "single_positive": ([0, 0, 0, 1, 0, 0], [.1, .4, .35, .8, .2, .9]),
        "single_positive_tied": ([0, 0, 1, 0, 0], [.5, .5, .5, .1, .7]),
        "all_tied": ([1, 0, 0, 1, 1, 0, 0], [.3] * 7),
        "top_tie_of_positives": ([1, 1, 1, 0, 0, 1], [1, 1, 1, 1, .2, .1]),
        "first_point_negatives": ([0, 0, 1, 1, 0, 1], [.9, .9, .5, .5, .5, .2]),
        "perfect": ([1, 1, 0, 0], [.9, .8, .2, .1]),
        "worst": ([0, 0, 1, 1], [.9, .8, .2, .1]),
        "all_positive": ([1, 1, 1, 1], [.1, .5, .5, .2]),
        "negative_scores": ([1, 0, 1, 0, 1], [-0.0, 0.0, -2.5, -2.5, 1e30]),
        "infinite_scores": ([1, 0, 1, 0, 0], [np.inf, 0.5, -np.inf, -np.inf, 0.5]),
    }
    for k in range(4):
        n = int(rng.integers(20, 200))
        y = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
        y[rng.integers(n)] = 1
        s = np.round(rng.random(n), int(rng.integers(1, 4)))  # coarse rounding -> many ties
        cases[f"random_ties_{k}"] = (y, s)
    n = 300
    y = (rng.random(n) < 0.1).astype(int)
    cases["random_continuous"] = (y, rng.random(n) + 0.3 * y)
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_auprc_matches_prroc_reference(name, dtype):
    y, s = CASES[name]
    s = np.asarray(s, dtype=dtype)  # float32 uses the packed-key sort, float64 the argsort path
    expected = prroc_dg_reference(y, s)
    assert metrics.auprc(y, s) == pytest.approx(expected, abs=1e-9, rel=0)


def test_known_prroc_values():
    # Hand-derived: perfect ranking -> 1; all tied with 3 of 7 positive -> 3/7 (first point rectangle).
    assert metrics.auprc([1, 1, 0, 0], [.9, .8, .2, .1]) == pytest.approx(1.0, abs=1e-12)
    assert metrics.auprc([1, 0, 0, 1, 1, 0, 0], [.3] * 7) == pytest.approx(3 / 7, abs=1e-12)
    # Worst ranking 0,0,1,1: points (tp,fp) = (0,1),(0,2),(1,2),(2,2): 1/2*(0+1/3)/2 + 1/2*(1/3+1/2)/2
    assert metrics.auprc([0, 0, 1, 1], [.9, .8, .2, .1]) == pytest.approx(
        0.5 * (1 / 3) / 2 + 0.5 * (1 / 3 + 1 / 2) / 2, abs=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in CASES if np.isfinite(CASES[n][1]).all()))
def test_ap_and_auroc_match_sklearn(name):  # sklearn rejects infinite scores
    y, s = CASES[name]
    y = np.asarray(y)
    s = np.asarray(s, dtype=np.float64)
    assert metrics.average_precision(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-9)
    if 0 < y.sum() < len(y):
        assert metrics.auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-9)
        assert metrics.auroc(y, s.astype(np.float32)) == pytest.approx(
            roc_auc_score(y, s.astype(np.float32)), abs=1e-9)
    else:
        assert math.isnan(metrics.auroc(y, s))


def test_degenerate_targets():
    y = np.zeros(5, int)
    s = np.linspace(0, 1, 5)
    assert math.isnan(metrics.auprc(y, s))  # PRROC: 0/0 -> NaN when there are no positives
    assert math.isnan(prroc_dg_reference(y, s))
    assert math.isnan(metrics.average_precision(y, s))
    assert math.isnan(metrics.auroc(y, s))
    y1 = np.ones(5, int)
    assert metrics.auprc(y1, s) == 1.0 == prroc_dg_reference(y1, s)
    assert metrics.average_precision(y1, s) == pytest.approx(average_precision_score(y1, s))
    assert math.isnan(metrics.auroc(y1, s))
    # one sample
    assert metrics.auprc([1], [0.2]) == 1.0


def test_matrix_blocks_equal_columnwise():
    rng = np.random.default_rng(3)
    n, t = 257, 13
    y = (rng.random((n, t)) < rng.uniform(0.02, 0.5, t)).astype(np.uint8)
    y[:, 4] = 0  # a target without positives
    s = rng.random((n, t)).astype(np.float32)
    s[:, 2] = np.round(s[:, 2], 1)
    # tiny blocks force several column blocks
    out = metrics.all_metrics(y, s, block_elements=3 * n)
    for j in range(t):
        if j == 4:
            assert np.isnan([out["auprc"][j], out["ap"][j], out["auroc"][j]]).all()
            continue
        assert out["positives"][j] == y[:, j].sum()
        assert out["auprc"][j] == pytest.approx(prroc_dg_reference(y[:, j], s[:, j]), abs=1e-9)
        assert out["ap"][j] == pytest.approx(average_precision_score(y[:, j], s[:, j]), abs=1e-9)
        assert out["auroc"][j] == pytest.approx(roc_auc_score(y[:, j], s[:, j]), abs=1e-9)
    np.testing.assert_allclose(metrics.auprc(y, s), out["auprc"], atol=1e-12)
    # float64 (argsort path) and float32 (packed-key path) agree on the same values
    np.testing.assert_allclose(metrics.auprc(y, s.astype(np.float64)), out["auprc"], atol=1e-12)


def test_per_target_metrics_reports_skipped():
    rng = np.random.default_rng(4)
    y = (rng.random((50, 5)) < 0.3).astype(bool)
    y[:, [1, 3]] = False
    s = rng.random((50, 5))
    res = metrics.per_target_metrics(y, s)
    assert res["num_skipped"] == 2
    assert res["skipped"].tolist() == [1, 3]
    assert np.isnan(res["auprc"][[1, 3]]).all()
    assert not np.isnan(res["auprc"][[0, 2, 4]]).any()
    np.testing.assert_array_equal(res["positives"], y.sum(0))


@pytest.mark.parametrize("y, s, msg", [
    ([0, 1, 2], [.1, .2, .3], "0 or 1"),
    ([0, 1], [.1, np.nan], "NaN"),
    ([0, 1], [.1, .2, .3], "shape"),
    ([], [], "N = 0"),
    (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), "shape"),
])
def test_bad_input(y, s, msg):
    with pytest.raises(ValueError, match=msg):
        metrics.auprc(y, s)
