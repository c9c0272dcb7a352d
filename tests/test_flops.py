"""models.flops against multiply-adds counted by hand from the layer shapes."""
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest

import models
from models import flops


def test_small_model_hand_count():
    x = keras.Input((50, 4))
    y = keras.layers.Conv1D(6, 5, name="c1")(x)                # length 46
    y = keras.layers.MaxPooling1D(2, name="p")(y)              # 23
    y = keras.layers.Conv1D(3, 1, use_bias=False, name="proj")(y)
    y = keras.layers.Bidirectional(keras.layers.LSTM(7, return_sequences=True), name="bi")(y)
    y = keras.layers.Dense(2, name="per_step")(y)              # on (23, 14)
    y = keras.layers.Flatten()(y)
    y = keras.layers.Dense(5, name="out")(y)                   # 46 -> 5
    model = keras.Model(x, y)
    expected = {"c1": 46 * 5 * 4 * 6, "proj": 23 * 6 * 3, "bi": 2 * 23 * 4 * 7 * (3 + 7),
                "per_step": 23 * 14 * 2, "out": 46 * 5}
    assert flops.forward_macs(model) == expected
    total = sum(expected.values())
    assert flops.training_flops(model) == 6 * total
    assert flops.executed_training_flops(model) == 6 * total - 2 * expected["c1"]


def test_crnn_320_projection_paper_arithmetic():
    model = models.build_model(models.resolve_config("crnn-320-projection"))
    # conv1 971 x (30*4) x 320, projection 138 x 320 x 64, conv2 128 x (11*64) x 96,
    # BiLSTM 2 x 64 steps x 4 x 300 x (96 + 300), hidden 600 x 919, output 919 x 919
    expected = {"conv1": 971 * 120 * 320, "projection": 138 * 320 * 64, "conv2": 128 * 704 * 96,
                "bilstm": 2 * 64 * 4 * 300 * 396, "hidden": 600 * 919, "predictions": 919 * 919}
    assert flops.forward_macs(model) == expected
    assert sum(expected.values()) == 110_984_953  # "111 M multiply-adds"


def test_unsupported_layer_is_refused():
    x = keras.Input((10, 4))
    model = keras.Model(x, keras.layers.GRU(3)(x))
    with pytest.raises(NotImplementedError, match="GRU"):
        flops.forward_macs(model)
