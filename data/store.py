"""The compact, sample-major store that training reads from, memory-mapped.

A store directory holds, per split, ``{split}.seq.npy`` (uint8 (N, L): one base code per position,
0=A 1=G 2=C 3=T 4=N, i.e. an index into the DeepSEA A,G,C,T channel order) and
``{split}.labels.npy`` (uint8 (N, ceil(T/8)), ``np.packbits(axis=1, bitorder="little")``), and
``meta.json``, written last: its presence means the store is complete. That is 1 KB per 1000 bp
sample instead of 16 KB as float32 one-hot, and a random batch is one gather of contiguous rows.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data.encoding import ALPHABET, center_crop, mismatched_pair, one_hot
from data.mat import SPLITS, DataError

STORE_FORMAT = "deepsea-store"
STORE_VERSION = 1
META_NAME = "meta.json"
#: Base codes in the store: the A,G,C,T channel index, then N (data/encoding.py).
STORE_ALPHABET = ALPHABET + "N"
_FINGERPRINT_BYTES = 2**20


def seq_path(store_dir: os.PathLike | str, split: str) -> Path:
    """Path of a split's base-code array."""
    return Path(store_dir) / f"{split}.seq.npy"


def labels_path(store_dir: os.PathLike | str, split: str) -> Path:
    """Path of a split's bit-packed label array."""
    return Path(store_dir) / f"{split}.labels.npy"


def check_strand_pairs(codes: np.ndarray, path: os.PathLike | str) -> None:
    """Refuse a paired split whose second half is not the reverse complement of its first (sampled)."""
    if codes.shape[0] % 2:
        raise DataError(path, f"a paired split has an odd number of rows ({codes.shape[0]}); strand pairs need "
                              "forward rows in the first half and their reverse complements in the second")
    row = mismatched_pair(codes)
    if row is not None:
        half = codes.shape[0] // 2
        raise DataError(path, f"row {half + row} is not the reverse complement of row {row}: a paired split "
                              "must hold forward sequences in its first half and their reverse complements, "
                              "in the same order, in its second (is the second half a plain copy?)")


def unpack_labels(packed: np.ndarray, num_targets: int) -> np.ndarray:
    """float32 (n, T) labels from the store's little-endian bit-packed rows."""
    return np.unpackbits(packed, axis=-1, count=num_targets, bitorder="little").astype(np.float32)


def file_fingerprint(path: os.PathLike | str) -> dict:
    """Name, size, mtime and SHA-256 of the first MiB: identifies a source file cheaply."""
    path = Path(path)
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(_FINGERPRINT_BYTES))
    return {"name": path.name, "size": stat.st_size, "mtime": int(stat.st_mtime),
            "sha256_first_mib": digest.hexdigest()}


@dataclass
class StoreSplit:
    """One split of a store: memory-mapped codes and packed labels, read into model arrays."""

    name: str
    codes: np.ndarray  # uint8 (N, L) memmap
    packed_labels: np.ndarray  # uint8 (N, ceil(T/8)) memmap
    num_targets: int
    paired: bool  # second half = reverse complements of the first half, same order

    @property
    def num_samples(self) -> int:
        """Number of sequences N."""
        return int(self.codes.shape[0])

    @property
    def sequence_length(self) -> int:
        """Stored sequence length L (before any crop)."""
        return int(self.codes.shape[1])

    def read_codes(self, indices, sequence_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``indices`` as centre-cropped codes uint8 (n, L') and packed labels uint8 (n, B)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_samples):
            raise IndexError(f"indices out of range for split {self.name!r} with {self.num_samples} samples")
        return center_crop(self.codes[indices], sequence_length), self.packed_labels[indices]

    def read(self, indices, sequence_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``indices`` as one-hot float32 (n, L', 4), A,G,C,T, N = zeros, and float32 labels (n, T).

        ``sequence_length`` centre-crops with offset ``(L - L') // 2`` (500 gives the paper's
        reduced data).
        """
        codes, packed = self.read_codes(indices, sequence_length)
        return one_hot(codes), unpack_labels(packed, self.num_targets)


class Store:
    """An opened, complete store directory (see the module docstring)."""

    def __init__(self, path: os.PathLike | str, meta: dict) -> None:
        self.path = Path(path)
        self.meta = meta
        self._splits: dict[str, StoreSplit] = {}

    @property
    def splits(self) -> tuple[str, ...]:
        """Split names present, in train/valid/test order."""
        return tuple(s for s in SPLITS if s in self.meta["splits"]) + tuple(
            s for s in self.meta["splits"] if s not in SPLITS)

    @property
    def num_targets(self) -> int:
        return int(self.meta["num_targets"])

    @property
    def sequence_length(self) -> int:
        return int(self.meta["sequence_length"])

    @property
    def fingerprint(self) -> dict:
        """Source-file fingerprints recorded at conversion (for a run's config.json)."""
        return {"store": str(self.path), "sources": self.meta.get("sources", {}),
                "digest": self.meta.get("source_digest")}

    def split(self, name: str) -> StoreSplit:
        """The named split, memory-mapped on first use."""
        if name not in self.meta["splits"]:
            raise DataError(self.path, f"no split {name!r} in this store (has: {', '.join(self.splits)})")
        if name not in self._splits:
            info = self.meta["splits"][name]
            codes = _load_checked(seq_path(self.path, name), (info["num_samples"], self.sequence_length))
            packed = _load_checked(labels_path(self.path, name),
                                   (info["num_samples"], (self.num_targets + 7) // 8))
            if info.get("paired"):
                check_strand_pairs(codes, seq_path(self.path, name))
            self._splits[name] = StoreSplit(name, codes, packed, self.num_targets, bool(info.get("paired")))
        return self._splits[name]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={self.meta['splits'][s]['num_samples']}" for s in self.splits)
        return f"Store({str(self.path)!r}, L={self.sequence_length}, T={self.num_targets}, {sizes})"


def _load_checked(path: Path, shape: tuple[int, int]) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as err:
        raise DataError(path, f"cannot open store array: {err}") from None
    if array.dtype != np.uint8 or array.shape != tuple(shape):
        raise DataError(path, f"store array is {array.dtype} {array.shape}; meta.json says uint8 {tuple(shape)}")
    return array


def is_store(path: os.PathLike | str) -> bool:
    """True if ``path`` holds a complete store (its meta.json exists)."""
    return (Path(path) / META_NAME).is_file()


def open_store(path: os.PathLike | str) -> Store:
    """Open a complete store; :class:`DataError` if it is missing, incomplete or of another format."""
    path = Path(path)
    meta_file = path / META_NAME
    if not meta_file.is_file():
        raise DataError(path, "not a complete data store (no meta.json); convert the .mat files with "
                              "`python -m data.convert DEEPSEA_DIR OUT_DIR`")
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, ValueError) as err:
        raise DataError(meta_file, f"unreadable store metadata: {err}") from None
    if meta.get("format") != STORE_FORMAT or meta.get("version") != STORE_VERSION:
        raise DataError(meta_file, f"not a {STORE_FORMAT} v{STORE_VERSION} store "
                                   f"(format={meta.get('format')!r}, version={meta.get('version')!r})")
    return Store(path, meta)


def source_files(data_dir: os.PathLike | str) -> dict[str, Path]:
    """The expected DeepSEA file of each split: ``{split: data_dir / f"{split}.mat"}``."""
    return {split: Path(data_dir) / f"{split}.mat" for split in SPLITS}


def resolve_store(data_dir: os.PathLike | str, store_dir: os.PathLike | str | None = None,
                  *, progress: bool | None = None, convert: bool = True) -> Store:
    """A store for ``data_dir``: the directory itself if it is a store, else its .mat files converted once.

    The converted store goes to ``store_dir`` (default ``data_dir/store``); later calls reuse it.
    A store converted from different files (size, mtime or first-MiB hash changed) is an error
    rather than silently stale. ``convert=False`` refuses to convert (several processes must not
    convert at once).
    """
    data_dir = Path(data_dir)
    if is_store(data_dir):
        return open_store(data_dir)
    if not data_dir.is_dir():
        raise DataError(data_dir, "data directory not found")
    sources = source_files(data_dir)
    missing = [p.name for p in sources.values() if not p.exists()]
    if missing and len(missing) == len(sources):
        raise DataError(data_dir, "neither a data store (meta.json) nor a DeepSEA directory "
                                  "(train.mat, valid.mat, test.mat)")
    target = Path(store_dir) if store_dir is not None else data_dir / "store"
    if is_store(target):
        store = open_store(target)
        recorded = store.meta.get("sources", {})
        for split, path in sources.items():
            if path.exists() and split in recorded and recorded[split] != file_fingerprint(path):
                raise DataError(target, f"store was converted from a different {path.name} "
                                        f"(size/mtime/hash changed); delete the store to reconvert")
        return store
    if not convert:
        raise DataError(target, f"no converted store here; convert {data_dir} once first: "
                                f"python -m data.convert {data_dir} {target}")
    from data.convert import convert as convert_mat  # needs h5py/scipy; import only when used

    return convert_mat(data_dir, target, progress=progress)
