"""Convert the DeepSEA .mat files into a compact store, streaming and atomically.

    python -m data.convert DEEPSEA_DIR OUT_DIR

train.mat is read block by block along N (never whole), each block is checked (0/1 values, at most
one base per position), encoded to base codes and bit-packed labels and appended to plain files.
Everything is written into a hidden sibling directory ``.OUT_DIR.partial-<pid>``; ``meta.json`` is
written last and the directory renamed into place only after the counts and shapes are verified.
A killed conversion therefore leaves only a ``.partial-*`` directory (removed by the next run),
never a store that looks complete.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from cli import EXIT_INTERRUPTED, run_command
from data.mat import CHANNEL_ORDERS, SPLITS, DataError, check_channel_order, open_split, to_codes
from data.store import (META_NAME, STORE_ALPHABET, STORE_FORMAT, STORE_VERSION, Store, check_strand_pairs,
                        file_fingerprint, is_store, labels_path, open_store, seq_path, source_files)


def _write_npy_header(handle, shape: tuple[int, ...]) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
              "shape": tuple(int(s) for s in shape)}
    np.lib.format.write_array_header_2_0(handle, header)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(out_dir: Path) -> None:
    """Delete ``.NAME.partial-<pid>`` siblings whose converting process no longer exists."""
    prefix = f".{out_dir.name}.partial-"
    if not out_dir.parent.is_dir():
        return
    for entry in out_dir.parent.iterdir():
        if entry.name.startswith(prefix) and entry.is_dir():
            pid = entry.name[len(prefix):]
            if not pid.isdigit() or not _pid_alive(int(pid)) or int(pid) == os.getpid():
                shutil.rmtree(entry, ignore_errors=True)


def _convert_split(reader, work_dir: Path, chunk_size: int | None, bar, channel_order: str) -> dict:
    """Stream one split into ``work_dir``; returns its meta entry (counts for verification)."""
    n, length, targets = reader.num_samples, reader.sequence_length, reader.num_targets
    packed_width = (targets + 7) // 8
    positives = np.zeros(targets, dtype=np.int64)
    n_bases = 0
    written = 0
    with open(seq_path(work_dir, reader.split), "wb") as seq_file, \
            open(labels_path(work_dir, reader.split), "wb") as label_file:
        _write_npy_header(seq_file, (n, length))
        _write_npy_header(label_file, (n, packed_width))
        for start, x, y in reader.iter_chunks(chunk_size):
            codes = to_codes(x, reader.path, channel_order, start)
            if start == 0:
                check_channel_order(codes, reader.path, channel_order)
            seq_file.write(np.ascontiguousarray(codes).tobytes())
            label_file.write(np.packbits(y, axis=1, bitorder="little").tobytes())
            positives += y.sum(axis=0, dtype=np.int64)
            n_bases += int(np.count_nonzero(codes == 4))
            written += codes.shape[0]
            if bar is not None:
                bar.update(codes.shape[0])
        for handle in (seq_file, label_file):
            handle.flush()
            os.fsync(handle.fileno())
    if written != n:
        raise DataError(reader.path, f"read {written} samples but the header announced {n}")
    if reader.paired:
        check_strand_pairs(np.load(seq_path(work_dir, reader.split), mmap_mode="r"), reader.path)
    return {"num_samples": n, "paired": reader.paired, "source_format": reader.format,
            "n_fraction": n_bases / float(n * length), "positives": positives.tolist()}


def _verify(work_dir: Path, meta: dict) -> None:
    """Re-open every written array and check shape and dtype against the metadata."""
    for split, info in meta["splits"].items():
        for path, width in ((seq_path(work_dir, split), meta["sequence_length"]),
                            (labels_path(work_dir, split), (meta["num_targets"] + 7) // 8)):
            array = np.load(path, mmap_mode="r")
            expected = (info["num_samples"], width)
            if array.dtype != np.uint8 or array.shape != expected:
                raise DataError(path, f"verification failed: {array.dtype} {array.shape}, expected uint8 {expected}")
            del array


def convert(deepsea_dir: os.PathLike | str, out_dir: os.PathLike | str, *, splits=SPLITS,
            chunk_size: int | None = None, overwrite: bool = False, progress: bool | None = None,
            channel_order: str = "auto") -> Store:
    """Convert ``deepsea_dir/{train,valid,test}.mat`` into a store at ``out_dir`` and open it.

    Every input is checked (headers, variables, shapes, counts) before anything is written, so a
    bad file fails fast. ``progress=None`` shows a bar only on a terminal. ``channel_order`` "auto"
    expects A,G,C,T and refuses data whose dinucleotides say A,C,G,T; "ACGT" reorders such data.
    """
    from tqdm import tqdm

    deepsea_dir, out_dir = Path(deepsea_dir), Path(out_dir)
    if not deepsea_dir.is_dir():
        raise DataError(deepsea_dir, "DeepSEA directory not found")
    if is_store(out_dir) and not overwrite:
        raise DataError(out_dir, "already holds a complete store (pass --overwrite to replace it)")
    if out_dir.exists() and not is_store(out_dir) and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise DataError(out_dir, "exists and is not a data store; choose an empty or new directory")
    paths = source_files(deepsea_dir)
    readers = []
    try:
        for split in splits:
            readers.append(open_split(paths[split], split))
        shapes = {(r.sequence_length, r.num_targets) for r in readers}
        if len(shapes) > 1:
            detail = ", ".join(f"{r.path.name}: L={r.sequence_length} T={r.num_targets}" for r in readers)
            raise DataError(deepsea_dir, f"splits disagree on sequence length or target count ({detail})")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(out_dir)
        work_dir = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
        work_dir.mkdir()
        try:
            started = time.time()
            meta = {"format": STORE_FORMAT, "version": STORE_VERSION, "alphabet": STORE_ALPHABET,
                    "sequence_length": readers[0].sequence_length, "num_targets": readers[0].num_targets,
                    "labels": "np.packbits(axis=1, bitorder='little')", "splits": {}, "sources": {}}
            total = sum(r.num_samples for r in readers)
            with tqdm(total=total, unit="seq", desc="converting", disable=None if progress is None
                      else not progress, dynamic_ncols=True) as bar:
                for reader in readers:
                    bar.set_postfix_str(reader.path.name)
                    meta["sources"][reader.split] = file_fingerprint(reader.path)
                    meta["splits"][reader.split] = _convert_split(reader, work_dir, chunk_size, bar, channel_order)
                    reader.close()
            meta["source_digest"] = hashlib.sha256(
                json.dumps(meta["sources"], sort_keys=True).encode()).hexdigest()[:16]
            meta["conversion_seconds"] = round(time.time() - started, 3)
            _verify(work_dir, meta)
            with open(work_dir / META_NAME, "w") as handle:  # last: marks the store complete
                json.dump(meta, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            _move_into_place(work_dir, out_dir)
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
    finally:
        for reader in readers:
            reader.close()
    return open_store(out_dir)


def _move_into_place(work_dir: Path, out_dir: Path) -> None:
    """Rename the finished store to ``out_dir``, replacing an empty directory or an old store."""
    if out_dir.exists():
        trash = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        os.rename(out_dir, trash)
        try:
            os.rename(work_dir, out_dir)
        except BaseException:
            os.rename(trash, out_dir)
            raise
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(work_dir, out_dir)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (cli's convention)."""
    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.convert",
        description="Convert DeepSEA train.mat/valid.mat/test.mat into a compact memory-mapped store "
                    "(streaming: train.mat is never loaded whole).")
    parser.add_argument("deepsea_dir", help="directory holding train.mat, valid.mat and test.mat")
    parser.add_argument("out_dir", help="store directory to create")
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS),
                        help="splits to convert [default: %(default)s]")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="samples per streamed block [default: about 64 MiB of sequence]")
    parser.add_argument("--channel-order", choices=CHANNEL_ORDERS, default="auto",
                        help="one-hot channel order of the files: auto = DeepSEA's A,G,C,T, refusing data "
                             "whose CpG/GpC depletion says A,C,G,T; ACGT reorders [default: %(default)s]")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing store [default: %(default)s]")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar [default: %(default)s]")
    args = parser.parse_args(argv)
    if args.chunk_size is not None and args.chunk_size < 1:
        parser.error(f"--chunk-size must be positive, got {args.chunk_size}")
    try:
        store = convert(args.deepsea_dir, args.out_dir, splits=tuple(args.splits), chunk_size=args.chunk_size,
                        overwrite=args.overwrite, progress=False if args.no_progress else None,
                        channel_order=args.channel_order)
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"wrote {store!r} in {store.meta['conversion_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
