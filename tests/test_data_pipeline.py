"""tf.data pipeline over a store (data/pipeline.py): exact batches, seeded epoch order, crops, pairs."""
import numpy as np
import pytest

from data.encoding import reverse_complement_codes

from data.convert import convert
from data.pipeline import (epoch_order, eval_batches, load_arrays, one_hot, pair_rows, split_batch, steps_per_epoch,
                           train_dataset)

L, T = 16, 11


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import h5py
    import scipy.io

    root = tmp_path_factory.mktemp("pipeline")
    rng = np.random.default_rng(0)
    table = np.vstack([np.eye(4, dtype=np.uint8), np.zeros((1, 4), np.uint8)])
    for split, n in (("train", 23), ("valid", 10), ("test", 6)):
        codes = rng.integers(0, 5, size=(n, L))
        y = (rng.random((n, T)) < 0.5).astype(np.uint8)
        if split != "train":  # paired splits: second half = reverse complements of the first
            codes[n // 2:] = reverse_complement_codes(codes[:n // 2])
            y[n // 2:] = y[:n // 2]
        x = table[codes]
        if split == "train":
            with h5py.File(root / "train.mat", "w") as f:
                f.create_dataset("trainxdata", data=x.transpose(1, 2, 0), chunks=(L, 4, 4), compression="gzip")
                f.create_dataset("traindata", data=y.T)
        else:
            scipy.io.savemat(root / f"{split}.mat", {f"{split}xdata": x.transpose(0, 2, 1), f"{split}data": y})
    return convert(root, root / "store", progress=False)


def batches(dataset, count):
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(count)]


def test_steps_per_epoch():
    assert steps_per_epoch(23, 5) == 5 and steps_per_epoch(25, 5) == 5 and steps_per_epoch(1, 256) == 1
    with pytest.raises(ValueError):
        steps_per_epoch(0, 5)


def test_train_batches_follow_seeded_epoch_order_exactly(store):
    split = store.split("train")
    got = batches(train_dataset(split, batch_size=5, seed=7, sequence_length=9), 10)  # two epochs
    assert [len(x) for x, _ in got] == [5, 5, 5, 5, 3] * 2  # last batch of each epoch partial
    for epoch in (0, 1):
        order = np.random.default_rng([7, epoch]).permutation(23)
        np.testing.assert_array_equal(order, epoch_order(23, 7, epoch))
        x = np.concatenate([b[0] for b in got[5 * epoch:5 * epoch + 5]])
        y = np.concatenate([b[1] for b in got[5 * epoch:5 * epoch + 5]])
        want_x, want_y = split.read(order, sequence_length=9)
        assert x.shape == (23, 9, 4) and x.dtype == np.float32 and y.shape == (23, T)
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)
        # Independent check of crop + one-hot + label unpacking from the raw store arrays.
        codes = np.asarray(split.codes)[order, 3:12]  # offset (16 - 9) // 2
        np.testing.assert_array_equal(x, np.eye(5, 4, dtype=np.float32)[codes])
        bits = np.unpackbits(np.asarray(split.packed_labels)[order], axis=1, bitorder="little")[:, :T]
        np.testing.assert_array_equal(y, bits)


def test_order_is_a_function_of_seed_and_epoch(store):
    split = store.split("train")
    first = batches(train_dataset(split, batch_size=5, seed=3), 10)
    again = batches(train_dataset(split, batch_size=5, seed=3), 10)
    resumed = batches(train_dataset(split, batch_size=5, seed=3, start_epoch=1), 5)
    other_seed = batches(train_dataset(split, batch_size=5, seed=4), 5)
    for (a, b), (c, d) in zip(first, again):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    for (a, _), (c, _) in zip(first[5:], resumed):  # resuming at epoch 1 sees epoch 1's batches
        np.testing.assert_array_equal(a, c)
    assert not np.array_equal(first[0][0], first[5][0])  # epochs differ
    assert not np.array_equal(first[0][0], other_seed[0][0])


def test_max_samples_is_a_fixed_subset(store):
    split = store.split("train")
    got = batches(train_dataset(split, batch_size=4, seed=1, max_samples=9), 6)  # 3 steps per epoch, 2 epochs
    assert [len(x) for x, _ in got] == [4, 4, 1, 4, 4, 1]
    epoch0 = np.concatenate([x for x, _ in got[:3]])
    epoch1 = np.concatenate([x for x, _ in got[3:]])
    key = lambda a: sorted(map(bytes, a.reshape(len(a), -1).astype(np.uint8)))  # noqa: E731
    assert key(epoch0) == key(epoch1)  # same 9 sequences, reshuffled
    np.testing.assert_array_equal(epoch0, split.read(epoch_order(23, 1, 0, max_samples=9))[0])


def test_eval_batches_in_file_order(store):
    split = store.split("test")
    got = batches(eval_batches(split, batch_size=4, sequence_length=8), 100)
    assert [len(x) for x, _ in got] == [4, 2]
    x = np.concatenate([b[0] for b in got])
    want_x, want_y = split.read(np.arange(6), sequence_length=8)
    np.testing.assert_array_equal(x, want_x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), want_y)


def test_load_arrays_keeps_strand_pairs(store):
    split = store.split("valid")
    x, y = load_arrays(split)
    np.testing.assert_array_equal(x, split.read(np.arange(10))[0])
    np.testing.assert_array_equal(pair_rows(10, 4), [0, 1, 5, 6])
    xs, ys = load_arrays(split, sequence_length=12, max_samples=4)
    np.testing.assert_array_equal(xs, x[[0, 1, 5, 6], 2:14])
    np.testing.assert_array_equal(ys, y[[0, 1, 5, 6]])
    with pytest.raises(ValueError, match="sequence_length"):
        load_arrays(split, sequence_length=L + 1)


def test_one_hot_n_is_zeros():
    x = one_hot(np.array([[0, 1, 2, 3, 4]]))
    np.testing.assert_array_equal(x[0], np.vstack([np.eye(4), np.zeros(4)]))


# --- batch orders and replica splits --------------------------------------------------------------

def authors_batches(n, batch, seed, epoch, subset=None):
    """The authors' scheme written out: one seeded permutation, fixed batches, batch order shuffled."""
    rows = np.arange(n) if subset is None else subset
    fixed = rows[np.random.default_rng([seed, 2**32 - 2]).permutation(rows.size)]
    k = rows.size // batch
    fixed = fixed[:k * batch].reshape(k, batch)
    return list(fixed[np.random.default_rng([seed, epoch]).permutation(k)])


def reshuffle_batches(n, batch, seed, epoch):
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i:i + batch] for i in range(0, n, batch)]


def assert_batches_are_rows(got, want_rows, split, length=None):
    assert len(got) == len(want_rows)
    for (x, y), rows in zip(got, want_rows):
        want_x, want_y = split.read(rows, sequence_length=length)
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)


def test_steps_per_epoch_by_order():
    assert steps_per_epoch(23, 5, "authors") == 4 and steps_per_epoch(25, 5, "authors") == 5
    assert steps_per_epoch(23, 5, "reshuffle") == 5
    with pytest.raises(ValueError, match="no whole batch"):
        steps_per_epoch(4, 5, "authors")
    with pytest.raises(ValueError, match="batch_order"):
        steps_per_epoch(23, 5, "sorted")


def test_authors_order_is_fixed_batches_in_shuffled_order(store):
    split = store.split("train")
    got = batches(train_dataset(split, batch_size=5, seed=7, batch_order="authors"), 12)  # three epochs
    want = [rows for epoch in range(3) for rows in authors_batches(23, 5, 7, epoch)]
    assert [len(x) for x, _ in got] == [5] * 12  # floor(23 / 5) whole batches, remainder dropped
    assert_batches_are_rows(got, want, split)
    per_epoch = [sorted(map(tuple, want[4 * e:4 * e + 4])) for e in range(3)]
    assert per_epoch[0] == per_epoch[1] == per_epoch[2]  # the same batches each epoch...
    assert not all(np.array_equal(a, b) for a, b in zip(want[:4], want[4:8]))  # ...in another order
    dropped = set(range(23)) - set(np.concatenate(want).tolist())
    assert len(dropped) == 3  # the same 3 samples every epoch
    np.testing.assert_array_equal(epoch_order(23, 7, 1, batch_size=5, batch_order="authors"),
                                  np.concatenate(want[4:8]))
    with pytest.raises(ValueError, match="batch_size"):
        epoch_order(23, 7, 1, batch_order="authors")


def test_authors_order_with_max_samples(store):
    split = store.split("train")
    subset = np.sort(np.random.default_rng([1, 2**32 - 1]).choice(23, size=11, replace=False))
    got = batches(train_dataset(split, batch_size=4, seed=1, max_samples=11, batch_order="authors"), 4)
    assert_batches_are_rows(got, authors_batches(23, 4, 1, 0, subset) + authors_batches(23, 4, 1, 1, subset), split)


@pytest.mark.parametrize("order", ["reshuffle", "authors"])
def test_skip_batches_resumes_mid_stream(store, order):
    split = store.split("train")
    full = batches(train_dataset(split, batch_size=5, seed=3, batch_order=order), 12)
    steps = steps_per_epoch(23, 5, order)
    for skip in (2, steps, steps + 3):  # inside epoch 0, at the boundary, inside epoch 1
        resumed = batches(train_dataset(split, batch_size=5, seed=3, batch_order=order, skip_batches=skip),
                          12 - skip)
        for (a, b), (c, d) in zip(full[skip:], resumed, strict=True):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)
    # start_epoch + skip_batches is the same stream position as skip_batches alone
    late = batches(train_dataset(split, batch_size=5, seed=3, batch_order=order, start_epoch=1, skip_batches=1), 2)
    np.testing.assert_array_equal(late[0][0], full[steps + 1][0])


def parts_written_out(rows, num_replicas):
    """Replica r of R gets rows [r*q + min(r, m), ...) with m = len % R extra rows going first."""
    q, m = divmod(len(rows), num_replicas)
    starts = [r * q + min(r, m) for r in range(num_replicas + 1)]
    return [rows[starts[r]:starts[r + 1]] for r in range(num_replicas)]


@pytest.mark.parametrize("order,num_replicas", [("reshuffle", 2), ("authors", 2), ("reshuffle", 3)])
def test_replica_streams_split_each_global_batch(store, order, num_replicas):
    split = store.split("train")
    global_batches = (reshuffle_batches if order == "reshuffle" else authors_batches)(23, 5, 4, 0)
    steps = len(global_batches)
    for replica in range(num_replicas):  # one input pipeline per replica (one worker each)
        got = batches(train_dataset(split, batch_size=5, seed=4, batch_order=order, num_replicas=num_replicas,
                                    replica_ids=[replica]), steps)
        want = [parts_written_out(rows, num_replicas)[replica] for rows in global_batches]
        assert_batches_are_rows(got, want, split)
    # One pipeline feeding every replica (several local devices): the parts of each batch in turn.
    got = batches(train_dataset(split, batch_size=5, seed=4, batch_order=order, num_replicas=num_replicas),
                  steps * num_replicas)
    want = [part for rows in global_batches for part in parts_written_out(rows, num_replicas)]
    assert_batches_are_rows(got, want, split)
    if order == "reshuffle" and num_replicas == 3:
        assert [len(x) for x, _ in got[-3:]] == [1, 1, 1]  # last batch: 3 rows over 3 replicas


def test_split_batch_and_bad_replicas(store):
    parts = split_batch(np.arange(2), 3)
    assert [p.tolist() for p in parts] == [[0], [1], []]
    with pytest.raises(ValueError, match="replica_ids"):
        train_dataset(store.split("train"), batch_size=5, num_replicas=2, replica_ids=[2])
