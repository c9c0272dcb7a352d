"""The run directory: the one module that knows its layout, writes it and reads it back.

A run directory is what train.py makes and evaluate.py, predict.py and analysis/ read::

    RUN/config.json               everything needed to know how the run was made (one schema for
                                  trained runs and published-weight runs; see below)
    RUN/history.csv               epoch, loss, val_loss, lr, seconds
    RUN/best_model.keras          the lowest-val_loss model
    RUN/checkpoint/state.json     resume state after the last completed epoch, naming ...
    RUN/checkpoint/epoch-NNNN.keras   ... the model + optimizer state of that epoch
    RUN/logs/                     TensorBoard (optional)
    RUN/predictions_<split>.h5, metrics_<split>.json, per_target_<split>.tsv   (evaluate.py)
    RUN/compare_<model>_test.{tsv,json}   (evaluate.py --compare-published)
    RUN/motifs/, RUN/projection_similarity.json   (analysis)
    RUN/.lock                     held by the one process writing the run

Guarantees, each tested: a writer holds an exclusive lock for its whole life (a second writer is
refused at once; a lock left by a killed process is taken over); ``--overwrite`` replaces only a
directory that is recognisably a run and holds nothing else; paths read from resume state stay
inside ``checkpoint/``; every file is written atomically, and temporaries left by a kill are swept
when the next writer starts.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from cli import UserError
from fileio import (FileReadError, StagedFiles, atomic_path, atomic_write_text, json_text,  # noqa: F401
                    read_json, sweep_temp_files, temp_sibling, write_csv, write_json)

SCHEMA = "projection-layers-run/2"
CONFIG = "config.json"
HISTORY = "history.csv"
BEST_MODEL = "best_model.keras"
CHECKPOINT_DIR = "checkpoint"
STATE = "state.json"
LOGS_DIR = "logs"
LOCK = ".lock"
MOTIFS_DIR = "motifs"
PROJECTION_SIMILARITY = "projection_similarity.json"
HISTORY_FIELDS = ("epoch", "loss", "val_loss", "lr", "seconds")
#: The columns of history.csv that an exact resume reproduces bit for bit (not the wall time).
DETERMINISTIC_HISTORY_FIELDS = ("epoch", "loss", "val_loss", "lr")
SPLITS = ("test", "valid")
_CHECKPOINT_NAME = re.compile(r"^epoch-(\d{4,})\.keras$")
# Everything a run directory may hold; anything else makes --overwrite refuse.
_RUN_ENTRY = re.compile(
    r"^(config\.json|history\.csv|best_model\.keras|checkpoint|logs|motifs|figures|\.lock"
    r"|projection_similarity\.json|predictions_\w+\.h5|metrics_\w+\.json|per_target_\w+\.tsv"
    r"|compare_[\w-]+_\w+\.(tsv|json))$")
#: Top-level config.json keys by kind (anything else is refused when the config is read).
_COMMON_KEYS = {"schema", "kind", "name", "preset", "model", "params", "data", "provenance"}
_KIND_KEYS = {
    "trained": {"training", "args", "seed", "deviations", "distribution", "precision", "jit_compile",
                "deterministic_ops", "lstm_cudnn", "resumes"},
    "published": {"published"},
}
#: Packages whose versions go into every run's provenance.
VERSIONED_PACKAGES = ("tensorflow", "keras", "numpy", "h5py", "scipy", "scikit-learn")
REPO_DIR = Path(__file__).resolve().parent
PUBLISHED_NAMES = {"deepsea": "DeepSEA", "danq": "DanQ", "danq-jaspar": "DanQ-JASPAR"}


class RunDirError(UserError, ValueError):
    """A problem with a run directory the user can fix; the message names the path."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --- the lock ---------------------------------------------------------------------------------

class RunLock:
    """An exclusive ``flock`` on ``RUN/.lock``, held until :meth:`release` or process exit.

    The kernel drops a flock when its process dies, so a lock file that still names a holder but can
    be locked was left by a killed writer: it is taken over, with a note.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, run: Path) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunDirError(f"{run}: in use by another process ({holder}); wait for it to finish or "
                              "stop it first") from None
        previous = _read_holder(fd)
        if previous:
            print(f"note: {run}: taking over the lock left by {previous}, which is no longer running",
                  file=sys.stderr)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _now(),
                                  "command": " ".join(sys.argv)}).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # an empty lock file means "released cleanly"
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _read_holder(fd: int) -> str:
    """'pid N on HOST since T' from a lock file's content, or '' if empty/unreadable."""
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"null")
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, TypeError, KeyError):
        return ""


# --- the run directory ------------------------------------------------------------------------

class RunDir:
    """One run directory: its paths, its lock, and readers/writers for everything in it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = RunLock(self.path / LOCK)
        self._config: dict | None = None

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- paths ----------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def history_path(self) -> Path:
        return self.path / HISTORY

    @property
    def best_model_path(self) -> Path:
        return self.path / BEST_MODEL

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINT_DIR

    @property
    def state_path(self) -> Path:
        return self.checkpoint_dir / STATE

    @property
    def logs_dir(self) -> Path:
        return self.path / LOGS_DIR

    @property
    def motifs_dir(self) -> Path:
        return self.path / MOTIFS_DIR

    @property
    def projection_similarity_path(self) -> Path:
        return self.path / PROJECTION_SIMILARITY

    @staticmethod
    def predictions_name(split: str) -> str:
        return f"predictions_{split}.h5"

    @staticmethod
    def metrics_name(split: str) -> str:
        return f"metrics_{split}.json"

    @staticmethod
    def per_target_name(split: str) -> str:
        return f"per_target_{split}.tsv"

    @staticmethod
    def compare_names(published: str, split: str = "test") -> tuple[str, str]:
        return f"compare_{published}_{split}.tsv", f"compare_{published}_{split}.json"

    def metrics_path(self, split: str) -> Path:
        return self.path / self.metrics_name(split)

    def per_target_path(self, split: str) -> Path:
        return self.path / self.per_target_name(split)

    def predictions_path(self, split: str) -> Path:
        return self.path / self.predictions_name(split)

    def compare_paths(self, published: str, split: str = "test") -> tuple[Path, Path]:
        tsv, js = self.compare_names(published, split)
        return self.path / tsv, self.path / js

    # -- recognition ----------------------------------------------------------------------------
    @staticmethod
    def is_run(path: str | os.PathLike) -> bool:
        """Whether ``path`` is a run directory: its config.json is a run config (any schema)."""
        config_path = Path(path) / CONFIG
        if not config_path.is_file():
            return False
        try:
            config = read_json(config_path)
        except FileReadError:
            return False
        return config.get("schema") == SCHEMA or _legacy_kind(config) is not None

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDir":
        """An existing run directory (read-only until :meth:`lock`); one-line errors otherwise."""
        run = cls(path)
        if not run.path.exists():
            raise RunDirError(f"{run.path}: no such run directory")
        if not run.path.is_dir():
            raise RunDirError(f"{run.path}: not a directory")
        if not run.config_path.is_file():
            raise RunDirError(f"{run.path}: not a run directory (no {CONFIG})")
        run.config  # noqa: B018  (reads and checks it)
        return run

    # -- lock, create, overwrite ------------------------------------------------------------------
    def lock(self) -> "RunDir":
        """Take the writer's lock (refused at once if another writer holds it) and sweep leftovers.

        Also a context manager: ``with run.lock(): ...`` releases the lock at the end.
        """
        if not self._lock.held:
            self._lock.acquire(self.path)
            self.sweep()
        return self

    def unlock(self) -> None:
        self._lock.release()

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.unlock()

    def sweep(self) -> None:
        """Remove what a killed writer left: temporary files, and checkpoints no state names."""
        sweep_temp_files(self.path)
        sweep_temp_files(self.checkpoint_dir)
        if self.checkpoint_dir.is_dir():
            named = self.read_state().get("model_file") if self.state_path.is_file() else None
            for entry in self.checkpoint_dir.iterdir():
                if _CHECKPOINT_NAME.match(entry.name) and entry.name != named:
                    entry.unlink(missing_ok=True)

    def check_replaceable(self, protect: Iterable[str | os.PathLike] = ()) -> None:
        """Refuse unless this path may be replaced by ``--overwrite``.

        Only a run directory (its own config.json) that holds nothing but run files may go; never
        the current directory or one above it, nor a directory holding or being a ``protect`` path
        (the data directory, the store).
        """
        path = self.path.resolve()
        cwd = Path.cwd().resolve()
        if path == cwd or path in cwd.parents:
            raise RunDirError(f"{self.path}: is the current directory or contains it; refusing to "
                              "replace it (give --out a run directory)")
        for other in protect:
            other = Path(other).resolve()
            if path == other or path in other.parents:
                raise RunDirError(f"{self.path}: holds the data ({other}); refusing to replace it "
                                  "(give --out a run directory)")
        if not self.path.is_dir():
            raise RunDirError(f"{self.path}: exists and is not a directory; refusing to replace it")
        if not self.is_run(self.path):
            raise RunDirError(f"{self.path}: not a run directory (no run {CONFIG}); refusing to replace "
                              "it (choose a new --out)")
        foreign = sorted(e.name for e in self.path.iterdir()
                         if not _RUN_ENTRY.match(e.name) and not _is_temp(e.name))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise RunDirError(f"{self.path}: holds files that are not part of a run ({shown}); refusing "
                              "to replace it (move them, or choose a new --out)")

    def prepare_new(self, *, overwrite: bool, protect: Iterable[str | os.PathLike] = (), lock: bool = True) -> None:
        """Before a new run is created here: refuse an existing path unless ``overwrite`` may replace
        it, in which case the old run's lock is taken now (so no other writer starts meanwhile).
        ``lock=False``: the same refusals only (a multi-worker run's other workers, which never write)."""
        if not self.path.exists():
            return
        if not overwrite:
            raise RunDirError(f"{self.path}: already exists; use --resume to continue it or --overwrite "
                              "to replace it")
        self.check_replaceable(protect)
        if lock:
            self._lock.acquire(self.path)

    def create(self, config: Mapping) -> "RunDir":
        """Create the directory holding ``config.json``, atomically, and hold its lock.

        The new directory is assembled under a hidden sibling name (its lock already held) and
        renamed into place, so the path never exists without its config. An old run being
        overwritten (see :meth:`prepare_new`) is moved aside first and deleted only once the new
        one is in place.
        """
        config = {"schema": SCHEMA, **config}
        _check_config(config, self.config_path)
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True)
        _sweep_stale_siblings(self.path)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.new-", dir=parent))
        new_lock = RunLock(tmp / LOCK)
        old_lock, old = self._lock, None
        try:
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
            new_lock.acquire(tmp)
            write_json(tmp / CONFIG, config)
            if self.path.exists():
                if not old_lock.held:
                    raise RunDirError(f"{self.path}: appeared while this run was being set up; refusing "
                                      "to replace it")
                old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old-", dir=parent))
                os.replace(self.path, old / self.path.name)
            os.replace(tmp, self.path)
        except BaseException:
            new_lock.release()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        new_lock.path = self.path / LOCK
        self._lock = new_lock
        old_lock.release()
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self._config = None
        return self

    # -- config ---------------------------------------------------------------------------------
    @property
    def config(self) -> dict:
        """config.json in the current schema (older runs' configs are upgraded in memory)."""
        if self._config is None:
            config = read_json(self.config_path)
            if config.get("schema") != SCHEMA:
                config = _upgrade_legacy(config, self.config_path)
            _check_config(config, self.config_path)
            self._config = config
        return self._config

    def write_config(self, config: Mapping) -> None:
        config = {"schema": SCHEMA, **config}
        _check_config(config, self.config_path)
        write_json(self.config_path, config)
        self._config = None

    def record_resume(self, entry: Mapping) -> None:
        """Append a resume record (from epoch, command, time) to config.json."""
        config = dict(self.config)
        config["resumes"] = [*config.get("resumes", []), dict(entry)]
        self.write_config(config)

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def name(self) -> str:
        """Display name: the preset, or 'DanQ (published weights)'."""
        return str(self.config.get("name") or self.config.get("preset") or self.path.name)

    @property
    def model_config(self) -> dict:
        return self.config["model"]

    @property
    def sequence_length(self) -> int:
        return self.config["model"]["sequence_length"]

    @property
    def num_targets(self) -> int:
        return self.config["model"]["num_targets"]

    @property
    def params(self) -> int | None:
        return self.config.get("params")

    @property
    def data_fingerprint(self) -> dict | None:
        return (self.config.get("data") or {}).get("fingerprint")

    # -- history --------------------------------------------------------------------------------
    def history(self) -> list[dict]:
        """history.csv rows (epoch int, other columns float or None); [] before the first epoch."""
        import csv

        if not self.history_path.is_file():
            return []
        try:
            with open(self.history_path, newline="") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as err:
            raise RunDirError(f"{self.history_path}: cannot read ({err.strerror})") from None
        try:
            return [{k: (int(v) if k == "epoch" else float(v) if v not in ("", None) else None)
                     for k, v in row.items()} for row in rows]
        except ValueError as err:
            raise RunDirError(f"{self.history_path}: not a history file ({err})") from None

    def write_history(self, rows: Sequence[Mapping]) -> None:
        write_csv(self.history_path, rows, HISTORY_FIELDS)

    # -- resume state and checkpoints ------------------------------------------------------------
    def read_state(self) -> dict:
        """checkpoint/state.json ({} before the first epoch), its checkpoint confined to checkpoint/."""
        if not self.state_path.is_file():
            return {}
        state = read_json(self.state_path)
        name = state.get("model_file")
        if not isinstance(name, str) or not _CHECKPOINT_NAME.match(name):
            raise RunDirError(f"{self.state_path}: names the checkpoint {name!r}, which is not a file of "
                              f"{self.checkpoint_dir} (epoch-NNNN.keras); the state is damaged: start "
                              "again with --overwrite")
        if not (self.checkpoint_dir / name).is_file():
            raise RunDirError(f"{self.state_path}: names {name!r}, which is missing from "
                              f"{self.checkpoint_dir}; start again with --overwrite")
        return state

    def checkpoint_path(self, state: Mapping) -> Path:
        """The checkpoint file a (checked) state names."""
        return self.checkpoint_dir / state["model_file"]

    def save_checkpoint(self, model, epoch: int, state: dict) -> None:
        """Save ``checkpoint/epoch-NNNN.keras``, then state.json naming it (last, atomically), then
        remove the previous checkpoint: at every instant state.json names a complete file."""
        self.checkpoint_dir.mkdir(exist_ok=True)
        name = f"epoch-{epoch:04d}.keras"
        previous = state.get("model_file")
        save_model(model, self.checkpoint_dir / name)
        state["model_file"] = name
        write_json(self.state_path, state)
        if previous and previous != name:
            (self.checkpoint_dir / previous).unlink(missing_ok=True)

    def load_checkpoint(self, model, state: Mapping) -> None:
        """Load the weights and optimizer state a state names into ``model`` (built and compiled)."""
        path = self.checkpoint_path(state)
        try:
            model.load_weights(path)
        except Exception as err:  # Keras raises many types for a damaged or foreign file
            raise RunDirError(f"{path}: cannot resume from this checkpoint ({_short(err)}); it is damaged "
                              "or from another model: restore it, or start again with --overwrite") from None

    def save_best(self, model) -> None:
        save_model(model, self.best_model_path)

    # -- models ---------------------------------------------------------------------------------
    def load_model(self):
        """The run's best model (for published runs: the converted model, if it was saved)."""
        if not self.best_model_path.is_file():
            hint = ("evaluate.py --published ... --save-model keeps the converted model"
                    if self.config.get("kind") == "published" else "has training finished an epoch?")
            raise RunDirError(f"{self.best_model_path}: no model in this run directory ({hint})")
        model = load_keras_file(self.best_model_path)
        length = model.input_shape[1]
        if length != self.sequence_length:
            raise RunDirError(f"{self.config_path}: says sequence_length {self.sequence_length} but "
                              f"{self.best_model_path} takes {length} bp inputs; the run directory is "
                              "inconsistent")
        return model

    def model_sha256(self) -> str | None:
        """SHA-256 of best_model.keras (what evaluation results are tied to), None if absent."""
        return file_sha256(self.best_model_path) if self.best_model_path.is_file() else None

    # -- evaluation outputs -----------------------------------------------------------------------
    def read_metrics(self, split: str) -> dict | None:
        """metrics_<split>.json, or None if the split has not been evaluated."""
        path = self.metrics_path(split)
        return read_json(path) if path.is_file() else None

    def stage(self) -> StagedFiles:
        """A set of files written under temporary names and renamed into the run together."""
        return StagedFiles(self.path)

    def remove(self, names: Iterable[str]) -> list[Path]:
        """Delete outputs that no longer apply (only names of this module's own layout)."""
        removed = []
        for name in names:
            if not _RUN_ENTRY.match(name) or name in (CONFIG, CHECKPOINT_DIR, LOCK, HISTORY):
                raise ValueError(f"{name!r} is not a removable run output")
            path = self.path / name
            if path.is_file():
                path.unlink()
                removed.append(path)
        return removed

    def compare_files(self, split: str | None = None) -> list[str]:
        """Names of the --compare-published outputs present (of one split, or all)."""
        if not self.path.is_dir():
            return []
        pattern = re.compile(r"^compare_[\w-]+_" + (re.escape(split) if split else r"\w+") + r"\.(tsv|json)$")
        return sorted(e.name for e in self.path.iterdir() if pattern.match(e.name))

    def evaluation_files(self) -> list[str]:
        """Names of every evaluation output present (predictions, metrics, per-target, compare)."""
        if not self.path.is_dir():
            return []
        pattern = re.compile(r"^(predictions_\w+\.h5|metrics_\w+\.json|per_target_\w+\.tsv)$")
        return sorted(e.name for e in self.path.iterdir() if pattern.match(e.name)) + self.compare_files()


# --- config schema ----------------------------------------------------------------------------

def _check_config(config: Mapping, path: Path) -> None:
    """Refuse a config that does not follow the schema (unknown keys, missing model facts)."""
    kind = config.get("kind")
    if kind not in _KIND_KEYS:
        raise RunDirError(f"{path}: 'kind' must be one of {', '.join(_KIND_KEYS)}, found {kind!r}")
    unknown = set(config) - _COMMON_KEYS - _KIND_KEYS[kind]
    if unknown:
        raise RunDirError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} in a {kind} run config")
    model = config.get("model")
    if not isinstance(model, Mapping):
        raise RunDirError(f"{path}: no 'model' section")
    for key in ("sequence_length", "num_targets"):
        value = model.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RunDirError(f"{path}: model.{key} must be a positive integer, found {value!r}")


def _legacy_kind(config: Mapping) -> str | None:
    """The kind of a config written before the schema existed, or None if it is not a run config."""
    if isinstance(config.get("published"), str) and "weights" in config:
        return "published"
    if isinstance(config.get("model"), Mapping) and isinstance(config.get("training"), Mapping):
        return "trained"
    return None


def _upgrade_legacy(config: Mapping, path: Path) -> dict:
    """A pre-schema config.json (written by earlier versions) in the current schema."""
    kind = _legacy_kind(config)
    if kind is None:
        raise RunDirError(f"{path}: not a run configuration (no schema, model or training section)")
    old = dict(config)
    provenance = {k: old.pop(k) for k in ("command", "created", "versions", "git", "device") if k in old}
    if kind == "trained":
        new = {"kind": "trained", "name": old.get("preset"), "provenance": provenance}
        if "mixed_precision" in old:
            old["precision"] = "mixed_float16" if old.pop("mixed_precision") else "float32"
        return {**new, **old}
    name = old["published"]
    return {
        "kind": "published", "name": f"{PUBLISHED_NAMES.get(name, name)} (published weights)",
        "preset": old.get("preset", f"published-{name}"),
        "model": {"family": name, "sequence_length": old.get("sequence_length"),
                  "num_targets": old.get("num_targets")},
        "params": old.get("params"), "provenance": provenance,
        "published": {"model": name, "weights": old.get("weights"), "backward": old.get("backward"),
                      "dropout_scaling": old.get("dropout_scaling"), "source": old.get("source")},
    }


# --- models ------------------------------------------------------------------------------------

def save_model(model, path: str | os.PathLike) -> None:
    """``model.save`` to a temporary ``.keras`` sibling, then rename: never a half-written file."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def load_keras_file(path: str | os.PathLike):
    """Load a ``.keras`` file (uncompiled) with the project's custom layers registered."""
    import keras

    import models  # noqa: F401  (registers the custom activations and layers of saved models)

    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: no such model file")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a damaged or foreign file
        raise RunDirError(f"{path}: cannot load the model ({_short(err)})") from None


def load_model(path: str | os.PathLike):
    """The model of a run directory (trained, or published with its model saved) or a .keras file."""
    path = Path(path)
    if path.is_dir():
        return RunDir.open(path).load_model()
    if path.suffix == ".keras" or path.is_file():
        return load_keras_file(path)
    raise RunDirError(f"{path}: no such run directory or .keras file")


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:200]}" if text else type(err).__name__


# --- outputs that are not run files ------------------------------------------------------------

def run_containing(path: str | os.PathLike) -> Path | None:
    """The run directory ``path`` lies in (directly, or in its checkpoint/ or logs/), or None."""
    parent = Path(path).resolve().parent
    for candidate in (parent, parent.parent):
        if RunDir.is_run(candidate) and (candidate == parent or parent.name in (CHECKPOINT_DIR, LOGS_DIR)):
            return candidate
    return None


def check_output_path(out: str | os.PathLike, *, inputs: Iterable[str | os.PathLike] = (),
                      force: bool = False, flag: str = "--force") -> Path:
    """Refuse an output file that would replace data the user did not ask to replace.

    Never one of ``inputs`` (even with ``force``), never a file inside a run directory (those belong
    to the run), never a directory, and never an existing file unless ``force``. A missing parent
    directory is created by the atomic write.
    """
    out = Path(out)
    for source in inputs:
        source = Path(source)
        if out.resolve() == source.resolve() or (out.exists() and source.exists() and out.samefile(source)):
            raise UserError(f"{out}: is also an input of this command; choose another output file")
    run = run_containing(out)
    if run is not None:
        raise UserError(f"{out}: lies inside the run directory {run}, whose files belong to the run; "
                        "write the output elsewhere")
    if out.is_dir():
        raise UserError(f"{out}: is a directory; give an output file name")
    if out.exists() and not force:
        raise UserError(f"{out}: already exists; pass {flag} to replace it")
    if out.parent.exists() and not out.parent.is_dir():
        raise UserError(f"{out.parent}: is not a directory")
    return out


# --- provenance ---------------------------------------------------------------------------------

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


def data_fingerprint(store) -> dict[str, Any]:
    """Identify a converted data store: its source files' digest and ``meta.json``, and split sizes."""
    meta_path = Path(store.path) / "meta.json"
    return {**store.fingerprint, "store": os.fspath(Path(store.path).resolve()),
            "meta_sha256": file_sha256(meta_path),
            "num_samples": {name: info.get("num_samples") for name, info in store.meta["splits"].items()
                            if isinstance(info, Mapping)}}


def same_data(recorded: Mapping | None, current: Mapping | None) -> bool:
    """Whether two data fingerprints name the same data: the same source digest (a re-conversion of
    the same .mat files counts as the same), else the same ``meta.json``; split sizes must agree."""
    if not recorded or not current:
        return False
    if recorded.get("num_samples") != current.get("num_samples"):
        return False
    if recorded.get("digest") and current.get("digest"):
        return recorded["digest"] == current["digest"]
    return recorded.get("meta_sha256") == current.get("meta_sha256")


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
    return {"host": platform.node(), "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "gpus": gpus, "logical_devices": [d.name for d in tf.config.list_logical_devices()],
            "tensorflow_built_with_cuda": tf.test.is_built_with_cuda()}


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as typed, for the record."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join([os.path.basename(sys.argv[0]) or "train.py", *args])


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command, time, package versions, git commit and devices, for config.json."""
    return {"command": command_line(argv), "created": _now(), "versions": package_versions(),
            "git": git_commit(), "device": device_info()}


# --- helpers ----------------------------------------------------------------------------------

def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_temp(name: str) -> bool:
    return name.startswith(".") and ".tmp" in name


def _sweep_stale_siblings(path: Path) -> None:
    """Remove ``.NAME.new-*`` / ``.NAME.old-*`` siblings a killed :meth:`RunDir.create` left behind.

    A ``.new-`` directory still being assembled holds its lock, so only unlocked ones go.
    """
    if not path.parent.is_dir():
        return
    for entry in path.parent.iterdir():
        if not entry.is_dir() or not entry.name.startswith((f".{path.name}.new-", f".{path.name}.old-")):
            continue
        if entry.name.startswith(f".{path.name}.old-") and not path.exists():
            continue  # killed between moving the old run aside and renaming the new one: keep it
        lock = entry / LOCK
        if lock.exists():
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer's
            finally:
                os.close(fd)
        shutil.rmtree(entry, ignore_errors=True)
