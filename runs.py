"""Run-directory utilities shared by train.py, evaluate.py and analysis.

A run directory is self-describing: everything needed to know how a result was made
(settings, data fingerprint, package versions, git commit, device) is written next to it
as JSON or CSV. Every write here is atomic (temporary file in the same folder, then
``os.replace``), so a crash at any moment leaves either the old file or the new one.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

CONFIG_NAME = "config.json"
HISTORY_NAME = "history.csv"
BEST_MODEL_NAME = "best_model.keras"
CHECKPOINT_DIR = "checkpoint"
HISTORY_FIELDS = ("epoch", "loss", "val_loss", "lr")

# Packages whose versions go into every run config.
VERSIONED_PACKAGES = ("tensorflow", "keras", "numpy", "h5py", "scipy", "scikit-learn")

REPO_DIR = Path(__file__).resolve().parent


class RunDirError(ValueError):
    """A problem with a run directory the user can fix; the message names the path."""


# --- atomic writes -----------------------------------------------------------------------

def temp_sibling(path: str | os.PathLike) -> str:
    """Create an empty temporary file beside ``path`` (creating its folder) and return its name.

    The name is ``.NAME.XXXX.tmp.SUFFIX``: hidden, and ending in ``path``'s own suffix, since
    some writers (Keras, matplotlib) insist on it. It gets the usual permissions (not mkstemp's 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``, on error removed.

    For libraries that write files themselves (matplotlib ``savefig``, h5py, Keras ``save``)::

        with atomic_path("fig.png") as tmp:
            fig.savefig(tmp, format="png")
    """
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling and ``os.replace`` (fsynced)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, like :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _json_default(value: Any):
    """Make numpy scalars and paths JSON-serialisable."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _clean_floats(value: Any) -> Any:
    """Plain JSON values: numpy scalars as Python numbers, non-finite floats as None (so the JSON
    stays standard: no NaN/Infinity tokens), tuples as lists, and mapping keys that JSON cannot
    take (numpy integers, tuples) as their ``str``."""
    if isinstance(value, Mapping):
        return {(k if k is None or isinstance(k, (str, int, float)) else str(k)): _clean_floats(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_floats(v) for v in value]
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(data: Any, *, sort_keys: bool = True) -> str:
    """Indented JSON text ending in a newline (numpy scalars as numbers, non-finite floats as null)."""
    return json.dumps(_clean_floats(data), indent=2, sort_keys=sort_keys, default=_json_default) + "\n"


def write_json(path: str | os.PathLike, data: Any, *, sort_keys: bool = True) -> Path:
    """Write :func:`json_text` of ``data`` atomically (keys sorted unless ``sort_keys=False``)."""
    return atomic_write_text(path, json_text(data, sort_keys=sort_keys))


def read_json(path: str | os.PathLike) -> dict:
    """Load a JSON object; a missing or malformed file raises :class:`RunDirError` naming it."""
    path = Path(path)
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise RunDirError(f"{path}: file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
        raise RunDirError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping], fieldnames: Sequence[str]) -> Path:
    """Write rows as CSV atomically; floats use ``repr`` so values round-trip exactly."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v)
                         for k, v in row.items()})
    return atomic_write_bytes(path, buffer.getvalue().encode())


def write_history(run_dir: str | os.PathLike, history: Sequence[Mapping]) -> Path:
    """``history.csv`` with columns epoch (1-based), loss, val_loss, lr."""
    return write_csv(Path(run_dir) / HISTORY_NAME, history, HISTORY_FIELDS)


def read_history(run_dir: str | os.PathLike) -> list[dict]:
    """``history.csv`` as a list of dicts (epoch as int, other columns as float)."""
    path = Path(run_dir) / HISTORY_NAME
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise RunDirError(f"{path}: file not found") from None
    return [{k: (int(v) if k == "epoch" else float(v) if v != "" else None) for k, v in row.items()}
            for row in rows]


# --- run directory life cycle --------------------------------------------------------------

def create_run_dir(run_dir: str | os.PathLike, config: Mapping, *, overwrite: bool = False) -> Path:
    """Create ``run_dir`` holding ``config.json``, atomically.

    The new directory is assembled under a temporary sibling name and renamed into place,
    so ``run_dir`` never exists without its config. With ``overwrite`` an existing
    directory is moved aside first and deleted only once the new one is in place.
    Without ``overwrite`` an existing ``run_dir`` raises :class:`RunDirError`.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not overwrite:
        raise RunDirError(f"{run_dir}: run directory already exists; "
                          "use --resume to continue it or --overwrite to replace it")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: exists and is not a directory")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.new-", dir=run_dir.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        write_json(tmp / CONFIG_NAME, config)
        old = None
        if run_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.old-", dir=run_dir.parent))
            os.replace(run_dir, old / run_dir.name)
        os.replace(tmp, run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return run_dir


# --- provenance ---------------------------------------------------------------------------

def package_versions(packages: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``packages`` (None if not installed), plus Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo_dir: str | os.PathLike = REPO_DIR) -> dict[str, Any]:
    """The checked-out commit and whether tracked files differ from it (None outside git)."""
    def git(*args):
        return subprocess.run(["git", "-C", os.fspath(repo_dir), *args], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(store_dir: str | os.PathLike) -> dict[str, Any]:
    """Identify a converted data store by its ``meta.json`` (written last by the converter).

    Returns the store path, the SHA-256 of ``meta.json`` and the sample count of each split,
    so a run can later be checked against the data it was trained on.
    """
    meta_path = Path(store_dir) / "meta.json"
    meta = read_json(meta_path)
    splits = meta.get("splits", {})
    return {"store": os.fspath(Path(store_dir).resolve()), "meta_sha256": file_sha256(meta_path),
            "num_samples": {name: info.get("num_samples") for name, info in splits.items()
                            if isinstance(info, Mapping)}}


def device_info() -> dict[str, Any]:
    """Host and TensorFlow devices (GPU names and compute capability when present)."""
    import tensorflow as tf

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except (ValueError, RuntimeError):
            details = {}
        gpus.append({"name": gpu.name, "device_name": details.get("device_name"),
                     "compute_capability": details.get("compute_capability")})
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "logical_devices": [d.name for d in tf.config.list_logical_devices()],
        "tensorflow_built_with_cuda": tf.test.is_built_with_cuda(),
    }


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as typed, for the record."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join([os.path.basename(sys.argv[0]) or "train.py", *args])
