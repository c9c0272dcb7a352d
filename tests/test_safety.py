"""Nothing lost on any input: the bad-input scenarios of a new user, each ending in one clear line, a
non-zero exit and every earlier file intact (train.py, evaluate.py, python -m data.convert)."""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

import evaluate
import train
from cli import EXIT_IO, EXIT_USAGE
from data.encoding import encode, one_hot, reverse_complement_codes
from helpers import (ROOT, asymmetric_model, cli_env, listing, one_error_line, paired_data, run_cli, save_run,
                     write_store)

TINY = ["--model", "cnn-500-dropout", "--filters", "8", "--sequence-length", "200", "--batch-size", "32",
        "--max-train-samples", "128", "--max-valid-samples", "64", "--steps-per-epoch", "2", "--verbose", "0"]
DATA = Path(__file__).parent / "data"


def snapshot(*paths: Path) -> dict:
    """Every file under ``paths`` with its bytes (to prove nothing changed)."""
    files = {}
    for root in paths:
        for p in sorted(Path(root).rglob("*")):
            if p.is_file() and p.name != ".lock":
                files[str(p)] = p.read_bytes()
    return files


def refused(capsys, main, *argv, code=EXIT_USAGE) -> str:
    assert main(list(argv)) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


@pytest.fixture(scope="module")
def store(synthetic_mat_dir, tmp_path_factory):
    from data.store import resolve_store

    return resolve_store(synthetic_mat_dir, tmp_path_factory.mktemp("safety") / "store").path


@pytest.fixture(scope="module")
def trained(store, tmp_path_factory):
    """A one-epoch run (and a second one of another architecture), evaluated on the test split."""
    root = tmp_path_factory.mktemp("safety_runs")
    assert train.main([*TINY, "--data", str(store), "--out", str(root / "run"), "--epochs", "1"]) == 0
    assert train.main([*TINY, "--filters", "12", "--data", str(store), "--out", str(root / "other"),
                       "--epochs", "1"]) == 0
    assert evaluate.main([str(root / "run"), "--data", str(store), "--no-progress"]) == 0
    return root


def copy_run(trained: Path, tmp_path: Path, name: str = "run") -> Path:
    target = tmp_path / name
    shutil.copytree(trained / name, target)
    return target


# --- --overwrite replaces only a run directory ------------------------------------------------------

@pytest.mark.parametrize("kind", ["plain", "data", "runs", "cwd"])
def test_overwrite_refuses_what_is_not_a_run(capsys, store, trained, tmp_path, monkeypatch, kind):
    if kind == "plain":
        out = tmp_path / "plain"
        out.mkdir()
        (out / "thesis.tex").write_text("years of work")
    elif kind == "data":
        out = Path(store)
    elif kind == "runs":
        out = tmp_path / "runs"
        copy_run(trained, out)
    else:
        out = copy_run(trained, tmp_path)
        monkeypatch.chdir(out)
        out = Path(".")
    before = snapshot(out)
    err = refused(capsys, train.main, *TINY, "--data", str(store), "--out", str(out), "--overwrite")
    assert "refusing to replace it" in err
    assert snapshot(out) == before


# --- one writer at a time ------------------------------------------------------------------------

def test_a_second_writer_is_refused_at_once_and_a_killed_writers_lock_taken_over(store, tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *TINY, "--steps-per-epoch", "400",
                              "--epochs", "5", "--data", str(store), "--out", str(run)],
                             cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "config.json").exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.1)
        assert (run / "config.json").exists(), first.stderr.read() if first.poll() is not None else "timeout"
        before = (run / "config.json").read_bytes()
        for extra in (["--resume"], ["--overwrite", *TINY, "--data", str(store)]):
            started = time.monotonic()
            line = one_error_line(run_cli("train.py", "--out", str(run), *extra, check=False))
            assert f"in use by another process (pid {first.pid} on " in line
            assert time.monotonic() - started < 30  # refused at once, not after loading data or a model
        assert (run / "config.json").read_bytes() == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    resumed = run_cli("train.py", "--out", str(run), "--resume", "--epochs", "1")
    assert f"taking over the lock left by pid {first.pid}" in resumed.stderr
    assert json.loads((run / "checkpoint" / "state.json").read_text())["epoch"] == 1


# --- resume state and checkpoints -----------------------------------------------------------------

def test_resume_on_a_mistyped_directory_says_no_such_run(capsys, tmp_path):
    err = refused(capsys, train.main, "--out", str(tmp_path / "rnus/typo"), "--resume")
    assert "no such run directory" in err and not (tmp_path / "rnus").exists()


def test_state_naming_a_file_of_another_run_is_refused(capsys, trained, tmp_path):
    run = copy_run(trained, tmp_path)
    state = json.loads((run / "checkpoint" / "state.json").read_text())
    state["model_file"] = str(trained / "other" / "best_model.keras")
    (run / "checkpoint" / "state.json").write_text(json.dumps(state))
    before = snapshot(run, trained / "other")
    err = refused(capsys, train.main, "--out", str(run), "--resume", "--epochs", "2")
    assert "state.json: names the checkpoint" in err and "not a file of" in err
    assert snapshot(run, trained / "other") == before


@pytest.mark.parametrize("damage", ["truncated", "random", "other-architecture"])
def test_a_damaged_checkpoint_is_refused_and_no_resume_recorded(capsys, trained, tmp_path, damage):
    run = copy_run(trained, tmp_path)
    checkpoint = run / "checkpoint" / "epoch-0001.keras"
    if damage == "truncated":
        checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 3])
    elif damage == "random":
        checkpoint.write_bytes(np.random.default_rng(0).bytes(4096))
    else:
        shutil.copy(trained / "other" / "checkpoint" / "epoch-0001.keras", checkpoint)
    config = (run / "config.json").read_bytes()
    err = refused(capsys, train.main, "--out", str(run), "--resume", "--epochs", "2")
    assert f"{checkpoint}: cannot resume from this checkpoint" in err and "--overwrite" in err
    assert (run / "config.json").read_bytes() == config  # no resume recorded


# --- evaluate.py ---------------------------------------------------------------------------------

def test_predict_never_writes_onto_inputs_or_run_files(capsys, trained, tmp_path):
    run = copy_run(trained, tmp_path)
    source = tmp_path / "in.h5"
    rng = np.random.default_rng(0)
    with h5py.File(source, "w") as f:
        f["testxdata"] = one_hot(rng.integers(0, 4, (3, 200)), np.uint8).transpose(0, 2, 1)
    before = snapshot(run, source)
    for out, message in ((source, "is also an input"), (run / "best_model.keras", "inside the run directory"),
                         (run / "metrics_test.json", "inside the run directory")):
        err = refused(capsys, evaluate.main, "--predict", str(source), str(out), "--model", str(run), "--force")
        assert message in err
    assert snapshot(run, source) == before
    out = tmp_path / "pred.h5"
    out.write_text("earlier predictions")
    assert "already exists; pass --force" in refused(capsys, evaluate.main, "--predict", str(source), str(out),
                                                      "--model", str(run))
    assert out.read_text() == "earlier predictions"
    assert evaluate.main(["--predict", str(source), str(out), "--model", str(run), "--force", "--no-progress"]) == 0


@pytest.mark.parametrize("problem, message", [
    ("mat73-orientation-in-plain-hdf5", "sequences are 3 bp but the model needs 200"),
    ("four-bases", "has more than one base set"),
    ("group", "is an HDF5 group, not a dataset"),
    ("neither", "expected (N, 4, L)"),
])
def test_predict_input_is_read_by_the_kind_of_file(capsys, trained, tmp_path, problem, message):
    source = tmp_path / "in.h5"
    x = one_hot(np.random.default_rng(1).integers(0, 4, (3, 200)), np.uint8).transpose(0, 2, 1)  # (N, 4, L)
    with h5py.File(source, "w") as f:
        if problem == "mat73-orientation-in-plain-hdf5":
            f["testxdata"] = x.transpose(2, 1, 0)  # (L, 4, N): MATLAB's layout, but no MATLAB header
        elif problem == "four-bases":
            x[1, :, 17] = 1
            f["testxdata"] = x
        elif problem == "group":
            f.create_group("testxdata")
        else:
            f["testxdata"] = x.transpose(0, 2, 1)  # (N, L, 4)
    err = refused(capsys, evaluate.main, "--predict", str(source), str(tmp_path / "out.h5"), "--model",
                  str(trained / "run"))
    assert message in err and not (tmp_path / "out.h5").exists()


def test_predict_crops_longer_sequences_with_a_note(capsys, trained, tmp_path):
    source = tmp_path / "in.mat"
    codes = np.random.default_rng(2).integers(0, 4, (4, 260))
    scipy.io.savemat(source, {"testxdata": one_hot(codes, np.uint8).transpose(0, 2, 1)})
    assert evaluate.main(["--predict", str(source), str(tmp_path / "out.h5"), "--model", str(trained / "run"),
                          "--no-progress"]) == 0
    assert "the central 200 bp (offset 30) are predicted" in capsys.readouterr().err


def test_config_and_model_lengths_disagreeing_is_one_line(capsys, store, trained, tmp_path):
    run = copy_run(trained, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["model"]["sequence_length"] = 500
    (run / "config.json").write_text(json.dumps(config))
    err = refused(capsys, evaluate.main, str(run), "--data", str(store), "--no-progress")
    assert "says sequence_length 500" in err and "takes 200 bp inputs" in err


def test_results_on_other_data_are_not_replaced_silently(capsys, store, trained, tmp_path):
    run = copy_run(trained, tmp_path)
    rng = np.random.default_rng(3)
    other = write_store(tmp_path / "other_data", *paired_data(rng, pairs=20, length=1000, targets=919))
    before = snapshot(run)
    err = refused(capsys, evaluate.main, str(run), "--data", str(other), "--no-progress")
    assert "metrics_test.json: was computed on other data" in err and "--force" in err
    assert snapshot(run) == before
    assert evaluate.main([str(run), "--data", str(other), "--no-progress", "--force"]) == 0


def test_table_flags_rows_whose_figures_do_not_belong_together(capsys, store, trained, tmp_path):
    mixed = copy_run(trained, tmp_path, "run")
    rng = np.random.default_rng(4)
    other = write_store(tmp_path / "other_data", *paired_data(rng, pairs=20, length=1000, targets=919))
    assert evaluate.main([str(mixed), "--data", str(other), "--no-progress", "--force"]) == 0
    stale = copy_run(trained, tmp_path / "b", "run")  # resumed after evaluation: a new best model
    assert train.main(["--out", str(stale), "--resume", "--epochs", "2"]) == 0
    capsys.readouterr()
    assert evaluate.main(["--table", str(mixed), str(stale), str(trained / "run")]) == 0
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if "this project" in line]
    assert rows[0].startswith("| cnn-500-dropout ‡") and rows[1].startswith("| cnn-500-dropout ‡")
    assert not rows[2].startswith("| cnn-500-dropout ‡")
    assert "valid and test figures come from different data" in captured.err
    assert "test metrics are from an older model" in captured.err


def test_table_output_must_be_a_new_file_outside_runs(capsys, trained, tmp_path):
    before = snapshot(trained / "run")
    assert "is a directory" in refused(capsys, evaluate.main, "--table", str(trained / "run"), "-o", str(tmp_path))
    assert "inside the run directory" in refused(capsys, evaluate.main, "--table", str(trained / "run"), "-o",
                                                 str(trained / "run" / "metrics_test.json"), "--force")
    assert snapshot(trained / "run") == before


def test_rerunning_a_published_comparison_removes_what_no_longer_applies(capsys, tmp_path):
    from helpers import write_keras02

    rng = np.random.default_rng(5)
    store = write_store(tmp_path / "store", *paired_data(rng, pairs=20, length=100, targets=919),
                        splits=("valid", "test"))

    def danq_weights(path, seed):
        r = np.random.default_rng(seed)
        steps, f, u, h = (100 - 26 + 1) // 13, 6, 5, 7
        layers = [[] for _ in range(10)]
        layers[0] = [r.normal(0, 0.4, (f, 4, 26, 1)), r.normal(0, 0.2, f)]
        layers[3] = [r.normal(0, 0.6, s) for _ in range(2) for _ in "icfo" for s in ((f, u), (u, u), (u,))]
        layers[6] = [r.normal(0, 1.0, (steps * 2 * u, h)), r.normal(0, 0.2, h)]
        layers[8] = [r.normal(0, 1.5, (h, 919)), r.normal(0, 0.2, 919)]
        write_keras02(path, [[np.asarray(p, np.float32) for p in params] for params in layers])
        return path

    first, second = danq_weights(tmp_path / "a.hdf5", 1), danq_weights(tmp_path / "b.hdf5", 2)
    out = tmp_path / "danq"
    base = ["--published", "danq", "--data", str(store), "--out", str(out), "--no-progress"]
    assert evaluate.main([*base, "--weights", str(first)]) == 0
    assert evaluate.main([*base, "--weights", str(first), "--split", "valid"]) == 0
    assert evaluate.main([str(out), "--compare-published"]) == 0
    assert {"compare_danq_test.tsv", "compare_danq_test.json", "metrics_valid.json"} <= set(listing(out))
    assert evaluate.main([*base, "--weights", str(second)]) == 0  # other weights: nothing earlier applies
    names = set(listing(out))
    assert "metrics_test.json" in names and not {"compare_danq_test.tsv", "metrics_valid.json"} & names
    assert evaluate.main([str(out), "--compare-published"]) == 0
    assert evaluate.main([*base, "--weights", str(second)]) == 0  # same weights, test re-evaluated
    assert "compare_danq_test.tsv" not in listing(out)
    capsys.readouterr()


# --- silent wrong results become clear errors --------------------------------------------------------

def write_bundle(directory: Path, codes: dict, *, channels=(0, 1, 2, 3)) -> Path:
    """train.mat v7.3 / valid.mat, test.mat v5 from base codes per split (labels random), channels as given."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, c in codes.items():
        x = one_hot(c, np.uint8)[..., list(channels)]
        y = (rng.random((len(c), 3)) < 0.3).astype(np.uint8)
        if split != "train":
            y[len(c) // 2:] = y[: len(c) // 2]
        if split == "train":
            with h5py.File(directory / "train.mat", "w", userblock_size=512) as f:
                f.create_dataset("trainxdata", data=x.transpose(1, 2, 0))
                f.create_dataset("traindata", data=y.T)
        else:
            scipy.io.savemat(directory / f"{split}.mat", {f"{split}xdata": x.transpose(0, 2, 1), f"{split}data": y})
    return directory


def human_codes() -> np.ndarray:
    """The 8 hg19 sequences of DanQ's data/example.h5 (tests/data/README.md), as A,G,C,T codes."""
    seqs, current = [], []
    for line in (DATA / "danq_example_hg19.fa").read_text().splitlines():
        if line.startswith(">"):
            if current:
                seqs.append("".join(current))
            current = []
        else:
            current.append(line)
    seqs.append("".join(current))
    return np.stack([encode(s) for s in seqs])


def paired(codes: np.ndarray) -> np.ndarray:
    return np.concatenate([codes, reverse_complement_codes(codes)])


def test_a_split_whose_second_half_is_a_copy_is_refused(capsys, tmp_path):
    rng = np.random.default_rng(6)
    good = rng.integers(0, 4, (6, 50))
    bundle = write_bundle(tmp_path / "bundle", {"train": rng.integers(0, 4, (10, 50)), "valid": paired(good),
                                                "test": np.concatenate([good, good])})
    from data.convert import main as convert_main

    err = refused(capsys, convert_main, str(bundle), str(tmp_path / "store"), "--no-progress")
    assert "test.mat: row 6 is not the reverse complement of row 0" in err and "plain copy" in err
    assert listing(tmp_path) == ["bundle"]


def test_channel_order_is_checked_on_real_human_dna(capsys, tmp_path):
    """DanQ's example sequences (hg19) pass in A,G,C,T and are refused with their channels in A,C,G,T,
    by the converter and by --predict; synthetic data without CpG depletion is never flagged."""
    from data.convert import main as convert_main

    human = human_codes()
    acgt = (0, 2, 1, 3)  # column k of the written one-hot holds base ACGT[k]
    ok = write_bundle(tmp_path / "agct", {"train": human, "valid": paired(human), "test": paired(human)})
    assert convert_main([str(ok), str(tmp_path / "agct_store"), "--no-progress"]) == 0
    bad = write_bundle(tmp_path / "acgt", {"train": human, "valid": paired(human), "test": paired(human)},
                       channels=acgt)
    err = refused(capsys, convert_main, str(bad), str(tmp_path / "acgt_store"), "--no-progress")
    assert "look like A,C,G,T order" in err and "--channel-order ACGT" in err
    assert not (tmp_path / "acgt_store").exists()
    assert convert_main([str(bad), str(tmp_path / "acgt_store"), "--no-progress", "--channel-order", "ACGT"]) == 0
    from data.store import open_store

    np.testing.assert_array_equal(open_store(tmp_path / "acgt_store").split("train").codes, human)

    model = asymmetric_model(1000, 3)
    run = save_run(tmp_path / "run", model, 1000)
    for name, channels, accepted in (("example.h5", (0, 1, 2, 3), True), ("reordered.h5", acgt, False)):
        with h5py.File(tmp_path / name, "w") as f:  # DanQ's layout: (N, 4, L) as h5py sees it
            f["testxdata"] = one_hot(human, np.uint8)[..., list(channels)].transpose(0, 2, 1)
        argv = ["--predict", str(tmp_path / name), str(tmp_path / f"{name}.pred.h5"), "--model", str(run),
                "--no-progress"]
        if accepted:
            assert evaluate.main(argv) == 0
        else:
            assert "look like A,C,G,T order" in refused(capsys, evaluate.main, *argv)
    shuffled = np.random.default_rng(7).integers(0, 4, (8, 1000))  # no CpG depletion: not flagged
    with h5py.File(tmp_path / "shuffled.h5", "w") as f:
        f["testxdata"] = one_hot(shuffled, np.uint8)[..., list(acgt)].transpose(0, 2, 1)
    assert evaluate.main(["--predict", str(tmp_path / "shuffled.h5"), str(tmp_path / "s.pred.h5"), "--model",
                          str(run), "--no-progress"]) == 0


# --- a full disk -----------------------------------------------------------------------------------

def _file_size_limit(limit: int):
    """For a child process: writes beyond ``limit`` bytes fail with EFBIG, as on a full disk."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_while_training_keeps_the_last_checkpoint(trained, tmp_path):
    run = copy_run(trained, tmp_path)
    size = (run / "checkpoint" / "epoch-0001.keras").stat().st_size
    before = snapshot(run)
    result = run_cli("train.py", "--out", str(run), "--resume", "--epochs", "2", check=False,
                     preexec_fn=_file_size_limit(size // 2))
    line = one_error_line(result)
    assert "no space left to write" in line and result.returncode == EXIT_IO
    after = snapshot(run)
    for name in ("config.json", "checkpoint/state.json", "checkpoint/epoch-0001.keras", "best_model.keras"):
        key = str(run / name)
        if name != "config.json":
            assert after[key] == before[key], name
    assert [p for p in listing(run) + listing(run / "checkpoint") if ".tmp" in p] == []
    assert run_cli("train.py", "--out", str(run), "--resume", "--epochs", "2").returncode == 0


def test_disk_full_while_converting_leaves_no_store(synthetic_mat_dir, tmp_path):
    result = run_cli("-m data.convert", str(synthetic_mat_dir), str(tmp_path / "store"), "--no-progress",
                     check=False, preexec_fn=_file_size_limit(200_000))
    assert "no space left to write" in one_error_line(result) and result.returncode == EXIT_IO
    assert listing(tmp_path) == []


def test_disk_full_while_evaluating_keeps_earlier_results(store, trained, tmp_path):
    run = copy_run(trained, tmp_path)
    before = snapshot(run)
    result = run_cli("evaluate.py", str(run), "--data", str(store), "--no-progress", check=False,
                     preexec_fn=_file_size_limit(20_000))
    assert "no space left to write" in one_error_line(result) and result.returncode == EXIT_IO
    assert snapshot(run) == before and [p for p in listing(run) if ".tmp" in p] == []


# --- every command: a bad input prints one line, whatever TensorFlow says while starting ----------

@pytest.mark.parametrize("command", [
    ["train.py", "--model", "crnn-320", "--summary", "--filters", "0"],
    ["train.py", "--out", "no/such/run", "--resume"],
    ["evaluate.py", "no/such/run", "--data", "no/such/data"],
    ["evaluate.py", "--table", "no/such/run"],
    ["-m data.convert", "no/such/deepsea", "out"],
    ["-m models.published", "danq", "no/such/weights.hdf5", "out.keras"],
])
def test_every_command_reports_bad_input_in_one_line(tmp_path, command):
    result = run_cli(command[0], *command[1:], check=False, cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    one_error_line(result)
    assert listing(tmp_path) == []
