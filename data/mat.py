"""Readers for the DeepSEA ``.mat`` files: every layout quirk of the published bundle lives here.

The bundle (``deepsea_train_bundle.v0.9``) stores the same MATLAB arrays in two container formats:

* MATLAB v7.3 (HDF5 behind a 512-byte MATLAB header), read with h5py. MATLAB is column-major, so
  h5py sees the axes reversed: ``trainxdata`` (L, 4, N) and ``traindata`` (T, N).
* MATLAB v5, which :func:`scipy.io.loadmat` reads in MATLAB's own axis order:
  ``validxdata`` (N, 4, L) and ``validdata`` (N, T). Uncompressed v5 arrays (as published) are
  located by a small parser of the v5 element tags and read block by block straight from the file,
  so even test.mat (455,024 sequences) never sits in memory; compressed ones fall back to loadmat.

train.mat is v7.3 and valid.mat / test.mat are v5 as published; either file may come in the other
format (the "v5/v7.3 swap"), so the container is detected from the file signature and the axes
are put back accordingly. Readers hand out sample-major chunks ``x`` (n, L, 4) and ``y`` (n, T)
as uint8 0/1, with the one-hot channels in the file's A, G, C, T order, after checking every value.
"""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli import UserError
from data.encoding import (ACGT, ALPHABET, MultipleBasesError, acgt_to_agct, channel_order_signature,
                           codes_from_one_hot, dinucleotide_oe)

SPLITS = ("train", "valid", "test")
#: Splits whose second half holds the reverse complements of the first half, in the same order.
PAIRED_SPLITS = frozenset({"valid", "test"})
#: Bytes of one x chunk a reader aims for when streaming (whatever the file's dtype).
CHUNK_BYTES = 64 * 2**20

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 looks for its superblock at offset 0 and then 512, 1024, 2048, ... (the user block sizes).
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)


class DataError(UserError, ValueError):
    """A DeepSEA input file is missing or malformed; the message starts with the file name."""

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def variable_names(split: str) -> tuple[str, str]:
    """The (sequence, label) variable names of a split, e.g. ``("trainxdata", "traindata")``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return f"{split}xdata", f"{split}data"


def detect_format(path: os.PathLike | str) -> str:
    """Return ``"v7.3"`` (HDF5) or ``"v5"`` from the file's signature; :class:`DataError` otherwise."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    if not path.is_file():
        raise DataError(path, "not a regular file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(max(_HDF5_OFFSETS) + len(_HDF5_SIGNATURE))
    except OSError as err:
        raise DataError(path, f"cannot read file ({err.strerror})") from None
    for offset in _HDF5_OFFSETS:
        if head[offset:offset + len(_HDF5_SIGNATURE)] == _HDF5_SIGNATURE:
            return "v7.3"
    # A v5 header: 116 bytes of text, 8 bytes subsystem offset, version 0x0100, endian mark IM/MI.
    if len(head) >= 128 and head[126:128] in (b"IM", b"MI"):
        version = int.from_bytes(head[124:126], "little" if head[126:128] == b"IM" else "big")
        if version == 0x0100:
            return "v5"
    if len(head) < 128:
        raise DataError(path, f"not a MATLAB file (only {len(head)} bytes: empty or truncated)")
    raise DataError(path, "not a MATLAB v5 or v7.3 (HDF5) file (no MAT-file header or HDF5 signature)")


def _check_binary(path: Path, name: str, block: np.ndarray, first_sample: int) -> None:
    """Raise :class:`DataError` unless every value of ``block`` is 0 or 1."""
    if block.dtype == np.bool_:
        return
    if np.issubdtype(block.dtype, np.integer):
        bad = (block > 1) | (block < 0) if np.issubdtype(block.dtype, np.signedinteger) else block > 1
    elif np.issubdtype(block.dtype, np.floating):
        bad = (block != 0) & (block != 1)  # NaN counts as bad too
    else:
        raise DataError(path, f"{name} has unsupported dtype {block.dtype} (expected integer, bool or float 0/1)")
    if bad.any():
        value = block[bad].flat[0]
        raise DataError(path, f"{name} holds a value other than 0/1 ({value!r}) "
                              f"in samples {first_sample}..{first_sample + block.shape[0] - 1}")


# MATLAB v5 element types (data types of the values on disk) and array classes.
_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_MATRIX, _MI_COMPRESSED = 14, 15
_NUMERIC_CLASSES = range(6, 16)  # double, single, int8 ... uint64
_COMPLEX_FLAG = 0x0800


@dataclass(frozen=True)
class V5Variable:
    """Where one top-level v5 array lives: shape, on-disk dtype, data offset (None if compressed)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype | None
    offset: int | None


def _v5_element(buf: bytes, pos: int, endian: str) -> tuple[int, int, int, int]:
    """Parse a (sub)element tag at ``pos``: (type, nbytes, data position, next element position)."""
    if pos + 8 > len(buf):
        raise ValueError("element tag runs past the data read")
    word = struct.unpack_from(endian + "I", buf, pos)[0]
    if word >> 16:  # small data element: type and size share one word, data in the next 4 bytes
        return word & 0xFFFF, word >> 16, pos + 4, pos + 8
    nbytes = struct.unpack_from(endian + "I", buf, pos + 4)[0]
    return word, nbytes, pos + 8, pos + 8 + (nbytes + 7) // 8 * 8


def _v5_matrix_header(buf: bytes, endian: str) -> tuple[str, tuple[int, ...], int, int, int, int]:
    """Parse the start of a miMATRIX body: name, dims, class, flags, real-part type and data position."""
    mtype, nbytes, data, pos = _v5_element(buf, 0, endian)
    flags = struct.unpack_from(endian + "I", buf, data)[0]
    mtype, nbytes, data, pos = _v5_element(buf, pos, endian)
    dims = tuple(struct.unpack_from(f"{endian}{nbytes // 4}i", buf, data))
    mtype, nbytes, data, pos = _v5_element(buf, pos, endian)
    name = bytes(buf[data:data + nbytes]).decode("ascii", "replace")
    real_type, real_bytes, real_data, _ = _v5_element(buf, pos, endian)
    return name, dims, flags & 0xFF, flags, real_type, real_data


def index_v5(path: os.PathLike | str) -> dict[str, V5Variable]:
    """Top-level variables of a MATLAB v5 file, without reading their data.

    Uncompressed numeric arrays get their dtype and file offset, so they can be read in blocks;
    compressed ones (``offset`` None) can only be decompressed whole.
    """
    path = Path(path)
    size = path.stat().st_size
    variables: dict[str, V5Variable] = {}
    with open(path, "rb") as handle:
        header = handle.read(128)
        endian = "<" if header[126:128] == b"IM" else ">"
        pos = 128
        while pos + 8 <= size:
            handle.seek(pos)
            mtype, nbytes = struct.unpack(endian + "II", handle.read(8))
            end = pos + 8 + nbytes
            if end > size:
                raise DataError(path, f"truncated MATLAB v5 file: an element at byte {pos} needs {end} bytes, "
                                      f"the file has {size}")
            try:
                if mtype == _MI_COMPRESSED:
                    inflater = zlib.decompressobj()
                    head = b""
                    while len(head) < 1024 and handle.tell() < end and not inflater.eof:
                        head += inflater.decompress(handle.read(min(65536, end - handle.tell())), 1024)
                    inner, _, body, _ = _v5_element(head, 0, endian)
                    if inner != _MI_MATRIX:
                        raise ValueError("compressed element does not hold an array")
                    name, dims, cls, flags, _, _ = _v5_matrix_header(head[body:], endian)
                    dtype, offset = None, None
                elif mtype == _MI_MATRIX:
                    body = handle.read(min(nbytes, 1024))
                    name, dims, cls, flags, real_type, real_data = _v5_matrix_header(body, endian)
                    dtype = np.dtype(endian + _MI_DTYPES[real_type]) if real_type in _MI_DTYPES else None
                    offset = pos + 8 + real_data
                else:  # not an array (never written by MATLAB at top level): skip it
                    pos = end
                    continue
            except (ValueError, struct.error, zlib.error) as err:
                raise DataError(path, f"corrupt MATLAB v5 element at byte {pos}: {err}") from None
            if cls in _NUMERIC_CLASSES and not flags & _COMPLEX_FLAG and (dtype is not None or offset is None):
                variables[name] = V5Variable(name, dims, dtype, offset)
            else:
                variables[name] = V5Variable(name, dims, None, -1)  # not a real numeric array
            pos = end
    return variables


def _v5_rows(path: Path, variable: V5Variable, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of an uncompressed column-major v5 array, shape (n, *other axes).

    Column-major storage puts the sample axis first-fastest: each of the prod(other axes)
    columns holds N consecutive values, of which one contiguous run is read per column.
    """
    n, rest = variable.shape[0], variable.shape[1:]
    itemsize = variable.dtype.itemsize
    columns = int(np.prod(rest))
    out = np.empty((columns, stop - start), dtype=variable.dtype)
    length = (stop - start) * itemsize
    with open(path, "rb", buffering=0) as handle:
        fd = handle.fileno()
        for column in range(columns):
            raw = os.pread(fd, length, variable.offset + (column * n + start) * itemsize)
            if len(raw) != length:
                raise DataError(path, f"truncated MATLAB v5 data in {variable.name!r}")
            out[column] = np.frombuffer(raw, dtype=variable.dtype)
    # Column index = MATLAB linear index over the other axes (first fastest): reverse to C order.
    return out.reshape(rest[::-1] + (stop - start,)).transpose(*range(len(rest), -1, -1))


class MatSplit:
    """One split of the DeepSEA bundle, opened lazily and read in sample-major chunks.

    Parameters
    ----------
    path:
        The ``.mat`` file.
    split:
        ``"train"``, ``"valid"`` or ``"test"``: decides the variable names and whether strand pairs
        (an even number of samples) are required.

    Attributes ``format``, ``num_samples``, ``sequence_length`` and ``num_targets`` are known after
    construction, which checks the header, variable names and shapes but reads no data.
    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: os.PathLike | str, split: str) -> None:
        self.path = Path(path)
        self.split = split
        self.x_name, self.y_name = variable_names(split)
        self.paired = split in PAIRED_SPLITS
        self.format = detect_format(self.path)
        self._h5 = None
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._v5: tuple[V5Variable, V5Variable] | None = None
        if self.format == "v7.3":
            x_shape, y_shape = self._open_hdf5()
            # h5py sees MATLAB's column-major arrays reversed: x (L, 4, N), y (T, N).
            self._check_shapes(x_shape, y_shape, x_axes=(2, 1, 0), y_axes=(1, 0),
                               x_layout="(L, 4, N)", y_layout="(T, N)")
        else:
            x_shape, y_shape = self._inspect_v5()
            self._check_shapes(x_shape, y_shape, x_axes=(0, 1, 2), y_axes=(0, 1),
                               x_layout="(N, 4, L)", y_layout="(N, T)")

    # -- opening ---------------------------------------------------------------------------------
    def _open_hdf5(self) -> tuple[tuple, tuple]:
        import h5py

        try:
            self._h5 = h5py.File(self.path, "r")
        except OSError as err:
            raise DataError(self.path, f"cannot open as HDF5/MATLAB v7.3 (truncated or corrupt?): {err}") from None
        shapes = []
        for name in (self.x_name, self.y_name):
            if name not in self._h5:
                found = ", ".join(sorted(self._h5.keys())) or "nothing"
                self.close()
                raise DataError(self.path, f"missing variable {name!r} (found: {found})")
            dataset = self._h5[name]
            if not isinstance(dataset, h5py.Dataset):
                self.close()
                raise DataError(self.path, f"{name!r} is not a numeric array")
            shapes.append(tuple(dataset.shape))
        return shapes[0], shapes[1]

    def _inspect_v5(self) -> tuple[tuple, tuple]:
        try:
            listing = index_v5(self.path)
        except OSError as err:
            raise DataError(self.path, f"cannot read as MATLAB v5: {err}") from None
        for name in (self.x_name, self.y_name):
            if name not in listing:
                found = ", ".join(sorted(listing)) or "nothing"
                raise DataError(self.path, f"missing variable {name!r} (found: {found})")
            if listing[name].offset == -1:
                raise DataError(self.path, f"{name!r} is not a real numeric array")
        x_var, y_var = listing[self.x_name], listing[self.y_name]
        if x_var.offset is not None and y_var.offset is not None:
            self._v5 = (x_var, y_var)  # uncompressed: streamed block by block
        return tuple(x_var.shape), tuple(y_var.shape)

    def _check_shapes(self, x_shape: tuple, y_shape: tuple, *, x_axes: tuple, y_axes: tuple,
                      x_layout: str, y_layout: str) -> None:
        fmt = f"MATLAB {self.format}"
        if len(x_shape) != 3:
            self.close()
            raise DataError(self.path, f"{self.x_name} has shape {x_shape}; expected 3 axes {x_layout} in a {fmt} file")
        if len(y_shape) != 2:
            self.close()
            raise DataError(self.path, f"{self.y_name} has shape {y_shape}; expected 2 axes {y_layout} in a {fmt} file")
        n, channels, length = (x_shape[a] for a in x_axes)
        n_y, targets = (y_shape[a] for a in y_axes)
        if channels != 4:
            self.close()
            raise DataError(self.path, f"{self.x_name} has shape {x_shape}; expected {x_layout} with 4 "
                                       f"one-hot channels in a {fmt} file")
        if length < 1 or targets < 1 or n < 1:
            self.close()
            raise DataError(self.path, f"{self.x_name} {x_shape} / {self.y_name} {y_shape}: empty array")
        if n != n_y:
            self.close()
            raise DataError(self.path, f"sample counts differ: {self.x_name} has {n} (shape {x_shape}), "
                                       f"{self.y_name} has {n_y} (shape {y_shape})")
        if self.paired and n % 2:
            self.close()
            raise DataError(self.path, f"{n} samples, but {self.split} must hold strand pairs "
                                       f"(forward half then reverse-complement half): the count must be even")
        self.num_samples, self.sequence_length, self.num_targets = int(n), int(length), int(targets)

    # -- reading ---------------------------------------------------------------------------------
    def _v5_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Load a compressed v5 file's two arrays (zlib streams cannot be sliced); once, on first read."""
        if self._arrays is None:
            import scipy.io

            try:
                x = scipy.io.loadmat(self.path, variable_names=[self.x_name])[self.x_name]
                y = scipy.io.loadmat(self.path, variable_names=[self.y_name])[self.y_name]
            except Exception as err:  # scipy raises many types for corrupt files
                raise DataError(self.path, f"cannot read MATLAB v5 data (truncated or corrupt?): {err}") from None
            self._arrays = (x, y)
        return self._arrays

    def block_size(self, requested: int | None = None) -> int:
        """Samples per streamed block: ``requested``, else about :data:`CHUNK_BYTES` of x.

        For HDF5 the block is rounded to whole storage chunks along N, so no chunk is
        decompressed twice.
        """
        if requested is None:
            itemsize = 1
            if self._h5 is not None:
                itemsize = self._h5[self.x_name].dtype.itemsize
            requested = max(1, CHUNK_BYTES // (4 * self.sequence_length * itemsize))
        block = max(1, int(requested))
        if self._h5 is not None:
            chunks = self._h5[self.x_name].chunks
            if chunks is not None and chunks[2] > 1:
                block = max(chunks[2], block // chunks[2] * chunks[2])
        return block

    def iter_chunks(self, chunk_size: int | None = None) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Yield ``(start, x, y)`` over all samples in order.

        ``x`` is uint8 (n, L, 4) in A, G, C, T channel order and ``y`` uint8 (n, T); both are checked
        to hold only 0/1. Both may be non-contiguous views (the transposes are free).
        """
        block = self.block_size(chunk_size)
        for start in range(0, self.num_samples, block):
            stop = min(start + block, self.num_samples)
            x, y = self._read_raw(start, stop)
            _check_binary(self.path, self.x_name, x, start)
            _check_binary(self.path, self.y_name, y, start)
            yield start, x.astype(np.uint8, copy=False), y.astype(np.uint8, copy=False)

    def _read_raw(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples [start, stop) as sample-major views x (n, L, 4), y (n, T) in the file's dtype."""
        if self._h5 is not None:
            try:
                x = self._h5[self.x_name][:, :, start:stop]  # (L, 4, n): contiguous read
                y = self._h5[self.y_name][:, start:stop]  # (T, n)
            except (OSError, RuntimeError, ValueError) as err:
                raise DataError(self.path, f"cannot read samples {start}..{stop - 1} "
                                           f"(truncated or corrupt?): {err}") from None
            return x.transpose(2, 0, 1), y.T
        if self._v5 is not None:
            x = _v5_rows(self.path, self._v5[0], start, stop)  # (n, 4, L)
            y = _v5_rows(self.path, self._v5[1], start, stop)  # (n, T)
            return x.transpose(0, 2, 1), y
        x, y = self._v5_arrays()
        return x[start:stop].transpose(0, 2, 1), y[start:stop]

    def close(self) -> None:
        """Release the file handle and any loaded arrays."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None
        self._arrays = None

    def __enter__(self) -> MatSplit:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"MatSplit({str(self.path)!r}, split={self.split!r}, format={self.format!r}, "
                f"num_samples={self.num_samples}, sequence_length={self.sequence_length}, "
                f"num_targets={self.num_targets})")


def open_split(path: os.PathLike | str, split: str) -> MatSplit:
    """Open one DeepSEA split file after checking its header, variables and shapes."""
    return MatSplit(path, split)


def read_all(path: os.PathLike | str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Whole split as uint8 ``x`` (N, L, 4) and ``y`` (N, T); for small files and tests only."""
    with open_split(path, split) as reader:
        xs, ys = [], []
        for _, x, y in reader.iter_chunks():
            xs.append(np.ascontiguousarray(x))
            ys.append(np.ascontiguousarray(y))
    return np.concatenate(xs), np.concatenate(ys)


# --- one array of sequences (evaluate.py --predict) ------------------------------------------------

#: Channel orders a file may be declared to hold (``--channel-order``); "auto" checks for A,G,C,T.
CHANNEL_ORDERS = ("auto", ALPHABET, ACGT)


def container_kind(path: os.PathLike | str) -> str:
    """``"mat-v7.3"`` (HDF5 behind a MATLAB header), ``"hdf5"`` (plain) or ``"mat-v5"``."""
    path = Path(path)
    if detect_format(path) == "v5":
        return "mat-v5"
    with open(path, "rb") as handle:
        head = handle.read(len(_HDF5_SIGNATURE))
    return "hdf5" if head == _HDF5_SIGNATURE else "mat-v7.3"


def check_channel_order(codes: np.ndarray, path: os.PathLike | str, channel_order: str) -> None:
    """Refuse data whose dinucleotides show it is in A,C,G,T order, unless an order was declared.

    ``codes`` are read as A,G,C,T. Genomic DNA is CpG-depleted; A,C,G,T data read this way shows the
    depletion on GpC instead. Data without depletion (synthetic, shuffled) passes.
    """
    if channel_order != "auto":
        return
    if channel_order_signature(codes) == "ACGT":
        ratios = dinucleotide_oe(codes)
        raise DataError(path, f"the one-hot channels look like A,C,G,T order, not DeepSEA's A,G,C,T (read as "
                              f"A,G,C,T, GpC is depleted: observed/expected {ratios['GpC']:.2f}, CpG "
                              f"{ratios['CpG']:.2f}); pass --channel-order ACGT to reorder them, or "
                              "--channel-order AGCT if they really are A,G,C,T")


def to_codes(x: np.ndarray, path: os.PathLike | str, channel_order: str, first_sample: int = 0) -> np.ndarray:
    """Base codes (n, L) of a 0/1 one-hot block (n, L, 4) in ``channel_order`` ("auto" = A,G,C,T)."""
    _check_binary(Path(path), "one-hot", x, first_sample)
    if channel_order == ACGT:
        x = acgt_to_agct(x)
    try:
        return codes_from_one_hot(x)
    except MultipleBasesError as err:
        sample, position = err.index[:2]
        raise DataError(path, f"sample {first_sample + sample}, position {position + 1} has more than one "
                              "base set; a one-hot column may hold at most one 1") from None


def iter_sequences(path: os.PathLike | str, variable: str = "testxdata", *, chunk: int = 4096,
                   channel_order: str = "auto") -> Iterator[np.ndarray]:
    """Yield base codes uint8 (n, L) of the one-hot sequence array ``variable`` of a DeepSEA-style file.

    The orientation is decided by the kind of file, never guessed from the shape: a MATLAB v7.3 file
    holds (L, 4, N) as h5py sees it (MATLAB is column-major); a MATLAB v5 file and a plain HDF5 file
    (as DanQ's example.h5, written for DanQ_test.py) hold (N, 4, L). An array that fits neither, a
    value other than 0/1, or a position with several bases set is refused.
    """
    path = Path(path)
    kind = container_kind(path)
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel_order must be one of {CHANNEL_ORDERS}, got {channel_order!r}")
    expected = "(L, 4, N) as h5py sees a MATLAB v7.3 file" if kind == "mat-v7.3" else "(N, 4, L)"
    checked = False

    def blocks(read, n: int):
        nonlocal checked
        for start in range(0, n, chunk):
            codes = to_codes(read(start, min(n, start + chunk)), path, channel_order, start)
            if not checked:
                check_channel_order(codes, path, channel_order)
                checked = True
            yield codes

    if kind == "mat-v5":
        listing = index_v5(path)
        if variable not in listing:
            raise DataError(path, f"no variable {variable!r} (found: {', '.join(sorted(listing)) or 'nothing'})")
        info = listing[variable]
        if info.offset == -1:
            raise DataError(path, f"{variable!r} is not a numeric array")
        shape = tuple(info.shape)
        if len(shape) != 3 or shape[1] != 4:
            raise DataError(path, f"{variable} has shape {shape}; expected {expected}")
        if info.offset is None:  # compressed: zlib streams cannot be sliced
            import scipy.io

            try:
                array = scipy.io.loadmat(path, variable_names=[variable])[variable]
            except Exception as err:  # scipy raises many types for corrupt files
                raise DataError(path, f"cannot read MATLAB v5 data (truncated or corrupt?): {err}") from None
            yield from blocks(lambda a, b: array[a:b].transpose(0, 2, 1), shape[0])
        else:
            yield from blocks(lambda a, b: _v5_rows(path, info, a, b).transpose(0, 2, 1), shape[0])
        return
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise DataError(path, f"cannot open as HDF5 (truncated or corrupt?): {err}") from None
    with handle:
        if variable not in handle:
            raise DataError(path, f"no dataset {variable!r} (found: {', '.join(handle.keys()) or 'nothing'})")
        dataset = handle[variable]
        if not isinstance(dataset, h5py.Dataset):
            raise DataError(path, f"{variable!r} is an HDF5 group, not a dataset of sequences")
        shape = tuple(dataset.shape)
        if len(shape) != 3 or shape[1] != 4:
            raise DataError(path, f"{variable} has shape {shape}; expected {expected}")

        def read(a: int, b: int) -> np.ndarray:
            try:
                if kind == "mat-v7.3":
                    return dataset[:, :, a:b].transpose(2, 0, 1)
                return dataset[a:b].transpose(0, 2, 1)
            except (OSError, RuntimeError, ValueError) as err:
                raise DataError(path, f"cannot read samples {a}..{b - 1} (truncated or corrupt?): {err}") from None

        yield from blocks(read, shape[2] if kind == "mat-v7.3" else shape[0])
