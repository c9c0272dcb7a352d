"""Projection-column PCA, filter selection and the forward/rc cosine permutation statistic."""
import numpy as np
import pytest

from analysis import projection_pca as pp


def row(f, match="", orientation="f", q=1.0, name=None, family="other"):
    return {"filter": f, "n_sites": 5, "match_id": match, "match_name": name or match,
            "orientation": orientation if match else "", "q_value": q, "p_value": q, "family": family}


def constructed(rng, n_pairs=8, n_other=30, dim=64, noise=0.05):
    """Pairs (f, rc) of the same motif with nearly identical columns, plus unrelated filters."""
    vectors, rows = [], []
    for k in range(n_pairs):
        base = rng.normal(size=dim)
        for orientation in ("f", "rc"):
            rows.append(row(len(vectors), f"MA{k:04d}.1", orientation, 1e-5))
            vectors.append(base + noise * rng.normal(size=dim))
    for _ in range(n_other):
        rows.append(row(len(vectors), f"MB{len(vectors):04d}.1", "f", 1e-4))
        vectors.append(rng.normal(size=dim))
    return np.array(vectors), rows


def test_statistic_detects_aligned_opposite_pairs():
    rng = np.random.default_rng(0)
    vectors, rows = constructed(rng)
    stats = pp.orientation_pair_statistic(vectors, rows, q_threshold=0.01, n_permutations=2000, seed=1)
    assert stats["n_opposite_pairs"] == 8 and stats["n_matched_filters"] == 46
    # Observed mean computed independently with plain numpy.
    cos = [vectors[2 * k] @ vectors[2 * k + 1] / np.linalg.norm(vectors[2 * k]) / np.linalg.norm(vectors[2 * k + 1])
           for k in range(8)]
    assert stats["mean_cosine_opposite"] == pytest.approx(np.mean(cos), rel=1e-9)
    assert stats["mean_cosine_opposite"] > 0.99
    assert abs(stats["null_mean"]) < 0.1
    assert stats["p_value"] == pytest.approx(1 / 2001)  # no random draw reaches the observed mean


def test_statistic_null_when_pairs_are_unrelated():
    rng = np.random.default_rng(2)
    vectors, rows = constructed(rng, noise=0.0)
    vectors = rng.normal(size=vectors.shape)  # break the pairing: columns are now independent
    stats = pp.orientation_pair_statistic(vectors, rows, 0.01, n_permutations=2000, seed=3)
    assert stats["n_opposite_pairs"] == 8
    assert stats["p_value"] > 0.05


def test_statistic_ignores_insignificant_and_same_orientation_pairs():
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(6, 8))
    rows = [row(0, "MA1", "f", 1e-3), row(1, "MA1", "rc", 0.5),  # second not significant
            row(2, "MA2", "f", 1e-3), row(3, "MA2", "f", 1e-3),  # same orientation
            row(4), row(5, "MA3", "rc", 1e-3)]
    stats = pp.orientation_pair_statistic(vectors, rows, 0.01, n_permutations=10)
    assert stats["n_matched_filters"] == 4
    assert stats["n_opposite_pairs"] == 0 and stats["n_same_orientation_pairs"] == 1
    assert stats["p_value"] is None and "note" in stats


def test_select_filters_with_fallback():
    rows = [row(0, "MA1", q=1e-10), row(1, "MA2", q=1e-9), row(2, "MA3", q=1e-3), row(3, q=1.0),
            row(4, "MA4", q=0.5)]
    chosen, note = pp.select_filters(rows, 1e-8, min_points=2)
    assert [r["filter"] for r in chosen] == [0, 1] and "q < 1e-08" in note
    chosen, note = pp.select_filters(rows, 1e-8, min_points=3, fallback_n=5, fallback_q=0.01)
    assert [r["filter"] for r in chosen] == [0, 1, 2] and note.startswith("only 2 filters")


def test_pca_matches_sklearn_and_plot():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(12, 64)) * np.linspace(3, 0.1, 64)
    coords, ratio = pp.pca_2d(vectors)
    reference = PCA(n_components=2).fit(vectors)
    expected = reference.transform(vectors)
    # Principal axes are defined up to sign.
    np.testing.assert_allclose(np.abs(coords), np.abs(expected), atol=1e-8)
    np.testing.assert_allclose(ratio, reference.explained_variance_ratio_, rtol=1e-8)
    families = ["C2H2 zinc finger", "bZIP", "homeodomain", "bHLH", "other", "other"] * 2
    labels = [f"M{i} ({'f' if i % 2 else 'rc'})" for i in range(12)]
    fig = pp.plot_projection_pca(coords, labels, families, explained=ratio, title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == labels
    assert [c.get_label() for c in ax.collections] == list(pp.FAMILIES)


def test_projection_columns_from_a_model():
    import keras

    inputs = keras.Input((20, 4))
    x = keras.layers.Conv1D(5, 3, name="conv1")(inputs)
    x = keras.layers.Conv1D(3, 1, use_bias=False, name="projection")(x)
    model = keras.Model(inputs, x)
    kernel = np.arange(15, dtype="float32").reshape(1, 5, 3)
    model.get_layer("projection").set_weights([kernel])
    np.testing.assert_array_equal(pp.projection_columns(model), kernel[0])
    with pytest.raises(ValueError, match="projection"):
        pp.projection_columns(keras.Model(inputs, model.get_layer("conv1").output))


def test_labels_name_motif_orientation_and_filter_and_do_not_overlap():
    rng = np.random.default_rng(6)
    rows = [row(f, "MA0139.1", "f" if f % 2 else "rc", 1e-10, name="CTCF", family="C2H2 zinc finger")
            for f in range(30)]
    coords = rng.normal(scale=0.05, size=(30, 2))  # a tight cluster: labels must be moved apart
    labels = [pp.point_label(r) for r in rows]
    assert labels[:2] == ["CTCF (rc) 0", "CTCF (f) 1"]
    fig = pp.plot_projection_pca(coords, labels, [r["family"] for r in rows])
    ax = fig.axes[0]
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    overlapping = sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert overlapping <= 3, overlapping
    # Points keep the paper's family colour (cyan for C2H2 zinc fingers).
    import matplotlib.colors as mcolors
    (points,) = ax.collections[:1]
    assert mcolors.to_hex(points.get_facecolor()[0]) == mcolors.to_hex("c")


def test_logo_rows_pair_forward_and_reverse_complement():
    rows = [row(0, "MA1", "f", 1e-9), row(1, "MA1", "rc", 1e-12), row(2, "MA1", "f", 1e-11),
            row(3, "MA2", "f", 1e-10), row(4, "MA3", "rc", 1e-9)]
    picked = pp.logo_rows(rows, 3)
    # MA1 (best q) forward then reverse complement, each its best filter; then MA2.
    assert [(r["match_id"], r["orientation"], r["filter"]) for r in picked] == [
        ("MA1", "f", 2), ("MA1", "rc", 1), ("MA2", "f", 3)]


def test_fig3_has_pca_beside_logo_pairs():
    from data.jaspar import load_motifs

    targets = load_motifs("JASPAR2018")
    ctcf = next(m for m in targets if m.matrix_id == "MA0139.1")
    rows = [dict(row(f, "MA0139.1", o, 1e-10, name="CTCF", family="C2H2 zinc finger"), offset=0, overlap=19)
            for f, o in ((0, "f"), (1, "rc"), (2, "f"))]
    probabilities = {0: ctcf.probabilities, 1: ctcf.probabilities[::-1, ::-1], 2: ctcf.probabilities}
    coords = np.array([[0.0, 0.0], [1.0, 0.5], [0.2, 1.0]])
    fig = pp.plot_fig3(coords, rows, probabilities, targets, n_logos=4, title="t", caption="c")
    pca, *logos = fig.axes
    assert pca.get_title() == "t" and len(pca.texts) == 3
    assert len(logos) == 4  # two pairs (f and rc): filter above its match
    assert [a.get_title(loc="left").split(":")[0] for a in logos[::2]] == ["filter 0 (5 sites)", "filter 1 (5 sites)"]
    assert [a.get_ylabel() for a in logos] == ["filter", "JASPAR"] * 2
