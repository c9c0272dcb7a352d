"""Shared building blocks of every model family: activations, conv/projection/LSTM blocks.

The custom activations are registered with Keras under the package name
``projection_layers`` so a saved ``.keras`` file reloads with plain
``keras.models.load_model`` once ``models`` (or ``models.blocks``) has been imported.
"""
from __future__ import annotations

import keras
from keras import layers, ops

PACKAGE = "projection_layers"
GATES = ("keras2_hard_sigmoid", "sigmoid")


@keras.saving.register_keras_serializable(package=PACKAGE)
def keras2_hard_sigmoid(x):
    """Keras 2 / Theano hard sigmoid, ``clip(0.2 x + 0.5, 0, 1)``.

    The LSTM gate function of Keras <= 2.x and of DanQ's Theano code. Keras 3's
    ``hard_sigmoid`` is a different function (``relu6(x + 3) / 6``, slope 1/6).
    """
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
def leaky_relu_001(x):
    """Leaky ReLU with slope 0.01 for x < 0, the paper's activation everywhere."""
    return ops.leaky_relu(x, negative_slope=0.01)


@keras.saving.register_keras_serializable(package=PACKAGE)
def deepsea_threshold(x):
    """Torch ``nn.Threshold(0, 1e-6)`` as DeepSEA used it: x if x > 0 else 1e-6."""
    return ops.where(x > 0, x, ops.cast(1e-6, x.dtype))


def conv_block(x, filters: int, kernel_size: int, pool_size: int | None, *, activation,
               name: str, pool_name: str | None = None):
    """Valid-padded Conv1D (activation inside the layer) then optional max-pool, stride = size.

    The activation lives inside the conv layer so ``model.get_layer(name).output`` is
    the activated feature map that motif analysis needs.
    """
    x = layers.Conv1D(filters, kernel_size, padding="valid", activation=activation, name=name)(x)
    if pool_size:
        x = layers.MaxPooling1D(pool_size, strides=pool_size, name=pool_name or f"pool_{name}")(x)
    return x


def projection_block(x, projection_dim: int, *, name: str = "projection"):
    """The paper's projection: a linear 1x1 convolution without bias (identity if dim is 0)."""
    if not projection_dim:
        return x
    return layers.Conv1D(projection_dim, 1, use_bias=False, activation=None, name=name)(x)


def gate_activation(gate: str):
    """LSTM recurrent activation for a config ``gate`` value."""
    if gate == "keras2_hard_sigmoid":
        return keras2_hard_sigmoid
    if gate == "sigmoid":
        return "sigmoid"
    raise ValueError(f"gate={gate!r} is not allowed; expected one of {', '.join(GATES)}")


def bidirectional_lstm(x, units: int, *, gate: str = "keras2_hard_sigmoid",
                       recurrent_dropout: float = 0.0, return_sequences: bool = True,
                       backward_in_reverse: bool = True, name: str = "bilstm"):
    """Bidirectional LSTM, outputs concatenated forward first.

    ``backward_in_reverse=True`` is a ``keras.layers.Bidirectional`` named ``name``.
    ``False`` reproduces upstream seya's bug, where the "backward" LSTM also ran forward
    in time: two LSTMs ``{name}_forward`` / ``{name}_backward`` on the same input,
    concatenated in a layer named ``name``. Published DanQ weights may need either.
    """
    # Recurrent dropout makes Keras' LSTMCell run its slow per-gate step; models.lstm.LSTM
    # computes the same function (same variables and masks) with the loop-invariant work
    # hoisted. Imported here because models.lstm imports this module.
    from models.lstm import LSTM

    lstm_class = LSTM if recurrent_dropout > 0 else layers.LSTM

    def lstm(layer_name):
        return lstm_class(units, activation="tanh", recurrent_activation=gate_activation(gate),
                          recurrent_dropout=recurrent_dropout, return_sequences=return_sequences,
                          name=layer_name)

    if backward_in_reverse:
        return layers.Bidirectional(lstm("lstm"), merge_mode="concat", name=name)(x)
    forward = lstm(f"{name}_forward")(x)
    backward = lstm(f"{name}_backward")(x)
    return layers.Concatenate(axis=-1, name=name)([forward, backward])


def output_block(x, num_targets: int, dtype: str | None = None):
    """Final dense layer with sigmoid, named ``predictions``.

    ``dtype`` is the layer's dtype policy (None: the global one). Under a mixed policy pass
    ``"float32"`` so the sigmoid outputs and the loss are computed in float32.
    """
    return layers.Dense(num_targets, activation="sigmoid", name="predictions", dtype=dtype)(x)


# --- hyperparameter checks shared by the builders (ValueError naming value and what is allowed)

def check_positive_int(name: str, value) -> int:
    """Return ``value`` if it is an int >= 1, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is not allowed; expected an integer >= 1")
    return value


def check_non_negative_int(name: str, value) -> int:
    """Return ``value`` if it is an int >= 0, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}={value!r} is not allowed; expected an integer >= 0 (0 = none)")
    return value


def check_rate(name: str, value) -> float:
    """Return ``value`` as float if it is a dropout rate in [0, 1), else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}={value!r} is not allowed; expected a rate in [0, 1)")
    return float(value)


def check_gate(value) -> str:
    """Return ``value`` if it names a supported LSTM gate activation, else raise ValueError."""
    if value not in GATES:
        raise ValueError(f"gate={value!r} is not allowed; expected one of {', '.join(GATES)}")
    return value


def check_lengths(family: str, sequence_length, stages) -> int:
    """Length after each valid conv (kernel) + pool (size) stage; all must be >= 1.

    ``stages`` is a sequence of ``(stage_name, kernel_size, pool_size or None)``.
    Returns the final length.
    """
    check_positive_int("sequence_length", sequence_length)
    length = sequence_length
    for stage, kernel, pool in stages:
        length = length - kernel + 1
        if pool:
            length //= pool
        if length < 1:
            raise ValueError(
                f"sequence_length={sequence_length} is too short for {family}: the length after "
                f"{stage} would be {length}; the paper uses 500 or 1000")
    return length
