"""training/distributed.py and train.py --distribute multi-worker.

The loop is checked against Keras ``Model.fit`` (the single-worker path train.py uses): in-process
under the default strategy, and through train.py with two real worker processes on localhost
ports, where one worker is killed mid-epoch and the run resumed (the slow test).
"""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import train
from cli import EXIT_CLUSTER, EXIT_USAGE
from helpers import ROOT, cli_env


# --- cluster resolution ---------------------------------------------------------------------------

def _clear_cluster_env(monkeypatch):
    for name in list(os.environ):
        if name == "TF_CONFIG" or name.startswith("SLURM_"):
            monkeypatch.delenv(name)


def test_cluster_from_tf_config(monkeypatch):
    from training import distributed

    _clear_cluster_env(monkeypatch)
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "4")  # TF_CONFIG wins over SLURM
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    resolver = distributed.cluster_resolver()
    assert distributed.cluster_source() == "TF_CONFIG"
    assert resolver.cluster_spec().as_dict() == {"worker": ["a:1", "b:2"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


def test_cluster_from_slurm_job_step(monkeypatch):
    from training import distributed

    _clear_cluster_env(monkeypatch)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    for name, value in {"SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "4", "SLURM_STEP_NODELIST": "node[07-08]",
                        "SLURM_STEP_TASKS_PER_NODE": "2(x2)"}.items():
        monkeypatch.setenv(name, value)
    resolver = distributed.cluster_resolver(port_base=4000)
    assert distributed.cluster_source() == "SLURM"
    assert resolver.cluster_spec().as_dict() == {"worker": ["node07:4000", "node07:4001", "node08:4000",
                                                            "node08:4001"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 3)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""  # GPU binding is left to SLURM
    # The strategy replicates over the GPUs the resolver reports: those this task sees (none here).
    import tensorflow as tf

    assert resolver.num_accelerators() == {"GPU": len(tf.config.list_physical_devices("GPU"))}


@pytest.mark.parametrize("env,message", [
    ({}, "needs TF_CONFIG"),
    ({"TF_CONFIG": "{not json"}, "not valid JSON"),
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}})},
     "not one of its cluster's workers"),
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"], "ps": ["b:1"]},
                               "task": {"type": "worker", "index": 0}})}, "takes only 'worker'"),
    ({"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "0"}, "cannot read the SLURM job step"),
])
def test_cluster_errors_are_one_line(monkeypatch, env, message):
    from training import distributed

    _clear_cluster_env(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(distributed.ClusterError, match=message) as info:
        distributed.cluster_resolver()
    assert "\n" not in str(info.value)


def test_single_process_strategies_are_chief():
    from training import distributed

    strategy = distributed.make_strategy("none")
    assert distributed.is_chief(strategy)
    assert distributed.describe(strategy, "none")["workers"] == 1
    with pytest.raises(ValueError, match="kind"):
        distributed.make_strategy("ps")


def test_settings_spell_the_library_choices():
    """training.settings repeats these so as not to import TensorFlow; they must not drift apart."""
    from data import pipeline
    from training import distributed, settings

    assert settings.DISTRIBUTE_CHOICES == distributed.DISTRIBUTE_CHOICES
    assert set(settings.BATCH_ORDERS) == set(pipeline.BATCH_ORDERS)
    assert settings.TrainSettings().port_base == distributed.DEFAULT_PORT_BASE
    assert settings.TrainSettings().startup_timeout == distributed.DEFAULT_STARTUP_TIMEOUT


@pytest.mark.parametrize("cluster,task,chief", [
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
    ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
    ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False),
])
def test_chief_is_known_before_the_cluster_forms(monkeypatch, cluster, task, chief):
    from training import distributed

    _clear_cluster_env(monkeypatch)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": task}))
    assert distributed.chief_task(distributed.cluster_resolver()) is chief


def _train_main(capsys, *argv: str) -> tuple[int, str]:
    code = train.main(list(argv))
    return code, capsys.readouterr().err


def test_multi_worker_refusals_are_one_line_and_create_nothing(monkeypatch, capsys, synthetic_mat_dir, tmp_path):
    """Checked on every worker before the cluster forms, so none of them waits for the others."""
    _clear_cluster_env(monkeypatch)
    run = tmp_path / "run"
    base = ["--model", "cnn-500", "--data", str(synthetic_mat_dir), "--out", str(run), "--distribute", "multi-worker"]
    code, err = _train_main(capsys, *base)
    assert code == EXIT_CLUSTER and err.count("\n") == 1 and "needs TF_CONFIG" in err, err
    code, err = _train_main(capsys, *base, "--jit")
    assert code == EXIT_USAGE and err.count("\n") == 1 and "--jit" in err, err
    # A 2-worker TF_CONFIG; the store check comes first, so no cluster is waited for.
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    code, err = _train_main(capsys, *base, "--store-dir", str(tmp_path / "store"))
    assert code == EXIT_USAGE and err.count("\n") == 1, err
    assert "no converted store here" in err and "python -m data.convert" in err
    assert sorted(os.listdir(tmp_path)) == []


# --- the loop against Model.fit, in-process --------------------------------------------------------

def _tiny_model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((20, 4))
    x = keras.layers.Conv1D(4, 5, activation="relu")(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(x))
    model.compile(optimizer=keras.optimizers.Adam(0.01, epsilon=1e-8), loss="binary_crossentropy")
    return model


def test_fit_matches_keras_fit_with_the_paper_callbacks(tmp_path):
    """Same weights, history, LR cuts and early stop as Model.fit, with partial last batches."""
    import keras
    import tensorflow as tf

    from data.pipeline import split_batch
    from training import distributed
    from training.callbacks import EarlyStop, PlateauLR

    rng = np.random.default_rng(0)
    x, y = rng.random((45, 20, 4), dtype=np.float32), (rng.random((45, 3)) < 0.4).astype(np.float32)
    x_valid, y_valid = rng.random((13, 20, 4), dtype=np.float32), (rng.random((13, 3)) < 0.4).astype(np.float32)
    batch = 8  # 6 batches per pass, the last of 5 rows

    def batches(num_replicas, replica_ids):
        def rows():
            for epoch in range(100):
                order = np.random.default_rng([0, epoch]).permutation(len(x))
                for start in range(0, len(x), batch):
                    parts = split_batch(order[start:start + batch], num_replicas)
                    for replica in replica_ids:
                        yield x[parts[replica]], y[parts[replica]]
        spec = (tf.TensorSpec((None, 20, 4)), tf.TensorSpec((None, 3)))
        return tf.data.Dataset.from_generator(rows, output_signature=spec)

    def run(use_fit: bool):
        model = _tiny_model(3)
        # lr patience 0 / early patience 1 (Keras 2.0.8 counting): cuts and a stop within a few epochs
        plateau = PlateauLR(monitor="val_loss", factor=0.5, patience=0, min_lr=1e-4)
        early = EarlyStop(monitor="val_loss", patience=1)
        lrs = []
        record = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: lrs.append(
            float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))))
        kwargs = dict(epochs=12, steps_per_epoch=7, validation_data=(x_valid, y_valid), validation_batch_size=5,
                      callbacks=[plateau, early, record], verbose=0)
        if use_fit:
            history = model.fit(batches(1, [0]), shuffle=False, **kwargs)
        else:
            history = distributed.fit(model, tf.distribute.get_strategy(), batches, **kwargs)
        return model, history.history, lrs

    reference, want, want_lrs = run(use_fit=True)
    model, got, got_lrs = run(use_fit=False)
    assert len(want["loss"]) < 12, "early stopping should have ended the reference run"
    assert len(set(want_lrs)) > 1, "the plateau callback should have cut the learning rate"
    assert got_lrs == want_lrs
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-6)
    assert int(model.optimizer.iterations) == int(reference.optimizer.iterations)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


# --- two worker processes, through train.py ----------------------------------------------------------

# Every dropout rate 0, so two workers and one must agree. Global batch 24 split 12/12 over the two
# workers; --batch-order reshuffle over 145 samples makes 7 batches per epoch, the last of one row
# (worker 1 gets none of it); validation 100 rows in 5 split batches; the learning rate is cut
# after epoch 2 (after the resume, so from restored plateau counters).
TINY = ["--model", "cnn-500", "--filters", "8", "--sequence-length", "200", "--hidden-units", "32",
        "--dropout", "0", "--hidden-dropout", "0", "--batch-size", "24", "--max-train-samples", "145",
        "--batch-order", "reshuffle", "--max-valid-samples", "100", "--epochs", "3", "--lr", "0.01",
        "--lr-patience", "0", "--seed", "5", "--verbose", "2"]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _worker(index: int, ports: list[int], *args: str) -> subprocess.Popen:
    """``python train.py ARGS`` as worker ``index`` of a localhost cluster, as a user starts it."""
    config = {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
              "task": {"type": "worker", "index": index}}
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT,
                            env=cli_env(TF_CONFIG=json.dumps(config)), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"worker still running after {timeout} s (a hang):\n{out}\n{err[-3000:]}")
    return proc.returncode, out, err


def _history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv", newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _error_lines(err: str) -> list[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err[-3000:]
    return lines


@pytest.mark.slow
def test_two_workers_match_one_and_resume_after_losing_a_worker(synthetic_mat_dir, tmp_path):
    """Two CPU workers on localhost ports, started with train.py as a user would.

    1. Worker 1 is SIGKILLed during epoch 2: worker 0 (the chief) must stop with one error line
       (exit status 5) and keep epoch 1's checkpoint.
    2. Both restarted with only --out and --resume: the history equals a single worker's run
       (train.py --distribute none, Keras Model.fit) with the same global batch to 1e-4, and so do
       the best models' predictions.
    Meanwhile a worker whose peer never starts gives up after its --startup-timeout (5 s).
    """
    import models  # noqa: F401  (registers the custom activations the saved models use)
    from data.store import resolve_store

    store = str(resolve_store(synthetic_mat_dir, tmp_path / "store").path)
    run_dir, ref_dir, lonely_dir = tmp_path / "mw", tmp_path / "single", tmp_path / "lonely"
    common = [*TINY, "--data", store, "--distribute", "multi-worker"]
    ports = _free_ports(2)
    lonely = _worker(0, _free_ports(2), *common, "--out", str(lonely_dir), "--startup-timeout", "5")
    workers = [_worker(i, ports, *common, "--out", str(run_dir)) for i in range(2)]
    state_file = run_dir / "checkpoint" / "state.json"
    deadline = time.monotonic() + 300
    while not state_file.exists() and time.monotonic() < deadline and workers[0].poll() is None:
        time.sleep(0.02)
    workers[1].send_signal(signal.SIGKILL)  # during epoch 2: its 7 steps take far longer than one poll
    killed = time.monotonic()
    code, _, err = _finish(workers[0], timeout=120)
    waited = time.monotonic() - killed
    workers[1].communicate()
    lines = _error_lines(err)
    assert code == EXIT_CLUSTER, err[-3000:]
    assert len(lines) == 1, err
    assert re.match(r"error: a worker was lost (at the end of epoch 1|during epoch 2, batch \d|while validating "
                    r"epoch 2) \(.+\); the last completed epoch's checkpoint is kept: start every worker again "
                    r"with --resume$", lines[0]), lines[0]
    assert json.loads(state_file.read_text())["epoch"] == 1, "the kill did not land before epoch 2 ended"
    print(f"chief stopped {waited:.1f} s after its peer was killed")

    # The single-worker reference (Keras Model.fit), in this process while the lonely worker waits.
    assert train.main([*TINY, "--data", store, "--out", str(ref_dir), "--verbose", "0"]) == 0

    code, _, err = _finish(lonely, timeout=180)
    assert code == -signal.SIGKILL, err[-3000:]  # killed by its start-up watchdog (137 in a shell)
    lines = _error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: the 2-worker cluster (localhost:"), err
    assert "did not come up within 5 s" in lines[0]
    assert not lonely_dir.exists()

    # Only --out and --resume: every other setting, --distribute included, comes from config.json.
    resumed = [_worker(i, ports, "--out", str(run_dir), "--resume") for i in range(2)]
    outputs = [_finish(proc, timeout=300) for proc in resumed]
    for code, out, err in outputs:
        assert code == 0 and not _error_lines(err), out + err[-3000:]
    assert "resuming" in outputs[0][1] and "best val_loss" in outputs[0][1]
    assert outputs[1][1].strip() == f"{run_dir}: worker 1 of 2; the chief writes the run directory"

    config = json.loads((run_dir / "config.json").read_text())
    assert config["distribution"]["strategy"] == "multi-worker" and config["distribution"]["workers"] == 2
    assert config["distribution"]["cluster_source"] == "TF_CONFIG"
    assert config["distribution"]["task"] == {"type": "worker", "index": 0}
    assert config["training"]["loop"] == "training.distributed.fit"
    assert config["training"]["batch_order"] == config["args"]["batch_order"] == "reshuffle"
    assert [r["from_epoch"] for r in config["resumes"]] == [1]
    got, want = _history(run_dir), _history(ref_dir)
    assert [row["epoch"] for row in got] == [1, 2, 3]
    assert len({row["lr"] for row in want}) > 1, "the plateau callback should have cut the learning rate"
    for a, b in zip(got, want, strict=True):
        for key in ("loss", "val_loss", "lr"):
            assert abs(a[key] - b[key]) <= 1e-4, (key, got, want)
    # The best models predict alike (weights agree to about 1e-3 only: Adam's m / sqrt(v) turns
    # float summation-order noise in near-zero gradients into steps of up to lr).
    import keras

    from data.pipeline import load_arrays
    from data.store import open_store

    x_valid, _ = load_arrays(open_store(store).split("valid"), 200, 100)
    best = [keras.models.load_model(d / "best_model.keras", compile=False) for d in (run_dir, ref_dir)]
    np.testing.assert_allclose(best[0].predict(x_valid, verbose=0), best[1].predict(x_valid, verbose=0),
                               rtol=0, atol=1e-4)


def test_fit_matches_keras_fit_under_mixed_precision():
    """With a mixed_float16 policy compile wraps Adam in a LossScaleOptimizer; the loop scales too."""
    import keras
    import tensorflow as tf

    from training import distributed

    rng = np.random.default_rng(1)
    x, y = rng.random((32, 20, 4), dtype=np.float32), (rng.random((32, 3)) < 0.4).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    histories, weights = [], []
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for use_fit in (True, False):
            keras.utils.set_random_seed(2)
            inputs = keras.Input((20, 4))
            hidden = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 5, activation="relu")(inputs))
            model = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid", dtype="float32")(hidden))
            model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
            assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            kwargs = dict(epochs=2, steps_per_epoch=4, validation_data=(x, y), validation_batch_size=8, verbose=0)
            if use_fit:
                history = model.fit(dataset, shuffle=False, **kwargs)
            else:
                history = distributed.fit(model, tf.distribute.get_strategy(), lambda n, ids: dataset, **kwargs)
            histories.append(history.history)
            weights.append(model.get_weights())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=0, atol=1e-5)
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
