"""DeepSEA (Zhou & Troyanskaya 2015), as published, for loading its weights."""
from __future__ import annotations

import keras
from keras import layers

from models.blocks import (check_lengths, check_non_negative_int, check_positive_int,
                           check_rate, conv_block, deepsea_threshold, output_block,
                           projection_block)


def build_deepsea(sequence_length: int = 1000, num_targets: int = 919, *, filters: int = 320,
                  projection_dim: int = 0, dropout: float = 0.2, conv2_dropout: float = 0.2,
                  conv3_dropout: float = 0.5, hidden_units: int = 925,
                  output_dtype: str | None = None) -> keras.Model:
    """conv(filters, 8) -> pool 4 -> [projection] -> dropout -> conv(480, 8) -> pool 4 ->
    dropout -> conv(960, 8) -> dropout -> flatten -> dense ``hidden_units`` -> sigmoid output.

    Activations are Torch's ``Threshold(0, 1e-6)``. Dropout rates follow DeepSEA's
    training (0.2, 0.2, 0.5); they do nothing at inference. ``output_dtype`` is the
    ``predictions`` layer's dtype policy (see ``output_block``).
    """
    check_positive_int("filters", filters)
    check_non_negative_int("projection_dim", projection_dim)
    check_rate("dropout", dropout)
    check_rate("conv2_dropout", conv2_dropout)
    check_rate("conv3_dropout", conv3_dropout)
    check_positive_int("hidden_units", hidden_units)
    check_positive_int("num_targets", num_targets)
    check_lengths("deepsea", sequence_length,
                  [("conv1/pool1", 8, 4), ("conv2/pool2", 8, 4), ("conv3", 8, None)])

    inputs = keras.Input((sequence_length, 4), name="sequence")
    x = conv_block(inputs, filters, 8, 4, activation=deepsea_threshold, name="conv1", pool_name="pool1")
    x = projection_block(x, projection_dim)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = conv_block(x, 480, 8, 4, activation=deepsea_threshold, name="conv2", pool_name="pool2")
    x = layers.Dropout(conv2_dropout, name="dropout2")(x)
    x = conv_block(x, 960, 8, None, activation=deepsea_threshold, name="conv3")
    x = layers.Dropout(conv3_dropout, name="dropout3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden_units, activation=deepsea_threshold, name="hidden")(x)
    return keras.Model(inputs, output_block(x, num_targets, output_dtype), name="deepsea")
