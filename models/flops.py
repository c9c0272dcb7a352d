"""Multiply-adds of a built model, counted from its layers (per input sequence).

Counted: the multiply-adds of Conv1D, Dense and LSTM layers (also inside Bidirectional):
``Conv1D`` ``out_length * kernel_size * in_channels * filters``, ``Dense``
``positions * in_features * units``, ``LSTM`` ``time * 4 * units * (in_features + units)``
per direction. Bias adds, activations, pooling, dropout and the LSTM's elementwise gate
arithmetic are not counted (they are a few per output element, against hundreds of
multiply-adds).

Training-step convention: one multiply-add is 2 FLOPs and a training step costs 3 times
the forward pass (forward, gradient with respect to the input, gradient with respect to
the weights). TensorFlow skips the input gradient of a layer fed by the model's input,
so ``executed_training_flops`` counts that layer twice, not three times.
"""
from __future__ import annotations

import keras

TRAINING_MULTIPLIER = 3  # forward + input gradient + weight gradient


def _lstm_macs(layer, input_shape) -> int:
    time, features = input_shape[-2], input_shape[-1]
    return time * 4 * layer.units * (features + layer.units)


def layer_macs(layer, input_shape) -> int:
    """Forward multiply-adds of one layer for one sequence; ``input_shape`` without batch."""
    if isinstance(layer, keras.layers.Conv1D):
        out_length = layer.compute_output_shape((None, *input_shape))[1]
        return out_length * layer.kernel_size[0] * input_shape[-1] * layer.filters
    if isinstance(layer, keras.layers.Dense):
        positions = 1
        for size in input_shape[:-1]:
            positions *= size
        return positions * input_shape[-1] * layer.units
    if isinstance(layer, keras.layers.LSTM):
        return _lstm_macs(layer, input_shape)
    if isinstance(layer, keras.layers.Bidirectional):
        return (layer_macs(layer.forward_layer, input_shape)
                + layer_macs(layer.backward_layer, input_shape))
    if isinstance(layer, (keras.layers.RNN, keras.layers.Conv2D, keras.layers.Conv3D,
                          keras.layers.Conv1DTranspose)):
        raise NotImplementedError(f"no multiply-add count for {type(layer).__name__} ({layer.name})")
    return 0


def forward_macs(model: keras.Model) -> dict[str, int]:
    """Forward multiply-adds per sequence of each counted layer of a functional model, by name."""
    counts = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.input.shape[1:])
        if any(size is None for size in shape):
            raise ValueError(f"layer {layer.name} has an unknown input size {shape}; "
                             "build the model with a fixed sequence length")
        macs = layer_macs(layer, shape)
        if macs:
            counts[layer.name] = macs
    return counts


def training_flops(model: keras.Model) -> int:
    """FLOPs of one training step per sequence by the 3 x forward convention (module docstring)."""
    return 2 * TRAINING_MULTIPLIER * sum(forward_macs(model).values())


def executed_training_flops(model: keras.Model) -> int:
    """Training FLOPs per sequence without the input gradient of layers fed by the model input."""
    first = {layer.name for layer in model.layers
             if not isinstance(layer, keras.layers.InputLayer)
             and any(layer.input is t for t in model.inputs)}
    return sum(2 * (2 if name in first else 3) * macs for name, macs in forward_macs(model).items())
