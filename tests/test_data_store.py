"""Streaming conversion into the store (data/convert.py, data/store.py): exact round trip, atomicity, CLI."""
import json
import os

import h5py
import numpy as np
import pytest
import scipy.io

from cli import EXIT_USAGE
from data import convert as convert_module
from data.convert import convert, main
from data.mat import DataError
from data.encoding import center_crop, codes_from_one_hot, one_hot, reverse_complement_codes
from data.store import is_store, open_store, resolve_store

L, T = 16, 11  # T not a multiple of 8 exercises the bit packing's padding


def make_bundle(directory, n=(30, 8, 6), seed=0):
    """train.mat v7.3 (gzip, chunked, MATLAB header), valid/test v5; returns the expected arrays."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    expected = {}
    for split, count in zip(("train", "valid", "test"), n):
        codes = rng.integers(0, 5, size=(count, L))
        if split != "train":  # paired splits: second half = reverse complements of the first
            codes[count // 2:] = reverse_complement_codes(codes[:count // 2])
        x = np.vstack([np.eye(4, dtype=np.uint8), np.zeros((1, 4), np.uint8)])[codes]  # (n, L, 4)
        y = (rng.random((count, T)) < 0.4).astype(np.uint8)
        if split != "train":
            y[count // 2:] = y[:count // 2]
        if split == "train":
            with h5py.File(directory / "train.mat", "w", userblock_size=512) as f:
                f.create_dataset("trainxdata", data=x.transpose(1, 2, 0), chunks=(L, 4, 7), compression="gzip")
                f.create_dataset("traindata", data=y.T, chunks=(T, 7), compression="gzip")
        else:
            scipy.io.savemat(directory / f"{split}.mat", {f"{split}xdata": x.transpose(0, 2, 1), f"{split}data": y})
        expected[split] = (x.astype(np.float32), y.astype(np.float32), codes)
    return expected


def test_round_trip_through_store(tmp_path):
    expected = make_bundle(tmp_path / "deepsea")
    store = convert(tmp_path / "deepsea", tmp_path / "store", chunk_size=4, progress=False)
    assert store.splits == ("train", "valid", "test")
    assert (store.sequence_length, store.num_targets) == (L, T)
    for split, (x, y, codes) in expected.items():
        part = store.split(split)
        assert part.num_samples == len(x) and part.paired == (split != "train")
        np.testing.assert_array_equal(part.codes, codes)
        rows = np.array([3, 0, len(x) - 1, 3])
        got_x, got_y = part.read(rows)
        assert got_x.dtype == np.float32 and got_y.dtype == np.float32
        np.testing.assert_array_equal(got_x, x[rows])
        np.testing.assert_array_equal(got_y, y[rows])
        crop_x, _ = part.read(rows, sequence_length=9)
        np.testing.assert_array_equal(crop_x, x[rows, (L - 9) // 2:(L - 9) // 2 + 9])
    meta = json.loads((tmp_path / "store" / "meta.json").read_text())
    assert meta["splits"]["train"]["positives"] == expected["train"][1].sum(axis=0).astype(int).tolist()
    source = meta["sources"]["train"]
    assert source["name"] == "train.mat" and source["size"] == (tmp_path / "deepsea" / "train.mat").stat().st_size
    assert len(source["sha256_first_mib"]) == 64 and store.fingerprint["digest"] == meta["source_digest"]
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_encoding_helpers_against_numpy():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 5, size=(3, 20))
    x = one_hot(codes)
    assert x.shape == (3, 20, 4) and x.dtype == np.float32
    np.testing.assert_array_equal(x.sum(-1) == 0, codes == 4)  # N is all zeros
    np.testing.assert_array_equal(np.where(codes < 4, x.argmax(-1), 4), codes)
    np.testing.assert_array_equal(codes_from_one_hot(x.astype(np.uint8)), codes)
    np.testing.assert_array_equal(center_crop(codes, 7), codes[:, 6:13])  # offset (20 - 7) // 2
    with pytest.raises(ValueError):
        center_crop(codes, 21)


def test_multi_hot_column_is_an_error_and_leaves_nothing(tmp_path):
    make_bundle(tmp_path / "deepsea")
    x = np.zeros((4, 4, L), np.uint8)
    x[:, 0, :] = 1
    x[2, 3, 5] = 1  # two bases at one position
    scipy.io.savemat(tmp_path / "deepsea" / "valid.mat", {"validxdata": x, "validdata": np.zeros((4, T), np.uint8)})
    with pytest.raises(DataError, match=r"valid\.mat: sample \d+, position \d+ has more than one base set"):
        convert(tmp_path / "deepsea", tmp_path / "store", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deepsea"]


def test_failure_mid_way_leaves_no_store_and_rerun_succeeds(tmp_path, monkeypatch):
    expected = make_bundle(tmp_path / "deepsea")
    real = convert_module._convert_split

    def crash_on_valid(reader, *args, **kwargs):
        if reader.split == "valid":
            raise KeyboardInterrupt  # as if killed after train was written
        return real(reader, *args, **kwargs)

    monkeypatch.setattr(convert_module, "_convert_split", crash_on_valid)
    with pytest.raises(KeyboardInterrupt):
        convert(tmp_path / "deepsea", tmp_path / "store", progress=False)
    assert not (tmp_path / "store").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deepsea"]

    # A hard kill leaves its partial directory behind; it never looks complete and is swept on rerun.
    stale = tmp_path / ".store.partial-999999999"
    stale.mkdir()
    (stale / "train.seq.npy").write_bytes(b"half-written")
    with pytest.raises(DataError, match="no meta.json"):
        open_store(stale)
    monkeypatch.setattr(convert_module, "_convert_split", real)
    store = convert(tmp_path / "deepsea", tmp_path / "store", progress=False)
    assert not stale.exists()
    np.testing.assert_array_equal(store.split("test").codes, expected["test"][2])


def test_existing_outputs_are_not_clobbered(tmp_path):
    make_bundle(tmp_path / "deepsea")
    convert(tmp_path / "deepsea", tmp_path / "store", progress=False)
    with pytest.raises(DataError, match="already holds a complete store"):
        convert(tmp_path / "deepsea", tmp_path / "store", progress=False)
    convert(tmp_path / "deepsea", tmp_path / "store", progress=False, overwrite=True)
    assert is_store(tmp_path / "store")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="is not a data store"):
        convert(tmp_path / "deepsea", other, progress=False)
    assert (other / "keep.txt").read_text() == "mine"


def test_resolve_store_converts_once_and_detects_changed_sources(tmp_path):
    make_bundle(tmp_path / "deepsea")
    store = resolve_store(tmp_path / "deepsea", progress=False)
    assert store.path == tmp_path / "deepsea" / "store"
    stamp = os.stat(store.path / "meta.json").st_mtime_ns
    again = resolve_store(tmp_path / "deepsea")
    assert os.stat(again.path / "meta.json").st_mtime_ns == stamp
    assert resolve_store(store.path).path == store.path  # a store directory is used as is
    make_bundle(tmp_path / "deepsea", seed=1)  # new files, same names
    with pytest.raises(DataError, match="different"):
        resolve_store(tmp_path / "deepsea")
    with pytest.raises(DataError, match="neither a data store"):
        resolve_store(tmp_path)


@pytest.mark.parametrize("problem", ["missing", "garbage", "odd"])
def test_cli_bad_input_one_line_nonzero_and_no_output(tmp_path, capsys, problem):
    make_bundle(tmp_path / "deepsea")
    test_file = tmp_path / "deepsea" / "test.mat"
    if problem == "missing":
        test_file.unlink()
    elif problem == "garbage":
        test_file.write_bytes(b"\x00" * 300)
    else:
        x = np.zeros((5, 4, L), np.uint8)
        scipy.io.savemat(test_file, {"testxdata": x, "testdata": np.zeros((5, T), np.uint8)})
    status = main([str(tmp_path / "deepsea"), str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == EXIT_USAGE
    assert err.count("\n") == 1 and err.startswith(f"error: {test_file}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deepsea"]


def test_cli_success(tmp_path, capsys):
    make_bundle(tmp_path / "deepsea")
    assert main([str(tmp_path / "deepsea"), str(tmp_path / "out"), "--no-progress", "--chunk-size", "5"]) == 0
    assert "train=30, valid=8, test=6" in capsys.readouterr().out
    assert is_store(tmp_path / "out")
