"""Loading the model a subcommand uses, and checking that windows can be made for it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cli import UserError


class ModelInputError(UserError):
    """A model whose inputs predict.py cannot build (not a fixed-length (L, 4) one-hot)."""


@dataclass
class LoadedModel:
    """A Keras model with the facts every subcommand needs."""

    model: object
    path: Path
    sequence_length: int
    num_targets: int
    _predictor: object = None

    @property
    def predictor(self):
        """The strand-averaging predictor (compiled once, on first use)."""
        if self._predictor is None:
            from evaluation.predict import StrandPredictor

            self._predictor = StrandPredictor(self.model)
        return self._predictor


def check_model(model, path: str | os.PathLike) -> tuple[int, int]:
    """``(L, T)`` of a model taking one (batch, L, 4) input and giving one (batch, T) output."""
    inputs = model.inputs if hasattr(model, "inputs") else None
    if not inputs or len(inputs) != 1:
        raise ModelInputError(f"{path}: the model has {len(inputs or [])} inputs; predict.py needs one "
                              "(batch, L, 4) one-hot input")
    shape = tuple(inputs[0].shape)
    if len(shape) != 3 or shape[2] != 4:
        raise ModelInputError(f"{path}: the model takes inputs of shape {shape}; predict.py needs one-hot "
                              "DNA, (batch, L, 4)")
    if shape[1] is None:
        raise ModelInputError(f"{path}: the model takes inputs of any length {shape}; predict.py builds "
                              "windows of the model's fixed input length L, so the model needs one "
                              "(build it with a fixed sequence_length)")
    outputs = model.outputs
    if len(outputs) != 1 or len(outputs[0].shape) != 2 or outputs[0].shape[1] is None:
        raise ModelInputError(f"{path}: the model's output is not one (batch, targets) array "
                              f"({[tuple(o.shape) for o in outputs]})")
    return int(shape[1]), int(outputs[0].shape[1])


def load(path: str | os.PathLike) -> LoadedModel:
    """The model of a run directory (trained, or ``evaluate.py --published``) or a ``.keras`` file."""
    import rundir

    path = Path(path)
    model = rundir.load_model(path)
    length, targets = check_model(model, path)
    return LoadedModel(model, path, length, targets)
