"""Read what train.py / evaluate.py leave in a run directory (config, history, metrics)."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

import fileio
from cli import UserError


class AnalysisError(UserError, ValueError):
    """A problem the user can fix (missing or malformed run files); the message names the file."""


def read_json(path: str | os.PathLike) -> dict:
    """Load a JSON object (:func:`fileio.read_json`), its one-line errors as :class:`AnalysisError`."""
    try:
        return fileio.read_json(path)
    except fileio.FileReadError as exc:
        raise AnalysisError(str(exc)) from None


def write_json(path: str | os.PathLike, data: dict) -> Path:
    """Write JSON atomically (:func:`fileio.write_json`: sorted keys, non-finite floats as null)."""
    return fileio.write_json(path, data)


def load_config(run_dir: str | os.PathLike) -> dict:
    """The run's ``config.json``."""
    return read_json(Path(run_dir) / "config.json")


def model_config(config: dict, source: str = "config.json") -> dict:
    """The model part of a run config: the dict holding ``family`` (top level or nested one level)."""
    if "family" in config:
        return config
    for value in config.values():
        if isinstance(value, dict) and "family" in value:
            return value
    raise AnalysisError(f"{source}: no model configuration (no 'family' key)")


def variant_of(model_cfg: dict) -> str:
    """One of the four Fig. 1 variants: plain, dropout, projection, projection+dropout.

    Projection means ``projection_dim > 0``; dropout means a first-layer dropout rate > 0.
    """
    projection = (model_cfg.get("projection_dim") or 0) > 0
    dropout = (model_cfg.get("dropout") or 0) > 0
    return {(False, False): "plain", (False, True): "dropout",
            (True, False): "projection", (True, True): "projection+dropout"}[(projection, dropout)]


def read_history(run_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """``history.csv`` as float arrays keyed by column (``epoch``, ``loss``, ``val_loss``, ``lr``)."""
    path = Path(run_dir) / "history.csv"
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise AnalysisError(f"{path}: file not found (has the run trained?)") from None
    if not rows:
        raise AnalysisError(f"{path}: no epochs recorded")
    missing = {"epoch", "val_loss"} - set(rows[0])
    if missing:
        raise AnalysisError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    history = {}
    for column in rows[0]:
        try:
            history[column] = np.array([float(row[column]) if row[column] not in ("", None) else np.nan
                                        for row in rows])
        except ValueError as exc:
            raise AnalysisError(f"{path}: column {column!r} is not numeric ({exc})") from None
    return history
