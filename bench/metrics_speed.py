"""Table: the three evaluation metrics (AUPRC, AP, AUROC) against one ``np.argsort``.

For 919 targets x 227,512 sequences (the strand-averaged DeepSEA test set) the metrics must take
no more than 2x one argsort of that matrix along axis 0 on the same machine; both are timed
round-robin on the same float32 matrix.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bench import timing

TITLE = "Metrics: AUPRC + AP + AUROC against one argsort"
TARGET = 2.0

FULL = {"rows": 227_512, "targets": 919, "repeats": 3}
QUICK = {"rows": 2000, "targets": 20, "repeats": 1}


def make_data(rows: int, targets: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels with DeepSEA-like sparsity (0.1%-10% positives per target) and float32 scores with
    some signal and sigmoid-saturated ties, like real predictions."""
    rng = np.random.default_rng(seed)
    rates = np.exp(rng.uniform(np.log(1e-3), np.log(0.1), targets)).astype(np.float32)
    y = (rng.random((rows, targets), dtype=np.float32) < rates).astype(np.uint8)
    logits = rng.standard_normal((rows, targets), dtype=np.float32) * 3.0 - 4.0 + 3.0 * y
    return y, (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def measure(settings: dict) -> dict[str, Any]:
    from evaluation import metrics

    timing.log(f"metrics: {settings['targets']} targets x {settings['rows']:,} sequences")
    y, scores = make_data(settings["rows"], settings["targets"])
    times = timing.interleaved({"argsort": lambda: np.argsort(scores, axis=0),
                                "metrics": lambda: metrics.all_metrics(y, scores)},
                               warmup=0, repeats=settings["repeats"])
    ratio = timing.speedup(times["metrics"], times["argsort"])
    return {"argsort_s": times["argsort"].median(), "metrics_s": times["metrics"].median(), "ratio": ratio,
            "passed": ratio <= TARGET}


def markdown(result: dict, settings: dict) -> list[str]:
    return timing.table(
        ["matrix", "one `np.argsort` axis 0 (s)", "AUPRC + AP + AUROC (s)", "ratio", f"target <= {TARGET:g}x"],
        [[f"{settings['rows']:,} x {settings['targets']} float32", f"{result['argsort_s']:.2f}",
          f"{result['metrics_s']:.2f}", f"{result['ratio']:.2f}x", timing.verdict(result["passed"])]])


def checks(result: dict) -> list[dict]:
    return [{"check": f"metrics <= {TARGET:g}x one argsort", "measured": f"{result['ratio']:.2f}x",
             "passed": result["passed"]}]
