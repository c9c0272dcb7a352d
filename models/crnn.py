"""The paper's CRNN of the full-data experiments (Table 1)."""
from __future__ import annotations

import keras
from keras import layers

from models.blocks import (bidirectional_lstm, check_gate, check_lengths, check_non_negative_int,
                           check_positive_int, check_rate, conv_block, leaky_relu_001,
                           output_block, projection_block)


def build_crnn(sequence_length: int = 1000, num_targets: int = 919, *, filters: int = 320,
               projection_dim: int = 64, dropout: float = 0.15, conv2_filters: int = 96,
               lstm_units: int = 300, recurrent_dropout: float = 0.2,
               gate: str = "keras2_hard_sigmoid", hidden_units: int = 919,
               output_dtype: str | None = None) -> keras.Model:
    """conv(filters, 30) -> pool 7 -> [projection] -> dropout -> conv(96, 11) -> pool 2 ->
    BiLSTM (return sequences) -> global mean over time -> dense ``hidden_units`` -> sigmoid output.

    Leaky ReLU (0.01) on conv and hidden layers. The second conv has 96 filters as in the
    authors' code and Table 1's parameter counts (the paper's text says 128: an erratum).
    The hidden layer has 919 units whatever ``num_targets`` is, as in the paper.
    ``output_dtype`` is the ``predictions`` layer's dtype policy (see ``output_block``).
    """
    check_positive_int("filters", filters)
    check_non_negative_int("projection_dim", projection_dim)
    check_rate("dropout", dropout)
    check_positive_int("conv2_filters", conv2_filters)
    check_positive_int("lstm_units", lstm_units)
    check_rate("recurrent_dropout", recurrent_dropout)
    check_gate(gate)
    check_positive_int("hidden_units", hidden_units)
    check_positive_int("num_targets", num_targets)
    check_lengths("crnn", sequence_length, [("conv1/pool1", 30, 7), ("conv2/pool2", 11, 2)])

    inputs = keras.Input((sequence_length, 4), name="sequence")
    x = conv_block(inputs, filters, 30, 7, activation=leaky_relu_001, name="conv1", pool_name="pool1")
    x = projection_block(x, projection_dim)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = conv_block(x, conv2_filters, 11, 2, activation=leaky_relu_001, name="conv2", pool_name="pool2")
    x = bidirectional_lstm(x, lstm_units, gate=gate, recurrent_dropout=recurrent_dropout)
    x = layers.GlobalAveragePooling1D(name="global_mean")(x)
    x = layers.Dense(hidden_units, activation=leaky_relu_001, name="hidden")(x)
    return keras.Model(inputs, output_block(x, num_targets, output_dtype), name="crnn")
