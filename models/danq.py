"""DanQ-style convolutional-recurrent models: the paper's reduced DanQ and the published two."""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from models.blocks import (bidirectional_lstm, check_gate, check_lengths, check_non_negative_int,
                           check_positive_int, check_rate, conv_block, leaky_relu_001,
                           output_block, projection_block)


def _danq_like(family: str, sequence_length: int, num_targets: int, *, filters: int,
               kernel_size: int, pool_size: int, activation, projection_dim: int, dropout: float,
               lstm_units: int, recurrent_dropout: float, gate: str, backward_in_reverse: bool,
               lstm_dropout: float, hidden_units: int,
               output_dtype: str | None) -> keras.Model:
    """conv -> pool -> [projection] -> dropout -> BiLSTM (sequences) -> dropout -> flatten ->
    dense hidden -> sigmoid output: the DanQ layout shared by all three builders.
    ``output_dtype`` is the ``predictions`` layer's dtype policy (see ``output_block``)."""
    check_positive_int("filters", filters)
    check_non_negative_int("projection_dim", projection_dim)
    check_rate("dropout", dropout)
    check_positive_int("lstm_units", lstm_units)
    check_rate("recurrent_dropout", recurrent_dropout)
    check_gate(gate)
    if not isinstance(backward_in_reverse, bool):
        raise ValueError(f"backward_in_reverse={backward_in_reverse!r} is not allowed; expected True or False")
    check_rate("lstm_dropout", lstm_dropout)
    check_positive_int("hidden_units", hidden_units)
    check_positive_int("num_targets", num_targets)
    check_lengths(family, sequence_length, [("conv1/pool1", kernel_size, pool_size)])

    inputs = keras.Input((sequence_length, 4), name="sequence")
    x = conv_block(inputs, filters, kernel_size, pool_size, activation=activation, name="conv1",
                   pool_name="pool1")
    x = projection_block(x, projection_dim)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = bidirectional_lstm(x, lstm_units, gate=gate, recurrent_dropout=recurrent_dropout,
                           backward_in_reverse=backward_in_reverse)
    x = layers.Dropout(lstm_dropout, name="lstm_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hidden_units, activation=activation, name="hidden")(x)
    outputs = output_block(x, num_targets, output_dtype)
    return keras.Model(inputs, outputs, name=family.replace("-", "_"))


def build_danq(sequence_length: int = 500, num_targets: int = 919, *, filters: int = 320,
               projection_dim: int = 0, dropout: float = 0.0, lstm_units: int = 100,
               recurrent_dropout: float = 0.0, gate: str = "keras2_hard_sigmoid",
               lstm_dropout: float = 0.5, hidden_units: int = 925,
               output_dtype: str | None = None) -> keras.Model:
    """The paper's reduced-data DanQ (Fig. 1 right): DanQ with Leaky ReLU (0.01) and
    100 LSTM units per direction; conv(filters, 26) -> pool 13 -> ... -> dense 925 -> output."""
    return _danq_like("danq", sequence_length, num_targets, filters=filters, kernel_size=26,
                      pool_size=13, activation=leaky_relu_001, projection_dim=projection_dim,
                      dropout=dropout, lstm_units=lstm_units, recurrent_dropout=recurrent_dropout,
                      gate=gate, backward_in_reverse=True, lstm_dropout=lstm_dropout,
                      hidden_units=hidden_units, output_dtype=output_dtype)


def build_danq_original(sequence_length: int = 1000, num_targets: int = 919, *, filters: int = 320,
                        projection_dim: int = 0, dropout: float = 0.2, lstm_units: int = 320,
                        recurrent_dropout: float = 0.0, gate: str = "keras2_hard_sigmoid",
                        backward_in_reverse: bool = True, lstm_dropout: float = 0.5,
                        hidden_units: int = 925, output_dtype: str | None = None) -> keras.Model:
    """Published DanQ (Quang & Xie 2016): conv(320, 26) ReLU -> pool 13 -> dropout 0.2 ->
    BiLSTM 320 -> dropout 0.5 -> flatten -> dense 925 ReLU -> output. Theano hard-sigmoid gates."""
    return _danq_like("danq-original", sequence_length, num_targets, filters=filters,
                      kernel_size=26, pool_size=13, activation="relu",
                      projection_dim=projection_dim, dropout=dropout, lstm_units=lstm_units,
                      recurrent_dropout=recurrent_dropout, gate=gate,
                      backward_in_reverse=backward_in_reverse, lstm_dropout=lstm_dropout,
                      hidden_units=hidden_units, output_dtype=output_dtype)


def build_danq_jaspar(sequence_length: int = 1000, num_targets: int = 919, *, filters: int = 1024,
                      projection_dim: int = 0, dropout: float = 0.2, lstm_units: int = 512,
                      recurrent_dropout: float = 0.0, gate: str = "keras2_hard_sigmoid",
                      backward_in_reverse: bool = True, lstm_dropout: float = 0.5,
                      hidden_units: int = 925, jaspar_init: bool = False,
                      jaspar_seed: int | None = None,
                      output_dtype: str | None = None) -> keras.Model:
    """Published DanQ-JASPAR: conv(1024, 30) ReLU -> pool 15 -> dropout 0.2 -> BiLSTM 512 ->
    dropout 0.5 -> flatten -> dense 925 ReLU -> output.

    ``jaspar_init=True`` writes the JASPAR CORE 2016 vertebrate motifs into the first
    filters as DanQ's training script did (see ``models.jaspar_init``), drawing offsets and
    biases from ``numpy.random.default_rng(jaspar_seed)``.
    """
    if not isinstance(jaspar_init, bool):
        raise ValueError(f"jaspar_init={jaspar_init!r} is not allowed; expected True or False")
    if jaspar_seed is not None and (isinstance(jaspar_seed, bool) or not isinstance(jaspar_seed, int)
                                    or jaspar_seed < 0):
        raise ValueError(f"jaspar_seed={jaspar_seed!r} is not allowed; expected None or an integer >= 0")
    model = _danq_like("danq-jaspar", sequence_length, num_targets, filters=filters,
                       kernel_size=30, pool_size=15, activation="relu",
                       projection_dim=projection_dim, dropout=dropout, lstm_units=lstm_units,
                       recurrent_dropout=recurrent_dropout, gate=gate,
                       backward_in_reverse=backward_in_reverse, lstm_dropout=lstm_dropout,
                       hidden_units=hidden_units, output_dtype=output_dtype)
    if jaspar_init:
        from models.jaspar_init import init_conv_from_jaspar  # needs pyjaspar's database

        init_conv_from_jaspar(model.get_layer("conv1"), np.random.default_rng(jaspar_seed))
    return model
