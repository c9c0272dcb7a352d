"""train.py end to end on a tiny generated dataset: run directory, SIGKILL + resume, mirrored, bad input.

The model is the CNN family shrunk by flags (8 first-layer filters, 200 bp centre crop) so a
whole run takes seconds; the long-running runs go through the CLI in subprocesses, exactly
as a user would start them.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rundir
import train
from cli import EXIT_DIVERGED
from helpers import ROOT, cli_env
from training import devices, settings
from training.callbacks import EarlyStop, PlateauLR, seed_generator_states

# Tiny but complete: dropout (reseeded per epoch), 8 steps per epoch over a 256-sample subset
# (so Keras epochs cross data epochs; the default --batch-order authors: 4 fixed batches), a plateau
# patience of 1 so the LR schedule can act.
TINY = ["--model", "cnn-500-dropout", "--filters", "8", "--sequence-length", "200",
        "--batch-size", "64", "--max-train-samples", "256", "--max-valid-samples", "100",
        "--steps-per-epoch", "8", "--lr", "0.003", "--lr-patience", "1", "--verbose", "2"]
EPOCHS = 3


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"train.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _weights(path: Path) -> list[np.ndarray]:
    import keras

    import models  # noqa: F401  (registers the custom activations)

    return [np.asarray(w) for w in keras.models.load_model(path, compile=False).get_weights()]


@pytest.fixture(scope="module")
def store(synthetic_mat_dir, tmp_path_factory):
    """The synthetic bundle converted once into this module's own store directory."""
    from data.store import resolve_store

    return resolve_store(synthetic_mat_dir, tmp_path_factory.mktemp("train_store") / "store").path


@pytest.fixture(scope="module")
def reference_run(store, tmp_path_factory):
    """An uninterrupted run of EPOCHS epochs through the CLI."""
    run_dir = tmp_path_factory.mktemp("train_runs") / "reference"
    _cli(*TINY, "--data", str(store), "--out", str(run_dir), "--epochs", str(EPOCHS), "--tensorboard")
    return run_dir


def test_run_directory_contents(reference_run, store):
    files = {p.name for p in reference_run.iterdir()}
    assert {"config.json", "history.csv", "best_model.keras", "checkpoint", "logs"} <= files
    assert list((reference_run / "logs").rglob("events.out.tfevents.*")), "--tensorboard wrote no events"
    assert not [name for name in files if name.startswith(".") and name != ".lock"], "temporary files left"
    assert (reference_run / ".lock").read_text() == "", "the lock was not released cleanly"

    config = json.loads((reference_run / "config.json").read_text())
    assert config["preset"] == "cnn-500-dropout"
    assert config["model"]["filters"] == 8 and config["model"]["sequence_length"] == 200
    assert config["args"]["lr_patience"] == 1 and config["seed"] == 0
    assert config["training"]["lr"] == pytest.approx(3e-3)
    assert config["training"]["lr_factor"] == 0.2 and config["training"]["min_lr"] == 2e-6
    assert config["training"]["early_stopping_patience"] == 5
    assert config["training"]["valid_samples"] == 100 and config["training"]["steps_per_epoch"] == 8
    assert config["data"]["fingerprint"]["meta_sha256"] == rundir.file_sha256(Path(store) / "meta.json")
    assert config["data"]["num_targets"] == 919
    assert config["schema"] == rundir.SCHEMA and config["kind"] == "trained"
    assert config["provenance"]["versions"]["keras"] and config["provenance"]["versions"]["tensorflow"]
    assert "commit" in config["provenance"]["git"] and config["lstm_cudnn"]["has_lstm"] is False
    assert config["distribution"]["replicas"] == 1
    assert config["args"]["batch_order"] == config["training"]["batch_order"] == "authors"
    assert config["training"]["data_steps_per_epoch"] == 4

    history = _history(reference_run)
    assert [int(row["epoch"]) for row in history] == list(range(1, EPOCHS + 1))
    val = [float(row["val_loss"]) for row in history]
    assert all(np.isfinite(val)) and val[-1] < val[0]
    assert float(history[0]["lr"]) == pytest.approx(3e-3)

    state = json.loads((reference_run / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == EPOCHS and state["finished"] == "max_epochs"
    assert state["best_val_loss"] == pytest.approx(min(val))
    assert sorted(p.name for p in (reference_run / "checkpoint").iterdir()) == [
        f"epoch-{EPOCHS:04d}.keras", "state.json"]

    # The kept model is the best-validation-loss one: re-evaluating it gives that loss.
    import keras

    import models  # noqa: F401  (registers the custom activations)
    from data.pipeline import load_arrays
    from data.store import open_store

    model = keras.models.load_model(reference_run / "best_model.keras", compile=False)
    x, y = load_arrays(open_store(store).split("valid"), 200, 100)
    p = np.clip(model.predict(x, verbose=0).astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert bce == pytest.approx(min(val), rel=1e-4)


def test_sigkill_during_epoch_then_resume_matches_uninterrupted(reference_run, store, tmp_path):
    run_dir = tmp_path / "killed"
    args = [*TINY, "--data", str(store), "--out", str(run_dir), "--epochs", str(EPOCHS)]
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_file = run_dir / "checkpoint" / "state.json"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state_file.exists() and json.loads(state_file.read_text())["epoch"] >= 1:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # during epoch 2: its 8 steps take far longer than one poll
    finally:
        proc.kill()
        proc.wait()
    state = json.loads(state_file.read_text())
    assert state["epoch"] == 1, "the kill did not land in epoch 2"
    assert len(_history(run_dir)) == 1

    # Only --out and --resume: every other setting comes from the run's config.json.
    result = _cli("--out", str(run_dir), "--resume")
    assert "resuming" in result.stdout

    resumed, reference = _history(run_dir), _history(reference_run)
    assert [r["epoch"] for r in resumed] == [r["epoch"] for r in reference]
    for column in rundir.DETERMINISTIC_HISTORY_FIELDS:  # bit for bit (the CSV holds repr floats)
        assert [r[column] for r in resumed] == [r[column] for r in reference], column
    for name in ("best_model.keras", f"checkpoint/epoch-{EPOCHS:04d}.keras"):
        for a, b in zip(_weights(run_dir / name), _weights(reference_run / name)):
            np.testing.assert_array_equal(a, b)
    config = json.loads((run_dir / "config.json").read_text())
    assert [r["from_epoch"] for r in config["resumes"]] == [1]

    # A finished run resumes to nothing, and says so.
    again = _cli("--out", str(run_dir), "--resume")
    assert "already finished" in again.stdout


def test_a_run_recorded_before_batch_order_resumes_exactly_as_reshuffle(store, tmp_path):
    """Runs made before --batch-order existed trained on the reshuffle order and saved no batch_order:
    resumed, they continue with it, bit for bit (exact resume for the other order; in-process, fast)."""
    args = [*TINY, "--data", str(store), "--batch-order", "reshuffle", "--verbose", "0"]
    reference, legacy = tmp_path / "reference", tmp_path / "legacy"
    assert train.main([*args, "--out", str(reference), "--epochs", "2"]) == 0
    assert train.main([*args, "--out", str(legacy), "--epochs", "1"]) == 0
    config = json.loads((legacy / "config.json").read_text())
    del config["args"]["batch_order"], config["training"]["batch_order"]  # as an older train.py wrote it
    (legacy / "config.json").write_text(json.dumps(config))

    assert train.main(["--out", str(legacy), "--resume", "--batch-order", "authors"]) == 2  # not mutable
    assert train.main(["--out", str(legacy), "--resume", "--epochs", "2"]) == 0
    resumed, uninterrupted = _history(legacy), _history(reference)
    assert [r["epoch"] for r in resumed] == ["1", "2"]
    for column in rundir.DETERMINISTIC_HISTORY_FIELDS:
        assert [r[column] for r in resumed] == [r[column] for r in uninterrupted], column
    for a, b in zip(_weights(legacy / "checkpoint/epoch-0002.keras"), _weights(reference / "checkpoint/epoch-0002.keras")):
        np.testing.assert_array_equal(a, b)


def test_legacy_batch_order_in_settings(tmp_path):
    saved = settings.TrainSettings(model="cnn-500").as_record()
    del saved["batch_order"]
    source = tmp_path / "config.json"
    assert settings.TrainSettings.from_record(saved, source).batch_order == "reshuffle"
    assert settings.TrainSettings().resumed(saved, {}, source).batch_order == "reshuffle"
    assert settings.TrainSettings().resumed({**saved, "batch_order": "authors"}, {}, source).batch_order == "authors"
    with pytest.raises(settings.TrainError, match="made with --batch-order reshuffle, not --batch-order authors"):
        settings.TrainSettings().resumed(saved, {"batch_order": "authors"}, source)


def test_mirrored_over_two_logical_cpus(store, tmp_path):
    run_dir = tmp_path / "mirrored"
    _cli(*TINY, "--data", str(store), "--out", str(run_dir), "--epochs", "1",
         "--distribute", "mirrored", "--cpu-devices", "2")
    config = json.loads((run_dir / "config.json").read_text())
    dist = config["distribution"]
    assert dist["strategy"] == "mirrored" and dist["replicas"] == 2
    assert dist["global_batch"] == 64 and dist["per_replica_batch"] == 32
    assert [d.rsplit("/", 1)[-1] for d in dist["devices"]] == ["device:CPU:0", "device:CPU:1"]
    history = _history(run_dir)
    assert len(history) == 1 and np.isfinite(float(history[0]["val_loss"]))


# --- in-process: fast checks of the CLI's argument and input handling -----------------------------

def _main(capsys, *argv: str) -> tuple[int, str, str]:
    code = train.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("extra, message", [
    (["--model", "no-such-model"], "valid presets: deepsea"),
    (["--num-targets", "10"], "the data has 919 targets but the model predicts 10"),
    (["--sequence-length", "1200"], "needs 1200"),
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--max-train-samples", "60"], "60 samples make no whole batch of 64"),
])
def test_bad_input_is_one_line_and_creates_nothing(capsys, store, tmp_path, extra, message):
    argv = [*TINY, "--data", str(store), "--out", str(tmp_path / "run"), *extra]
    code, _, err = _main(capsys, *argv)
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "run").exists()
    assert sorted(os.listdir(tmp_path)) == []


def test_missing_data_directory(capsys, tmp_path):
    code, _, err = _main(capsys, *TINY, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"))
    assert code != 0 and err.count("\n") == 1
    assert f"{tmp_path / 'nowhere'}: data directory not found" in err
    assert not (tmp_path / "run").exists()


def test_existing_run_directory_is_not_touched(capsys, store, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"precious": true}')
    code, _, err = _main(capsys, *TINY, "--data", str(store), "--out", str(run_dir))
    assert code != 0 and err.count("\n") == 1 and "--resume" in err and "--overwrite" in err
    assert sorted(os.listdir(run_dir)) == ["config.json"]
    assert (run_dir / "config.json").read_text() == '{"precious": true}'


def test_resume_refuses_a_different_setting(capsys, reference_run):
    before = (reference_run / "config.json").read_bytes()
    code, _, err = _main(capsys, "--out", str(reference_run), "--resume", "--filters", "16")
    assert code != 0 and err.count("\n") == 1
    assert "the run was made with --filters 8, not --filters 16" in err
    assert (reference_run / "config.json").read_bytes() == before


def test_overwrite_replaces_atomically_and_nan_stops_with_a_message(capsys, store, tmp_path):
    run_dir = tmp_path / "run"
    with rundir.RunDir(run_dir).create({"kind": "trained", "model": {"sequence_length": 200, "num_targets": 919}}):
        (run_dir / "history.csv").write_text("epoch,loss,val_loss,lr\n1,0.5,0.5,0.1\n")  # an old run's
    # An absurd learning rate drives the loss to NaN within the first epoch.
    code, _, err = _main(capsys, *TINY, "--data", str(store), "--out", str(run_dir), "--overwrite",
                         "--epochs", "1", "--steps-per-epoch", "2", "--lr", "1e30", "--verbose", "0")
    assert code == EXIT_DIVERGED
    assert "loss became nan" in err and "lower --lr" in err
    assert (run_dir / "config.json").exists()
    assert not (run_dir / "history.csv").exists(), "a NaN epoch must not be recorded (nor the old run kept)"
    assert [p.name for p in tmp_path.iterdir()] == ["run"], "the old run directory was left behind"


def test_summary_prints_table1_parameter_count(capsys):
    code, out, _ = _main(capsys, "--model", "crnn-320-projection", "--summary")
    assert code == 0
    assert "projection" in out and "predictions" in out
    assert out.rstrip().splitlines()[-1] == "params: 2477479"  # Table 1


def test_fast_lstm_records_the_deviation(capsys):
    config, deviations = settings.model_config(settings.TrainSettings(model="crnn-320", fast_lstm=True))
    assert config["gate"] == "sigmoid" and config["recurrent_dropout"] == 0.0
    assert len(deviations) == 1 and "keras2_hard_sigmoid" in deviations[0] and "0.2" in deviations[0]
    model = settings.build(config)
    report = devices.lstm_cudnn_report(model, gpu_available=True)
    assert report["cudnn_compatible_settings"] is True and report["uses_cudnn"] is True
    faithful, _ = settings.model_config(settings.TrainSettings(model="crnn-320"))
    report = devices.lstm_cudnn_report(settings.build(faithful), gpu_available=True)
    assert report["uses_cudnn"] is False
    assert any("recurrent_dropout=0.2" in r for r in report["reasons"])
    assert any("keras2_hard_sigmoid" in r for r in report["reasons"])


# --- the run directory's data fingerprint and the callbacks ----------------------------------------

def test_same_data_compares_source_digest_then_meta():
    a = {"digest": "d1", "meta_sha256": "m1", "num_samples": {"train": 10}}
    assert rundir.same_data(a, {**a, "meta_sha256": "m2"})  # re-converted from the same .mat files
    assert not rundir.same_data(a, {**a, "digest": "d2"})
    assert not rundir.same_data(a, {**a, "num_samples": {"train": 12}})
    assert not rundir.same_data({**a, "digest": None}, {**a, "digest": None, "meta_sha256": "m2"})


def _keras208_schedule(val_losses, lr, *, factor, lr_patience, min_lr, es_patience):
    """Independent port of Keras 2.0.8's ReduceLROnPlateau (epsilon 1e-4) and EarlyStopping
    (min_delta 0): both compare ``wait`` with ``patience`` before counting the epoch."""
    best_lr, wait_lr, best_es, wait_es, lrs = np.inf, 0, np.inf, 0, []
    for epoch, current in enumerate(val_losses):
        if current < best_lr - 1e-4:
            best_lr, wait_lr = current, 0
        else:
            if wait_lr >= lr_patience and lr > min_lr:
                lr, wait_lr = max(lr * factor, min_lr), 0
            wait_lr += 1
        lrs.append(lr)
        if current < best_es:
            best_es, wait_es = current, 0
        else:
            if wait_es >= es_patience:
                return lrs, epoch
            wait_es += 1
    return lrs, None


@pytest.mark.parametrize("losses", [
    [1.0, 0.9, 0.8] + [0.85] * 12,                       # plateau: cuts, then stop
    [1.0, 1.1, 1.2, 0.5, 0.6, 0.7, 0.8, 0.4] + [0.41] * 10,  # improvements reset both counters
])
def test_plateau_and_early_stopping_count_like_keras_2_0_8(losses):
    """The authors trained with Keras 2.0.8, whose callbacks fired one epoch later than Keras 3's."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-4), loss="mse")
    plateau = PlateauLR(monitor="val_loss", factor=0.2, patience=2, min_lr=2e-6, verbose=0)
    early = EarlyStop(monitor="val_loss", patience=5, verbose=0)
    for callback in (plateau, early):
        callback.set_model(model)
        callback.on_train_begin()
    lrs, stopped = [], None
    for epoch, loss in enumerate(losses):
        for callback in (plateau, early):
            callback.on_epoch_end(epoch, {"val_loss": loss})
        lrs.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
        if model.stop_training:
            stopped = epoch
            break
    expected_lrs, expected_stop = _keras208_schedule(losses, 3e-4, factor=0.2, lr_patience=2,
                                                     min_lr=2e-6, es_patience=5)
    assert stopped == expected_stop is not None
    np.testing.assert_allclose(lrs, expected_lrs[:len(lrs)], rtol=1e-6)
    assert len(set(lrs)) > 1  # the schedule did cut the learning rate


def test_resume_relies_on_keras_internals_that_still_exist():
    """Exact resume reseeds dropout through the seed-generator state variables and restores the
    callbacks' counters; neither is documented Keras API, so this fails loudly if they change."""
    import keras

    model = settings.build(settings.model_config(settings.TrainSettings(model="crnn-320", sequence_length=200))[0])
    states = seed_generator_states(model)
    assert len(states) == 3, "dropout1 and the two LSTM directions each own a seed generator"
    x = np.ones((2, 200, 4), np.float32)
    from training.callbacks import reseed_dropout

    reseed_dropout(model, 0, 1)
    a = np.asarray(model(x, training=True))
    b = np.asarray(model(x, training=True))
    reseed_dropout(model, 0, 1)
    np.testing.assert_array_equal(np.asarray(model(x, training=True)), a)
    assert not np.array_equal(a, b)
    for callback in (PlateauLR(monitor="val_loss", patience=2), EarlyStop(monitor="val_loss", patience=5)):
        callback.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
        callback.model.compile(optimizer="adam", loss="mse")
        callback.on_train_begin()
        assert set(callback.get_state()) == set(callback.state_keys)


def test_bfloat16_run_keeps_a_float32_output_and_records_the_policy(store, tmp_path):
    run_dir = tmp_path / "bf16"
    _cli(*TINY, "--data", str(store), "--out", str(run_dir), "--epochs", "1", "--precision", "mixed_bfloat16")
    config = json.loads((run_dir / "config.json").read_text())
    assert config["precision"] == "mixed_bfloat16" and config["args"]["precision"] == "mixed_bfloat16"
    import keras

    keras.mixed_precision.set_global_policy("float32")
    model = rundir.load_model(run_dir)
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    assert model.get_layer("conv1").dtype_policy.name == "mixed_bfloat16"


def test_precision_choice_and_older_records():
    from training.precision import PrecisionError, choose_policy

    assert choose_policy("auto", gpus=True) == "mixed_float16"
    assert choose_policy("mixed_bfloat16", gpus=False) == "mixed_bfloat16"
    with pytest.raises(PrecisionError, match="bfloat16 units"):
        choose_policy("auto", gpus=False, cpuinfo_path="/nonexistent")
    legacy = settings.TrainSettings.from_record({"model": "crnn-320", "mixed_precision": True}, Path("c.json"))
    assert legacy.requested_precision == "mixed_float16"  # what --mixed-precision meant then
    assert settings.TrainSettings(model="x", mixed_precision=True).requested_precision == "auto"
    with pytest.raises(settings.TrainError, match="contradicts"):
        settings.TrainSettings(precision="float32", mixed_precision=True).check()


def test_a_log_written_to_a_pipe_has_no_progress_bar_control_characters(store, tmp_path):
    args = [a for a in TINY if a not in ("--verbose", "2")]
    result = _cli(*args, "--data", str(store), "--out", str(tmp_path / "run"), "--epochs", "2")
    log = result.stdout + result.stderr
    assert "Epoch 1/2" in log and "val_loss" in log
    assert not any(c in log for c in "\r\b\x1b"), repr(log[:500])
