"""Synthetic DeepSEA bundle (data/synthetic.py): published layouts, strand halves, motif-driven labels."""
import json

import h5py
import numpy as np
import pytest
import scipy.io

from data import synthetic
from data.jaspar import load_motifs
from data.mat import read_all


def test_train_mat_is_matlab_73_layout(synthetic_mat_dir):
    path = synthetic_mat_dir / "train.mat"
    assert path.read_bytes()[:19] == b"MATLAB 7.3 MAT-file"
    assert path.read_bytes()[126:128] == b"IM"
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 512
        x, y = f["trainxdata"], f["traindata"]
        assert x.shape == (1000, 4, 2000) and y.shape == (919, 2000)
        assert x.compression == "gzip" and x.chunks is not None and x.dtype == np.uint8
        assert (x[:, :, :50].sum(axis=1) == 1).all()  # one base per position, no N


@pytest.mark.parametrize("split,n", [("valid", 200), ("test", 200)])
def test_v5_layout_and_reverse_complement_halves(synthetic_mat_dir, split, n):
    data = scipy.io.loadmat(synthetic_mat_dir / f"{split}.mat")
    x, y = data[f"{split}xdata"], data[f"{split}data"]
    assert x.shape == (n, 4, 1000) and y.shape == (n, 919)
    half = n // 2
    # Reverse complement in A,G,C,T order: reverse positions and the channel axis.
    np.testing.assert_array_equal(x[half:], x[:half, ::-1, ::-1])
    np.testing.assert_array_equal(y[half:], y[:half])


def test_train_holds_both_strands_in_halves(synthetic_mat_dir):
    x, y = read_all(synthetic_mat_dir / "train.mat", "train")  # (N, L, 4)
    np.testing.assert_array_equal(x[1000:], x[:1000, ::-1, ::-1])
    np.testing.assert_array_equal(y[1000:], y[:1000])


def test_background_composition_and_positive_rates(synthetic_mat_dir):
    x, y = read_all(synthetic_mat_dir / "valid.mat", "valid")
    codes = x.argmax(-1)[:, np.r_[0:350, 650:1000]]  # outside the planted centre
    gc = np.isin(codes, [1, 2]).mean()  # G and C are channels 1 and 2 in A,G,C,T
    assert 0.38 < gc < 0.44
    cpg = ((codes[:, :-1] == 2) & (codes[:, 1:] == 1)).mean() / ((codes == 2).mean() * (codes == 1).mean())
    gpc = ((codes[:, :-1] == 1) & (codes[:, 1:] == 2)).mean() / ((codes == 2).mean() * (codes == 1).mean())
    assert cpg < 0.45 and gpc > 0.8  # CpG depleted, GpC not
    assert 0.01 < y.mean() < 0.12


def test_truth_names_real_jaspar_motifs(synthetic_mat_dir):
    truth = json.loads((synthetic_mat_dir / "truth.json").read_text())
    ids = {m.matrix_id for m in load_motifs("JASPAR2018")}
    pool = [m["matrix_id"] for m in truth["motifs"]]
    assert 40 <= len(pool) == len(set(pool)) and set(pool) <= ids
    assert len(truth["targets"]) == 919 and all(1 <= len(t["motifs"]) <= 2 for t in truth["targets"])
    by_name = {t["name"]: t["motifs"] for t in truth["targets"]}
    assert by_name["GM12878|CTCF|None"] == by_name["K562|CTCF|None"] == ["MA0139.1"]  # shared TF motif
    assert truth["sizes"] == {"train": 2000, "valid": 200, "test": 200} and truth["seed"] == 0


def test_labels_are_driven_by_the_planted_motif(synthetic_mat_dir):
    """Positives of a CTCF target score higher on a CTCF PWM scan of the centre than negatives."""
    truth = json.loads((synthetic_mat_dir / "truth.json").read_text())
    target = next(t for t in truth["targets"] if t["name"] == "K562|CTCF|None")
    motif = next(m for m in load_motifs("JASPAR2018") if m.matrix_id == target["motifs"][0])
    pwm = motif.probabilities[:, [0, 2, 1, 3]]  # A,C,G,T -> A,G,C,T
    log_odds = np.log2((pwm + 0.01) / 1.04 / 0.25)
    x, y = read_all(synthetic_mat_dir / "train.mat", "train")
    centre = x[:1000, 380:620].astype(np.float32)
    width = len(log_odds)
    windows = np.lib.stride_tricks.sliding_window_view(centre, (width, 4), axis=(1, 2))[:, :, 0]
    score = np.maximum(np.einsum("nwlc,lc->nw", windows, log_odds),
                       np.einsum("nwlc,lc->nw", windows, log_odds[::-1, ::-1])).max(axis=1)
    labels = y[:1000, target["index"]].astype(bool)
    assert labels.sum() >= 10
    assert np.median(score[labels]) > np.median(score[~labels]) + 5
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(labels, score) > 0.85


def test_deterministic_given_seed(tmp_path):
    a = synthetic.generate(tmp_path / "a", n_train=8, n_valid=4, n_test=4, seed=5)
    b = synthetic.generate(tmp_path / "b", n_train=8, n_valid=4, n_test=4, seed=5)
    c = synthetic.generate(tmp_path / "c", n_train=8, n_valid=4, n_test=4, seed=6)
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    for name, split in (("train.mat", "train"), ("valid.mat", "valid"), ("test.mat", "test")):
        xa, ya = read_all(tmp_path / "a" / name, split)
        xb, yb = read_all(tmp_path / "b" / name, split)
        xc, _ = read_all(tmp_path / "c" / name, split)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
        assert not np.array_equal(xa, xc)


def test_cli_rejects_odd_sizes_and_existing_bundle(tmp_path, capsys):
    assert synthetic.main([str(tmp_path / "odd"), "--n-train", "7"]) == 2
    assert "n_train must be an even number" in capsys.readouterr().err
    assert not (tmp_path / "odd" / "train.mat").exists()
    assert synthetic.main([str(tmp_path / "ok"), "--n-train", "4", "--n-valid", "2", "--n-test", "2"]) == 0
    assert synthetic.main([str(tmp_path / "ok"), "--n-train", "4", "--n-valid", "2", "--n-test", "2"]) == 2
    assert "already holds" in capsys.readouterr().err


def test_regenerating_removes_the_stale_converted_store(tmp_path):
    from data.store import resolve_store

    synthetic.generate(tmp_path, n_train=4, n_valid=2, n_test=2, seed=1)
    resolve_store(tmp_path, progress=False)
    assert (tmp_path / "store" / "meta.json").exists()
    synthetic.generate(tmp_path, n_train=6, n_valid=2, n_test=2, seed=2)
    assert not (tmp_path / "store").exists()
    assert resolve_store(tmp_path, progress=False).split("train").num_samples == 6


# -- the oracle (truth.npz): P(y=1 | planted motifs) ---------------------------------------------
def _pwm_scan(codes_onehot: np.ndarray, pwm_agct: np.ndarray) -> np.ndarray:
    """Best log-odds score of a PWM (either strand) in each sequence's planted centre (n,)."""
    log_odds = np.log2((pwm_agct + 0.01) / 1.04 / 0.25)
    centre = codes_onehot[:, 380:620].astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(centre, (len(log_odds), 4), axis=(1, 2))[:, :, 0]
    return np.maximum(np.einsum("nwlc,lc->nw", windows, log_odds),
                      np.einsum("nwlc,lc->nw", windows, log_odds[::-1, ::-1])).max(axis=1)


def test_truth_npz_round_trip(synthetic_mat_dir):
    """truth.npz agrees with truth.json's targets and with the labels and sequences it produced."""
    truth = json.loads((synthetic_mat_dir / "truth.json").read_text())
    with np.load(synthetic_mat_dir / truth["oracle"]["file"]) as arrays:
        drivers, presence = arrays["drivers"], arrays["presence_train"]
    pool = [m["matrix_id"] for m in truth["motifs"]]
    for t in truth["targets"]:
        assert sorted(pool[k] for k in np.flatnonzero(drivers[:, t["index"]])) == sorted(t["motifs"])
    assert presence.shape == (1000, len(pool)) and presence.dtype == bool

    probabilities = synthetic.oracle_probabilities(synthetic_mat_dir, "train")
    settings = truth["settings"]
    assert probabilities.shape == (1000, 919) and probabilities.dtype == np.float32
    high = np.float32(1 - settings["false_negative_rate"])
    assert set(np.unique(probabilities)) == {high, np.float32(settings["false_positive_rate"])}
    # The labels were drawn from these probabilities: positive rates match them (binomial bounds).
    _, y = read_all(synthetic_mat_dir / "train.mat", "train")
    driven = probabilities == high
    for mask, p in ((driven, 1 - settings["false_negative_rate"]), (~driven, settings["false_positive_rate"])):
        n = mask.sum()
        assert abs(y[:1000][mask].mean() - p) < 5 * np.sqrt(p * (1 - p) / n) + 1e-9
    # Presence is about the sequences: a CTCF scan separates rows where CTCF was planted.
    x, _ = read_all(synthetic_mat_dir / "train.mat", "train")
    ctcf = pool.index("MA0139.1")
    motif = next(m for m in load_motifs("JASPAR2018") if m.matrix_id == "MA0139.1")
    score = _pwm_scan(x[:1000], motif.probabilities[:, [0, 2, 1, 3]])
    from sklearn.metrics import roc_auc_score
    assert roc_auc_score(presence[:, ctcf], score) > 0.95


@pytest.mark.parametrize("pairs", [100, 10])
def test_oracle_summary_matches_sklearn_and_skips_targets_without_positives(synthetic_mat_dir, tmp_path, pairs):
    from sklearn.metrics import average_precision_score, roc_auc_score

    data = synthetic_mat_dir
    if pairs != 100:  # a tiny test split, where some targets have no positives and are skipped
        synthetic.generate(tmp_path, n_train=4, n_valid=2, n_test=2 * pairs, seed=3)
        data = tmp_path
    summary = synthetic.oracle_summary(data, "test")
    probabilities = synthetic.oracle_probabilities(data, "test")
    _, y = read_all(data / "test.mat", "test")
    y = y[:pairs]
    scored = [t for t in range(919) if y[:, t].any()]
    assert 0 < len(scored) <= 919 and (len(scored) < 919) == (pairs == 10)
    assert summary["targets_scored"] == len(scored) and summary["num_pairs"] == pairs
    # Two-valued scores have closed forms (ties = one threshold), checked against sklearn on a few.
    high = probabilities[:, scored] == probabilities.max()
    yy = y[:, scored].astype(bool)
    pos, neg = yy.sum(0), (~yy).sum(0)
    tp_high, fp_high = (yy & high).sum(0), (~yy & high).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.where(tp_high > 0, tp_high / (tp_high + fp_high), 0) * tp_high / pos + pos / len(y) * (pos - tp_high) / pos
        auroc = (tp_high * (neg - fp_high) + 0.5 * (tp_high * fp_high + (pos - tp_high) * (neg - fp_high))) / (pos * neg)
    for i, t in enumerate(scored[:20]):
        assert ap[i] == pytest.approx(average_precision_score(y[:, t], probabilities[:, t]), abs=1e-12)
        if neg[i]:
            assert auroc[i] == pytest.approx(roc_auc_score(y[:, t], probabilities[:, t]), abs=1e-12)
    assert summary["mean_ap"] == pytest.approx(np.mean(ap), abs=1e-9)
    assert summary["mean_auroc"] == pytest.approx(np.nanmean(auroc), abs=1e-9)
    assert synthetic.oracle_summary(data, "test", labels=y) == summary


def test_oracle_beats_models_that_know_less(synthetic_mat_dir):
    """The oracle's AUPRC is above a PWM-scan model, a model seeing noisy presence, and chance."""
    from evaluation import metrics

    truth = json.loads((synthetic_mat_dir / "truth.json").read_text())
    x, y = read_all(synthetic_mat_dir / "train.mat", "train")  # 1000 pairs: enough positives per target
    x, y = x[:1000], y[:1000]
    with np.load(synthetic_mat_dir / truth["oracle"]["file"]) as arrays:
        drivers, presence = arrays["drivers"].astype(bool), arrays["presence_train"]
    oracle = synthetic.oracle_summary(synthetic_mat_dir, "train")["mean_auprc"]

    def mean_auprc(scores):
        per_target = metrics.per_target_metrics(y, scores)
        return np.nanmean(per_target["auprc"][per_target["positives"] > 0])

    rng = np.random.default_rng(0)
    by_id = {m.matrix_id: m for m in load_motifs("JASPAR2018")}
    scans = np.stack([_pwm_scan(x, by_id[m["matrix_id"]].probabilities[:, [0, 2, 1, 3]])
                      for m in truth["motifs"]], axis=1)  # (n, K)
    scan_model = np.stack([scans[:, drivers[:, t]].max(axis=1) for t in range(919)], axis=1)
    flipped = presence ^ (rng.random(presence.shape) < 0.05)
    noisy_presence = (flipped.astype(np.int32) @ drivers.astype(np.int32) > 0) + rng.random((1000, 919)) * 0.1
    chance = rng.random((1000, 919))
    results = {name: mean_auprc(s) for name, s in
               (("pwm scan", scan_model), ("5% flipped presence", noisy_presence), ("chance", chance))}
    assert oracle > 0.9
    assert all(oracle > value for value in results.values()), (oracle, results)
    assert results["chance"] < 0.2 < results["pwm scan"]


def test_no_oracle_without_truth(tmp_path, synthetic_mat_dir):
    assert synthetic.oracle_probabilities(tmp_path, "test") is None  # real data: no truth.json
    assert synthetic.oracle_summary(tmp_path, "test") is None
    old = tmp_path / "old"
    old.mkdir()
    truth = json.loads((synthetic_mat_dir / "truth.json").read_text())
    del truth["oracle"]  # a bundle written before truth.npz existed
    (old / "truth.json").write_text(json.dumps(truth))
    assert synthetic.oracle_probabilities(old, "test") is None
    with pytest.raises(ValueError, match="split must be"):
        synthetic.oracle_probabilities(synthetic_mat_dir, "training")


def test_oracle_refuses_labels_it_did_not_draw(synthetic_mat_dir):
    _, y = read_all(synthetic_mat_dir / "test.mat", "test")
    labels = y[:100].copy()
    labels[0, 0] ^= 1
    with pytest.raises(synthetic.DataError, match="does not describe these test labels"):
        synthetic.oracle_summary(synthetic_mat_dir, "test", labels=labels)


def test_settings_flags_reach_truth_and_labels(tmp_path):
    assert synthetic.main([str(tmp_path / "b"), "--n-train", "4", "--n-valid", "2", "--n-test", "400",
                           "--num-motifs", "6", "--min-motif-length", "15", "--pwm-sharpening", "5",
                           "--repeat-probability", "0.8", "--false-negative-rate", "0",
                           "--false-positive-rate", "0"]) == 0
    truth = json.loads((tmp_path / "b" / "truth.json").read_text())
    assert {k: truth["settings"][k] for k in ("num_motifs", "min_motif_length", "pwm_sharpening",
                                               "repeat_probability")} == {
        "num_motifs": 6, "min_motif_length": 15, "pwm_sharpening": 5.0, "repeat_probability": 0.8}
    assert all(m["length"] >= 15 for m in truth["motifs"]) and len(truth["motifs"]) == 6
    # Without label noise the labels are the oracle's: it scores AUPRC 1 on every scored target.
    assert synthetic.oracle_summary(tmp_path / "b", "test")["mean_auprc"] == pytest.approx(1.0)
    assert synthetic.main([str(tmp_path / "c"), "--false-negative-rate", "0.7"]) == 2


def test_reuse_keeps_an_identical_bundle_and_refuses_another(tmp_path, capsys):
    small = ["--n-train", "4", "--n-valid", "2", "--n-test", "2", "--num-motifs", "6"]
    assert synthetic.main([str(tmp_path), *small]) == 0
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    capsys.readouterr()
    assert synthetic.main([str(tmp_path), *small, "--reuse"]) == 0
    assert "reusing it" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamp  # nothing rewritten
    assert synthetic.main([str(tmp_path), *small, "--pwm-sharpening", "4", "--reuse"]) == 2
    assert "made with other settings" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamp
    assert synthetic.main([str(tmp_path), *small, "--pwm-sharpening", "4", "--reuse", "--overwrite"]) == 0
    assert json.loads((tmp_path / "truth.json").read_text())["settings"]["pwm_sharpening"] == 4
