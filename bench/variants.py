"""Builds of a preset that differ only in how they compute: LSTM build and dtype policy."""
from __future__ import annotations

#: ``fast``: the default build (``models.lstm.LSTM`` where recurrent dropout is on);
#: ``stock``: the same maths on ``keras.layers.LSTM``; ``plain``: stock LSTM with Keras'
#: sigmoid gate, what an unmodified Keras model of the same shape costs.
LSTM_BUILDS = ("fast", "stock", "plain")


def build_variant(preset: str, lstm: str = "fast", *, policy: str = "float32"):
    """Uncompiled model of ``preset`` with LSTM build ``lstm`` under dtype ``policy`` (the global
    policy is restored afterwards); under a mixed policy the output layer is float32."""
    import keras

    import models
    from models.lstm import to_stock_lstm

    if lstm not in LSTM_BUILDS:
        raise ValueError(f"lstm={lstm!r} is not allowed; expected one of {', '.join(LSTM_BUILDS)}")
    config = models.resolve_config(preset)
    if lstm == "plain" and "gate" in config:
        config["gate"] = "sigmoid"
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = models.build_model(config, output_dtype="float32" if policy != "float32" else None)
        if lstm != "fast":
            model = to_stock_lstm(model)
    finally:
        keras.config.set_dtype_policy(previous)
    return model
