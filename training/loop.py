"""The training loop behind train.py: settings -> run directory -> model, data, fit -> history.

:func:`start` decides what the run directory becomes (new, overwritten, resumed) and takes its
lock before anything slow happens; :func:`train` does the rest. Every refusal is a
:class:`~training.settings.TrainError` or :class:`rundir.RunDirError` raised before the run
directory changes.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import cli
import rundir
from cli import EXIT_DIVERGED
from rundir import RunDir
from training.settings import ADAM_EPSILON, TrainError, TrainSettings, build, model_config


def start(settings: TrainSettings, explicit: Mapping[str, Any], argv: Sequence[str] | None = None) -> int:
    """Open, create or overwrite the run directory ``settings.out``, then train into it."""
    if not settings.out:
        raise TrainError("--out RUN_DIR is required to train (or use --summary)")
    run = RunDir(settings.out)
    exists = run.path.exists()
    if settings.resume and exists:
        with RunDir.open(run.path).lock() as run:
            if run.kind != "trained":
                raise TrainError(f"{run.path}: holds published weights, not a training run; nothing to resume")
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
    run.prepare_new(overwrite=settings.overwrite,
                    protect=[p for p in (settings.data, settings.store_dir) if p])
    with run:
        return train(settings, run, argv, resuming=False)


def train(settings: TrainSettings, run: RunDir, argv: Sequence[str] | None, *, resuming: bool) -> int:
    """Everything after the run directory is claimed: checks, model, data, fit."""
    if not settings.data:
        raise TrainError("--data is required to train")
    data_dir = Path(settings.data)
    if not data_dir.exists():
        raise TrainError(f"{data_dir}: data directory not found")
    cli.quiet_tensorflow()
    config, deviations = model_config(settings)  # imports Keras but starts no TensorFlow runtime

    from training.devices import configure_devices, lstm_cudnn_report, make_strategy, strategy_devices

    configure_devices(settings.cpu_devices)  # before anything initialises the TensorFlow runtime
    import keras
    import tensorflow as tf

    from data.pipeline import load_arrays, steps_per_epoch, train_dataset
    from data.store import resolve_store
    from training.callbacks import as_float

    strategy = make_strategy(settings.distribute)
    store = resolve_store(data_dir, settings.store_dir)
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
    replicas = strategy.num_replicas_in_sync
    if settings.batch_size % replicas:
        raise TrainError(f"--batch-size {settings.batch_size} does not divide evenly over {replicas} replicas")

    scale = settings.batch_size / 256 if settings.scale_lr else 1.0
    lr, min_lr = settings.lr * scale, settings.min_lr * scale
    n_train = min(train_split.num_samples, settings.max_train_samples or train_split.num_samples)
    data_steps = steps_per_epoch(n_train, settings.batch_size)
    steps = settings.steps_per_epoch or data_steps

    if settings.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(settings.seed)
    if settings.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    with strategy.scope():
        model = build(config, settings.mixed_precision)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=ADAM_EPSILON),
                      loss="binary_crossentropy", jit_compile=bool(settings.jit))
    gpus = tf.config.list_physical_devices("GPU")
    cudnn = lstm_cudnn_report(model, bool(gpus))
    if gpus and cudnn["has_lstm"] and not cudnn["cudnn_compatible_settings"]:
        print(f"warning: the LSTM cannot use cuDNN on this GPU ({'; '.join(cudnn['reasons'])}); it runs "
              "TensorFlow's generic kernel, many times slower. --fast-lstm switches to cuDNN-compatible "
              "settings (a deviation from the paper).", file=sys.stderr)

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

    # Validation data is loaded before the run directory changes: a bad split fails cleanly.
    x_valid, y_valid = load_arrays(valid_split, config["sequence_length"], settings.max_valid_samples)
    if resuming:
        if start_epoch:
            with strategy.scope():
                model.optimizer.build(model.trainable_variables)
            run.load_checkpoint(model, state)  # a damaged checkpoint stops here, nothing recorded
            if abs(as_float(model.optimizer.learning_rate) - state["lr"]) > 1e-12:
                model.optimizer.learning_rate = state["lr"]
            print(f"resuming {run.path} after epoch {start_epoch} (lr {state['lr']:.3g}, best val_loss "
                  f"{state['best_val_loss']:.6f})")
        run.record_resume({"from_epoch": start_epoch, "command": rundir.command_line(argv),
                           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    else:
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
                "data_steps_per_epoch": data_steps, "train_samples": n_train,
                "valid_samples": int(x_valid.shape[0]), "best_model": "lowest val_loss",
            },
            "data": {"path": str(data_dir.resolve()), "store": str(store.path.resolve()),
                     "sequence_length": store.sequence_length, "num_targets": store.num_targets,
                     "crop_to": config["sequence_length"], "fingerprint": fingerprint},
            "distribution": {"strategy": settings.distribute, "replicas": replicas,
                             "devices": strategy_devices(strategy), "global_batch": settings.batch_size,
                             "per_replica_batch": settings.batch_size // replicas},
            "precision": "mixed_float16" if settings.mixed_precision else "float32",
            "jit_compile": bool(model.jit_compile), "deterministic_ops": bool(settings.deterministic),
            "lstm_cudnn": cudnn, "provenance": rundir.provenance(argv),
        })

    consumed = start_epoch * steps  # batches drawn so far; the stream restarts where it left off
    dataset = train_dataset(train_split, batch_size=settings.batch_size, seed=settings.seed,
                            start_epoch=consumed // data_steps, sequence_length=config["sequence_length"],
                            max_samples=settings.max_train_samples)
    if consumed % data_steps:
        dataset = dataset.skip(consumed % data_steps)

    callbacks, recorder = make_callbacks(settings, run, state, min_lr)
    verbose = settings.verbose if settings.verbose is not None else (1 if sys.stdout.isatty() else 2)
    model.fit(dataset, epochs=settings.epochs, initial_epoch=start_epoch, steps_per_epoch=steps,
              validation_data=(x_valid, y_valid), validation_batch_size=settings.batch_size,
              callbacks=callbacks, verbose=verbose, shuffle=False)
    if recorder.nan:
        done = recorder.state.get("epoch", 0)
        kept = f"the checkpoint of epoch {done} is kept" if done else "no epoch was completed"
        print(f"error: {run.path}: {recorder.nan}; training stopped ({kept}); lower --lr and start again "
              "with --overwrite", file=sys.stderr)
        return EXIT_DIVERGED
    if recorder.history:
        best = min(recorder.history, key=lambda row: row["val_loss"])
        print(f"{run.path}: {recorder.state.get('finished') or 'stopped'} after {len(recorder.history)} "
              f"epochs; best val_loss {best['val_loss']:.6f} at epoch {best['epoch']} -> {run.best_model_path}")
    return 0


def make_callbacks(settings: TrainSettings, run: RunDir, state: dict, min_lr: float):
    """Plateau LR, early stopping, [TensorBoard,] and the run recorder, which must come last."""
    import keras

    from training.callbacks import EarlyStop, PlateauLR, RunRecorder

    quiet = 0 if settings.verbose == 0 else 1
    plateau = PlateauLR(monitor="val_loss", factor=settings.lr_factor, patience=settings.lr_patience,
                        min_lr=min_lr, verbose=quiet, restored=state.get("plateau"))
    early = EarlyStop(monitor="val_loss", patience=settings.patience, verbose=quiet,
                      restored=state.get("early_stopping"))
    recorder = RunRecorder(run, state, plateau, early, seed=settings.seed, epochs=settings.epochs)
    callbacks = [plateau, early]
    if settings.tensorboard:
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
