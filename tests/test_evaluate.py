"""evaluate.py end to end: strand averaging, losses, outputs, published weights, Table 1, --predict,
and bad input (clear one-line errors, nothing half-written)."""
import json

import h5py
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import evaluate
from cli import EXIT_USAGE
from data.encoding import one_hot
from data.features import target_names
from data.store import open_store, resolve_store
from evaluation import reports
from evaluation.predict import predict_paired
from helpers import (asymmetric_model, bce, listing, paired_data, save_run, strand_predictions, write_keras02,
                     write_store)

keras = pytest.importorskip("keras")


@pytest.fixture
def small_store(tmp_path):
    rng = np.random.default_rng(0)
    codes, labels = paired_data(rng, pairs=37, length=24, targets=5)
    return write_store(tmp_path / "store", codes, labels)


def listing(path):
    return sorted(p.name for p in path.iterdir())


# ----------------------------------------------------------------------------- end to end

def test_end_to_end_synthetic(synthetic_mat_dir, tmp_path, capsys):
    """Evaluate a tiny run on generated DeepSEA-format .mat files (919 targets, 1000 bp)."""
    store = resolve_store(synthetic_mat_dir, progress=False)
    length = 200  # the model reads the centre 200 bp, as a reduced-data run would
    model = asymmetric_model(length, store.num_targets)
    run = save_run(tmp_path / "run", model, length)
    assert evaluate.main([str(run), "--data", str(synthetic_mat_dir), "--batch-size", "64",
                          "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "AUPRC" in printed and "oracle AUPRC" in printed

    split = store.split("test")
    fwd, rev, y = strand_predictions(model, split, length)
    assert np.abs(fwd - rev).max() > 1e-3  # the strands really are scored differently
    with h5py.File(run / "predictions_test.h5", "r") as h5:
        scores, labels = h5["scores"][:], h5["labels"][:]
        names = [n.decode() for n in h5["target_names"][:]]
    half = split.num_samples // 2
    assert scores.shape == (half, 919) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, (fwd + rev) / 2, atol=2e-6, rtol=0)
    np.testing.assert_array_equal(labels, y[:half])
    assert names == target_names(919)

    summary = json.loads((run / "metrics_test.json").read_text())
    assert summary["loss"] == pytest.approx(bce(y, np.concatenate([fwd, rev])), rel=1e-5)
    assert summary["loss_forward"] == pytest.approx(bce(y[:half], fwd), rel=1e-5)
    positives = labels.sum(0)
    assert summary["targets_skipped"] == int((positives == 0).sum())
    assert summary["targets_scored"] + summary["targets_skipped"] == 919

    rows = reports.read_per_target(run / "per_target_test.tsv")
    scored = [j for j in range(919) if 0 < positives[j] < half]
    for j in scored[:: max(1, len(scored) // 15)]:
        assert rows["positives"][j] == positives[j]
        assert rows["ap"][j] == pytest.approx(average_precision_score(labels[:, j], scores[:, j]), abs=1e-9)
        assert rows["auroc"][j] == pytest.approx(roc_auc_score(labels[:, j], scores[:, j]), abs=1e-9)
    assert summary["mean_auprc"] == pytest.approx(np.nanmean(rows["auprc"]), abs=1e-9)
    # the oracle: the generator's P(y | planted motifs), scored like the model (AUROC via sklearn here)
    from data.synthetic import oracle_probabilities
    truth = oracle_probabilities(synthetic_mat_dir, "test")
    has_both = [j for j in range(919) if 0 < positives[j] < half]
    assert summary["oracle"]["mean_auroc"] == pytest.approx(
        np.mean([roc_auc_score(labels[:, j], truth[:, j]) for j in has_both]), abs=1e-9)
    assert summary["oracle"]["mean_auprc"] > summary["mean_auprc"]  # random weights vs the truth
    table, _ = reports.markdown_table([run])
    assert "oracle AUPRC" in table and f"{summary['oracle']['mean_auprc']:.3f}" in table
    # DeepSEA's categories: means over their target blocks
    for name, start, end in (("DNase", 0, 125), ("TF binding", 125, 815), ("histone marks", 815, 919)):
        block = rows["auprc"][start:end]
        assert summary["categories"][name]["mean_auprc"] == pytest.approx(np.nanmean(block), abs=1e-9)
    header = (run / "per_target_test.tsv").read_text().splitlines()[:2]
    assert header[0].split("\t")[:6] == ["index", "target", "cell_type", "assay", "treatment", "category"]
    assert header[1].split("\t")[:6] == ["0", "8988T|DNase|None", "8988T", "DNase", "None", "DNase"]

    # the valid split goes to its own files
    assert evaluate.main([str(run), "--data", str(synthetic_mat_dir), "--split", "valid", "--no-progress"]) == 0
    assert {"metrics_valid.json", "per_target_valid.tsv", "predictions_valid.h5"} <= set(listing(run))


def test_train_py_run(synthetic_mat_dir, tmp_path, capsys):
    """A run directory made by train.py (tiny, one short epoch) evaluates; the valid loss that
    evaluate.py computes (both strands) equals the val_loss train.py recorded."""
    train = pytest.importorskip("train")
    run = tmp_path / "trained"
    assert train.main(["--model", "cnn-300", "--filters", "8", "--sequence-length", "200",
                       "--data", str(synthetic_mat_dir), "--out", str(run), "--epochs", "1",
                       "--steps-per-epoch", "2", "--batch-size", "16", "--verbose", "0"]) == 0
    assert evaluate.main([str(run), "--data", str(synthetic_mat_dir), "--split", "valid",
                          "--no-progress"]) == 0
    summary = json.loads((run / "metrics_valid.json").read_text())
    assert summary["sequence_length"] == 200 and summary["model"] == "cnn-300"
    val_loss = float((run / "history.csv").read_text().splitlines()[1].split(",")[2])
    assert summary["loss"] == pytest.approx(val_loss, rel=1e-4)
    table, warnings = reports.markdown_table([run])
    assert "| cnn-300 |" in table and f"{val_loss:.4f}" in table and not warnings


def test_batches_pair_strands(small_store, tmp_path):
    """Pairs split across several calls (and a partial last one) still average row i with i + N/2."""
    model = asymmetric_model(24, 5, seed=3)
    split = open_store(small_store).split("test")
    for batch in (2, 10, 512):
        pred = predict_paired(model, split, batch_size=batch, progress=False)
        fwd, rev, y = strand_predictions(model, split)
        np.testing.assert_allclose(pred.scores, (fwd + rev) / 2, atol=2e-6, rtol=0)
        assert pred.loss == pytest.approx(bce(y, np.concatenate([fwd, rev])), rel=1e-5)
        assert pred.loss_reverse == pytest.approx(bce(y[37:], rev), rel=1e-5)


def test_outputs_replaced_only_when_complete(small_store, tmp_path):
    model = asymmetric_model(24, 5)
    run = save_run(tmp_path / "run", model, 24)
    args = [str(run), "--data", str(small_store), "--no-progress"]
    assert evaluate.main(args) == 0
    first = (run / "metrics_test.json").read_text()
    # a model that outputs NaN must fail and leave the previous outputs untouched
    bad = asymmetric_model(24, 5)
    kernel, bias = bad.get_layer("predictions").get_weights()
    bad.get_layer("predictions").set_weights([kernel * np.nan, bias])
    bad.save(run / "best_model.keras")
    before = listing(run)
    assert evaluate.main(args) == EXIT_USAGE
    assert listing(run) == before and (run / "metrics_test.json").read_text() == first


def write_danq_keras02(path, rng, length, targets, filters=6, units=5, hidden=7):
    """DanQ_bestmodel.hdf5 layout (Keras 0.2 save_weights) with random values, reduced sizes."""
    steps = (length - 26 + 1) // 13
    layers = [[] for _ in range(10)]
    layers[0] = [rng.normal(0, 0.4, (filters, 4, 26, 1)), rng.normal(0, 0.2, filters)]
    layers[3] = [rng.normal(0, 0.6, s) for _ in range(2) for _ in "icfo"
                 for s in ((filters, units), (units, units), (units,))]
    layers[6] = [rng.normal(0, 1.0, (steps * 2 * units, hidden)), rng.normal(0, 0.2, hidden)]
    layers[8] = [rng.normal(0, 1.5, (hidden, targets)), rng.normal(0, 0.2, targets)]
    write_keras02(path, [[np.asarray(p, np.float32) for p in params] for params in layers])


def test_published_weights_and_comparison(tmp_path, capsys):
    """--published converts real (small, random) DanQ weights and evaluates them like a run."""
    from models.published import load_published

    rng = np.random.default_rng(5)
    codes, labels = paired_data(rng, pairs=20, length=100, targets=5)
    store = write_store(tmp_path / "store", codes, labels)
    weights = tmp_path / "DanQ_bestmodel.hdf5"
    write_danq_keras02(weights, rng, 100, 5)
    out = tmp_path / "danq"
    assert evaluate.main(["--published", "danq", "--weights", str(weights), "--data", str(store),
                          "--out", str(out), "--no-progress", "--save-model"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "published" and config["model"]["sequence_length"] == 100
    assert config["published"]["model"] == "danq" and config["published"]["dropout_scaling"] is True
    model = load_published("danq", weights, sequence_length=100)
    fwd, rev, _ = strand_predictions(model, open_store(store).split("test"))
    with h5py.File(out / "predictions_test.h5", "r") as h5:
        np.testing.assert_allclose(h5["scores"][:], (fwd + rev) / 2, atol=1e-5, rtol=0)
    assert config["params"] == model.count_params()
    # the saved converted model is a normal run directory now
    assert evaluate.main([str(out), "--data", str(store), "--no-progress"]) == 0

    # --no-dropout-scaling reaches the loader (Keras 0.2 test-time dropout scaling left out)
    unscaled = tmp_path / "danq-unscaled"
    assert evaluate.main(["--published", "danq", "--weights", str(weights), "--data", str(store),
                          "--out", str(unscaled), "--no-progress", "--no-dropout-scaling"]) == 0
    assert json.loads((unscaled / "config.json").read_text())["published"]["dropout_scaling"] is False
    model = load_published("danq", weights, sequence_length=100, scale_dropout=False)
    fwd, rev, _ = strand_predictions(model, open_store(store).split("test"))
    with h5py.File(unscaled / "predictions_test.h5", "r") as h5:
        np.testing.assert_allclose(h5["scores"][:], (fwd + rev) / 2, atol=1e-5, rtol=0)

    table, _ = reports.markdown_table([out])
    assert "DanQ (published weights)" in table and "| DanQ | paper (Table 1) |" in table

    # 5 targets cannot be matched against the 919 published ones: a clear error
    capsys.readouterr()
    assert evaluate.main([str(out), "--compare-published"]) == EXIT_USAGE
    assert "919" in capsys.readouterr().err


def test_compare_published(tmp_path, capsys):
    """Per-target differences against data/reference/published_test_metrics.tsv."""
    auprc, auroc, names = reports.read_published_metrics(reports.PUBLISHED_METRICS, "danq-jaspar")
    assert names == target_names(919) and np.isnan(auprc[598])
    assert np.nanmean(auprc) == pytest.approx(0.3794, abs=1e-4)
    run = save_run(tmp_path / "run", asymmetric_model(24, 919), 24, preset="crnn-320")
    ours = {"positives": np.full(919, 10), "auprc": auprc + 0.01, "ap": auprc, "auroc": auroc - 0.002}
    (run / "per_target_test.tsv").write_text(reports.per_target_tsv(names, ours))
    assert evaluate.main([str(run), "--compare-published"]) == EXIT_USAGE  # which published model?
    assert "--compare-model" in capsys.readouterr().err
    assert evaluate.main([str(run), "--compare-published", "--compare-model", "danq-jaspar"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 919 + 1
    assert "mean diff +0.01000" in out[-1] and "mean diff -0.00200" in out[-1] and "918 targets" in out[-1]
    summary = json.loads((run / "compare_danq-jaspar_test.json").read_text())
    assert summary["auprc"]["pearson_r"] == pytest.approx(1.0)
    assert summary["auprc"]["max_abs_diff"] == pytest.approx(0.01)


def test_table(tmp_path, capsys):
    run = save_run(tmp_path / "crnn", asymmetric_model(24, 5), 24, preset="crnn-320-projection")
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "params": 2477479}))
    (run / "metrics_test.json").write_text(json.dumps(
        {"loss": 0.05321, "mean_auprc": 0.3829, "mean_ap": 0.3811, "mean_auroc": 0.9301}))
    (run / "history.csv").write_text("epoch,loss,val_loss,lr\n1,0.06,0.0500,3e-4\n2,0.05,0.0486,3e-4\n")
    table_md = tmp_path / "table.md"
    assert evaluate.main(["--table", str(run), "-o", str(table_md)]) == 0
    assert evaluate.main(["--table", str(run), "-o", str(table_md)]) == EXIT_USAGE  # exists: --force
    capsys.readouterr()
    assert evaluate.main(["--table", str(run), "-o", str(table_md), "--force"]) == 0
    printed = capsys.readouterr().out
    assert table_md.read_text() == printed
    row = next(line for line in printed.splitlines() if line.startswith("| crnn-320-projection"))
    assert "| 2,477,479 | 0.0486 † | 0.0532 | 0.383 | 0.381 | 0.930 |" in row
    assert printed.count("paper (Table 1)") == 7
    assert "| CRNN-700-projection | paper (Table 1) | 2,547,779 | 0.0475 | 0.0526 | 0.391 |" in printed


def test_predict_deepsea_format(tmp_path):
    """--predict reads testxdata like DanQ_test.py from HDF5, MATLAB v7.3 and v5 files."""
    from scipy.io import savemat

    rng = np.random.default_rng(2)
    model = asymmetric_model(20, 5)
    run = save_run(tmp_path / "run", model, 20)
    codes = rng.integers(0, 5, size=(9, 30))  # 30 bp input, 4 = N; the model takes the centre 20
    x = one_hot(codes).transpose(0, 2, 1).astype(np.uint8)  # (N, 4, L) as h5py sees example.h5
    want = np.asarray(model(one_hot(codes)[:, 5:25], training=False))

    plain = tmp_path / "in.h5"
    with h5py.File(plain, "w") as f:
        f["testxdata"] = x
    mat73 = tmp_path / "in73.mat"
    with h5py.File(mat73, "w", userblock_size=512) as f:
        f["testxdata"] = x.transpose(2, 1, 0)  # column-major MATLAB: h5py sees (L, 4, N)
    with open(mat73, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, test header".ljust(128, b" "))
    mat5 = tmp_path / "in5.mat"
    savemat(mat5, {"testxdata": x})
    for src in (plain, mat73, mat5):
        out = tmp_path / f"{src.stem}_pred.h5"
        assert evaluate.main(["--predict", str(src), str(out), "--model", str(run), "--batch-size", "4",
                              "--no-progress"]) == 0
        with h5py.File(out, "r") as f:
            np.testing.assert_allclose(f["pred"][:], want, atol=1e-6)


# ----------------------------------------------------------------------------- bad input

def test_bad_inputs(small_store, tmp_path, capsys):
    model = asymmetric_model(24, 5)
    run = save_run(tmp_path / "run", model, 24)

    def fails(args, *words):
        before = listing(run)
        assert evaluate.main(args) == EXIT_USAGE
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("error: ")
        for word in words:
            assert word in err
        assert listing(run) == before  # nothing written, no temporaries left

    empty = tmp_path / "empty_run"
    save_run(empty, model, 24)
    (empty / "best_model.keras").unlink()
    fails([str(empty), "--data", str(small_store)], "best_model.keras")
    fails([str(tmp_path / "nope"), "--data", str(small_store)], "no such run directory")
    fails([str(run), "--data", str(small_store), "--split", "train"], "unknown split")
    fails([str(run), "--data", str(tmp_path / "no_data")], "no_data")

    rng = np.random.default_rng(1)
    codes, labels = paired_data(rng, pairs=6, length=24, targets=5)
    odd = write_store(tmp_path / "odd", codes[:-1], labels[:-1])
    fails([str(run), "--data", str(odd), "--no-progress"], "odd number of rows", "11")
    labels[-1, 0] = 1 - labels[-1, 0]
    unpaired = write_store(tmp_path / "unpaired", codes, labels)
    fails([str(run), "--data", str(unpaired), "--no-progress"], "row 5", "row 11")
    short = write_store(tmp_path / "short", *paired_data(rng, pairs=6, length=10, targets=5))
    fails([str(run), "--data", str(short), "--no-progress"], "10 bp")

    bad_in = tmp_path / "bad.h5"
    with h5py.File(bad_in, "w") as f:
        f["somethingelse"] = np.zeros((2, 4, 24))
    out = tmp_path / "pred.h5"
    fails(["--predict", str(bad_in), str(out), "--model", str(run)], "testxdata")
    (tmp_path / "text.h5").write_text("not hdf5")
    fails(["--predict", str(tmp_path / "text.h5"), str(out), "--model", str(run)], "not a MATLAB")
    assert not out.exists()
    with pytest.raises(SystemExit):
        evaluate.main([str(run), "--data", str(small_store), "--batch-size", "7"])
