"""Pieces every subcommand shares: one-hot batching, output attributes, the summary line."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from data.encoding import one_hot

#: What every output's ``strand_averaging`` attribute says.
STRAND_AVERAGING = "mean of the forward and reverse-complement predictions"


def one_hot_batches(windows: Iterable[np.ndarray], length: int, batch_size: int) -> Iterator[np.ndarray]:
    """Float32 one-hot batches (b, L, 4) of base-code windows (L,), ``batch_size`` at a time."""
    buffer = np.empty((batch_size, length), dtype=np.uint8)
    filled = 0
    for codes in windows:
        buffer[filled] = codes
        filled += 1
        if filled == batch_size:
            yield one_hot(buffer)
            filled = 0
    if filled:
        yield one_hot(buffer[:filled])


def check_batch_size(batch_size: int, minimum: int = 1) -> int:
    from cli import UserError

    if batch_size < minimum:
        raise UserError(f"--batch-size must be at least {minimum}, got {batch_size}")
    return batch_size


def output_attrs(loaded, command: str | None, **settings) -> dict:
    """Attributes recorded in every HDF5 output: command, model, versions, window settings."""
    import rundir

    path = Path(loaded.path)
    model_file = rundir.RunDir(path).best_model_path if path.is_dir() else path
    return {"command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": str(path), "model_sha256": rundir.file_sha256(model_file) if model_file.is_file() else None,
            "sequence_length": loaded.sequence_length, "strand_averaging": STRAND_AVERAGING,
            "channels": "A,G,C,T one-hot (DeepSEA order); N and other IUPAC codes all-zero",
            "versions": rundir.package_versions(), **{k: v for k, v in settings.items() if v is not None}}


class Timer:
    """Seconds since construction (for the summary line's rate)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:.1f}/s" if seconds > 0 else "-"
