"""The paper's Basset-like CNN of the reduced-data experiments (Fig. 1 left, Fig. 2 left)."""
from __future__ import annotations

import keras
from keras import layers

from models.blocks import (check_lengths, check_non_negative_int, check_positive_int,
                           check_rate, conv_block, leaky_relu_001, output_block,
                           projection_block)


def build_cnn(sequence_length: int = 500, num_targets: int = 919, *, filters: int = 300,
              projection_dim: int = 0, dropout: float = 0.0, hidden_units: int = 2048,
              hidden_dropout: float = 0.5, output_dtype: str | None = None) -> keras.Model:
    """conv(filters, 19) -> pool 6 -> [projection] -> dropout -> conv(128, 11) -> pool 2 ->
    conv(256, 7) -> pool 2 -> flatten -> dense ``hidden_units`` -> dropout -> sigmoid output.

    Leaky ReLU (0.01) on every hidden layer, valid padding, pool stride = pool size.
    ``dropout`` is the rate after the first pool (after the projection when there is one).
    ``output_dtype`` is the ``predictions`` layer's dtype policy (see ``output_block``).
    """
    check_positive_int("filters", filters)
    check_non_negative_int("projection_dim", projection_dim)
    check_rate("dropout", dropout)
    check_positive_int("num_targets", num_targets)
    check_positive_int("hidden_units", hidden_units)
    check_rate("hidden_dropout", hidden_dropout)
    check_lengths("cnn", sequence_length,
                  [("conv1/pool1", 19, 6), ("conv2/pool2", 11, 2), ("conv3/pool3", 7, 2)])

    inputs = keras.Input((sequence_length, 4), name="sequence")
    x = conv_block(inputs, filters, 19, 6, activation=leaky_relu_001, name="conv1", pool_name="pool1")
    x = projection_block(x, projection_dim)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = conv_block(x, 128, 11, 2, activation=leaky_relu_001, name="conv2", pool_name="pool2")
    x = conv_block(x, 256, 7, 2, activation=leaky_relu_001, name="conv3", pool_name="pool3")
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden_units, activation=leaky_relu_001, name="hidden")(x)
    x = layers.Dropout(hidden_dropout, name="hidden_dropout")(x)
    return keras.Model(inputs, output_block(x, num_targets, output_dtype), name="cnn")
