"""Atomic file writes and plain JSON/CSV, for every module that writes results.

Every write goes to a hidden temporary sibling (``.NAME.XXXX.tmp.SUFFIX``) and is renamed into
place with ``os.replace``, so a crash, a kill or a full disk at any moment leaves either the old
file or the new one, never half of one. :func:`sweep_temp_files` removes the temporaries a kill
left behind.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from cli import UserError

#: Marks a temporary sibling written by :func:`temp_sibling` (``.NAME.XXXX.tmp.SUFFIX``).
TEMP_MARK = ".tmp"


class FileReadError(UserError, ValueError):
    """A JSON file that is missing or malformed; the message names it (see :func:`read_json`)."""


# --- atomic writes -----------------------------------------------------------------------

def temp_sibling(path: str | os.PathLike) -> str:
    """Create an empty temporary file beside ``path`` (creating its folder) and return its name.

    The name is ``.NAME.XXXX.tmp.SUFFIX``: hidden, and ending in ``path``'s own suffix, since
    some writers (Keras, matplotlib) insist on it. It gets the usual permissions (not mkstemp's 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_MARK + path.suffix, dir=path.parent)
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


def hdf5_bytes(fill) -> memoryview:
    """The bytes of an HDF5 file whose datasets ``fill(h5)`` adds, assembled in memory.

    HDF5's C library cannot fail cleanly on a full disk: objects collected afterwards retry their
    writes and print tracebacks from Cython. Assembled in memory (it costs the file's size), the file
    reaches the disk through one plain write, which fails with one ``OSError``.
    """
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        fill(h5)
    return buffer.getbuffer()


def write_hdf5(path: str | os.PathLike, fill) -> Path:
    """Write an HDF5 file atomically; ``fill(h5)`` adds its datasets (see :func:`hdf5_bytes`)."""
    return atomic_write_bytes(path, hdf5_bytes(fill))


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
    """Load a JSON object; a missing or malformed file raises :class:`FileReadError` naming it."""
    path = Path(path)
    try:
        with open(path) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise FileReadError(f"{path}: file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
        raise FileReadError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(data, dict):
        raise FileReadError(f"{path}: expected a JSON object, found {type(data).__name__}")
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


class StagedFiles:
    """Write several files under temporary names, then rename them all into place at once.

    Used as a context manager: on any error the temporaries are removed and existing files are
    left untouched; on success every file is moved into place with ``os.replace``.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.pending: list[tuple[str, Path]] = []

    def path(self, name: str) -> str:
        """A temporary path that becomes ``directory/name`` on commit."""
        tmp = temp_sibling(self.directory / name)
        self.pending.append((tmp, self.directory / name))
        return tmp

    def text(self, name: str, text: str) -> None:
        """Stage ``text`` (UTF-8) as ``directory/name``."""
        with open(self.path(name), "w", encoding="utf-8") as handle:
            handle.write(text)

    def hdf5(self, name: str, fill) -> None:
        """Stage an HDF5 file whose datasets ``fill(h5)`` adds (see :func:`hdf5_bytes`)."""
        data = hdf5_bytes(fill)
        with open(self.path(name), "wb") as handle:
            handle.write(data)

    @property
    def targets(self) -> list[Path]:
        """The final paths, in the order they were staged."""
        return [final for _, final in self.pending]

    def __enter__(self) -> "StagedFiles":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for tmp, final in self.pending:
                os.replace(tmp, final)
        else:
            for tmp, _ in self.pending:
                if os.path.exists(tmp):
                    os.unlink(tmp)


_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}" + re.escape(TEMP_MARK) + r"(\.[A-Za-z0-9]+)?$")


def sweep_temp_files(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporaries of :func:`temp_sibling` that a killed writer left in ``directory``.

    Call it only while holding the directory's lock (no live writer can own them then).
    """
    directory = Path(directory)
    removed = []
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        if entry.is_file() and _TEMP_NAME.match(entry.name):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
