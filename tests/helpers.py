"""Shared test helpers: small files in the published layouts, tiny models and run directories, CLIs.

Imported by the test modules (``from helpers import ...``); never import one test module from another.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


# --- data in the published layouts ------------------------------------------------------------------

def write_store(path: Path, codes: np.ndarray, labels: np.ndarray, splits: tuple[str, ...] = ("test",)) -> Path:
    """A tiny store in data/store.py's layout, the same codes uint8 (N, L) and labels (N, T) per split."""
    from data.store import STORE_ALPHABET, STORE_FORMAT, STORE_VERSION, labels_path, seq_path

    path.mkdir(parents=True, exist_ok=True)
    for split in splits:
        np.save(seq_path(path, split), codes.astype(np.uint8))
        np.save(labels_path(path, split), np.packbits(labels.astype(np.uint8), axis=1, bitorder="little"))
    meta = {"format": STORE_FORMAT, "version": STORE_VERSION, "alphabet": STORE_ALPHABET,
            "sequence_length": codes.shape[1], "num_targets": labels.shape[1],
            "splits": {split: {"num_samples": len(codes), "paired": split != "train"} for split in splits}}
    (path / "meta.json").write_text(json.dumps(meta))
    return path


def paired_data(rng, pairs: int, length: int, targets: int) -> tuple[np.ndarray, np.ndarray]:
    """Forward codes then their reverse complements (A,G,C,T codes: complement = 3 - code)."""
    fwd = rng.integers(0, 4, size=(pairs, length))
    rc = (3 - fwd)[:, ::-1]
    labels = (rng.random((pairs, targets)) < 0.3).astype(np.uint8)
    labels[0] = 1  # every target has a positive
    return np.concatenate([fwd, rc]), np.concatenate([labels, labels])


def write_keras02(path: Path, layers) -> None:
    """Keras 0.2 ``Sequential.save_weights``: nb_layers, layer_k groups, nb_params, param_i."""
    with h5py.File(path, "w") as f:
        f.attrs["nb_layers"] = len(layers)
        for k, params in enumerate(layers):
            g = f.create_group(f"layer_{k}")
            g.attrs["nb_params"] = len(params)
            for n, p in enumerate(params):
                if isinstance(p, tuple):  # shape only: lazily allocated, nothing written
                    g.create_dataset(f"param_{n}", shape=p, dtype="float32")
                else:
                    g.create_dataset(f"param_{n}", data=p)


# --- models and run directories --------------------------------------------------------------------

def asymmetric_model(length: int, targets: int, seed: int = 0):
    """A model that scores a sequence and its reverse complement differently (plain conv)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((length, 4))
    x = keras.layers.Conv1D(6, 5, activation="relu")(inputs)
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(targets, activation="sigmoid", name="predictions")(x)
    return keras.Model(inputs, outputs)


def save_run(run_dir: Path, model, length: int, preset: str = "tiny-test", **extra) -> Path:
    """A trained-run directory through rundir (config.json in the run schema, best_model.keras)."""
    from rundir import RunDir

    run = RunDir(run_dir)
    run.create({"kind": "trained", "name": preset, "preset": preset,
                "model": {"family": "test", "sequence_length": length,
                          "num_targets": int(model.outputs[0].shape[-1])},
                "params": model.count_params(), **extra})
    run.save_best(model)
    run.unlock()
    return run_dir


def strand_predictions(model, split, length=None):
    """Forward-half and reverse-half predictions of a paired split, and all its labels."""
    n = split.num_samples
    x, y = split.read(np.arange(n), length)
    p = np.asarray(model(x, training=False), dtype=np.float32)
    return p[: n // 2], p[n // 2:], y


def bce(y, p) -> float:
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


# --- commands as a user runs them -------------------------------------------------------------------

def cli_env(**extra) -> dict:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONHASHSEED="0", **extra)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the commands themselves must keep TensorFlow quiet
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_cli(script: str, *args: str, check: bool = True, timeout: int = 300, preexec_fn=None,
            **popen) -> subprocess.CompletedProcess:
    """Run ``python SCRIPT ARGS`` (a top-level command or ``-m module``) in a subprocess."""
    command = [sys.executable, *(["-m", script[3:]] if script.startswith("-m ") else [str(ROOT / script)]), *args]
    result = subprocess.run(command, cwd=popen.pop("cwd", ROOT), env=popen.pop("env", cli_env()),
                            capture_output=True, text=True, timeout=timeout, preexec_fn=preexec_fn, **popen)
    if check and result.returncode != 0:
        raise AssertionError(f"{script} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


def one_error_line(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (asserting it is exactly one 'error:' line)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout + result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def write_run_config(run_dir: Path, model: dict, *, data: Path | None = None, seed: int | None = None,
                     **extra) -> Path:
    """A run directory holding only config.json in the run schema (for tests of the readers)."""
    from fileio import write_json
    from rundir import SCHEMA

    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"schema": SCHEMA, "kind": "trained", "name": run_dir.name,
              "model": {"sequence_length": 500, "num_targets": 919, **model}, **extra}
    if data is not None:
        config["data"] = {"path": str(data)}
    if seed is not None:
        config["args"] = {"seed": seed}
        config["seed"] = seed
    write_json(run_dir / "config.json", config)
    return run_dir
