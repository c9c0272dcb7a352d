"""Motif extraction from first-layer filters, MEME output, TOMTOM matching and q-values."""
import numpy as np
import pytest

from analysis import motifs
from data.jaspar import load_motifs, reverse_complement

AGCT = "AGCT"


def one_hot_agct(seq: str) -> np.ndarray:
    """Independent A,G,C,T one-hot encoder (the DeepSEA order)."""
    return np.array([[float(base == b) for b in AGCT] for base in seq], dtype=np.float32)


def one_hot_acgt(seq: str) -> np.ndarray:
    return np.array([[float(base == b) for b in "ACGT"] for base in seq])


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


def exact_match_model(length: int, words: list[str]):
    """A one-layer model whose filter k outputs 1 exactly where words[k] occurs, < 0 elsewhere.

    Weights +1 on the word's base, -1 on the others, bias -(w - 1): an exact match scores 1,
    any mismatch <= -1; Leaky ReLU after it, like the real models.
    """
    import keras

    width = len(words[0])
    inputs = keras.Input((length, 4))
    conv = keras.layers.Conv1D(len(words), width, name="conv1",
                               activation=keras.activations.leaky_relu)(inputs)
    model = keras.Model(inputs, keras.layers.GlobalMaxPooling1D()(conv))
    kernel = np.stack([2 * one_hot_agct(word) - 1 for word in words], axis=-1)  # (w, 4, F)
    model.get_layer("conv1").set_weights([kernel, np.full(len(words), -(width - 1.0))])
    return model


def plant(rng, n: int, length: int, word: str, position: int) -> tuple[list[str], np.ndarray]:
    seqs = []
    for _ in range(n):
        seq = list(rng.choice(list("ACGT"), size=length))
        seq[position:position + len(word)] = word
        seqs.append("".join(seq))
    return seqs, np.stack([one_hot_agct(s) for s in seqs])


def occurrences(seqs: list[str], word: str) -> int:
    """Sequences containing ``word`` (independent of the model)."""
    return sum(word in s for s in seqs)


def test_pfm_extraction_known_answer_agct_to_acgt_and_rc():
    rng = np.random.default_rng(0)
    word = "GATTACAG"  # not its own reverse complement
    rc_word = revcomp(word)
    seqs_f, x_f = plant(rng, 30, 40, word, 5)
    seqs_r, x_r = plant(rng, 20, 40, rc_word, 17)
    seqs_bg, x_bg = plant(rng, 25, 40, "", 0)
    seqs = seqs_f + seqs_r + seqs_bg
    x = np.concatenate([x_f, x_r, x_bg])
    model = exact_match_model(40, [word, rc_word])

    max_act, argmax, width, shift = motifs.max_activations(model, x, batch_size=16)
    assert (width, shift) == (8, 0)
    counts, n_sites = motifs.extract_pfms(x, max_act, argmax, width, threshold_fraction=0.5)

    # Only sequences holding the exact word activate the filter; the window is the word itself.
    n_word, n_rc = occurrences(seqs, word), occurrences(seqs, rc_word)
    assert n_word >= 30 and n_rc >= 20
    np.testing.assert_array_equal(n_sites, [n_word, n_rc])
    np.testing.assert_allclose(counts[0], n_word * one_hot_acgt(word))  # A,C,G,T columns
    np.testing.assert_allclose(counts[1], n_rc * one_hot_acgt(rc_word))
    # The second filter's PFM is the reverse complement of the first's.
    np.testing.assert_allclose(reverse_complement(counts[1] / n_rc), counts[0] / n_word)
    # AGCT columns would put G where C is: the conversion must have happened.
    assert not np.allclose(counts[0], n_word * one_hot_agct(word))


def test_activation_threshold_rule():
    max_act = np.array([[2.0, -0.1], [0.9, -0.02], [1.1, -0.5]])
    np.testing.assert_array_equal(motifs.activated_mask(max_act, 0.5),
                                  [[True, False], [False, False], [True, False]])
    np.testing.assert_array_equal(motifs.activated_mask(max_act, 0.0),
                                  [[True, False], [True, False], [True, False]])
    with pytest.raises(ValueError):
        motifs.activated_mask(max_act, 1.0)
    # The paper's rule: every sequence whose maximum is > 0, whatever the fraction.
    np.testing.assert_array_equal(motifs.activated_mask(max_act, 0.9, rule="positive"), max_act > 0)
    with pytest.raises(ValueError, match="activation rule"):
        motifs.activated_mask(max_act, 0.5, rule="half")


def test_same_padding_windows_run_off_the_edge_as_n():
    x = one_hot_agct("ACGTACGTAA")[None]
    max_act = np.array([[1.0]])
    counts, n_sites = motifs.extract_pfms(x, max_act, np.array([[0]]), width=5, shift=-2)
    # Window covers positions -2..2: two Ns then A, C, G.
    expected = np.zeros((5, 4))
    expected[2:] = one_hot_acgt("ACG")
    np.testing.assert_allclose(counts[0], expected)
    assert n_sites[0] == 1


def test_meme_file_round_trip(tmp_path):
    from memelite.io import read_meme

    rng = np.random.default_rng(1)
    probs = [rng.dirichlet(np.ones(4), size=w) for w in (6, 9)]
    path = motifs.write_meme(tmp_path / "m.meme", ["filter_0", "filter_7"], probs, [12, 3],
                             background=np.array([0.3, 0.2, 0.2, 0.3]))
    text = path.read_text()
    assert text.startswith("MEME version 4\n")
    assert "ALPHABET= ACGT" in text and "strands: + -" in text
    assert "Background letter frequencies\nA 0.3000 C 0.2000 G 0.2000 T 0.3000" in text
    assert "letter-probability matrix: alength= 4 w= 9 nsites= 3 E= 0" in text
    parsed = read_meme(str(path))  # memelite's reader: independent of our writer
    assert list(parsed) == ["filter_0", "filter_7"]
    for prob, (name, back) in zip(probs, parsed.items()):
        np.testing.assert_allclose(back.T, prob, atol=1e-6)
    assert not list(tmp_path.glob(".*"))  # no temporary left behind


def test_qvalues_match_the_plain_benjamini_hochberg_definition():
    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 1e-4, size=10), [0.5, 0.5]])
    q = motifs.qvalues(p)
    # Plain definition: q_i = min over j with p_j >= p_i of p_j m / rank_j, capped at 1.
    m = len(p)
    ranks = np.array([np.sum(p <= value) for value in p])
    naive = np.array([min(min(p[j] * m / ranks[j] for j in range(m) if p[j] >= p[i]), 1.0) for i in range(m)])
    np.testing.assert_allclose(q, naive, rtol=1e-12)
    # Along the last axis: each row on its own.
    two = np.stack([p, p[::-1] * 0.5])
    np.testing.assert_allclose(motifs.qvalues(two)[1], motifs.qvalues(p[::-1] * 0.5))


def test_tf_family_mapping():
    assert motifs.tf_family("C2H2 zinc finger factors") == "C2H2 zinc finger"
    assert motifs.tf_family("Basic leucine zipper factors (bZIP); Basic leucine zipper factors (bZIP)") == "bZIP"
    assert motifs.tf_family("Homeo domain factors") == "homeodomain"
    assert motifs.tf_family("Basic helix-loop-helix factors (bHLH)") == "bHLH"
    assert motifs.tf_family("Fork head / winged helix factors") == "other"


@pytest.mark.parametrize("distance", motifs.DISTANCES)
def test_tomtom_finds_jaspar_motif_and_its_reverse_complement(distance):
    targets = load_motifs("JASPAR2018")
    ctcf = next(m for m in targets if m.matrix_id == "MA0139.1")
    core = ctcf.probabilities[3:15]  # a part of the matrix: the offset says where it sits
    rows = motifs.match_motifs([core, reverse_complement(core)], targets, distance=distance)
    assert [r["match_id"] for r in rows] == ["MA0139.1", "MA0139.1"]
    assert [r["orientation"] for r in rows] == ["f", "rc"]
    # Filter position k sits at position k + offset of the (oriented) JASPAR matrix.
    assert [r["offset"] for r in rows] == [3, len(ctcf.counts) - 15]
    assert all(r["q_value"] < 1e-4 and r["p_value"] <= r["q_value"] for r in rows)
    assert rows[0]["match_name"] == "CTCF" and rows[0]["family"] == "C2H2 zinc finger"
    assert rows[0]["ranked_ids"][0] == "MA0139.1"
    # The aligned match the logos draw: JASPAR column j at filter position j - offset.
    matrix, start = motifs.aligned_match(rows[1], {m.matrix_id: m for m in targets})
    np.testing.assert_allclose(matrix[-start:-start + len(core)], reverse_complement(core))


def test_logo_pairs_draw_filter_above_its_aligned_match():
    targets = load_motifs("JASPAR2018")
    ctcf = next(m for m in targets if m.matrix_id == "MA0139.1")
    probs = ctcf.probabilities[3:15]
    rows = motifs.match_motifs([probs], targets)
    rows[0].update(filter=0, n_sites=7)
    fig = motifs.plot_logo_pairs({0: probs}, rows, targets)
    top, bottom = fig.axes
    assert top.get_title(loc="left").startswith("filter 0 (7 sites): CTCF MA0139.1 (f), q = ")
    # One letter per non-zero probability (logomaker glyphs are patches), y in bits.
    assert len(top.patches) == np.count_nonzero(probs) and top.get_ylim() == (0, 2)
    # The match starts 3 positions left of the filter, on a shared axis (filter position 1 = x 1).
    assert top.get_xlim() == bottom.get_xlim() == (1 - 3 - 0.5, 1 - 3 + len(ctcf.counts) - 0.5)


def test_filter_pipeline_reports_reverse_complement_orientation(tmp_path):
    """A filter tuned to the reverse complement of CTCF's consensus is reported as CTCF (rc)."""
    targets = load_motifs("JASPAR2018")
    ctcf = next(m for m in targets if m.matrix_id == "MA0139.1")
    consensus = "".join("ACGT"[i] for i in ctcf.counts.argmax(axis=1))
    rng = np.random.default_rng(3)
    seqs_f, x_f = plant(rng, 15, 60, consensus, 10)
    seqs_r, x_r = plant(rng, 15, 60, revcomp(consensus), 30)
    model = exact_match_model(60, [consensus, revcomp(consensus)])
    rows, counts, n_sites = motifs.analyse_filters(model, np.concatenate([x_f, x_r]), 0.5, targets)
    assert [r["match_id"] for r in rows] == ["MA0139.1", "MA0139.1"]
    assert [r["orientation"] for r in rows] == ["f", "rc"]
    assert motifs.count_significant(rows, 0.01) == 2
    path = motifs.write_tsv(tmp_path / "t.tsv", rows)
    back = motifs.read_tsv(path)
    assert back[1]["orientation"] == "rc" and back[1]["n_sites"] == n_sites[1]
    assert back[0]["q_value"] == pytest.approx(rows[0]["q_value"], rel=1e-3)
