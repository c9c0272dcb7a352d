"""The paper's training protocol, as a library (train.py is its command line).

* :mod:`training.settings` — :class:`TrainSettings` (defaults = the paper's protocol), checks,
  resume merging, model config resolution (no Keras import at module load).
* :mod:`training.callbacks` — Keras 2.0.8-counting ReduceLROnPlateau / EarlyStopping with resumable
  state, and the run recorder (history, best model, checkpoints, dropout reseeding).
* :mod:`training.devices` — logical devices, distribution strategy, the cuDNN report.
* :mod:`training.loop` — :func:`~training.loop.start`: run directory -> model, data, fit.
"""
