"""Data-layer benchmark: streaming conversion (throughput, peak RSS) and input-pipeline throughput.

    python -m bench.bench_data [--n-train 200000] [--json results.json]

1. Writes a random train.mat in the published MATLAB v7.3 layout ((1000, 4, N) gzip-chunked, with
   small v5 valid/test files) into a temporary directory, block by block.
2. Runs the ``data.convert`` CLI on it in a child process and reports wall time, sequences/s and
   the child's peak resident memory (its ``VmHWM``; ``getrusage(RUSAGE_CHILDREN)`` would also
   count the forked copy of this parent).
3. Times ``data.pipeline.train_dataset`` (batch 256, 1000 bp and 500 bp) against one training step of
   CRNN-320-projection (``models.resolve_config`` / ``build_model``) on the same CPU: the pipeline
   must feed at least 5x faster than the model trains.

Prints a Markdown table; ``--json`` also writes the figures (see bench/common.py) for docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import command_string, machine_info, random_batch, summarize, time_calls, write_json

RSS_LIMIT_GIB = 1.5
FEED_FACTOR = 5.0


def write_random_bundle(directory: Path, n_train: int, n_eval: int, seed: int = 0) -> float:
    """Random one-hot train.mat (v7.3, gzip-chunked) and valid/test.mat (v5); returns seconds taken."""
    from data.encoding import reverse_complement_codes
    from data.synthetic import write_mat_v5, write_mat_v73

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    block = 8192

    def blocks():
        for start in range(0, n_train, block):
            size = min(block, n_train - start)
            codes = rng.integers(0, 4, size=(size, 1000), dtype=np.uint8)
            yield codes, (rng.random((size, 919), dtype=np.float32) < 0.03).astype(np.uint8)

    write_mat_v73(directory / "train.mat", "train", blocks(), n_train, chunk_samples=512)
    for split in ("valid", "test"):  # paired: the second half holds the reverse complements
        codes = rng.integers(0, 4, size=(n_eval // 2, 1000), dtype=np.uint8)
        labels = (rng.random((n_eval // 2, 919)) < 0.03).astype(np.uint8)
        write_mat_v5(directory / f"{split}.mat", split, np.concatenate([codes, reverse_complement_codes(codes)]),
                     np.concatenate([labels, labels]))
    return time.perf_counter() - started


# Runs the converter and reports its own high-water RSS. VmHWM belongs to the process image after
# exec; getrusage(RUSAGE_CHILDREN).ru_maxrss would also count the forked copy of this (large) parent.
_CONVERT_AND_REPORT = (
    "import sys\n"
    "from data.convert import main\n"
    "status = main(sys.argv[1:])\n"
    "with open('/proc/self/status') as f:\n"
    "    hwm = [line.split()[1] for line in f if line.startswith('VmHWM:')]\n"
    "print('VmHWM_KIB=' + (hwm[0] if hwm else '0'), file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def bench_conversion(source: Path, out: Path) -> dict:
    """Convert in a child process; wall time and the child's peak resident memory."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _CONVERT_AND_REPORT, str(source), str(out), "--no-progress"],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"conversion failed: {result.stderr.strip()}")
    reported = [line for line in result.stderr.splitlines() if line.startswith("VmHWM_KIB=")]
    peak_kib = int(reported[-1].split("=")[1]) if reported else 0
    if not peak_kib:  # no /proc: fall back to getrusage, which may over-count (see above)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "peak_rss_gib": peak_kib / 2**20,
            "rss_source": "VmHWM" if reported and int(reported[-1].split("=")[1]) else "ru_maxrss"}


def bench_pipeline(split, sequence_length: int, batch_size: int, batches: int) -> dict:
    """Sequences/s drawn from train_dataset after a short warm-up (graph tracing, first reads)."""
    from data.pipeline import train_dataset

    iterator = iter(train_dataset(split, batch_size=batch_size, seed=0, sequence_length=sequence_length))
    for _ in range(3):
        next(iterator)
    started = time.perf_counter()
    count = 0
    for _ in range(batches):
        x, _ = next(iterator)
        count += int(x.shape[0])
    seconds = time.perf_counter() - started
    return {"seq_per_s": count / seconds, "batches": batches, "batch_size": batch_size}


def bench_model_step(batch_size: int, repeats: int) -> dict | None:
    """Sequences/s of one CRNN-320-projection train step (Adam, binary cross-entropy), or None."""
    try:
        from models import build_model, resolve_config
    except ImportError as err:
        return {"error": f"models not available: {err}"}
    import keras

    config = resolve_config("crnn-320-projection")
    model = build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="binary_crossentropy")
    x, y = random_batch(batch_size, config.get("sequence_length", 1000), config.get("num_targets", 919))
    times = time_calls(lambda: model.train_on_batch(x, y), warmup=1, repeats=repeats)
    stats = summarize(times, batch_size)
    return {"seq_per_s": stats["items_per_s"], "median_step_s": stats["median_s"], "batch_size": batch_size,
            "gate": config.get("gate"), "params": int(model.count_params())}


def markdown(results: dict) -> str:
    conv, n = results["conversion"], results["n_train"]
    rows = [
        ("generate random train.mat (v7.3 gzip)", f"{results['generate_seconds']:.1f} s", f"{n:,} sequences"),
        ("convert (child process)", f"{conv['seconds']:.1f} s", f"{conv['seq_per_s']:,.0f} seq/s, "
                                                                  f"{conv['mib_per_s']:.0f} MiB/s of one-hot"),
        ("converter peak RSS", f"{conv['peak_rss_gib']:.2f} GiB",
         f"limit {RSS_LIMIT_GIB} GiB: {'ok' if conv['peak_rss_gib'] < RSS_LIMIT_GIB else 'EXCEEDED'}"),
    ]
    for length, stats in results["pipeline"].items():
        rows.append((f"train_dataset, {length} bp, batch {stats['batch_size']}", f"{stats['seq_per_s']:,.0f} seq/s",
                     f"{stats['batches']} batches"))
    model = results.get("model_step") or {}
    if "seq_per_s" in model:
        rows.append((f"CRNN-320-projection train step, batch {model['batch_size']}",
                     f"{model['seq_per_s']:,.1f} seq/s", f"{model['median_step_s']:.2f} s/step"))
        ratio = results["feed_ratio"]
        rows.append(("pipeline (1000 bp) / model step", f"{ratio:.1f}x",
                     f"target >= {FEED_FACTOR:.0f}x: {'ok' if ratio >= FEED_FACTOR else 'NOT MET'}"))
    else:
        rows.append(("CRNN-320-projection train step", "n/a", model.get("error", "skipped")))
    lines = ["| measurement | value | notes |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=200_000, help="sequences in the generated train.mat [default: %(default)s]")
    parser.add_argument("--n-eval", type=int, default=2000, help="sequences in valid.mat and test.mat [default: %(default)s]")
    parser.add_argument("--batches", type=int, default=200, help="pipeline batches timed [default: %(default)s]")
    parser.add_argument("--model-batch", type=int, default=256, help="batch size of the timed train step [default: %(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="timed train steps [default: %(default)s]")
    parser.add_argument("--skip-model", action="store_true", help="skip the model comparison [default: %(default)s]")
    parser.add_argument("--workdir", default=None, help="where the temporary files go [default: system temp dir]")
    parser.add_argument("--keep", action="store_true", help="keep the generated files [default: %(default)s]")
    parser.add_argument("--json", default=None, help="also write the results as JSON here [default: %(default)s]")
    args = parser.parse_args(argv)
    if args.n_train < 2 or args.n_eval < 2 or args.n_eval % 2:
        parser.error("--n-train must be >= 2 and --n-eval even and >= 2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    work = Path(tempfile.mkdtemp(prefix="bench_data_", dir=args.workdir))
    try:
        results: dict = {"benchmark": "data", "command": command_string("bench.bench_data", argv),
                         "n_train": args.n_train}
        (work / "deepsea").mkdir()
        results["generate_seconds"] = write_random_bundle(work / "deepsea", args.n_train, args.n_eval)
        conv = bench_conversion(work / "deepsea", work / "store")
        total = args.n_train + 2 * args.n_eval
        conv["seq_per_s"] = total / conv["seconds"]
        conv["mib_per_s"] = total * 4000 / 2**20 / conv["seconds"]
        conv["source_bytes"] = sum(p.stat().st_size for p in (work / "deepsea").iterdir())
        results["conversion"] = conv

        from data.store import open_store

        split = open_store(work / "store").split("train")
        results["pipeline"] = {str(length): bench_pipeline(split, length, 256, args.batches)
                               for length in (1000, 500)}
        if not args.skip_model:
            results["model_step"] = bench_model_step(args.model_batch, args.repeats)
            if results["model_step"] and "seq_per_s" in results["model_step"]:
                results["feed_ratio"] = results["pipeline"]["1000"]["seq_per_s"] / results["model_step"]["seq_per_s"]
        results["machine"] = machine_info()
        table = markdown(results)
        results["markdown"] = table
        print(table)
        if args.json:
            write_json(args.json, results)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
