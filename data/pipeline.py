"""tf.data input pipeline over a store split: seeded epoch order, centre crop, one-hot, batching.

Two batch orders (``BATCH_ORDERS``), each a pure function of ``(seed, epoch)``, so a run resumed at
any batch sees exactly the batches it would have seen:

- ``reshuffle``: every epoch ``np.random.default_rng([seed, epoch])`` permutes all samples, cut into
  ``ceil(n / batch_size)`` batches, the last one partial.
- ``authors`` (the authors' code): the samples are permuted once (``default_rng([seed, 2**32 - 2])``)
  and cut into ``floor(n / batch_size)`` fixed batches, the remainder dropped; every epoch only the
  order of those batches is shuffled, by ``default_rng([seed, epoch])``.

Under data parallelism every global batch is split into ``num_replicas`` consecutive parts
(:func:`split_batch`), and each input pipeline emits the parts of the replicas it feeds; the
global batch, hence the model update, does not depend on how many workers share it.
Only the uint8 gather from the memory-mapped store runs in Python; one-hot expansion and label
unpacking are TensorFlow ops, run in parallel with the model and prefetched.

Strand pairs: in a paired split (valid, test) row ``i`` and row ``i + N/2`` are the forward and
reverse-complement copies of one sequence. :func:`eval_batches` keeps the file order so evaluation
can pair them; :func:`load_arrays` with ``max_samples`` keeps whole pairs.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

import cli

cli.quiet_tensorflow()  # keep TensorFlow's start-up lines off the user's terminal
import tensorflow as tf  # noqa: E402

from data.encoding import center_crop, one_hot  # noqa: F401  (re-exported: the contract)
from data.store import StoreSplit

__all__ = ["one_hot", "center_crop", "BATCH_ORDERS", "steps_per_epoch", "epoch_batches", "epoch_order",
           "split_batch", "train_dataset", "eval_batches", "load_arrays", "pair_rows"]

BATCH_ORDERS = ("reshuffle", "authors")
# Stream keys apart from every epoch's (epochs use [seed, epoch]).
_SUBSET_KEY = 2**32 - 1
_AUTHORS_PERMUTATION_KEY = 2**32 - 2


def _check_order(batch_order: str) -> None:
    if batch_order not in BATCH_ORDERS:
        raise ValueError(f"batch_order must be one of {', '.join(BATCH_ORDERS)}, got {batch_order!r}")


def steps_per_epoch(num_samples: int, batch_size: int, batch_order: str = "reshuffle") -> int:
    """Batches per epoch: ``ceil(n / batch_size)`` for ``reshuffle`` (last batch partial),
    ``floor(n / batch_size)`` for ``authors`` (remainder dropped)."""
    _check_order(batch_order)
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"need num_samples >= 1 and batch_size >= 1, got {num_samples}, {batch_size}")
    if batch_order == "authors":
        if num_samples < batch_size:
            raise ValueError(f"the authors' batch order drops the remainder, and {num_samples} samples "
                             f"make no whole batch of {batch_size}")
        return num_samples // batch_size
    return math.ceil(num_samples / batch_size)


def _train_subset(num_samples: int, seed: int, max_samples: int | None) -> np.ndarray:
    """Sample indices a run trains on: all, or a fixed seeded subset of ``max_samples`` (sorted)."""
    if max_samples is None or max_samples >= num_samples:
        return np.arange(num_samples, dtype=np.int64)
    if max_samples < 1:
        raise ValueError(f"max_samples must be positive, got {max_samples}")
    # A stream key distinct from every epoch's, so the subset never correlates with an epoch order.
    subset = np.random.default_rng([seed, _SUBSET_KEY]).choice(num_samples, size=max_samples, replace=False)
    return np.sort(subset).astype(np.int64)


def _padded_epoch(subset: np.ndarray, batch_size: int, seed: int, epoch: int, batch_order: str) -> np.ndarray:
    """One epoch's batches of sample indices as a (steps, batch_size) array, padded with -1."""
    steps = steps_per_epoch(subset.size, batch_size, batch_order)
    if batch_order == "authors":
        fixed = subset[np.random.default_rng([seed, _AUTHORS_PERMUTATION_KEY]).permutation(subset.size)]
        fixed = fixed[:steps * batch_size].reshape(steps, batch_size)
        return fixed[np.random.default_rng([seed, int(epoch)]).permutation(steps)]
    order = subset[np.random.default_rng([seed, int(epoch)]).permutation(subset.size)]
    padded = np.full(steps * batch_size, -1, dtype=np.int64)
    padded[:order.size] = order
    return padded.reshape(steps, batch_size)


def epoch_batches(num_samples: int, batch_size: int, seed: int, epoch: int, max_samples: int | None = None,
                  batch_order: str = "reshuffle") -> list[np.ndarray]:
    """The global batches (arrays of sample indices) of one training epoch, in order."""
    subset = _train_subset(num_samples, seed, max_samples)
    return [rows[rows >= 0] for rows in _padded_epoch(subset, batch_size, seed, epoch, batch_order)]


def epoch_order(num_samples: int, seed: int, epoch: int, max_samples: int | None = None, *,
                batch_size: int | None = None, batch_order: str = "reshuffle") -> np.ndarray:
    """Sample indices of one training epoch, in the order they are batched.

    ``reshuffle`` needs no ``batch_size`` (every sample once); ``authors`` does (the
    ``n mod batch_size`` samples left over by the one-time permutation are not trained on).
    """
    _check_order(batch_order)
    if batch_order == "reshuffle":
        subset = _train_subset(num_samples, seed, max_samples)
        return subset[np.random.default_rng([seed, epoch]).permutation(subset.size)]
    if batch_size is None:
        raise ValueError("the authors' batch order needs batch_size")
    return np.concatenate(epoch_batches(num_samples, batch_size, seed, epoch, max_samples, batch_order))


def split_batch(rows: np.ndarray, num_replicas: int) -> list[np.ndarray]:
    """A global batch cut into ``num_replicas`` consecutive parts, sizes differing by at most one
    (the larger first; a replica may get none of a batch smaller than ``num_replicas``)."""
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
    return np.array_split(np.asarray(rows), num_replicas)


def _check_length(split: StoreSplit, sequence_length: int | None) -> int:
    length = split.sequence_length if sequence_length is None else int(sequence_length)
    if not 1 <= length <= split.sequence_length:
        raise ValueError(f"sequence_length must be between 1 and {split.sequence_length}, got {sequence_length}")
    return length


def _batches_from_indices(index_batches: tf.data.Dataset, split: StoreSplit, length: int) -> tf.data.Dataset:
    """Map batches of row indices to ``(x (B, L, 4) float32, y (B, T) float32)``, in order."""
    num_targets = split.num_targets
    packed_width = split.packed_labels.shape[1]

    def gather(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return split.read_codes(indices, length)

    def to_model_arrays(indices):
        codes, packed = tf.numpy_function(gather, [indices], [tf.uint8, tf.uint8], stateful=False)
        codes = tf.ensure_shape(codes, [None, length])
        packed = tf.ensure_shape(packed, [None, packed_width])
        # tf.one_hot maps the N code (4, out of range for depth 4) to all zeros, as required.
        x = tf.one_hot(tf.cast(codes, tf.int32), depth=4, dtype=tf.float32)
        shifts = tf.constant(np.arange(8, dtype=np.uint8))  # little bit order: bit k = target 8j+k
        bits = tf.bitwise.bitwise_and(tf.bitwise.right_shift(packed[:, :, None], shifts), tf.constant(1, tf.uint8))
        y = tf.cast(tf.reshape(bits, [-1, packed_width * 8])[:, :num_targets], tf.float32)
        return x, y

    return index_batches.map(to_model_arrays, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def train_dataset(split: StoreSplit, batch_size: int = 256, seed: int = 0, start_epoch: int = 0,
                  sequence_length: int | None = None, max_samples: int | None = None, *,
                  batch_order: str = "reshuffle", skip_batches: int = 0, num_replicas: int = 1,
                  replica_ids: Sequence[int] | None = None) -> tf.data.Dataset:
    """Infinite stream of training batches for epochs ``start_epoch, start_epoch + 1, ...``.

    Each epoch is :func:`epoch_batches` (``batch_order`` as in the module docstring) over ``n``
    samples: ``max_samples`` (a fixed seeded subset) or the split size. Pass
    ``steps_per_epoch(n, batch_size, batch_order)`` to the training loop. ``skip_batches`` global
    batches are skipped first (a resumed run: the batches already trained on), without reading them.

    With ``num_replicas > 1`` every global batch is cut by :func:`split_batch` and the stream yields,
    per global batch, the parts of ``replica_ids`` (default: all) in that order: the per-replica
    batches one input pipeline of ``tf.distribute`` feeds to its local replicas.
    """
    length = _check_length(split, sequence_length)
    subset = _train_subset(split.num_samples, seed, max_samples)
    steps = steps_per_epoch(subset.size, batch_size, batch_order)
    replica_ids = list(range(num_replicas) if replica_ids is None else replica_ids)
    if num_replicas < 1 or not replica_ids or not all(0 <= r < num_replicas for r in replica_ids):
        raise ValueError(f"replica_ids must be a non-empty subset of range({num_replicas}), got {replica_ids}")
    if skip_batches < 0:
        raise ValueError(f"skip_batches must be >= 0, got {skip_batches}")
    start_epoch, skip_batches = start_epoch + skip_batches // steps, skip_batches % steps
    width = math.ceil(batch_size / num_replicas)  # the largest part of a split batch

    def epoch_parts(epoch):
        # Each row: one replica's part of one global batch, padded with -1 (dropped after batching).
        batches = _padded_epoch(subset, batch_size, seed, int(epoch), batch_order)
        parts = np.full((steps, len(replica_ids), width), -1, dtype=np.int64)
        for step, rows in enumerate(batches):
            split_rows = split_batch(rows[rows >= 0], num_replicas)
            for slot, replica in enumerate(replica_ids):
                parts[step, slot, :split_rows[replica].size] = split_rows[replica]
        return parts.reshape(steps * len(replica_ids), width)

    def epoch_dataset(epoch):
        rows = tf.numpy_function(epoch_parts, [epoch], tf.int64, stateful=False)
        rows = tf.ensure_shape(rows, [steps * len(replica_ids), width])
        return tf.data.Dataset.from_tensor_slices(rows).map(lambda r: tf.boolean_mask(r, r >= 0))

    epochs = tf.data.Dataset.counter(start=start_epoch, dtype=tf.int64)
    index_batches = epochs.flat_map(epoch_dataset).skip(skip_batches * len(replica_ids))
    return _batches_from_indices(index_batches, split, length).prefetch(tf.data.AUTOTUNE)


def eval_batches(split: StoreSplit, batch_size: int = 256, sequence_length: int | None = None) -> tf.data.Dataset:
    """One pass over the split in file order (no shuffle), last batch partial."""
    length = _check_length(split, sequence_length)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    index_batches = tf.data.Dataset.range(split.num_samples).batch(batch_size)
    return _batches_from_indices(index_batches, split, length).prefetch(tf.data.AUTOTUNE)


def pair_rows(num_samples: int, max_samples: int | None = None) -> np.ndarray:
    """Rows of a paired split keeping whole strand pairs: the first ``k`` forward rows, then their partners.

    ``k = max_samples // 2`` (all pairs when ``max_samples`` is None), so the result again has its
    reverse complements in its second half, in the same order.
    """
    if num_samples % 2:
        raise ValueError(f"a paired split needs an even number of samples, got {num_samples}")
    half = num_samples // 2
    k = half if max_samples is None else min(half, max(1, max_samples // 2))
    return np.concatenate([np.arange(k), half + np.arange(k)]).astype(np.int64)


def load_arrays(split: StoreSplit, sequence_length: int | None = None,
                max_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A whole split (for validation) in memory as ``x`` float32 (N, L, 4) and ``y`` float32 (N, T).

    With ``max_samples``, a paired split keeps whole strand pairs (see :func:`pair_rows`); an unpaired
    split keeps its first ``max_samples`` rows.
    """
    length = _check_length(split, sequence_length)
    if split.paired:
        rows = pair_rows(split.num_samples, max_samples)
    else:
        rows = np.arange(split.num_samples if max_samples is None else min(max_samples, split.num_samples))
    return split.read(rows, length)
