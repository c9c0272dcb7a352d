"""Shared helpers for the benchmarks: timing (median of repeats), machine description, JSON output.

Every benchmark module records the machine it ran on and the exact command that produced its
numbers, so each figure in docs/BENCHMARKS.md can be traced back and reproduced.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import statistics
import sys
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

import fileio
from fileio import atomic_write_text

__all__ = [
    "time_calls",
    "interleaved_times",
    "round_ratios",
    "summarize",
    "machine_info",
    "command_string",
    "write_json",
    "write_text_atomic",
    "random_batch",
    "reverse_complement",
    "full_epoch_hours",
    "FULL_TRAIN_SEQUENCES",
]

#: Sequences in DeepSEA's train.mat (both strands), the unit of one full-data epoch.
FULL_TRAIN_SEQUENCES = 4_400_000


def _block(result: Any) -> None:
    """Force asynchronous results (TF tensors, numpy) to be materialised before the clock stops."""
    if hasattr(result, "numpy"):
        result.numpy()
    elif isinstance(result, (list, tuple)):
        for item in result:
            _block(item)
    elif isinstance(result, dict):
        for item in result.values():
            _block(item)


def time_calls(fn: Callable[[], Any], *, warmup: int = 1, repeats: int = 3) -> list[float]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; return seconds per call.

    Warm-up calls absorb graph tracing and compilation, which would otherwise dominate the first step.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    for _ in range(warmup):
        _block(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _block(fn())
        times.append(time.perf_counter() - start)
    return times


def interleaved_times(
    fns: Mapping[str, Callable[[], Any]],
    *,
    warmup: int = 1,
    repeats: int = 3,
    cpu_times: dict[str, list[float]] | None = None,
) -> dict[str, list[float]]:
    """Time several functions round-robin (a, b, a, b, ...) so machine noise hits all of them alike.

    Returns wall-clock seconds per call for each name. The round-robin order is rotated every round
    so that no function always runs straight after the same neighbour. If ``cpu_times`` is a dict,
    it also receives the process CPU seconds (all threads) of each call: on a shared machine they
    are less inflated by other users' load than wall-clock time.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got warmup={warmup}, repeats={repeats}")
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            _block(fns[name]())
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            cpu_start = time.process_time()
            start = time.perf_counter()
            _block(fns[name]())
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
    if cpu_times is not None:
        cpu_times.update(cpu)
    return times


def round_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """Per-round ratios of two interleaved timings (round i of one over round i of the other).

    Calls of the same round run back to back, so a change in machine load between rounds cancels
    in their ratio; the median of these is steadier than the ratio of the two medians.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError(f"need two equally long, non-empty timings, got {len(numerator)} and {len(denominator)}")
    return [a / b for a, b in zip(numerator, denominator)]


def summarize(times: Sequence[float], items_per_call: int) -> dict[str, Any]:
    """Median seconds per call, items/s at the median, and the raw times (for spread)."""
    med = statistics.median(times)
    return {
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "times_s": [round(t, 6) for t in times],
        "items_per_s": items_per_call / med if med > 0 else float("inf"),
    }


def full_epoch_hours(train_seq_per_s: float, num_sequences: int = FULL_TRAIN_SEQUENCES) -> float:
    """Estimated hours for one pass over DeepSEA's 4.4M training sequences at a given throughput."""
    if train_seq_per_s <= 0:
        raise ValueError(f"throughput must be positive, got {train_seq_per_s}")
    return num_sequences / train_seq_per_s / 3600.0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine_info(*, with_tensorflow: bool = True) -> dict[str, Any]:
    """Describe the machine: CPU model, usable cores, RAM, GPUs, library versions, UTC date."""
    try:
        usable_cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable_cores = os.cpu_count()
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": usable_cores,
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "gpus": [],
    }
    if with_tensorflow:
        import keras
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["keras"] = keras.__version__
        gpus = []
        for dev in tf.config.list_physical_devices("GPU"):
            try:
                name = tf.config.experimental.get_device_details(dev).get("device_name", dev.name)
            except Exception:  # details are best effort; the device itself is what matters
                name = dev.name
            gpus.append(name)
        info["gpus"] = gpus
    return info


def command_string(module: str, argv: Sequence[str] | None) -> str:
    """The shell command that reproduces this run, e.g. ``python -m bench.bench_models --quick``."""
    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python", "-m", module] + [shlex.quote(a) for a in args])


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    atomic_write_text(path, text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically; numpy scalars become numbers, inf/nan null.

    Keys keep their order (not sorted), so results read in the order they were measured.
    """
    fileio.write_json(path, obj, sort_keys=False)


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot batches (..., L, 4): reverse positions and channels.

    Works for both A,G,C,T and A,C,G,T channel orders, since complementary bases sit at mirrored
    channel positions in each.
    """
    return x[..., ::-1, ::-1]


def random_batch(
    batch_size: int, sequence_length: int, num_targets: int = 919, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A random one-hot batch (B, L, 4) float32 and random 0/1 labels (B, T) float32.

    Content does not matter for timing, only shapes and dtypes, which match the training pipeline.
    """
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(batch_size, sequence_length))
    x = np.eye(4, dtype=np.float32)[codes]
    y = (rng.random((batch_size, num_targets)) < 0.05).astype(np.float32)
    return x, y
