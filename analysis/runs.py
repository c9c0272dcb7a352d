"""What the figures read from run directories, through their one owner, ``rundir.RunDir``.

Everything ``analysis/`` reads from a run directory (written by train.py / evaluate.py) or writes
into it (the motif analysis) goes through the functions here, which ask ``rundir`` for every path;
only the files inside the motif-analysis folder, which analysis alone writes, are named here.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

import fileio
import rundir
from cli import UserError
from rundir import RunDir

# A synthetic bundle (python -m data.synthetic) holds its ground truth beside the .mat files.
_SYNTHETIC_TRUTH = "truth.json"
# What the motif analysis writes into its folder (by default RUN_DIR/motifs/).
_MOTIF_FILES = {"meme": "filters.meme", "table": "tomtom.tsv", "summary": "summary.json", "logos": "logos"}


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


# ----------------------------------------------------------------------------- config

def config_path(run_dir: str | os.PathLike) -> Path:
    """Where the run's configuration lives (for messages)."""
    return RunDir(run_dir).config_path


def load_config(run_dir: str | os.PathLike) -> dict:
    """The run's configuration (``config.json``, in the current schema)."""
    return RunDir.open(run_dir).config


def model_config(config: dict, source: str = "config.json") -> dict:
    """The model part of a run config: the dict holding ``family`` (top level or nested one level)."""
    if "family" in config:
        return config
    for value in config.values():
        if isinstance(value, dict) and "family" in value:
            return value
    raise AnalysisError(f"{source}: no model configuration (no 'family' key)")


def run_model_config(run_dir: str | os.PathLike) -> dict:
    """The model configuration of a run directory."""
    return model_config(load_config(run_dir), str(config_path(run_dir)))


def variant_of(model_cfg: dict) -> str:
    """One of the four Fig. 1 variants: plain, dropout, projection, projection+dropout.

    Projection means ``projection_dim > 0``; dropout means a first-layer dropout rate > 0.
    """
    projection = (model_cfg.get("projection_dim") or 0) > 0
    dropout = (model_cfg.get("dropout") or 0) > 0
    return {(False, False): "plain", (False, True): "dropout",
            (True, False): "projection", (True, True): "projection+dropout"}[(projection, dropout)]


def run_seed(config: dict) -> int | None:
    """The training seed recorded in a run config (top level or in ``args``), else None."""
    for source in (config, config.get("args") or {}):
        if isinstance(source.get("seed"), int):
            return source["seed"]
    return None


def data_dir(config: dict) -> Path | None:
    """The data directory a run was trained on, as recorded in its config (None if absent)."""
    data = config.get("data")
    path = data.get("path") if isinstance(data, dict) else data if isinstance(data, str) else None
    if path is None and isinstance(config.get("args"), dict):
        path = config["args"].get("data")
    return Path(path) if path else None


def is_synthetic(config: dict) -> bool:
    """Whether the run's data is a synthetic bundle (its data directory holds ``truth.json``)."""
    path = data_dir(config)
    return path is not None and (path / _SYNTHETIC_TRUTH).is_file()


def any_synthetic(run_dirs) -> bool:
    """Whether any of the runs was trained on synthetic data (figures must say so)."""
    return any(is_synthetic(load_config(r)) for r in run_dirs)


# ----------------------------------------------------------------------------- training state

def read_history(run_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """``history.csv`` as float arrays keyed by column (``epoch``, ``loss``, ``val_loss``, ``lr``, ...)."""
    run = RunDir(run_dir)
    if not run.history_path.is_file():
        raise AnalysisError(f"{run.history_path}: file not found (has the run trained?)")
    rows = run.history()
    if not rows:
        raise AnalysisError(f"{run.history_path}: no epochs recorded")
    missing = {"epoch", "val_loss"} - set(rows[0])
    if missing:
        raise AnalysisError(f"{run.history_path}: missing column(s) {', '.join(sorted(missing))}")
    return {column: np.array([np.nan if row[column] is None else float(row[column]) for row in rows])
            for column in rows[0]}


def has_trained_model(run_dir: str | os.PathLike) -> bool:
    """Whether the run has a best model and a history (a trained run)."""
    run = RunDir(run_dir)
    return run.best_model_path.is_file() and run.history_path.is_file()


def training_state(run_dir: str | os.PathLike) -> str:
    """``trained`` (training finished), ``partial`` (started) or ``new`` (no directory)."""
    run = RunDir(run_dir)
    if run.state_path.exists():
        try:
            finished = run.read_state().get("finished")
        except UserError:
            finished = None
        return "trained" if finished else "partial"
    return "partial" if run.path.exists() else "new"


def model_path(run_dir: str | os.PathLike) -> Path:
    """The run's best (lowest validation loss) model file."""
    return RunDir(run_dir).best_model_path


def load_run_model(run_dir: str | os.PathLike):
    """Load a run's best Keras model (``rundir.load_model``: the project's one model loader)."""
    return rundir.load_model(run_dir)


# ----------------------------------------------------------------------------- evaluation

def metrics_path(run_dir: str | os.PathLike, split: str = "test") -> Path:
    """Where evaluate.py writes the summary metrics of one split."""
    return RunDir(run_dir).metrics_path(split)


def has_metrics(run_dir: str | os.PathLike, split: str = "test") -> bool:
    """Whether the run has been evaluated on ``split``."""
    return metrics_path(run_dir, split).is_file()


def read_metrics(run_dir: str | os.PathLike, split: str = "test") -> dict:
    """The summary metrics of one split (``mean_auprc``, ...)."""
    return read_json(metrics_path(run_dir, split))


def evaluated_runs(root: str | os.PathLike, split: str = "test") -> list[Path]:
    """Run directories directly under ``root`` or one level deeper that have metrics for ``split``."""
    root = Path(root)
    name = RunDir.metrics_name(split)
    return sorted({p.parent for pattern in (f"*/{name}", f"*/*/{name}") for p in root.glob(pattern)})


def mean_auprc(run_dir: str | os.PathLike, split: str = "test") -> float:
    """Mean AUPRC over targets of one split (evaluate.py's ``mean_auprc``)."""
    value = read_metrics(run_dir, split).get("mean_auprc")
    if not isinstance(value, (int, float)):
        raise AnalysisError(f"{metrics_path(run_dir, split)}: no numeric 'mean_auprc'")
    return float(value)


def oracle_auprc(run_dir: str | os.PathLike, split: str = "test") -> float | None:
    """The AUPRC of the true label probabilities (the metrics' ``oracle``, synthetic data), if recorded."""
    value = (read_metrics(run_dir, split).get("oracle") or {}).get("mean_auprc")
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


def chance_auprc(run_dir: str | os.PathLike, split: str = "test") -> float | None:
    """AUPRC of a random ranking: the positive rate, averaged over the scored targets.

    From the metrics' ``mean_positive_rate`` when present, otherwise from the per-target
    positives and the number of sequence pairs; None if neither is there.
    """
    metrics = read_metrics(run_dir, split)
    if isinstance(metrics.get("mean_positive_rate"), (int, float)):
        return float(metrics["mean_positive_rate"])
    path = RunDir(run_dir).per_target_path(split)
    pairs = metrics.get("num_pairs")
    if not path.is_file() or not isinstance(pairs, int) or pairs < 1:
        return None
    with open(path, newline="") as handle:
        try:
            positives = np.array([float(row["positives"]) for row in csv.DictReader(handle, delimiter="\t")])
        except (KeyError, ValueError):
            raise AnalysisError(f"{path}: no numeric 'positives' column") from None
    scored = positives[positives > 0]
    return float(np.mean(scored / pairs)) if scored.size else None


# ----------------------------------------------------------------------------- analysis outputs

def motifs_dir(run_dir: str | os.PathLike) -> Path:
    """Default folder of the motif analysis of a run."""
    return RunDir(run_dir).motifs_dir


def motif_file(out_dir: str | os.PathLike, kind: str) -> Path:
    """A file of the motif analysis folder: ``meme``, ``table``, ``summary`` or ``logos`` (a figure stem)."""
    return Path(out_dir) / _MOTIF_FILES[kind]


def projection_similarity_path(run_dir: str | os.PathLike) -> Path:
    """Where the forward/reverse-complement cosine statistic of a projection run is written."""
    return RunDir(run_dir).projection_similarity_path
