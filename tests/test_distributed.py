"""training/distributed.py: strategies, cluster resolution, and the multi-worker training loop.

The loop is checked against Keras ``Model.fit`` (the single-worker path train.py uses): in-process
under the default strategy, and with two real worker processes on localhost ports, where one worker
is killed mid-epoch and the run resumed (the slow test).
"""
from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTOTYPE = ROOT / "scripts" / "multiworker_prototype.py"


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

    import train
    from data.pipeline import split_batch
    from training import distributed

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
        plateau_cls, early_cls, _ = train.callback_classes()
        # lr patience 0 / early patience 1 (Keras 2.0.8 counting): cuts and a stop within a few epochs
        plateau = plateau_cls(monitor="val_loss", factor=0.5, patience=0, min_lr=1e-4)
        early = early_cls(monitor="val_loss", patience=1)
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


# --- two worker processes ---------------------------------------------------------------------------

# Global batch 25 split 13/12 over the two workers; 151 samples make 7 batches per epoch, the last
# of a single row (one worker gets none of it); validation 100 rows in 4 split batches; the learning
# rate is cut after epoch 2 (after the resume, so from restored plateau counters).
TINY = ["--batch-size", "25", "--max-train-samples", "151", "--max-valid-samples", "100", "--epochs", "3",
        "--lr", "0.01", "--lr-patience", "0", "--seed", "5", "--verbose", "2"]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _worker(index: int, ports: list[int], *args: str) -> subprocess.Popen:
    config = {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
              "task": {"type": "worker", "index": index}}
    env = dict(os.environ, TF_CONFIG=json.dumps(config), PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0")
    return subprocess.Popen([sys.executable, str(PROTOTYPE), *args], cwd=ROOT, env=env, text=True,
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


def _run_prototype_in_process(*args: str) -> int:
    import importlib.util

    spec = importlib.util.spec_from_file_location("multiworker_prototype", PROTOTYPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(list(args))


@pytest.mark.slow
def test_two_workers_match_one_and_resume_after_losing_a_worker(synthetic_mat_dir, tmp_path):
    """The must-show of issue 14, on two CPU workers on localhost ports.

    1. Worker 1 freezes before batch 3 of epoch 2 and is SIGKILLed there: worker 0 (the chief)
       must end within the coordination service's heartbeat timeout with one error line.
    2. Both restarted with --resume: the history and the best model's predictions equal a single
       worker's Keras Model.fit run with the same global batch (dropout 0) to 1e-4.
    Meanwhile a worker whose peer never starts gives up after its start-up timeout (5 s).
    """
    import models  # noqa: F401  (registers the custom activations the saved models use)
    from data.store import resolve_store

    store = str(resolve_store(synthetic_mat_dir, tmp_path / "store").path)
    run_dir, ref_dir = tmp_path / "mw", tmp_path / "single"
    common = ["--data", store, *TINY]
    ports, lonely_ports = _free_ports(2), _free_ports(2)
    lonely = _worker(0, lonely_ports, *common, "--out", str(tmp_path / "lonely"), "--startup-timeout", "5")
    workers = [_worker(0, ports, *common, "--out", str(run_dir)),
               _worker(1, ports, *common, "--out", str(run_dir), "--freeze-at", "2:3")]
    # The single-worker reference (Keras Model.fit), in this process while the workers start.
    assert _run_prototype_in_process(*common, "--out", str(ref_dir), "--distribute", "none") == 0

    line = workers[1].stdout.readline()  # blocks until the victim reaches epoch 2, batch 3
    assert line.strip() == "frozen", line + workers[1].stderr.read()[-3000:]
    workers[1].kill()
    killed = time.monotonic()
    code, _, err = _finish(workers[0], timeout=120)
    waited = time.monotonic() - killed
    workers[1].communicate()
    last = err.strip().splitlines()[-1]
    assert code == 4, err[-3000:]
    assert last.startswith("error: a worker was lost during epoch 2, batch 3"), err[-3000:]
    assert "--resume" in last and "Traceback" not in err
    state = json.loads((run_dir / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1  # the last completed epoch, written by the chief before the loss
    print(f"chief stopped {waited:.1f} s after its peer was killed")

    code, _, err = _finish(lonely, timeout=180)
    assert code == -9, err[-3000:]  # SIGKILLed by its start-up watchdog (exit status 137 in a shell)
    assert err.strip().splitlines()[-1].startswith("error: the 2-worker cluster"), err[-3000:]
    assert not (tmp_path / "lonely").exists()

    resumed = [_worker(i, ports, *common, "--out", str(run_dir), "--resume") for i in range(2)]
    for proc in resumed:
        code, out, err = _finish(proc, timeout=300)
        assert code == 0, out + err[-3000:]
    got, want = _history(run_dir), _history(ref_dir)
    assert [row["epoch"] for row in got] == [1, 2, 3]
    assert len({row["lr"] for row in want}) > 1, "the plateau callback should have cut the learning rate"
    for a, b in zip(got, want, strict=True):
        for key in ("loss", "val_loss", "lr"):
            assert abs(a[key] - b[key]) <= 1e-4, (key, got, want)
    # The best models predict alike; their weights agree to 1e-3 (Adam's m / sqrt(v) turns the float
    # summation-order noise of near-zero gradients into steps of up to lr: seen 1.9e-4 on 3 of 229,376).
    import keras

    from data.pipeline import load_arrays
    from data.store import open_store

    x_valid, _ = load_arrays(open_store(store).split("valid"), 200, 100)
    best = [keras.models.load_model(d / "best_model.keras", compile=False) for d in (run_dir, ref_dir)]
    np.testing.assert_allclose(best[0].predict(x_valid, verbose=0), best[1].predict(x_valid, verbose=0),
                               rtol=0, atol=1e-4)
    for a, b in zip(best[0].get_weights(), best[1].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-3)


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
