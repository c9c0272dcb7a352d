"""The one batched prediction primitive: forward and reverse-complement strands in one model call.

Every prediction in the project goes through :class:`StrandPredictor`:

* :meth:`StrandPredictor.averaged` — sequences given forward only; the reverse complement is built
  inside the compiled step (reverse positions and channels), both strands run in one call, and the
  result is their mean. predict.py (FASTA, BED regions, VCF variants, mutagenesis) uses it.
* :meth:`StrandPredictor.paired` — a paired split (valid, test) where row ``i + N/2`` already holds
  the reverse complement of row ``i``: scores are the strand mean (Table 1's AUPRC), binary
  cross-entropy is summed per strand (Table 1's losses count both strands).
* :meth:`StrandPredictor.single` — rows as given, no averaging (DeepSEA/DanQ's own ``pred``).

Batches are read in a background thread while the model runs, so file I/O and encoding overlap
with prediction.
"""
from __future__ import annotations

import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from cli import UserError

#: Keras' (and Keras 2.0.8's) probability clip inside binary cross-entropy.
EPSILON = 1e-7


class PredictionError(UserError):
    """Predictions that cannot be used (NaN or infinity); names where they came from."""


def prefetched(items: Iterable) -> Iterator:
    """Iterate ``items`` with the next one produced in a background thread meanwhile."""
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending = worker.submit(next, iterator, None)
        while True:
            item = pending.result()
            if item is None:
                return
            pending = worker.submit(next, iterator, None)
            yield item


class StrandPredictor:
    """Compiled strand-aware prediction steps for one model (traced once, reused across calls)."""

    def __init__(self, model) -> None:
        import tensorflow as tf

        self.model = model
        self.num_targets = int(model.outputs[0].shape[-1])
        self.sequence_length = int(model.input_shape[1])

        @tf.function(reduce_retracing=True)
        def averaged(x):
            both = tf.concat([x, tf.reverse(x, axis=[1, 2])], axis=0)
            p = tf.cast(model(both, training=False), tf.float32)
            half = tf.shape(x)[0]
            return (p[:half] + p[half:]) / 2.0, tf.reduce_all(tf.math.is_finite(p))

        @tf.function(reduce_retracing=True)
        def paired(x, y):
            p = tf.cast(model(x, training=False), tf.float32)
            half = tf.shape(p)[0] // 2
            clipped = tf.clip_by_value(p, EPSILON, 1.0 - EPSILON)
            bce = -(y * tf.math.log(clipped) + (1.0 - y) * tf.math.log(1.0 - clipped))
            bce = tf.reduce_sum(tf.cast(bce, tf.float64), axis=1)
            mean = (p[:half] + p[half:]) / 2.0
            return mean, tf.reduce_sum(bce[:half]), tf.reduce_sum(bce[half:]), tf.reduce_all(tf.math.is_finite(p))

        @tf.function(reduce_retracing=True)
        def single(x):
            p = tf.cast(model(x, training=False), tf.float32)
            return p, tf.reduce_all(tf.math.is_finite(p))

        self._averaged, self._paired, self._single = averaged, paired, single

    def averaged(self, x: np.ndarray) -> np.ndarray:
        """Strand-averaged probabilities float32 (b, T) of forward one-hot sequences (b, L, 4)."""
        mean, finite = self._averaged(np.asarray(x, dtype=np.float32))
        if not bool(finite):
            raise PredictionError("model predictions contain NaN or infinity")
        return mean.numpy()

    def paired(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
        """For 2b rows (forward then reverse complements): strand mean (b, T) and per-strand BCE sums."""
        mean, fwd, rev, finite = self._paired(x, y)
        if not bool(finite):
            raise PredictionError("model predictions contain NaN or infinity")
        return mean.numpy(), float(fwd), float(rev)

    def single(self, x: np.ndarray) -> np.ndarray:
        """Probabilities float32 (b, T) of the rows as given."""
        p, finite = self._single(np.asarray(x, dtype=np.float32))
        if not bool(finite):
            raise PredictionError("model predictions contain NaN or infinity")
        return p.numpy()


@dataclass
class Progress:
    """A tqdm bar with ETA (hidden when ``enabled`` is False or stderr is not a terminal)."""

    total: int | None
    unit: str = "seq"
    desc: str = "predict"
    enabled: bool | None = True

    def __enter__(self):
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, unit=self.unit, desc=self.desc, dynamic_ncols=True,
                        disable=None if self.enabled else True)
        return self.bar

    def __exit__(self, *exc):
        self.bar.close()


def predict_averaged(model_or_predictor, batches: Iterable[np.ndarray], *, total: int | None = None,
                     progress: bool | None = True, desc: str = "predict",
                     on_batch: Callable[[int, np.ndarray], None] | None = None,
                     collect: bool = True) -> np.ndarray | None:
    """Strand-averaged predictions float32 (N, T) of an iterable of forward one-hot batches.

    ``total`` (rows) sizes the progress bar; ``on_batch(start, scores)`` sees each batch's result as
    it is ready (to stream it to a file). The full array is returned unless ``collect`` is False
    (then None, and memory stays one batch deep however many rows there are).
    """
    predictor = as_predictor(model_or_predictor)
    outputs, start = [], 0
    with Progress(total, desc=desc, enabled=progress) as bar:
        for x in prefetched(batches):
            scores = predictor.averaged(x)
            if on_batch is not None:
                on_batch(start, scores)
            if collect:
                outputs.append(scores)
            start += len(scores)
            bar.update(len(scores))
    if not collect:
        return None
    if not outputs:
        return np.zeros((0, predictor.num_targets), dtype=np.float32)
    return np.concatenate(outputs)


_PREDICTORS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def as_predictor(model_or_predictor) -> StrandPredictor:
    """The model's :class:`StrandPredictor` (one per model, so its steps are traced once)."""
    if isinstance(model_or_predictor, StrandPredictor):
        return model_or_predictor
    if model_or_predictor not in _PREDICTORS:
        _PREDICTORS[model_or_predictor] = StrandPredictor(model_or_predictor)
    return _PREDICTORS[model_or_predictor]


@dataclass
class PairedPredictions:
    """Strand-averaged scores of a paired split and its losses (both strands counted)."""

    scores: np.ndarray  # float32 (N/2, T): mean of forward and reverse-complement predictions
    labels: np.ndarray  # uint8 (N/2, T)
    loss: float  # mean binary cross-entropy over all N rows and T targets
    loss_forward: float  # over the first half only
    loss_reverse: float  # over the second half only
    seconds: float


def predict_paired(model_or_predictor, split, *, sequence_length: int | None = None, batch_size: int = 512,
                   progress: bool = True) -> PairedPredictions:
    """Predict a paired store split, averaging each forward/reverse-complement pair in one call.

    ``split`` is a store split (``name``, ``num_samples``, ``num_targets``, ``read(indices, length)``).
    ``batch_size`` counts rows per model call (both strands), so must be even.
    """
    n = split.num_samples
    name = getattr(split, "name", "split")
    if n % 2:
        raise UserError(f"{name} split has an odd number of rows ({n}); strand pairs need forward rows "
                        "in the first half and their reverse complements in the second")
    if n == 0:
        raise UserError(f"{name} split is empty")
    if batch_size < 2 or batch_size % 2:
        raise UserError(f"--batch-size must be an even number >= 2 (both strands), got {batch_size}")
    predictor = as_predictor(model_or_predictor)
    half, pairs = n // 2, batch_size // 2
    scores = np.empty((half, split.num_targets), dtype=np.float32)
    labels = np.empty((half, split.num_targets), dtype=np.uint8)

    def batches():
        for start in range(0, half, pairs):
            idx = np.arange(start, min(half, start + pairs))
            yield start, split.read(np.concatenate([idx, idx + half]), sequence_length)

    sum_fwd = sum_rev = 0.0
    begin = time.perf_counter()
    with Progress(half, unit="pair", desc=f"predict {name}", enabled=progress) as bar:
        for start, (x, y) in prefetched(batches()):
            b = len(y) // 2
            if not np.array_equal(y[:b], y[b:]):
                row = start + int(np.flatnonzero((y[:b] != y[b:]).any(axis=1))[0])
                raise UserError(f"{name} split: labels of row {row} and its reverse-complement row "
                                f"{row + half} differ; the split is not forward/reverse paired")
            try:
                mean, fwd, rev = predictor.paired(x, y)
            except PredictionError as err:
                raise PredictionError(f"{err} in rows {start}..{start + b - 1} (or their reverse "
                                      f"complements) of the {name} split; nothing was written") from None
            scores[start:start + b] = mean
            labels[start:start + b] = y[:b]
            sum_fwd += fwd
            sum_rev += rev
            bar.update(b)
    elements = half * split.num_targets
    return PairedPredictions(scores, labels, (sum_fwd + sum_rev) / (2 * elements), sum_fwd / elements,
                             sum_rev / elements, time.perf_counter() - begin)
