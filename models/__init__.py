"""Keras 3 model zoo of the paper: builders, shared blocks and the preset registry.

Importing this package registers the custom activations (``keras2_hard_sigmoid``,
``leaky_relu_001``, ``deepsea_threshold``) and the LSTM layer of ``models.lstm`` so saved
``.keras`` files reload with plain ``keras.models.load_model``.
"""
import cli

cli.quiet_tensorflow()  # Keras imports TensorFlow: keep its start-up lines off the user's terminal
from models import blocks, lstm  # noqa: E402,F401  (register the serializable custom objects)
from models.presets import PRESETS, build_model, get_preset, list_presets, resolve_config  # noqa: E402

__all__ = ["PRESETS", "build_model", "get_preset", "list_presets", "resolve_config", "blocks"]
