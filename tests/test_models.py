"""Model zoo: every preset builds with the right shape and parameter count, reloads from
.keras with identical predictions; gates, LSTM direction and JASPAR init checked by value."""
import os
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

import numpy as np
import pytest

import models
from models import blocks
from models.danq import build_danq_jaspar
from models.jaspar_init import apply_jaspar_init

BIG = {"deepsea", "danq-original", "danq-jaspar"}
TABLE1 = {"deepsea": 52_843_119, "danq-original": 46_926_479, "danq-jaspar": 67_892_175,
          "crnn-320-projection": 2_477_479, "crnn-320": 2_727_335,
          "crnn-700-projection": 2_547_779, "crnn-700": 3_174_595}
# Overrides that shrink a preset for the forward pass and .keras round trip (tests stay fast);
# filters, projection, dropout and sequence length of the preset are kept except for the big three.
SMALL = {
    "cnn": dict(hidden_units=16, num_targets=5),
    "danq": dict(lstm_units=6, hidden_units=16, num_targets=5),
    "crnn": dict(lstm_units=6, hidden_units=16, num_targets=5),
    "deepsea": dict(filters=8, hidden_units=16, num_targets=5),
    "danq-original": dict(filters=8, lstm_units=6, hidden_units=16, num_targets=5),
    "danq-jaspar": dict(filters=8, lstm_units=6, hidden_units=16, num_targets=5, jaspar_init=False),
}


def dense(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


def lstm_params(n_in, units):
    return 4 * (units * (n_in + units) + units)


def reference_count(config):
    """Parameter count from the paper's layer arithmetic, independent of Keras."""
    f, p, length = config["filters"], config["projection_dim"], config["sequence_length"]
    t = config["num_targets"]
    if config["family"] == "cnn":
        l1 = (length - 18) // 6
        l2 = (l1 - 10) // 2
        l3 = (l2 - 6) // 2
        c2_in = p or f
        return (dense(4 * 19, f) + dense(f, p, bias=False) * bool(p) + dense(c2_in * 11, 128)
                + dense(128 * 7, 256) + dense(l3 * 256, 2048) + dense(2048, t))
    if config["family"] == "danq":
        l1 = (length - 25) // 13
        u = config["lstm_units"]
        return (dense(4 * 26, f) + dense(f, p, bias=False) * bool(p) + 2 * lstm_params(p or f, u)
                + dense(l1 * 2 * u, 925) + dense(925, t))
    raise AssertionError(config["family"])


@pytest.mark.parametrize("name", models.list_presets())
def test_preset(name, tmp_path):
    config = models.resolve_config(name)
    assert config["source"] and config["description"]
    assert config["expected_params"] == TABLE1.get(name, config["expected_params"])
    full = models.build_model(dict(config, jaspar_init=False) if "jaspar_init" in config else config)
    assert full.output_shape == (None, config["num_targets"])
    assert full.count_params() == config["expected_params"]  # every preset's count is pinned
    if name not in TABLE1:  # and the Fig. 1 grid's also match the paper's layer arithmetic
        assert full.count_params() == reference_count(config)
    if config["projection_dim"]:
        projection = full.get_layer("projection")
        assert projection.kernel_size == (1,) and not projection.use_bias
        assert [w.shape for w in projection.weights] == [(1, config["filters"], config["projection_dim"])]
        assert projection.activation is keras.activations.linear
    else:
        assert "projection" not in [layer.name for layer in full.layers]
    for layer_name in ("conv1", "pool1", "dropout1", "hidden", "predictions"):
        full.get_layer(layer_name)
    del full

    small_config = models.resolve_config(name, **SMALL[config["family"]])
    assert small_config["expected_params"] is None
    model = models.build_model(small_config)
    x = np.random.default_rng(0).random((2, config["sequence_length"], 4)).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, small_config["num_targets"])
    assert np.all((y > 0) & (y < 1))
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), y)


def test_keras2_hard_sigmoid_formula():
    x = np.linspace(-6, 6, 49).astype("float32")  # includes both clip regions and the kinks +-2.5
    ours = keras.ops.convert_to_numpy(blocks.keras2_hard_sigmoid(x))
    np.testing.assert_allclose(ours, np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7)
    assert ours[0] == 0 and ours[-1] == 1
    keras3 = keras.ops.convert_to_numpy(keras.activations.hard_sigmoid(x))
    assert np.max(np.abs(keras3 - ours)) > 0.05
    assert keras.saving.get_registered_name(blocks.keras2_hard_sigmoid) == \
        "projection_layers>keras2_hard_sigmoid"


def test_other_activations():
    x = np.array([-2.0, -1e-3, 0.0, 1e-7, 3.0], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(blocks.deepsea_threshold(x)),
                               [1e-6, 1e-6, 1e-6, 1e-7, 3.0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(blocks.leaky_relu_001(x)),
                               np.where(x > 0, x, 0.01 * x), rtol=1e-6)


def numpy_lstm(x, kernel, recurrent, bias, gate):
    """Plain LSTM (Keras gate order i, f, c, o), returning every hidden state."""
    units = recurrent.shape[0]
    h, c, out = np.zeros(units), np.zeros(units), []
    for x_t in x:
        z = x_t @ kernel + h @ recurrent + bias
        i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
        c = gate(f) * c + gate(i) * np.tanh(g)
        h = gate(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


@pytest.mark.parametrize("backward_in_reverse", [True, False])
@pytest.mark.parametrize("gate", ["keras2_hard_sigmoid", "sigmoid"])
def test_bidirectional_lstm_matches_numpy(gate, backward_in_reverse):
    inputs = keras.Input((5, 3))
    outputs = blocks.bidirectional_lstm(inputs, 4, gate=gate, backward_in_reverse=backward_in_reverse)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(1)
    for w in model.weights:  # random biases too, so the gate sees values in its clip regions
        w.assign(rng.normal(0, 1.5, w.shape).astype("float32"))
    x = rng.normal(size=(1, 5, 3)).astype("float32")
    y = model.predict(x, verbose=0)[0]
    if backward_in_reverse:
        bilstm = model.get_layer("bilstm")
        forward, backward = bilstm.forward_layer, bilstm.backward_layer
    else:
        forward, backward = model.get_layer("bilstm_forward"), model.get_layer("bilstm_backward")
    fn = (lambda z: np.clip(0.2 * z + 0.5, 0, 1)) if gate != "sigmoid" else (lambda z: 1 / (1 + np.exp(-z)))
    expected_fwd = numpy_lstm(x[0], *forward.get_weights(), fn)
    if backward_in_reverse:  # runs from the end; Keras re-reverses outputs to align in time
        expected_bwd = numpy_lstm(x[0][::-1], *backward.get_weights(), fn)[::-1]
    else:  # upstream seya: the "backward" LSTM also runs forward in time
        expected_bwd = numpy_lstm(x[0], *backward.get_weights(), fn)
    np.testing.assert_allclose(y, np.concatenate([expected_fwd, expected_bwd], axis=1), atol=1e-5)


def test_crnn_gate_choice_is_recorded():
    config = models.resolve_config("crnn-320-projection", gate="sigmoid", recurrent_dropout=0.0,
                                   lstm_units=4, filters=8)
    lstm = models.build_model(config).get_layer("bilstm").forward_layer
    assert lstm.recurrent_activation is keras.activations.sigmoid
    lstm = models.build_model(models.resolve_config("crnn-320", lstm_units=4, filters=8)) \
        .get_layer("bilstm").forward_layer
    assert lstm.recurrent_activation is blocks.keras2_hard_sigmoid
    assert lstm.recurrent_dropout == pytest.approx(0.2)


def test_danq_jaspar_initial_filters_hold_jaspar_motifs():
    from data.jaspar import load_motifs

    motifs = load_motifs("JASPAR2016")
    assert len(motifs) == 519
    # full first layer, small LSTM/dense (their sizes do not touch the initialisation)
    config = models.resolve_config("danq-jaspar", jaspar_seed=3, lstm_units=4, hidden_units=8)
    assert config["jaspar_init"] and config["filters"] == 1024
    kernel, bias = (np.asarray(w) for w in models.build_model(config).get_layer("conv1").get_weights())

    def expected_agct(motif, reverse_complement=False):
        probs = motif.counts / motif.counts.sum(axis=1, keepdims=True)  # columns A, C, G, T
        if reverse_complement:
            probs = probs[::-1, ::-1]  # complement of A,C,G,T is T,G,C,A
        return np.stack([probs[:, 0], probs[:, 2], probs[:, 1], probs[:, 3]], axis=1) - 0.25

    def offsets(filter_index, matrix):
        w = len(matrix)
        return [s for s in range(31 - w)
                if np.allclose(kernel[s:s + w, :, filter_index], matrix, atol=1e-6)]

    ctcf = next(i for i, m in enumerate(motifs) if m.matrix_id == "MA0139.1")
    for index, matrix in [(0, expected_agct(motifs[0])), (ctcf, expected_agct(motifs[ctcf])),
                          (519 + 2, expected_agct(motifs[98], reverse_complement=True))]:
        found = offsets(index, matrix)
        assert len(found) == 1 and 3 <= found[0] <= 30 - len(matrix) - 3, (index, found)
        # A,C,G,T order would not match (G and C columns swapped), nor would a reversed motif
        assert not offsets(index, matrix[:, [0, 2, 1, 3]]) and not offsets(index, matrix[::-1])
    assert np.all((bias[:525] >= -1) & (bias[:525] <= 0)) and np.all(bias[525:] == 0)
    assert not offsets(600, expected_agct(motifs[0]))  # filters past the motifs keep random init


def test_apply_jaspar_init_is_seeded_and_keeps_background():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(30, 4, 6)).astype("float32")
    motifs = [rng.dirichlet(np.ones(4), size=w) for w in (6, 21, 24)]
    k1, b1, s1 = apply_jaspar_init(kernel, np.zeros(6), motifs, rng=7)
    k2, b2, s2 = apply_jaspar_init(kernel, np.zeros(6), motifs, rng=7)
    np.testing.assert_array_equal(k1, k2)
    np.testing.assert_array_equal(s1, s2)
    for i, (motif, start) in enumerate(zip(motifs, s1)):
        np.testing.assert_allclose(k1[start:start + len(motif), :, i], motif - 0.25, rtol=1e-6)
        outside = np.ones(30, bool)
        outside[start:start + len(motif)] = False
        np.testing.assert_array_equal(k1[outside, :, i], kernel[outside, :, i])
    assert 3 <= s1[0] <= 21 and 3 <= s1[1] <= 6 and 0 <= s1[2] <= 6
    np.testing.assert_array_equal(k1[..., 3:], kernel[..., 3:])
    assert np.all(b1[:3] < 0) and np.all(b1[3:] == 0)
    k3, _, s3 = apply_jaspar_init(kernel, np.zeros(6), motifs, rng=7, zero_background=True)
    np.testing.assert_array_equal(s3, s1)
    for i, (motif, start) in enumerate(zip(motifs, s3)):
        window = np.zeros(30, bool)
        window[start:start + len(motif)] = True
        np.testing.assert_array_equal(k3[window, :, i], k1[window, :, i])
        assert not np.any(k3[~window, :, i])
    with pytest.raises(ValueError, match="do not fit"):
        apply_jaspar_init(kernel[..., :2], np.zeros(2), motifs)


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ValueError) as err:
        models.get_preset("crnn-9000")
    assert "crnn-9000" in str(err.value)
    assert all(name in str(err.value) for name in ("deepsea", "crnn-700-projection", "danq-1000-dropout"))


def test_resolve_config_overrides():
    assert models.resolve_config("crnn-700", dropout=0.3, gate="sigmoid")["expected_params"] == 3_174_595
    config = models.resolve_config("crnn-700", filters=500, projection_dim=None)
    assert config["filters"] == 500 and config["projection_dim"] == 0
    assert config["expected_params"] is None
    with pytest.raises(ValueError, match="lstm_units"):
        models.resolve_config("cnn-300", lstm_units=10)
    with pytest.raises(ValueError, match="expects expected_params"):
        models.build_model(dict(models.get_preset("crnn-320"), filters=321))
    with pytest.raises(ValueError, match="unknown config keys"):
        models.build_model(dict(models.get_preset("crnn-320"), filter=321))
    assert models.PRESETS["crnn-700"]["filters"] == 700  # resolve_config does not mutate


@pytest.mark.parametrize("name, overrides, message", [
    ("crnn-320", dict(projection_dim=-1), "projection_dim=-1"),
    ("crnn-320", dict(gate="hard_sigmoid"), "gate='hard_sigmoid'"),
    ("crnn-320", dict(sequence_length=100), "sequence_length=100 is too short"),
    ("cnn-300", dict(dropout=1.0), "dropout=1.0"),
    ("danq-300", dict(filters=0), "filters=0"),
    ("danq-original", dict(backward_in_reverse="no"), "backward_in_reverse='no'"),
])
def test_bad_hyperparameters(name, overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        models.build_model(models.resolve_config(name, **overrides))


def test_seya_layout_names():
    model = build_danq_jaspar(filters=8, lstm_units=4, backward_in_reverse=False, num_targets=3)
    names = [layer.name for layer in model.layers]
    assert {"bilstm_forward", "bilstm_backward", "bilstm"} <= set(names)
    assert model.get_layer("bilstm").output.shape == (None, 64, 8)


def test_list_models_is_fast_and_shows_every_count():
    """train.py --list-models reads the catalog only: no Keras, no TensorFlow."""
    import subprocess
    import sys

    code = ("import sys, train; train.list_models(); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TF'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.splitlines()
    assert len(out) == len(models.list_presets())
    for line, name in zip(out, models.list_presets()):
        assert line.split()[0] == name
        assert int(line.split()[1].replace(",", "")) == models.get_preset(name)["expected_params"]
    assert any(line.startswith("crnn-320-projection ") and "2,477,479" in line for line in out)
