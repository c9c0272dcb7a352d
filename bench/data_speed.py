"""Table: the data layer: streaming conversion (rate, peak memory) and the tf.data input pipeline.

A random train.mat in the published MATLAB v7.3 layout (gzip-chunked (1000, 4, N)) and small v5
valid/test files are written to a temporary directory, converted by the ``data.convert`` CLI in
a child process (its own peak resident memory, ``VmHWM``), and ``data.pipeline.train_dataset``
is drawn from at 1000 and 500 bp. The pipeline must feed at least 5x faster than the fastest
model trains (checked against the training tables).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import timing

TITLE = "Data: conversion and input pipeline"
RSS_LIMIT_GIB = 1.5
FEED_TARGET = 5.0

FULL = {"n_train": 200_000, "n_eval": 2000, "batch": 256, "batches": 200}
QUICK = {"n_train": 600, "n_eval": 4, "batch": 16, "batches": 3}

# The converter's own high-water RSS: VmHWM belongs to the process image after exec, whereas
# getrusage(RUSAGE_CHILDREN) would also count the forked copy of this (large) parent.
_CONVERT = ("import sys\nfrom data.convert import main\nstatus = main(sys.argv[1:])\n"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0], file=sys.stderr)\n"
            "sys.exit(status)\n")


def write_random_bundle(folder: Path, n_train: int, n_eval: int, seed: int = 0) -> None:
    """Random one-hot train.mat (v7.3, gzip-chunked) and strand-paired valid/test.mat (v5)."""
    from data.encoding import reverse_complement_codes
    from data.synthetic import write_mat_v5, write_mat_v73

    rng = np.random.default_rng(seed)

    def blocks(block: int = 8192):
        for start in range(0, n_train, block):
            size = min(block, n_train - start)
            yield (rng.integers(0, 4, size=(size, 1000), dtype=np.uint8),
                   (rng.random((size, 919), dtype=np.float32) < 0.03).astype(np.uint8))

    write_mat_v73(folder / "train.mat", "train", blocks(), n_train, chunk_samples=512)
    for split in ("valid", "test"):
        codes = rng.integers(0, 4, size=(n_eval // 2, 1000), dtype=np.uint8)
        labels = (rng.random((n_eval // 2, 919)) < 0.03).astype(np.uint8)
        write_mat_v5(folder / f"{split}.mat", split, np.concatenate([codes, reverse_complement_codes(codes)]),
                     np.concatenate([labels, labels]))


def convert(source: Path, out: Path) -> dict[str, float]:
    """Run the converter CLI in a child process: seconds and its peak RSS."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CONVERT, str(source), str(out), "--no-progress"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"data.convert failed: {proc.stderr.strip()}")
    return {"seconds": seconds, "peak_rss_gib": int(proc.stderr.split()[-1]) / 2**20}


def pipeline_rate(split, length: int, batch: int, batches: int) -> float:
    """Sequences/s drawn from train_dataset after three warm-up batches."""
    from data.pipeline import train_dataset

    iterator = iter(train_dataset(split, batch_size=batch, seed=0, sequence_length=length))
    for _ in range(3):
        next(iterator)
    start, count = time.perf_counter(), 0
    for _ in range(batches):
        count += int(next(iterator)[0].shape[0])
    return count / (time.perf_counter() - start)


def measure(settings: dict) -> dict[str, Any]:
    from data.store import open_store

    timing.log("data: random bundle, conversion, pipeline")
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        source, store = Path(tmp) / "deepsea", Path(tmp) / "store"
        source.mkdir()
        start = time.perf_counter()
        write_random_bundle(source, settings["n_train"], settings["n_eval"])
        generate_s = time.perf_counter() - start
        conversion = convert(source, store)
        sequences = settings["n_train"] + 2 * settings["n_eval"]
        split = open_store(store).split("train")
        pipeline = {length: pipeline_rate(split, length, settings["batch"], settings["batches"])
                    for length in (1000, 500)}
    return {"generate_s": generate_s, **conversion, "seq_per_s": sequences / conversion["seconds"],
            "mib_per_s": sequences * 4000 / 2**20 / conversion["seconds"], "pipeline": pipeline}


def markdown(result: dict, settings: dict) -> list[str]:
    rss_ok = result["peak_rss_gib"] < RSS_LIMIT_GIB
    rows = [["generate a random train.mat (v7.3, gzip)", f"{result['generate_s']:.1f} s",
             f"{settings['n_train']:,} sequences"],
            ["convert (`python -m data.convert`, child process)", f"{result['seconds']:.1f} s",
             f"{result['seq_per_s']:,.0f} seq/s, {result['mib_per_s']:.0f} MiB/s of one-hot"],
            ["converter peak RSS", f"{result['peak_rss_gib']:.2f} GiB",
             f"limit {RSS_LIMIT_GIB} GiB: {timing.verdict(rss_ok)}"]]
    rows += [[f"`train_dataset`, {length} bp, batch {settings['batch']}", f"{rate:,.0f} seq/s",
              f"{settings['batches']} batches"] for length, rate in result["pipeline"].items()]
    return timing.table(["measurement", "value", "notes"], rows, "lll")


def checks(result: dict, fastest: tuple[str, int, float] | None) -> list[dict]:
    """The converter's memory limit, and the pipeline against ``fastest`` = (model, length, seq/s)."""
    out = [{"check": f"converter peak memory < {RSS_LIMIT_GIB} GiB", "measured": f"{result['peak_rss_gib']:.2f} GiB",
            "passed": result["peak_rss_gib"] < RSS_LIMIT_GIB}]
    if fastest is not None:
        name, length, rate = fastest
        feed = result["pipeline"][1000 if length > 500 else 500]
        out.append({"check": f"input pipeline >= {FEED_TARGET:g}x the fastest model's training rate",
                    "measured": f"{feed / rate:,.0f}x ({feed:,.0f} vs {rate:,.1f} seq/s, {name})",
                    "passed": feed / rate >= FEED_TARGET})
    return out
