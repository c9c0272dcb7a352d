"""Must-show: a briefly trained model's filters recover planted JASPAR motifs; an untrained one does not.

Trains a small projection CNN (64 first-layer filters, 200 bp centre crops where the synthetic
generator plants its motifs, 900 steps) through the real ``train.py`` on a synthetic bundle
with 16 planted JASPAR 2018 motifs, then runs the motif CLI and the projection-PCA CLI on the run.
About 40 s of CPU.
"""
import json
import re

import numpy as np
import pytest

from analysis import motifs, projection_pca
from analysis.runs import load_config, model_config

FILTERS = 64
LENGTH = 200


@pytest.fixture(scope="module")
def motif_data(tmp_path_factory):
    """Synthetic DeepSEA bundle whose labels are driven by 16 planted JASPAR motifs."""
    from data import synthetic

    out = tmp_path_factory.mktemp("motif_synthetic")
    truth = synthetic.generate(out, n_train=4000, n_valid=200, n_test=200, seed=0, num_motifs=16)
    return out, {m["matrix_id"] for m in truth["motifs"]}


@pytest.fixture(scope="module")
def trained_run(motif_data, tmp_path_factory):
    import train

    data, _ = motif_data
    run = tmp_path_factory.mktemp("runs") / "cnn-projection"
    code = train.main(["--model", "cnn-300-projection", "--filters", str(FILTERS),
                       "--sequence-length", str(LENGTH), "--data", str(data), "--out", str(run),
                       "--epochs", "3", "--steps-per-epoch", "300", "--batch-size", "32", "--lr", "3e-3",
                       "--max-valid-samples", "200", "--seed", "0", "--verbose", "0"])
    assert code == 0
    return run


def planted_hits(rows, planted, q=0.01):
    """Planted motif IDs that are the best match of a filter with q < ``q``."""
    return {r["match_id"] for r in rows if r["match_id"] and r["q_value"] < q} & planted


def planted_any(rows, planted):
    """Planted motif IDs among all significant matches of all filters (TOMTOM lists every one)."""
    return {m for r in rows for m in r["significant_matches"].split(";") if m} & planted


def test_trained_filters_recover_planted_motifs_untrained_do_not(motif_data, trained_run, capsys):
    import keras

    from models.presets import build_model

    data, planted = motif_data
    assert motifs.main([str(trained_run), "--data", str(data), "--n-sequences", "2000"]) == 0
    out = capsys.readouterr().out
    summary = re.search(rf"(\d+) of {FILTERS} learned motifs have a significant match \(q < 0.01\)", out)
    assert summary, out
    rows = motifs.read_tsv(trained_run / "motifs" / "tomtom.tsv")
    assert int(summary.group(1)) == motifs.count_significant(rows, 0.01)
    trained, trained_any = planted_hits(rows, planted), planted_any(rows, planted)

    # The same architecture, untrained (fresh random weights), on the same sequences.
    keras.utils.set_random_seed(1)
    untrained_model = build_model(model_config(load_config(trained_run)))
    x = motifs.sample_sequences(data, 2000, LENGTH, seed=0)
    untrained_rows, _, _ = motifs.analyse_filters(untrained_model, x, 0.5)
    untrained_any = planted_any(untrained_rows, planted)

    # Seen when written (16 planted): trained 5 as best match, 7 among all significant matches;
    # untrained 0-1. JASPAR relatives of planted motifs (e.g. other E-box bHLH) are not counted.
    assert len(trained) >= 3, (trained, trained_any)
    assert len(trained_any) >= 4, trained_any
    assert len(trained_any) >= len(untrained_any) + 3, (trained_any, untrained_any)

    # The MEME file holds every filter with sites, in A,C,G,T order, readable by memelite.
    from memelite.io import read_meme

    meme = read_meme(str(trained_run / "motifs" / "filters.meme"))
    assert len(meme) == sum(r["n_sites"] > 0 for r in rows)
    assert all(m.shape == (4, 19) and np.allclose(m.sum(axis=0), 1, atol=1e-4) for m in meme.values())


def test_projection_pca_cli_on_trained_run(trained_run, motif_data, tmp_path, capsys):
    data, _ = motif_data
    if not (trained_run / "motifs" / "tomtom.tsv").exists():
        assert motifs.main([str(trained_run), "--data", str(data), "--n-sequences", "2000"]) == 0
    fig = tmp_path / "fig3"
    assert projection_pca.main([str(trained_run), "-o", str(fig), "--n-permutations", "500"]) == 0
    assert (tmp_path / "fig3.png").exists() and (tmp_path / "fig3.pdf").exists()
    stats = json.loads((trained_run / "projection_similarity.json").read_text())
    rows = motifs.read_tsv(trained_run / "motifs" / "tomtom.tsv")
    assert stats["n_matched_filters"] == motifs.count_significant(rows, 0.01)
    assert stats["pca_filters"] and "filters" in stats["pca_selection"]
    assert stats["n_permutations"] == 500
