"""Writing predict.py's results: HDF5 (default) or TSV, every file staged and renamed at the end.

HDF5 (``.h5``): one dataset per row identifier (``names``, ``chrom``, ``variant_id``, ...), one
float32 (rows, K) dataset per value (``scores``; ``ref``, ``alt``, ``diff``, ``log2_odds_ratio``),
and the targets table as datasets ``target_names``, ``target_index``, ``cell_type``, ``assay``,
``treatment``, ``category`` (K each); attributes record the command, the model and the window
settings. Strings are UTF-8, readable from h5py, pandas (via h5py), R (rhdf5, hdf5r).

TSV, wide (``--format tsv``): one row per window/variant, the identifier columns then one column
per target headed ``name:index`` (DeepSEA's names repeat), and a companion ``OUT.targets.tsv``
(index, name, cell_type, assay, treatment, category, column) whose ``column`` is that header. TSV, long (``variants --top K``): one row per
(variant, target) with the target's fields as columns, no companion needed.

Nothing is visible under the output names until everything has been written: a failure or an
interrupt leaves the old files (if any) and no partial new ones.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from cli import UserError
from fileio import StagedFiles
from inference.targets import DESCRIPTION_COLUMNS, TARGET_COLUMNS, Targets

FORMATS = ("hdf5", "tsv")
#: Significant digits of float values in TSV (float32 carries about 7).
TSV_DIGITS = 7


def resolve_format(out: str | os.PathLike, fmt: str | None) -> str:
    """``fmt``, or from the output's suffix when None: ``.tsv``/``.txt`` -> tsv, anything else -> hdf5."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UserError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
        return fmt
    return "tsv" if Path(out).suffix.lower() in (".tsv", ".txt") else "hdf5"


def companion_path(out: str | os.PathLike, kind: str = "targets") -> Path:
    """``OUT.tsv`` -> ``OUT.targets.tsv``: the targets table written beside a wide TSV."""
    out = Path(out)
    stem = out.name[:-len(out.suffix)] if out.suffix else out.name
    return out.with_name(f"{stem}.{kind}.tsv")


def output_paths(out: str | os.PathLike, fmt: str, top: int | None = None) -> list[Path]:
    """The files a :class:`RowWriter` writes: OUT, plus the targets table beside a wide TSV."""
    out = Path(out)
    return [out, companion_path(out)] if fmt == "tsv" and top is None else [out]


def check_outputs(paths: Iterable[str | os.PathLike], *, inputs: Iterable[str | os.PathLike],
                  force: bool) -> list[Path]:
    """Refuse any output that would replace an input, a run file, or (without ``force``) a file."""
    import rundir

    inputs = [p for p in inputs if p is not None]
    return [rundir.check_output_path(p, inputs=inputs, force=force) for p in paths]


def _strings(values: Sequence) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def write_targets_hdf5(h5, targets: Targets) -> None:
    """The targets table as datasets of an open h5py file."""
    import h5py

    text = h5py.string_dtype()
    h5.create_dataset("target_names", data=_strings(targets.names), dtype=text)
    h5.create_dataset("target_index", data=targets.indices)
    for key in ("cell_type", "assay", "treatment"):
        h5.create_dataset(key, data=_strings(targets.field(key)), dtype=text)
    h5.create_dataset("category", data=_strings(targets.categories), dtype=text)


def write_dataset(h5, name: str, values) -> None:
    """A dataset from a numpy array or a list of strings."""
    import h5py

    array = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if array.dtype.kind in "USO":
        h5.create_dataset(name, data=_strings(array.tolist()), dtype=h5py.string_dtype())
    else:
        h5.create_dataset(name, data=array)


def set_attrs(h5, attrs: Mapping) -> None:
    for key, value in attrs.items():
        if value is None:
            continue
        h5.attrs[key] = json.dumps(value) if isinstance(value, (dict, list, tuple)) else value


def _tsv_cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.{TSV_DIGITS}g}"
    text = str(value)
    if "\t" in text or "\n" in text:
        raise ValueError(f"a TSV cell cannot hold a tab or newline: {text!r}")
    return text


def format_float_block(values: np.ndarray) -> list[str]:
    """Rows of a (b, K) float array as tab-joined strings."""
    fmt = f"%.{TSV_DIGITS}g"
    return ["\t".join(fmt % v for v in row) for row in values.tolist()]


def write_targets_tsv(path: str | os.PathLike, targets: Targets) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\t".join(TARGET_COLUMNS) + "\n")
        for row in targets.rows():
            handle.write("\t".join(_tsv_cell(row[c]) for c in TARGET_COLUMNS) + "\n")


class RowWriter:
    """Stream per-row results (in row order) into an HDF5 or TSV file; a context manager.

    ``rows`` holds the identifier columns (each of length ``n``), ``values`` names the (n, K)
    float arrays every :meth:`write` call supplies (already restricted to ``targets``).
    For TSV, the wide form holds ``tsv_value``; with ``top`` the long form holds every value for
    the ``top`` targets of largest absolute ``tsv_value`` per row.
    """

    def __init__(self, out: str | os.PathLike, *, fmt: str, targets: Targets, rows: Mapping[str, Sequence],
                 values: Sequence[str], attrs: Mapping | None = None, tsv_value: str | None = None,
                 top: int | None = None, staged: StagedFiles | None = None) -> None:
        self.out = Path(out)
        self.fmt = fmt
        self.targets = targets
        self.rows = {k: np.asarray(v) if not isinstance(v, np.ndarray) else v for k, v in rows.items()}
        lengths = {len(v) for v in self.rows.values()}
        if len(lengths) != 1:
            raise ValueError(f"row identifier columns differ in length: {lengths}")
        self.n = lengths.pop()
        self.values = list(values)
        self.attrs = dict(attrs or {})
        self.tsv_value = tsv_value or self.values[0]
        self.top = top
        self._staged = staged
        self._own_stage = staged is None
        self._written = 0

    @property
    def paths(self) -> list[Path]:
        """Every file this writer produces."""
        return output_paths(self.out, self.fmt, self.top)

    def __enter__(self) -> "RowWriter":
        if self._own_stage:
            self._staged = StagedFiles(self.out.parent).__enter__()
        try:
            self._open()
        except BaseException as err:
            if self._own_stage:
                self._staged.__exit__(type(err), err, None)
            raise
        return self

    def _open(self) -> None:
        tmp = self._staged.path(self.out.name)
        if self.fmt == "hdf5":
            import h5py

            self._h5 = h5py.File(tmp, "w")
            for name, column in self.rows.items():
                write_dataset(self._h5, name, column)
            write_targets_hdf5(self._h5, self.targets)
            k = len(self.targets)
            chunks = (max(1, min(self.n, 256)), max(1, k)) if self.n and k else None
            for name in self.values:
                self._h5.create_dataset(name, shape=(self.n, k), dtype=np.float32, chunks=chunks,
                                        compression="gzip" if chunks else None,
                                        compression_opts=1 if chunks else None, shuffle=bool(chunks))
            set_attrs(self._h5, self.attrs)
        else:
            self._tsv = open(tmp, "w", encoding="utf-8")
            ids = list(self.rows)
            if self.top is None:
                self._tsv.write("\t".join(ids + self.targets.columns) + "\n")
                write_targets_tsv(self._staged.path(companion_path(self.out).name), self.targets)
            else:
                self._tsv.write("\t".join(ids + ["rank", *DESCRIPTION_COLUMNS, "target_index",
                                                 *self.values]) + "\n")
                self._target_rows = self.targets.rows()

    def write(self, start: int, values: Mapping[str, np.ndarray]) -> None:
        """Rows ``[start, start + b)`` of every value (each (b, K) float)."""
        if start != self._written:
            raise ValueError(f"rows must be written in order: expected row {self._written}, got {start}")
        b = len(values[self.values[0]])
        if self.fmt == "hdf5":
            for name in self.values:
                self._h5[name][start:start + b] = values[name]
        elif self.top is None:
            id_cells = self._id_cells(start, b)
            block = format_float_block(np.asarray(values[self.tsv_value]))
            self._tsv.writelines(f"{ids}\t{cells}\n" for ids, cells in zip(id_cells, block))
        else:
            id_cells = self._id_cells(start, b)
            key = np.abs(np.asarray(values[self.tsv_value], dtype=np.float64))
            k = min(self.top, key.shape[1])
            order = np.argsort(-key, axis=1, kind="stable")[:, :k]
            lines = []
            for r in range(b):
                for rank, j in enumerate(order[r], start=1):
                    target = self._target_rows[j]
                    cells = [str(rank), *(_tsv_cell(target[c]) for c in DESCRIPTION_COLUMNS), str(target["index"])]
                    cells += [_tsv_cell(float(values[v][r, j])) for v in self.values]
                    lines.append(f"{id_cells[r]}\t" + "\t".join(cells) + "\n")
            self._tsv.writelines(lines)
        self._written += b

    def _id_cells(self, start: int, b: int) -> list[str]:
        columns = [self.rows[k][start:start + b].tolist() for k in self.rows]
        return ["\t".join(_tsv_cell(c) for c in cells) for cells in zip(*columns)]

    def __exit__(self, exc_type, exc, tb) -> None:
        error = None
        try:
            (self._h5 if self.fmt == "hdf5" else self._tsv).close()
            if exc_type is None and self._written != self.n:
                error = RuntimeError(f"{self.out}: {self._written} of {self.n} rows were written")
        except Exception as err:  # closing failed (disk full): the staged files must go too
            error = err
        if self._own_stage:
            failure = error or exc
            self._staged.__exit__(type(failure) if failure else None, failure, None)
        if error is not None:
            raise error
