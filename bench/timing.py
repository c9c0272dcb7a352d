"""The one timing helper of the benchmarks, and the machine they ran on.

Everything compared is timed round-robin in one process (a, b, c, then b, c, a, ...), so a change
in machine load hits all alike; ratios are medians of per-round ratios. Every call records wall
seconds (what a user waits) and process CPU seconds, all threads (the work done: on a shared
machine it is less inflated by other users' load than wall time).
"""
from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

#: Sequences in DeepSEA's train.mat (both strands): the unit of one full-data epoch.
FULL_TRAIN_SEQUENCES = 4_400_000


@dataclass
class Times:
    """Seconds per timed call of one entry: wall clock and process CPU (all threads)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    first: float | None = None  # the first (warm-up) call: tracing and compilation included

    def median(self, kind: str = "wall") -> float:
        return statistics.median(getattr(self, kind))

    def rate(self, items_per_call: float, kind: str = "wall") -> float:
        """Items per second (per CPU second for ``kind="cpu"``) at the median call."""
        return items_per_call / self.median(kind)


def _finish(result: Any) -> None:
    """Wait for a TensorFlow result, so that the clock stops after the work."""
    if hasattr(result, "numpy"):
        result.numpy()
    elif isinstance(result, (list, tuple)):
        for item in result:
            _finish(item)


def interleaved(calls: Mapping[str, Callable[[], Any]], *, warmup: int = 1, repeats: int = 3) -> dict[str, Times]:
    """Call every entry ``warmup`` rounds untimed, then ``repeats`` timed rounds, round-robin.

    The order rotates every round so no entry always follows the same neighbour. The first
    warm-up call's wall seconds are kept as ``Times.first``.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got {warmup} and {repeats}")
    names = list(calls)
    times = {name: Times() for name in names}
    for w in range(warmup):
        for name in names:
            wall = time.perf_counter()
            _finish(calls[name]())
            if w == 0:
                times[name].first = time.perf_counter() - wall
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            cpu, wall = time.process_time(), time.perf_counter()
            _finish(calls[name]())
            times[name].wall.append(time.perf_counter() - wall)
            times[name].cpu.append(time.process_time() - cpu)
    return times


def speedup(slow: Times, fast: Times, kind: str = "wall", per: tuple[float, float] = (1, 1)) -> float:
    """Median over rounds of (slow seconds / per[0]) / (fast seconds / per[1]).

    ``per`` gives the items of one call of each (batch sizes) to compare cost per item.
    """
    a, b = getattr(slow, kind), getattr(fast, kind)
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty timings, got {len(a)} and {len(b)}")
    return statistics.median((s / per[0]) / (f / per[1]) for s, f in zip(a, b))


def random_batch(batch_size: int, sequence_length: int, num_targets: int, *, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One-hot ``x`` (B, L, 4) and 0/1 labels ``y`` (B, T), float32, as the training pipeline yields."""
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (batch_size, sequence_length))]
    y = (rng.random((batch_size, num_targets)) < 0.05).astype(np.float32)
    return x, y


def build_model(name: str, overrides: Mapping[str, Any] | None = None, *, policy: str = "float32",
                jit_compile: bool = False, stock_lstm: bool = False, **changes):
    """Preset ``name`` built as train.py builds it (``training.settings.build``) and compiled as it
    compiles it (Adam with the paper's lr and Keras 2.0.8's epsilon, binary cross-entropy).

    ``overrides`` apply where the preset has the key (quick mode shrinks every model alike);
    ``changes`` must apply. ``jit_compile`` is explicit: Keras' "auto" turns XLA on with a GPU.
    ``stock_lstm``: ``keras.layers.LSTM`` instead of ``models.lstm.LSTM`` (the same maths).
    """
    import keras

    from models import resolve_config
    from models.lstm import to_stock_lstm
    from training.settings import ADAM_EPSILON, TrainSettings, build

    config = resolve_config(name)
    config = resolve_config(name, **{k: v for k, v in (overrides or {}).items() if k in config}, **changes)
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build(config, policy)
        if stock_lstm:
            model = to_stock_lstm(model)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=TrainSettings.lr, epsilon=ADAM_EPSILON),
                  loss="binary_crossentropy", jit_compile=jit_compile)
    return model


def train_step(model, batch_size: int, *, seed: int = 0) -> Callable[[], Any]:
    """``model.train_on_batch`` on one fixed random batch (``model`` compiled)."""
    x, y = random_batch(batch_size, model.input_shape[1], model.output_shape[-1], seed=seed)
    return lambda: model.train_on_batch(x, y)


def matmul_step(size: int) -> tuple[Callable[[], Any], float]:
    """A compiled float32 ``size x size`` matmul and its FLOPs (2 n^3): the machine's yardstick."""
    import tensorflow as tf

    a = tf.random.stateless_normal((size, size), seed=(1, 2))
    b = tf.random.stateless_normal((size, size), seed=(3, 4))
    return tf.function(lambda: tf.matmul(a, b)), 2.0 * size ** 3


def release() -> None:
    """Free the models built so far (between tables and model groups)."""
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def log(message: str) -> None:
    """Progress on stderr (the tables go to the page)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def full_epoch_hours(seq_per_s: float) -> float:
    """Hours for one pass over DeepSEA's 4.4M training sequences."""
    return FULL_TRAIN_SEQUENCES / seq_per_s / 3600.0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"0.52 1.10 2.03"``."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _first_line(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """CPU, usable cores, RAM, GPUs, library versions, date and load: the line under each table."""
    import keras
    import tensorflow as tf

    mem = _first_line("/proc/meminfo", "MemTotal")
    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append(details.get("device_name", gpu.name))
    return {
        "cpu": _first_line("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
        "gpus": gpus,
        "versions": f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}, "
                    f"Python {platform.python_version()}",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load_average(),
    }


def machine_line(info: Mapping[str, Any]) -> str:
    """One Markdown line describing the machine."""
    gpus = ", ".join(info["gpus"]) or "none"
    return (f"{info['cpu']} ({info['cores']} usable cores), RAM {info['ram_gib']} GiB, GPU: {gpus}; "
            f"{info['versions']}; {info['date']}")


def percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    """A Markdown table; ``align`` is one letter per column, l or r [default: first l, rest r]."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def verdict(passed: bool | None) -> str:
    return "not measured" if passed is None else ("**PASS**" if passed else "**FAIL**")
