"""models.lstm.LSTM against keras.layers.LSTM: same outputs and gradients (inference, and
training with the same seed), interchangeable weights and .keras files, and the Keras
internals the fast loop relies on."""
import inspect
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

import models
from models import blocks
from models.lstm import LSTM, to_stock_lstm

GATES = {"keras2_hard_sigmoid": blocks.keras2_hard_sigmoid, "sigmoid": "sigmoid"}
SMALL_CRNN = dict(filters=8, projection_dim=4, conv2_filters=5, lstm_units=6, hidden_units=7,
                  num_targets=3, sequence_length=200)


def pair(units=4, features=5, **kwargs):
    """A stock and a fast LSTM with the same config, seed and weights, built for ``features``."""
    stock = keras.layers.LSTM(units, seed=11, **kwargs)
    fast = LSTM(units, seed=11, **kwargs)
    stock.build((None, 7, features))
    fast.build((None, 7, features))
    rng = np.random.default_rng(1)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in stock.get_weights()]
    stock.set_weights(weights)
    fast.set_weights(weights)
    return stock, fast


def run(layer, x, training):
    """Outputs (as a list) and gradients of a fixed random projection of them."""
    with tf.GradientTape() as tape:
        outputs = layer(x, training=training)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        rng = np.random.default_rng(2)
        loss = sum(tf.reduce_sum(o * rng.normal(size=o.shape).astype("float32")) for o in outputs)
    return [np.asarray(o) for o in outputs], tape.gradient(loss, layer.trainable_weights)


CASES = [
    dict(recurrent_dropout=0.3, recurrent_activation=blocks.keras2_hard_sigmoid),
    dict(recurrent_dropout=0.3, recurrent_activation="sigmoid", return_sequences=True),
    dict(recurrent_dropout=0.3, dropout=0.25, recurrent_activation=blocks.keras2_hard_sigmoid,
         return_sequences=True),
    dict(recurrent_dropout=0.5, go_backwards=True, return_state=True, use_bias=False),
]


@pytest.mark.parametrize("kwargs", CASES)
@pytest.mark.parametrize("training", [False, True])
def test_matches_stock_layer(kwargs, training):
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype("float32")
    stock, fast = pair(**kwargs)
    assert fast.uses_fast_loop()
    (y_stock, g_stock), (y_fast, g_fast) = run(stock, x, training), run(fast, x, training)
    for a, b in zip(y_stock, y_fast):
        np.testing.assert_allclose(b, a, atol=1e-5, rtol=0)
    for a, b in zip(g_stock, g_fast):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5, rtol=0)
    if training:  # the masks were applied: training differs from inference
        assert np.abs(y_fast[0] - run(fast, x, False)[0][0]).max() > 1e-3


def test_successive_training_calls_draw_new_masks_like_stock():
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype("float32")
    stock, fast = pair(recurrent_dropout=0.4, return_sequences=True)
    first, second = [np.asarray(fast(x, training=True)) for _ in range(2)]
    assert np.abs(first - second).max() > 1e-3
    np.testing.assert_allclose(second, np.asarray([stock(x, training=True) for _ in range(2)][1]),
                               atol=1e-5)


def test_stock_code_runs_where_the_fast_loop_does_not_apply():
    assert not LSTM(4, recurrent_dropout=0.0).uses_fast_loop()
    assert not LSTM(4, recurrent_dropout=0.2, unroll=True).uses_fast_loop()
    assert not LSTM(4, recurrent_dropout=0.2).uses_fast_loop(mask=np.ones((1, 7), bool))
    x = np.random.default_rng(0).normal(size=(2, 7, 5)).astype("float32")
    mask = np.array([[1] * 7, [1] * 4 + [0] * 3], bool)
    stock, fast = pair(recurrent_dropout=0.3, return_sequences=True)
    np.testing.assert_allclose(fast(x, mask=mask), stock(x, mask=mask), atol=1e-6)


def test_bidirectional_lstm_uses_it_when_faithful():
    x = keras.Input((9, 5))
    faithful = blocks.bidirectional_lstm(x, 4, recurrent_dropout=0.2)
    layer = faithful._keras_history.operation
    assert layer.name == "bilstm" and type(layer.forward_layer) is LSTM
    assert type(layer.backward_layer) is LSTM and layer.backward_layer.go_backwards
    plain = blocks.bidirectional_lstm(x, 4, recurrent_dropout=0.0, name="other")
    assert type(plain._keras_history.operation.forward_layer) is keras.layers.LSTM
    seya = blocks.bidirectional_lstm(x, 4, recurrent_dropout=0.2, backward_in_reverse=False)
    concat = seya._keras_history.operation
    assert all(type(t._keras_history.operation) is LSTM for t in concat.input)


@pytest.fixture(scope="module")
def crnn_pair():
    """A small faithful CRNN (fast LSTM) and its stock-LSTM copy, and a batch."""
    fast = models.build_model(models.resolve_config("crnn-320-projection", **SMALL_CRNN))
    x = np.eye(4, dtype="float32")[np.random.default_rng(0).integers(0, 4, (2, 200))]
    return fast, to_stock_lstm(fast), x


def test_to_stock_lstm_same_variables_and_outputs(crnn_pair):
    fast, stock, x = crnn_pair
    assert [type(stock.get_layer("bilstm").forward_layer)] == [keras.layers.LSTM]
    assert [(w.path, w.shape) for w in stock.weights] == [(w.path, w.shape) for w in fast.weights]
    assert stock.count_params() == fast.count_params()
    np.testing.assert_allclose(fast.predict_on_batch(x), stock.predict_on_batch(x), atol=1e-6)


def test_weights_interchange_both_ways(crnn_pair, tmp_path):
    fast, stock, x = crnn_pair
    config = models.resolve_config("crnn-320-projection", **SMALL_CRNN)
    expected = fast.predict_on_batch(x)
    fast.save_weights(tmp_path / "fast.weights.h5")
    fresh_stock = to_stock_lstm(models.build_model(config))
    fresh_stock.load_weights(tmp_path / "fast.weights.h5")
    np.testing.assert_allclose(fresh_stock.predict_on_batch(x), expected, atol=1e-6)
    stock.save_weights(tmp_path / "stock.weights.h5")
    fresh_fast = models.build_model(config)
    fresh_fast.load_weights(tmp_path / "stock.weights.h5")
    np.testing.assert_allclose(fresh_fast.predict_on_batch(x), expected, atol=1e-6)


def test_keras_file_round_trip(crnn_pair, tmp_path):
    fast, _, x = crnn_pair
    fast.save(tmp_path / "fast.keras")
    loaded = keras.models.load_model(tmp_path / "fast.keras")
    assert type(loaded.get_layer("bilstm").forward_layer) is LSTM
    np.testing.assert_allclose(loaded.predict_on_batch(x), fast.predict_on_batch(x), atol=1e-6)


def test_keras_internals_it_relies_on():
    """Fails loudly if Keras changes what models.lstm.LSTM overrides or reads."""
    params = list(inspect.signature(keras.layers.LSTM.inner_loop).parameters)
    assert params == ["self", "sequences", "initial_state", "mask", "training"]
    assert "self.inner_loop(" in inspect.getsource(keras.layers.RNN.call)
    layer = keras.layers.LSTM(3, recurrent_dropout=0.2, dropout=0.1, name="lstm")
    layer.build((None, 4, 2))
    cell = layer.cell
    for name in ("kernel", "recurrent_kernel", "bias", "units", "use_bias", "activation",
                 "recurrent_activation", "dropout", "recurrent_dropout", "get_dropout_mask",
                 "get_recurrent_dropout_mask", "reset_recurrent_dropout_mask"):
        assert hasattr(cell, name), name
    assert cell.dropout_mask_count == 4  # one mask per gate, in kernel order i, f, c, o
    assert [w.path for w in layer.weights] == [
        "lstm/lstm_cell/kernel", "lstm/lstm_cell/recurrent_kernel", "lstm/lstm_cell/bias"]
    # the getter caches: what RNN.call creates before the loop is what inner_loop reads
    masks = cell.get_recurrent_dropout_mask(np.ones((2, 3), "float32"))
    assert len(masks) == 4 and cell.get_recurrent_dropout_mask(None) is masks
    cell.reset_recurrent_dropout_mask()


def test_mixed_bfloat16_matches_stock_under_the_same_policy():
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype("float32")
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        stock, fast = pair(recurrent_dropout=0.3, recurrent_activation=blocks.keras2_hard_sigmoid,
                           return_sequences=True)
        (y_stock, g_stock), (y_fast, g_fast) = run(stock, x, True), run(fast, x, True)
    finally:
        keras.config.set_dtype_policy("float32")
    assert y_fast[0].dtype == y_stock[0].dtype == "bfloat16"
    np.testing.assert_allclose(y_fast[0].astype("float32"), y_stock[0].astype("float32"), atol=0.02)
    for a, b in zip(g_stock, g_fast):
        np.testing.assert_allclose(np.asarray(b, "float32"), np.asarray(a, "float32"), atol=0.05)
