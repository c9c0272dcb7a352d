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
    assert synthetic.main([str(tmp_path / "odd"), "--n-train", "7"]) == 1
    assert "n_train must be an even number" in capsys.readouterr().err
    assert not (tmp_path / "odd" / "train.mat").exists()
    assert synthetic.main([str(tmp_path / "ok"), "--n-train", "4", "--n-valid", "2", "--n-test", "2"]) == 0
    assert synthetic.main([str(tmp_path / "ok"), "--n-train", "4", "--n-valid", "2", "--n-test", "2"]) == 1
    assert "already holds" in capsys.readouterr().err


def test_regenerating_removes_the_stale_converted_store(tmp_path):
    from data.store import resolve_store

    synthetic.generate(tmp_path, n_train=4, n_valid=2, n_test=2, seed=1)
    resolve_store(tmp_path, progress=False)
    assert (tmp_path / "store" / "meta.json").exists()
    synthetic.generate(tmp_path, n_train=6, n_valid=2, n_test=2, seed=2)
    assert not (tmp_path / "store").exists()
    assert resolve_store(tmp_path, progress=False).split("train").num_samples == 6
