"""Benchmark: all three metrics (AUPRC, AP, AUROC) vs ONE ``np.argsort`` along axis 0.

Issue 5 requires the metrics for 919 targets x 227,512 sequences (the strand-averaged DeepSEA test
set) in no more than 2x the time of one argsort of that matrix along axis 0 on the same machine.
Both are timed round-robin on the same float32 matrix; the ratio of medians is reported.

    python -m bench.bench_metrics [--json PATH] [--rows N] [--targets T] [--repeats R]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from typing import Sequence

import numpy as np

from bench.common import command_string, interleaved_times, machine_info, write_json
from evaluation import metrics


def make_data(rows: int, targets: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels with DeepSEA-like sparsity (0.1%-10% positives per target) and float32 scores that
    carry some signal plus sigmoid-saturated ties, like real predictions."""
    rng = np.random.default_rng(seed)
    rates = np.exp(rng.uniform(np.log(1e-3), np.log(0.1), targets))
    y = (rng.random((rows, targets), dtype=np.float32) < rates.astype(np.float32)).astype(np.uint8)
    logits = rng.standard_normal((rows, targets), dtype=np.float32) * 3.0 - 4.0 + 3.0 * y
    scores = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)  # float32 saturation -> ties
    return y, scores


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=227_512, help="sequences [default: %(default)s]")
    parser.add_argument("--targets", type=int, default=919, help="targets [default: %(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats [default: %(default)s]")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.rows < 2 or args.targets < 1 or args.repeats < 1:
        parser.error("need --rows >= 2, --targets >= 1, --repeats >= 1")

    y, scores = make_data(args.rows, args.targets)
    times = interleaved_times(
        {"argsort_axis0": lambda: np.argsort(scores, axis=0),
         "metrics_all_three": lambda: metrics.all_metrics(y, scores)},
        warmup=0, repeats=args.repeats)
    argsort_s = statistics.median(times["argsort_axis0"])
    metrics_s = statistics.median(times["metrics_all_three"])
    ratio = metrics_s / argsort_s
    result = {
        "benchmark": "metrics",
        "command": command_string("bench.bench_metrics", argv),
        "rows": args.rows,
        "targets": args.targets,
        "repeats": args.repeats,
        "argsort_axis0_s": argsort_s,
        "metrics_s": metrics_s,
        "ratio": ratio,
        "limit": 2.0,
        "pass": ratio <= 2.0,
        "times_s": times,
        "machine": machine_info(with_tensorflow=False),
    }
    print("| benchmark | matrix | one np.argsort axis 0 (s) | AUPRC+AP+AUROC (s) | ratio (limit 2.0) |")
    print("|---|---|---|---|---|")
    print(f"| metrics | {args.rows:,} x {args.targets} float32 | {argsort_s:.2f} | {metrics_s:.2f} "
          f"| {ratio:.2f} |")
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
