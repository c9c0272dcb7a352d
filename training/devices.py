"""Devices: logical CPU devices and the cuDNN report (strategies: :mod:`training.distributed`)."""
from __future__ import annotations

from typing import Any, Iterator


def configure_devices(cpu_devices: int) -> None:
    """Split the CPU into logical devices; must run before TensorFlow initialises its runtime."""
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)])


def iter_layers(layer) -> Iterator:
    """Every layer inside ``layer`` (a model), depth first, through public attributes only."""
    import keras

    for child in getattr(layer, "layers", ()):
        yield child
        if isinstance(child, keras.layers.Bidirectional):
            yield child.forward_layer
            yield child.backward_layer
        yield from iter_layers(child)


def lstm_cudnn_report(model, gpu_available: bool) -> dict[str, Any]:
    """Whether the model's LSTMs can take TensorFlow's cuDNN kernel, and if not, why."""
    import keras

    lstms = [layer for layer in iter_layers(model) if isinstance(layer, keras.layers.LSTM)]
    report = {"has_lstm": bool(lstms), "gpu_available": gpu_available, "cudnn_compatible_settings": None,
              "uses_cudnn": False, "reasons": []}
    if not lstms:
        return report
    reasons = []
    for layer in lstms:
        cell = layer.cell
        if cell.recurrent_dropout:
            reasons.append(f"{layer.name}: recurrent_dropout={cell.recurrent_dropout} > 0")
        if cell.recurrent_activation not in (keras.activations.sigmoid,):
            name = getattr(cell.recurrent_activation, "__name__", str(cell.recurrent_activation))
            reasons.append(f"{layer.name}: gate activation {name} is not sigmoid")
        if cell.activation not in (keras.activations.tanh,):
            reasons.append(f"{layer.name}: activation is not tanh")
        if layer.unroll or not cell.use_bias or layer.use_cudnn is False:
            reasons.append(f"{layer.name}: unroll, no bias or use_cudnn=False")
    reasons = list(dict.fromkeys(reasons))
    report["cudnn_compatible_settings"] = not reasons
    report["uses_cudnn"] = not reasons and gpu_available
    if not gpu_available:
        reasons.append("no GPU")
    report["reasons"] = reasons
    return report
