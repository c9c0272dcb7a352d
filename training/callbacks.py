"""The paper's callbacks, counted as Keras 2.0.8 counted them, with state that survives a restart.

* :class:`PlateauLR` and :class:`EarlyStop`: ReduceLROnPlateau and EarlyStopping as in the
  authors' Keras 2.0.8, whose counters were checked before the epoch was counted (the first LR cut
  on the (patience + 1)-th epoch without improvement, the stop on the (patience + 1)-th; stock
  Keras 3 fires one epoch earlier). ``get_state()`` / ``restored`` carry their counters across a
  resume.
* :class:`RunRecorder`: per epoch, reseed dropout, record history, keep the best model, checkpoint.

Their counters (``best``, ``wait``, ``cooldown_counter``, ``best_epoch``, ``stopped_epoch``) are
attributes of the Keras callbacks, not documented API: tests/test_train.py fails if one disappears.
"""
from __future__ import annotations

import math
import time

import keras
import numpy as np

from rundir import RunDir


def as_float(value) -> float:
    return float(keras.ops.convert_to_numpy(value))


class _Resumable:
    """Mixin: ``get_state()`` returns ``state_keys``; a ``restored`` state sets ``restore_keys`` back
    at train begin."""

    state_keys: tuple[str, ...] = ()
    restore_keys: tuple[str, ...] = ()

    def __init__(self, *args, restored: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.restored = restored

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for key in self.restore_keys if self.restored else ():
            setattr(self, key, self.restored[key])

    def get_state(self) -> dict:
        return {key: getattr(self, key) for key in self.state_keys}


class PlateauLR(_Resumable, keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau counting as Keras 2.0.8 did: patience + 1, and a cut epoch counts."""

    state_keys = restore_keys = ("best", "wait", "cooldown_counter")

    def __init__(self, *, patience: int, restored: dict | None = None, **kwargs):
        super().__init__(patience=patience + 1, restored=restored, **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        before = as_float(self.model.optimizer.learning_rate)
        super().on_epoch_end(epoch, logs)
        if as_float(self.model.optimizer.learning_rate) < before:
            self.wait = 1


class EarlyStop(_Resumable, keras.callbacks.EarlyStopping):
    """EarlyStopping counting as Keras 2.0.8 did: it stops on the (patience + 1)-th epoch without
    improvement (2.0.8 checked ``wait >= patience`` before counting)."""

    state_keys = ("best", "wait", "best_epoch", "stopped_epoch")
    restore_keys = ("best", "wait", "best_epoch")

    def __init__(self, *, patience: int, restored: dict | None = None, **kwargs):
        super().__init__(patience=patience + 1, restored=restored, **kwargs)


def seed_generator_states(model) -> list:
    """The state variables of the model's random seed generators (dropout, recurrent dropout).

    Keras names them ``.../seed_generator_state`` (not documented API; a test fails if that changes).
    """
    return [v for v in model.non_trainable_variables if v.path.endswith("seed_generator_state")]


def reseed_dropout(model, seed: int, epoch: int) -> None:
    """Set every seed generator to a state fixed by (seed, epoch, generator order).

    Keras does not save seed-generator state with a model, so without this a resumed run would
    draw different dropout masks from an uninterrupted one.
    """
    for index, state in enumerate(seed_generator_states(model)):
        value = int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0] % 2**31)
        state.assign(np.array([value, 0], dtype=state.dtype))


class RunRecorder(keras.callbacks.Callback):
    """Per epoch: reseed dropout, record history, keep the best model, checkpoint everything.

    Must come after the plateau and early-stopping callbacks so it saves their updated counters.
    The run directory writes the checkpoint and then ``state.json`` naming it, so the state always
    describes a complete epoch. ``writer=False`` (a non-chief worker) records nothing.
    """

    def __init__(self, run: RunDir, state: dict, plateau: PlateauLR, early: EarlyStop, *, seed: int,
                 epochs: int, writer: bool = True):
        super().__init__()
        self.run = run
        self.state = state
        self.plateau = plateau
        self.early = early
        self.seed = seed
        self.epochs = epochs
        self.writer = writer
        self.history = list(state.get("history", []))
        self.best_val_loss = state.get("best_val_loss")
        self.epoch_lr = None
        self.epoch_start = None
        self.nan = None

    def on_epoch_begin(self, epoch, logs=None):
        reseed_dropout(self.model, self.seed, epoch)
        self.epoch_lr = as_float(self.model.optimizer.learning_rate)
        self.epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.nan = f"training loss became {float(loss)} at batch {batch + 1}"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        loss, val_loss = logs.get("loss"), logs.get("val_loss")
        for name, value in (("training", loss), ("validation", val_loss)):
            if self.nan is None and (value is None or not math.isfinite(value)):
                self.nan = f"{name} loss is {value}"
        if self.nan is not None:
            self.nan = f"epoch {epoch + 1}: {self.nan}"
            self.model.stop_training = True
            return
        self.history.append({"epoch": epoch + 1, "loss": float(loss), "val_loss": float(val_loss),
                             "lr": self.epoch_lr, "seconds": round(time.perf_counter() - self.epoch_start, 3)})
        improved = self.best_val_loss is None or val_loss < self.best_val_loss
        if improved:
            self.best_val_loss = float(val_loss)
            self.state["best_epoch"] = epoch + 1
        finished = None
        if self.model.stop_training:
            finished = "early_stopping"
        elif epoch + 1 >= self.epochs:
            finished = "max_epochs"
        if not self.writer:
            return
        if improved:
            self.run.save_best(self.model)
        self.run.write_history(self.history)
        self.state.update({
            "epoch": epoch + 1, "history": self.history, "best_val_loss": self.best_val_loss,
            "lr": as_float(self.model.optimizer.learning_rate),
            "iterations": int(as_float(self.model.optimizer.iterations)),
            "plateau": self.plateau.get_state(), "early_stopping": self.early.get_state(),
            "finished": finished, "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        self.run.save_checkpoint(self.model, epoch + 1, self.state)
