"""The paper's training protocol, as a library (train.py is its command line).

* :mod:`training.settings` — :class:`TrainSettings` (defaults = the paper's protocol), checks,
  resume merging, model config resolution (no Keras import at module load).
* :mod:`training.callbacks` — Keras 2.0.8-counting ReduceLROnPlateau / EarlyStopping with resumable
  state, and the run recorder (history, best model, checkpoints, dropout reseeding).
* :mod:`training.devices` — logical CPU devices, the cuDNN report.
* :mod:`training.distributed` — the strategy for ``--distribute``, the cluster (TF_CONFIG or
  SLURM), the chief, and the multi-worker training loop (Keras ``Model.fit`` cannot train there).
* :mod:`training.loop` — :func:`~training.loop.start`: run directory -> model, data, fit.
"""
