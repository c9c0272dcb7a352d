"""The training loop behind train.py: settings -> run directory -> model, data, fit -> history.

:func:`start` decides what the run directory becomes (new, overwritten, resumed) and takes its
lock before anything slow happens; :func:`train` does the rest. Every refusal is a
:class:`~training.settings.TrainError` or :class:`rundir.RunDirError` raised before the run
directory changes.

Under ``--distribute multi-worker`` every worker runs the same command. Only the chief locks and
writes the run directory; the other workers only read it (on resume: the saved settings and the
checkpoint) and make the same refusals, so a bad command fails on every worker before the cluster
forms. Once it has formed, the workers check that they agree on the run, then train with
:func:`training.distributed.fit` (Keras ``Model.fit`` cannot) and leave together.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import cli
import rundir
from cli import EXIT_DIVERGED
from rundir import RunDir
from training.precision import choose_policy
from training.settings import (ADAM_EPSILON, RESUME_MUTABLE, TrainError, TrainSettings, build,
                               model_config)

# Settings each worker of a multi-worker run may give differently (paths as its machine sees them,
# output); every other one, and the run's state, must be the same on all workers.
_PER_WORKER = RESUME_MUTABLE - {"epochs"}


def start(settings: TrainSettings, explicit: Mapping[str, Any], argv: Sequence[str] | None = None) -> int:
    """Open, create or overwrite the run directory ``settings.out``, then train into it."""
    if not settings.out:
        raise TrainError("--out RUN_DIR is required to train (or use --summary)")
    run = RunDir(settings.out)
    if settings.resume and run.path.exists():
        # The saved settings say whether this is a multi-worker run, hence whether this process writes.
        saved = RunDir.open(run.path)
        if saved.kind != "trained":
            raise TrainError(f"{run.path}: holds published weights, not a training run; nothing to resume")
        resumed = settings.resumed(saved.config.get("args", {}), explicit, saved.config_path)
        if not is_writer(resumed):
            return train(resumed, saved, argv, resuming=True, writer=False)
        with RunDir.open(run.path).lock() as run:  # read again under the lock
            settings = settings.resumed(run.config.get("args", {}), explicit, run.config_path)
            return train(settings, run, argv, resuming=True)
    if settings.resume and not settings.model:
        raise TrainError(f"{run.path}: no such run directory to resume (to start a new run there, also "
                         "give --model PRESET)")
    if not settings.model:
        raise TrainError("--model PRESET is required (python train.py --list-models lists them)")
    if not settings.data:
        raise TrainError("--data is required to train (or use --summary)")
    if not Path(settings.data).exists():
        raise TrainError(f"{settings.data}: data directory not found")
    writer = is_writer(settings)
    run.prepare_new(overwrite=settings.overwrite, protect=[p for p in (settings.data, settings.store_dir) if p],
                    lock=writer)
    with run:
        return train(settings, run, argv, resuming=False, writer=writer)


def is_writer(settings: TrainSettings) -> bool:
    """Whether this process writes the run directory: yes, except in a multi-worker run on every
    worker but the chief (known from TF_CONFIG or the SLURM job step before the cluster forms)."""
    if settings.distribute != "multi-worker":
        return True
    # TensorFlow's C++ runtime logs every collective a lost worker aborts (several lines per worker);
    # the loss is reported as one line (ClusterError) instead. An explicit TF_CPP_MIN_LOG_LEVEL is kept.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from training import distributed  # imports TensorFlow

    return distributed.chief_task(distributed.cluster_resolver(settings.port_base))


def train(settings: TrainSettings, run: RunDir, argv: Sequence[str] | None, *, resuming: bool,
          writer: bool = True) -> int:
    """Everything after the run directory is claimed: checks, model, data, fit.

    ``writer=False`` (a multi-worker run's workers other than the chief): the same training, with
    nothing written to the run directory.
    """
    if not settings.data:
        raise TrainError("--data is required to train")
    data_dir = Path(settings.data)
    if not data_dir.exists():
        raise TrainError(f"{data_dir}: data directory not found")
    cli.quiet_tensorflow()
    config, deviations = model_config(settings)  # imports Keras but starts no TensorFlow runtime

    from training.devices import configure_devices, lstm_cudnn_report

    configure_devices(settings.cpu_devices)  # before anything initialises the TensorFlow runtime
    import keras
    import tensorflow as tf

    from data.pipeline import load_arrays, steps_per_epoch, train_dataset
    from data.store import resolve_store
    from training import distributed
    from training.callbacks import as_float

    multi_worker = settings.distribute == "multi-worker"
    # Workers must not convert the .mat files side by side: a multi-worker run needs the store made.
    store = resolve_store(data_dir, settings.store_dir, convert=not multi_worker)
    train_split, valid_split = store.split("train"), store.split("valid")
    if config["num_targets"] != store.num_targets:
        raise TrainError(f"{store.path}: the data has {store.num_targets} targets but the model predicts "
                         f"{config['num_targets']}; pass --num-targets {store.num_targets}")
    if config["sequence_length"] > store.sequence_length:
        raise TrainError(f"{store.path}: the data's sequences are {store.sequence_length} bp but the model "
                         f"needs {config['sequence_length']}; pass --sequence-length {store.sequence_length} "
                         "or less")
    fingerprint = rundir.data_fingerprint(store)
    if resuming and not rundir.same_data(run.data_fingerprint, fingerprint):
        raise TrainError(f"{store.path}: not the data this run was trained on (its fingerprint differs from "
                         f"the one recorded in {run.config_path})")

    scale = settings.batch_size / 256 if settings.scale_lr else 1.0
    lr, min_lr = settings.lr * scale, settings.min_lr * scale
    n_train = min(train_split.num_samples, settings.max_train_samples or train_split.num_samples)
    try:
        data_steps = steps_per_epoch(n_train, settings.batch_size, settings.batch_order)
    except ValueError as err:
        raise TrainError(f"{store.path}: {err}; use a smaller --batch-size or --batch-order reshuffle") from None
    steps = settings.steps_per_epoch or data_steps

    state = run.read_state() if resuming else {}
    if state.get("finished") == "max_epochs" and settings.epochs > state["epoch"]:
        state["finished"] = None  # --epochs was raised: carry on
    if state.get("finished"):
        print(f"{run.path}: already finished ({state['finished']}, {state['epoch']} epochs, best val_loss "
              f"{state['best_val_loss']:.6f}); nothing to do")
        return 0
    start_epoch = state.get("epoch", 0)
    if start_epoch >= settings.epochs:
        print(f"{run.path}: {start_epoch} epochs done, --epochs is {settings.epochs}; nothing to do")
        return 0

    # Multi-worker: blocks until every worker has joined (at most --startup-timeout seconds).
    strategy = distributed.make_strategy(settings.distribute, port_base=settings.port_base,
                                         startup_timeout=settings.startup_timeout)
    if multi_worker:
        _check_workers_agree(strategy, settings, fingerprint, start_epoch, writer, run)
    replicas = strategy.num_replicas_in_sync
    if settings.batch_size % replicas:
        raise TrainError(f"--batch-size {settings.batch_size} does not divide evenly over {replicas} replicas")

    if settings.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(settings.seed)
    policy = choose_policy(settings.requested_precision, gpus=bool(tf.config.list_physical_devices("GPU")))
    keras.mixed_precision.set_global_policy(policy)
    with strategy.scope():
        model = build(config, policy)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=ADAM_EPSILON),
                      loss="binary_crossentropy", jit_compile=bool(settings.jit))
    gpus = tf.config.list_physical_devices("GPU")
    cudnn = lstm_cudnn_report(model, bool(gpus))
    if gpus and cudnn["has_lstm"] and not cudnn["cudnn_compatible_settings"]:
        print(f"warning: the LSTM cannot use cuDNN on this GPU ({'; '.join(cudnn['reasons'])}); it runs "
              "TensorFlow's generic kernel, many times slower. --fast-lstm switches to cuDNN-compatible "
              "settings (a deviation from the paper).", file=sys.stderr)

    # Validation data is loaded before the run directory changes: a bad split fails cleanly.
    x_valid, y_valid = load_arrays(valid_split, config["sequence_length"], settings.max_valid_samples)
    if resuming:
        if start_epoch:
            with strategy.scope():
                model.optimizer.build(model.trainable_variables)
            run.load_checkpoint(model, state)  # a damaged checkpoint stops here, nothing recorded
            if abs(as_float(model.optimizer.learning_rate) - state["lr"]) > 1e-12:
                model.optimizer.learning_rate = state["lr"]
            if writer:
                print(f"resuming {run.path} after epoch {start_epoch} (lr {state['lr']:.3g}, best val_loss "
                      f"{state['best_val_loss']:.6f})")
        if writer:
            run.record_resume({"from_epoch": start_epoch, "command": rundir.command_line(argv),
                               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    elif writer:
        run.create({
            "kind": "trained", "name": settings.model, "preset": settings.model, "model": config,
            "params": model.count_params(), "args": settings.as_record(), "seed": settings.seed,
            "deviations": deviations,
            "training": {
                "optimizer": "adam", "adam_epsilon": ADAM_EPSILON, "loss": "binary_crossentropy",
                "batch_size": settings.batch_size, "lr": lr, "min_lr": min_lr, "lr_scale": scale,
                "lr_factor": settings.lr_factor, "lr_patience": settings.lr_patience,
                "early_stopping_patience": settings.patience,
                "patience_counting": "keras-2.0.8 (first LR cut on the (lr_patience+1)-th epoch "
                                     "without improvement, stop on the (patience+1)-th)",
                "monitor": "val_loss", "max_epochs": settings.epochs, "steps_per_epoch": steps,
                "batch_order": settings.batch_order, "data_steps_per_epoch": data_steps,
                "train_samples": n_train, "valid_samples": int(x_valid.shape[0]),
                "best_model": "lowest val_loss",
                "loop": "training.distributed.fit" if multi_worker else "keras Model.fit",
            },
            "data": {"path": str(data_dir.resolve()), "store": str(store.path.resolve()),
                     "sequence_length": store.sequence_length, "num_targets": store.num_targets,
                     "crop_to": config["sequence_length"], "fingerprint": fingerprint},
            "distribution": {**distributed.describe(strategy, settings.distribute),
                             "global_batch": settings.batch_size,
                             "per_replica_batch": settings.batch_size // replicas},
            "precision": policy,
            "jit_compile": bool(model.jit_compile), "deterministic_ops": bool(settings.deterministic),
            "lstm_cudnn": cudnn, "provenance": rundir.provenance(argv),
        })

    consumed = start_epoch * steps  # global batches drawn so far; the stream restarts after them

    def batches(num_replicas: int = 1, replica_ids: Sequence[int] | None = None):
        return train_dataset(train_split, batch_size=settings.batch_size, seed=settings.seed,
                             sequence_length=config["sequence_length"], max_samples=settings.max_train_samples,
                             batch_order=settings.batch_order, skip_batches=consumed,
                             num_replicas=num_replicas, replica_ids=replica_ids)

    callbacks, recorder = make_callbacks(settings, run, state, min_lr, writer=writer)
    verbose = settings.verbose if settings.verbose is not None else (1 if sys.stdout.isatty() else 2)
    fit_args = dict(epochs=settings.epochs, initial_epoch=start_epoch, steps_per_epoch=steps,
                    validation_data=(x_valid, y_valid), validation_batch_size=settings.batch_size,
                    callbacks=callbacks, verbose=verbose)
    if multi_worker:
        distributed.fit(model, strategy, batches, **fit_args)
    else:
        model.fit(batches(), shuffle=False, **fit_args)
    code = 0
    if recorder.nan:  # every worker saw the same losses, so every worker stops here
        done = recorder.history[-1]["epoch"] if recorder.history else 0
        kept = f"the checkpoint of epoch {done} is kept" if done else "no epoch was completed"
        print(f"error: {run.path}: {recorder.nan}; training stopped ({kept}); lower --lr and start again "
              "with --overwrite", file=sys.stderr)
        code = EXIT_DIVERGED
    elif writer and recorder.history:
        best = min(recorder.history, key=lambda row: row["val_loss"])
        print(f"{run.path}: {recorder.state.get('finished') or 'stopped'} after {len(recorder.history)} "
              f"epochs; best val_loss {best['val_loss']:.6f} at epoch {best['epoch']} -> {run.best_model_path}")
    if multi_worker:
        distributed.barrier(strategy)  # after the chief's last write: the workers leave together
    return code


def _check_workers_agree(strategy, settings: TrainSettings, fingerprint: Mapping, start_epoch: int,
                         writer: bool, run: RunDir) -> None:
    """Every worker of a multi-worker run must train the same run from the same epoch."""
    from training import distributed

    shared = {k: v for k, v in settings.as_record().items() if k not in _PER_WORKER}
    key = distributed.digest({"settings": shared, "data": fingerprint, "start_epoch": start_epoch})
    if not distributed.same_on_every_worker(strategy, key):
        raise distributed.ClusterError(
            f"{run.path}: the workers were not started alike (their settings, data or run state differ; "
            f"this one starts at epoch {start_epoch + 1}); start every worker with the same command")
    if not writer:
        info = distributed.describe(strategy, settings.distribute)
        print(f"{run.path}: worker {info['task']['index']} of {info['workers']}; the chief writes the run "
              "directory", flush=True)


def make_callbacks(settings: TrainSettings, run: RunDir, state: dict, min_lr: float, *, writer: bool = True):
    """Plateau LR, early stopping, [TensorBoard,] and the run recorder, which must come last.
    ``writer=False``: the same decisions, silently, and nothing written."""
    import keras

    from training.callbacks import EarlyStop, PlateauLR, RunRecorder

    quiet = 0 if settings.verbose == 0 or not writer else 1
    plateau = PlateauLR(monitor="val_loss", factor=settings.lr_factor, patience=settings.lr_patience,
                        min_lr=min_lr, verbose=quiet, restored=state.get("plateau"))
    early = EarlyStop(monitor="val_loss", patience=settings.patience, verbose=quiet,
                      restored=state.get("early_stopping"))
    recorder = RunRecorder(run, state, plateau, early, seed=settings.seed, epochs=settings.epochs, writer=writer)
    callbacks = [plateau, early]
    if settings.tensorboard and writer:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run.logs_dir)))
    return callbacks + [recorder], recorder


def summary(settings: TrainSettings) -> int:
    """``--summary``: build the model, print the Keras summary and ``params: N``."""
    cli.quiet_tensorflow()
    config, deviations = model_config(settings)
    model = build(config)
    model.summary()
    for note in deviations:
        print(f"note: {note}")
    print(f"params: {model.count_params()}")
    return 0
