"""Readers for the DeepSEA .mat layouts (data/mat.py): every layout, the v5/v7.3 swap, every bad input."""
import h5py
import numpy as np
import pytest
import scipy.io

from data.mat import DataError, detect_format, open_split, read_all

L, T = 12, 10


def random_split(n, seed=0, *, with_n=True):
    """Sample-major one-hot x (n, L, 4) uint8 (A,G,C,T, some all-zero N columns) and labels (n, T)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 5 if with_n else 4, size=(n, L))
    x = np.vstack([np.eye(4, dtype=np.uint8), np.zeros((1, 4), np.uint8)])[codes]
    y = (rng.random((n, T)) < 0.3).astype(np.uint8)
    return x, y


def write_v73(path, split, x, y, *, chunks=None, gzip=False, userblock=True, dtype=np.uint8):
    """MATLAB v7.3 layout as h5py sees it: x (L, 4, N), y (T, N)."""
    kwargs = {"userblock_size": 512} if userblock else {}
    opts = {"compression": "gzip"} if gzip else {}
    with h5py.File(path, "w", **kwargs) as f:
        f.create_dataset(f"{split}xdata", data=np.asarray(x, dtype).transpose(1, 2, 0),
                         chunks=None if chunks is None else (x.shape[1], 4, chunks), **opts)
        f.create_dataset(f"{split}data", data=np.asarray(y, dtype).T,
                         chunks=None if chunks is None else (y.shape[1], chunks), **opts)
    if userblock:
        with open(path, "r+b") as f:
            f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .")


def write_v5(path, split, x, y, dtype=np.uint8):
    """MATLAB v5 layout as scipy sees it: x (N, 4, L), y (N, T)."""
    scipy.io.savemat(path, {f"{split}xdata": np.asarray(x, dtype).transpose(0, 2, 1),
                            f"{split}data": np.asarray(y, dtype)})


@pytest.mark.parametrize("chunk_size", [None, 4, 7])
def test_v73_gzip_chunked_train_round_trip(tmp_path, chunk_size):
    x, y = random_split(23)
    path = tmp_path / "train.mat"
    write_v73(path, "train", x, y, chunks=5, gzip=True)
    assert detect_format(path) == "v7.3"
    with open_split(path, "train") as reader:
        assert (reader.num_samples, reader.sequence_length, reader.num_targets) == (23, L, T)
        starts = [start for start, _, _ in reader.iter_chunks(chunk_size)]
    assert starts[0] == 0 and starts == sorted(starts)
    got_x, got_y = read_all(path, "train")
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_v5_valid_round_trip(tmp_path):
    x, y = random_split(8, seed=1)
    path = tmp_path / "valid.mat"
    write_v5(path, "valid", x, y)
    assert detect_format(path) == "v5"
    got_x, got_y = read_all(path, "valid")
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


@pytest.mark.parametrize("dtype", [np.float64, np.bool_, np.int32])
def test_swapped_formats_and_dtypes(tmp_path, dtype):
    """train.mat as v5 and test.mat as v7.3 (the swap) read the same, for any 0/1 dtype."""
    x, y = random_split(6, seed=2)
    write_v5(tmp_path / "train.mat", "train", x, y, dtype=dtype)
    write_v73(tmp_path / "test.mat", "test", x, y, userblock=False, dtype=dtype)
    for name, split in (("train.mat", "train"), ("test.mat", "test")):
        got_x, got_y = read_all(tmp_path / name, split)
        assert got_x.dtype == np.uint8
        np.testing.assert_array_equal(got_x, x)
        np.testing.assert_array_equal(got_y, y)


def _bad_value(x, y, value, dtype):
    x = x.astype(dtype)
    x[3, 5, 1] = value
    return x, y


BAD_CASES = {
    "values other than 0/1": (lambda x, y: _bad_value(x, y, 2, np.uint8), "value other than 0/1"),
    "fractional values": (lambda x, y: _bad_value(x, y, 0.5, np.float32), "value other than 0/1"),
    "nan": (lambda x, y: _bad_value(x, y, np.nan, np.float32), "value other than 0/1"),
    "negative labels": (lambda x, y: (x, y.astype(np.int8) - 1), "value other than 0/1"),
    "x/y count mismatch": (lambda x, y: (x, y[:-2]), "sample counts differ"),
    "five channels": (lambda x, y: (np.concatenate([x, x[..., :1]], axis=2), y), "4 one-hot channels"),
    "x with two axes": (lambda x, y: (x[:, :, 0], y), "expected 3 axes"),
    "odd strand pairs": (lambda x, y: (x[:-1], y[:-1]), "must be even"),
}


@pytest.mark.parametrize("fmt", ["v5", "v7.3"])
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_arrays_raise_data_error_naming_file(tmp_path, fmt, case):
    make, message = BAD_CASES[case]
    x, y = make(*random_split(10, seed=3))
    path = tmp_path / "valid.mat"
    if fmt == "v5":
        scipy.io.savemat(path, {"validxdata": x.transpose(0, 2, 1) if x.ndim == 3 else x, "validdata": y})
    else:
        with h5py.File(path, "w") as f:
            f["validxdata"] = x.transpose(1, 2, 0) if x.ndim == 3 else x.T
            f["validdata"] = y.T
    with pytest.raises(DataError) as info:
        read_all(path, "valid")
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_key_lists_found_variables(tmp_path):
    x, y = random_split(4)
    path = tmp_path / "test.mat"
    scipy.io.savemat(path, {"testxdata": x.transpose(0, 2, 1), "labels": y})
    with pytest.raises(DataError, match=r"missing variable 'testdata' \(found: labels, testxdata\)"):
        open_split(path, "test")
    h5 = tmp_path / "train.mat"
    write_v73(h5, "valid", x, y)  # right format, wrong split's variable names
    with pytest.raises(DataError, match="missing variable 'trainxdata'"):
        open_split(h5, "train")


def test_missing_empty_text_and_truncated_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        open_split(tmp_path / "train.mat", "train")
    empty = tmp_path / "empty.mat"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="not a MATLAB file"):
        open_split(empty, "train")
    text = tmp_path / "text.mat"
    text.write_text("trainxdata = [1 0 0 0]\n" * 20)
    with pytest.raises(DataError, match="not a MATLAB v5 or v7.3"):
        open_split(text, "train")

    x, y = random_split(40)
    full = tmp_path / "full.mat"
    write_v73(full, "train", x, y, chunks=4, gzip=True)
    data = full.read_bytes()
    for cut in (len(data) // 2, len(data) - 100):
        truncated = tmp_path / f"cut{cut}.mat"
        truncated.write_bytes(data[:cut])
        with pytest.raises(DataError) as info:
            read_all(truncated, "train")  # fails on open or while streaming
        assert str(info.value).startswith(str(truncated))

    v5 = tmp_path / "v5.mat"
    write_v5(v5, "valid", x, y)
    short = tmp_path / "short_v5.mat"
    short.write_bytes(v5.read_bytes()[: v5.stat().st_size // 2])
    with pytest.raises(DataError) as info:
        read_all(short, "valid")
    assert str(info.value).startswith(str(short))


def test_unknown_split_is_value_error(tmp_path):
    with pytest.raises(ValueError, match="unknown split"):
        open_split(tmp_path / "x.mat", "training")


@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.bool_, np.int16])
def test_uncompressed_v5_streams_without_loadmat(tmp_path, monkeypatch, dtype):
    """Published v5 files are read block by block from the file, never loaded whole."""
    x, y = random_split(14, seed=4)
    path = tmp_path / "test.mat"
    scipy.io.savemat(path, {"other": np.arange(3.0), "testxdata": np.asarray(x, dtype).transpose(0, 2, 1),
                            "note": "a string", "testdata": np.asarray(y, dtype)})

    def no_loadmat(*args, **kwargs):
        raise AssertionError("loadmat must not be used for uncompressed v5 files")

    monkeypatch.setattr(scipy.io, "loadmat", no_loadmat)
    with open_split(path, "test") as reader:
        chunks = list(reader.iter_chunks(3))
    assert [start for start, _, _ in chunks] == [0, 3, 6, 9, 12]
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), x)
    np.testing.assert_array_equal(np.concatenate([c[2] for c in chunks]), y)


def test_compressed_v5_falls_back_to_loadmat(tmp_path):
    x, y = random_split(10, seed=6)
    path = tmp_path / "valid.mat"
    scipy.io.savemat(path, {"validxdata": x.transpose(0, 2, 1), "validdata": y}, do_compression=True)
    got_x, got_y = read_all(path, "valid")
    np.testing.assert_array_equal(got_x, x)
    np.testing.assert_array_equal(got_y, y)


def test_non_numeric_v5_variable_is_an_error(tmp_path):
    path = tmp_path / "valid.mat"
    scipy.io.savemat(path, {"validxdata": "ACGT", "validdata": np.zeros((2, T), np.uint8)})
    with pytest.raises(DataError, match="'validxdata' is not a real numeric array"):
        open_split(path, "valid")
