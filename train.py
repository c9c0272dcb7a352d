"""Train a preset model on DeepSEA-format data with the paper's protocol, into a resumable run directory.

    python train.py --model crnn-320-projection --data DATA_DIR --out runs/crnn-320-projection
    python train.py --model crnn-320 --summary            # build only, print the summary and params

The defaults are the paper's protocol (authors' code): Adam lr 3e-4, batch 256, binary
cross-entropy over all targets, validation loss on the whole validation set each epoch,
ReduceLROnPlateau(factor 0.2, patience 2, min_lr 2e-6), EarlyStopping(patience 5), at most
35 epochs, best-validation-loss model kept. Every item is a flag.

The run directory holds ``config.json`` (everything needed to know how the run was made),
``history.csv``, ``best_model.keras`` and ``checkpoint/`` (model + optimizer + callback state
after the last completed epoch, written atomically), so ``--resume`` after a crash, SIGKILL
included, ends with the same history as an uninterrupted run.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import runs

# Flags that override preset values: (flag, config key, type, help).
MODEL_OVERRIDES = (
    ("--filters", "filters", int, "first-layer convolution filters"),
    ("--projection-dim", "projection_dim", int, "projection (1x1 conv) dimension, 0 = no projection"),
    ("--dropout", "dropout", float, "dropout rate after the first pool / projection"),
    ("--sequence-length", "sequence_length", int,
     "input length; shorter than the data's means a centre crop (500 = the paper's reduced data)"),
    ("--num-targets", "num_targets", int, "number of outputs (must equal the data's targets)"),
    ("--lstm-units", "lstm_units", int, "LSTM cells per direction"),
    ("--recurrent-dropout", "recurrent_dropout", float, "LSTM recurrent dropout"),
)
GATE_CHOICES = ("keras2_hard_sigmoid", "sigmoid")
# Flags that may differ when a run is resumed; every other flag must match the saved config.
RESUME_MUTABLE = frozenset({"resume", "overwrite", "data", "store_dir", "verbose", "tensorboard",
                            "epochs", "out"})
# Keras 2.0.8's Adam default (the authors' version); Keras 3's default is 1e-7.
ADAM_EPSILON = 1e-8
EXIT_USAGE = 2
EXIT_NAN = 3
EXIT_INTERRUPTED = 130


class TrainError(Exception):
    """A problem the user can fix: reported as one line, exit status 2."""


# --- command line ----------------------------------------------------------------------------

def build_parser(suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """The CLI. With ``suppress_defaults`` only flags given explicitly appear in the namespace."""
    kwargs = {"argument_default": argparse.SUPPRESS} if suppress_defaults else {}
    parser = argparse.ArgumentParser(
        prog="train.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a preset model with the paper's protocol into a resumable run directory.",
        epilog="examples:\n"
               "  python train.py --model crnn-320 --summary\n"
               "  python train.py --model crnn-320-projection --data demo_data --out runs/p\n"
               "  python train.py --out runs/p --resume      # continue after a crash",
        **kwargs)

    def default(value):
        return argparse.SUPPRESS if suppress_defaults else value

    model = parser.add_argument_group("model")
    model.add_argument("--model", metavar="PRESET", default=default(None),
                       help="model preset, e.g. crnn-320-projection, cnn-500-dropout "
                            "(--list-models lists them)")
    model.add_argument("--list-models", action="store_true", default=default(False),
                       help="list the presets with their source and parameter count, and exit")
    model.add_argument("--summary", action="store_true", default=default(False),
                       help="build the model, print its summary and 'params: N', and exit (no data needed)")
    for flag, key, kind, text in MODEL_OVERRIDES:
        model.add_argument(flag, dest=key, type=kind, default=default(None), metavar="N" if kind is int else "X",
                           help=f"{text} [default: the preset's]")
    model.add_argument("--gate", choices=GATE_CHOICES, default=default(None),
                       help="LSTM gate activation: the paper's Keras-2 hard sigmoid, or sigmoid (cuDNN) "
                            "[default: the preset's]")
    model.add_argument("--fast-lstm", action="store_true", default=default(False),
                       help="cuDNN-compatible LSTM: sigmoid gates, no recurrent dropout (a deviation from "
                            "the paper, recorded in config.json) [default: %(default)s]")

    data = parser.add_argument_group("data and run directory")
    data.add_argument("--data", metavar="DIR", default=default(None),
                      help="DeepSEA directory (train.mat, valid.mat, test.mat; converted once) or a store")
    data.add_argument("--store-dir", metavar="DIR", default=default(None),
                      help="where to put the converted store [default: DIR/store]")
    data.add_argument("--out", metavar="RUN_DIR", default=default(None), help="run directory to create")
    data.add_argument("--resume", action="store_true", default=default(False),
                      help="continue RUN_DIR from its last completed epoch (start it if it does not exist)")
    data.add_argument("--overwrite", action="store_true", default=default(False),
                      help="replace an existing RUN_DIR (the old one is deleted once the new one is in place)")

    protocol = parser.add_argument_group("training protocol (the paper's by default)")
    protocol.add_argument("--epochs", metavar="N", type=int, default=default(35), help="maximum epochs [default: %(default)s]")
    protocol.add_argument("--batch-size", metavar="N", type=int, default=default(256),
                          help="global batch size, split across replicas [default: %(default)s]")
    protocol.add_argument("--lr", metavar="X", type=float, default=default(3e-4), help="Adam learning rate [default: %(default)s]")
    protocol.add_argument("--lr-factor", metavar="X", type=float, default=default(0.2),
                          help="ReduceLROnPlateau factor [default: %(default)s]")
    protocol.add_argument("--lr-patience", metavar="N", type=int, default=default(2),
                          help="ReduceLROnPlateau patience in epochs [default: %(default)s]")
    protocol.add_argument("--min-lr", metavar="X", type=float, default=default(2e-6),
                          help="ReduceLROnPlateau lower bound [default: %(default)s]")
    protocol.add_argument("--patience", metavar="N", type=int, default=default(5),
                          help="EarlyStopping patience in epochs on val_loss [default: %(default)s]")
    protocol.add_argument("--steps-per-epoch", metavar="N", type=int, default=default(None),
                          help="batches per epoch [default: one pass over the training samples]")
    protocol.add_argument("--max-train-samples", metavar="N", type=int, default=default(None),
                          help="train on a fixed seeded subset of this many samples [default: all]")
    protocol.add_argument("--max-valid-samples", metavar="N", type=int, default=default(None),
                          help="validate on this many samples (whole strand pairs) [default: all]")
    protocol.add_argument("--seed", metavar="N", type=int, default=default(0),
                          help="seed for weights, data order and dropout [default: %(default)s]")

    perf = parser.add_argument_group("performance (each recorded in config.json)")
    perf.add_argument("--distribute", choices=("none", "mirrored", "multi-worker"), default=default("none"),
                      help="none; mirrored = all local GPUs (or the logical CPUs of --cpu-devices); "
                           "multi-worker is refused: Keras 3's fit cannot train under "
                           "MultiWorkerMirroredStrategy (keras-team/keras#20585) [default: %(default)s]")
    perf.add_argument("--cpu-devices", metavar="N", type=int, default=default(1),
                      help="split the CPU into this many logical devices (to exercise --distribute "
                           "without GPUs) [default: %(default)s]")
    perf.add_argument("--mixed-precision", action="store_true", default=default(False),
                      help="mixed_float16 compute, float32 output layer [default: %(default)s]")
    perf.add_argument("--jit", action="store_true", default=default(False),
                      help="XLA-compile the train step [default: %(default)s]")
    perf.add_argument("--scale-lr", action="store_true", default=default(False),
                      help="scale --lr and --min-lr linearly by batch-size/256 (for a larger multi-GPU "
                           "batch) [default: %(default)s]")
    perf.add_argument("--deterministic", action="store_true", default=default(False),
                      help="enable TensorFlow op determinism (slower on GPU) [default: %(default)s]")

    output = parser.add_argument_group("output")
    output.add_argument("--tensorboard", action="store_true", default=default(False),
                        help="write TensorBoard logs to RUN_DIR/logs [default: %(default)s]")
    output.add_argument("--verbose", type=int, choices=(0, 1, 2), default=default(1),
                        help="Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch "
                             "[default: %(default)s]")
    return parser


def check_args(args: argparse.Namespace) -> None:
    """Argument checks that need neither TensorFlow nor files."""
    positive = ("epochs", "batch_size", "cpu_devices", "steps_per_epoch", "max_train_samples",
                "max_valid_samples")
    for name in positive:
        value = getattr(args, name)
        if value is not None and value < 1:
            raise TrainError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for name in ("lr_patience", "patience"):
        if getattr(args, name) < 0:
            raise TrainError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if not args.lr > 0 or not args.min_lr >= 0:
        raise TrainError(f"--lr must be > 0 and --min-lr >= 0, got {args.lr} and {args.min_lr}")
    if not 0 < args.lr_factor < 1:
        raise TrainError(f"--lr-factor must be in (0, 1), got {args.lr_factor}")
    if args.distribute == "multi-worker":
        raise TrainError("--distribute multi-worker: Keras 3's Model.fit cannot train under "
                         "MultiWorkerMirroredStrategy (keras-team/keras#20585, still open: fit reduces a "
                         "PerReplica batch it cannot convert); use --distribute mirrored on one host")
    if args.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise TrainError("--tensorboard needs the tensorboard package, which is not installed "
                         "(pip install tensorboard)")
    if args.resume and args.overwrite:
        raise TrainError("--resume and --overwrite exclude each other")
    if args.fast_lstm and args.gate == "keras2_hard_sigmoid":
        raise TrainError("--fast-lstm needs sigmoid gates; it contradicts --gate keras2_hard_sigmoid")
    if args.fast_lstm and args.recurrent_dropout:
        raise TrainError("--fast-lstm needs recurrent dropout 0; it contradicts --recurrent-dropout "
                         f"{args.recurrent_dropout}")


def merge_resume_args(args: argparse.Namespace, explicit: dict, saved: dict, config_path: Path) -> argparse.Namespace:
    """The saved run's flags, updated by the explicitly given ones that may change on resume.

    An explicitly given flag that would change the run (model, protocol, seed, ...) is an error.
    """
    merged = dict(saved)
    for key, value in explicit.items():
        if key in RESUME_MUTABLE:
            merged[key] = value
        elif key in saved and saved[key] != value:
            flag = "--" + key.replace("_", "-")
            made = "without " + flag if saved[key] in (None, False) else f"with {flag} {saved[key]}"
            given = flag if value is True else f"{flag} {value}"
            raise TrainError(f"{config_path}: the run was made {made}, not {given}; "
                             "drop the flag to resume, or use --overwrite to start again")
    for key, value in vars(args).items():
        merged.setdefault(key, value)
    return argparse.Namespace(**merged)


# --- model configuration ------------------------------------------------------------------------

def model_config(args: argparse.Namespace) -> tuple[dict, list[str]]:
    """Resolved model config for the preset and overrides, and the list of deviations from the paper."""
    from models import resolve_config

    overrides = {key: getattr(args, key) for _, key, _, _ in MODEL_OVERRIDES}
    overrides["gate"] = args.gate
    deviations = []
    try:
        config = resolve_config(args.model, **overrides)
        if args.fast_lstm:
            if "gate" not in config:
                deviations.append(f"--fast-lstm has no effect: the {config['family']} family has no LSTM")
            else:
                changed = {k: v for k, v in (("gate", "sigmoid"), ("recurrent_dropout", 0.0)) if config[k] != v}
                if changed:
                    before = ", ".join(f"{k}={config[k]!r}" for k in changed)
                    after = ", ".join(f"{k}={v!r}" for k, v in changed.items())
                    deviations.append(f"--fast-lstm (cuDNN-compatible LSTM): {before} -> {after}")
                    config = resolve_config(args.model, **{**overrides, **changed})
    except ValueError as err:
        raise TrainError(str(err)) from None
    return config, deviations


def build(config: dict, mixed_precision: bool):
    """Build the model; under mixed precision the ``predictions`` layer is rebuilt as float32."""
    import keras

    from models import build_model

    try:
        model = build_model(config)
    except ValueError as err:
        raise TrainError(str(err)) from None
    if mixed_precision and model.get_layer("predictions").compute_dtype != "float32":
        # Sigmoid outputs and the loss need float32; rebuild from the functional config.
        spec = model.get_config()
        for layer in spec["layers"]:
            if layer["config"].get("name") == "predictions":
                layer["config"]["dtype"] = "float32"
        model = keras.Model.from_config(spec)
    return model


def lstm_cudnn_report(model, gpu_available: bool) -> dict[str, Any]:
    """Whether the model's LSTMs can take TensorFlow's cuDNN kernel, and if not, why."""
    import keras

    lstms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.LSTM)]
    report = {"has_lstm": bool(lstms), "gpu_available": gpu_available, "cudnn_compatible_settings": None,
              "uses_cudnn": False, "reasons": []}
    if not lstms:
        return report
    reasons = []
    for layer in lstms:
        cell = layer.cell
        if cell.recurrent_dropout:
            reasons.append(f"{layer.name}: recurrent_dropout={cell.recurrent_dropout} > 0")
        if cell.recurrent_activation not in (keras.activations.sigmoid,):
            name = getattr(cell.recurrent_activation, "__name__", str(cell.recurrent_activation))
            reasons.append(f"{layer.name}: gate activation {name} is not sigmoid")
        if cell.activation not in (keras.activations.tanh,):
            reasons.append(f"{layer.name}: activation is not tanh")
        if layer.unroll or not cell.use_bias or layer.use_cudnn is False:
            reasons.append(f"{layer.name}: unroll, no bias or use_cudnn=False")
    reasons = list(dict.fromkeys(reasons))
    report["cudnn_compatible_settings"] = not reasons
    report["uses_cudnn"] = not reasons and gpu_available
    if not gpu_available:
        reasons.append("no GPU")
    report["reasons"] = reasons
    return report


# --- distribution ------------------------------------------------------------------------------

def configure_devices(cpu_devices: int) -> None:
    """Split the CPU into logical devices; must run before TensorFlow initialises its runtime."""
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(cpu_devices)])


def make_strategy(kind: str):
    """The tf.distribute strategy for ``--distribute``."""
    import tensorflow as tf

    if kind == "none":
        return tf.distribute.get_strategy()
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
              [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices)


def strategy_devices(strategy) -> list[str]:
    """Devices the strategy replicates over (the default strategy: whatever TensorFlow places on)."""
    try:
        return list(strategy.extended.worker_devices)
    except RuntimeError:
        return []


# --- callbacks with resumable state ---------------------------------------------------------------

def _float(value) -> float:
    import keras

    return float(keras.ops.convert_to_numpy(value))


def reseed_dropout(model, seed: int, epoch: int) -> None:
    """Set every dropout seed generator to a state fixed by (seed, epoch, generator order).

    Keras does not save seed-generator state with a model, so without this a resumed run
    would draw different dropout masks from an uninterrupted one.
    """
    import numpy as np

    generators = [g for layer in model._flatten_layers() for g in getattr(layer, "_seed_generators", [])]
    for index, generator in enumerate(generators):
        value = int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0] % 2**31)
        generator.state.assign(np.array([value, 0], dtype=generator.state.dtype))


def callback_classes():
    """The callback classes (defined on first use so ``--help`` does not import Keras)."""
    import keras

    def resumable(base, name: str, restored_keys: tuple, state_keys: tuple):
        """``base`` whose counters survive a restart: ``get_state()`` returns ``state_keys``;
        ``restored`` (a saved state) sets ``restored_keys`` back at train begin."""

        class Resumable(base):
            restored: dict | None = None

            def on_train_begin(self, logs=None):
                super().on_train_begin(logs)
                if self.restored:
                    for key in restored_keys:
                        setattr(self, key, self.restored[key])

            def get_state(self) -> dict:
                return {key: getattr(self, key) for key in state_keys}

        Resumable.__name__ = Resumable.__qualname__ = name
        Resumable.__doc__ = (f"{base.__name__} whose counters survive a restart "
                             "(``restored`` is applied at train begin).")
        return Resumable

    class Keras2Plateau(keras.callbacks.ReduceLROnPlateau):
        """ReduceLROnPlateau counting as Keras 2.0.8 (the authors' version) did.

        2.0.8 compared ``wait`` with ``patience`` before counting the current epoch, so the
        first cut came on the (patience + 1)-th epoch without improvement and later cuts every
        ``patience`` epochs; Keras 3 counts first. Same rule: patience + 1, and a cut epoch counts.
        """

        def __init__(self, *, patience: int, **kwargs):
            super().__init__(patience=patience + 1, **kwargs)

        def on_epoch_end(self, epoch, logs=None):
            before = _float(self.model.optimizer.learning_rate)
            super().on_epoch_end(epoch, logs)
            if _float(self.model.optimizer.learning_rate) < before:
                self.wait = 1

    class Keras2EarlyStopping(keras.callbacks.EarlyStopping):
        """EarlyStopping counting as Keras 2.0.8 did: it stops on the (patience + 1)-th
        epoch without improvement (2.0.8 checked ``wait >= patience`` before counting)."""

        def __init__(self, *, patience: int, **kwargs):
            super().__init__(patience=patience + 1, **kwargs)

    PlateauLR = resumable(Keras2Plateau, "PlateauLR",
                          ("best", "wait", "cooldown_counter"), ("best", "wait", "cooldown_counter"))
    EarlyStop = resumable(Keras2EarlyStopping, "EarlyStop", ("best", "wait", "best_epoch"),
                          ("best", "wait", "best_epoch", "stopped_epoch"))

    class RunRecorder(keras.callbacks.Callback):
        """Per epoch: reseed dropout, record history, keep the best model, checkpoint everything.

        Must come after the plateau and early-stopping callbacks so it saves their updated
        counters. The checkpoint is ``checkpoint/epoch-NNNN.keras`` (weights + optimizer
        state) plus ``checkpoint/state.json`` naming it; ``state.json`` is replaced last, so
        it always describes a complete epoch.
        """

        def __init__(self, run_dir: Path, state: dict, plateau, early, *, seed: int, epochs: int):
            super().__init__()
            self.run_dir = run_dir
            self.state = state
            self.plateau = plateau
            self.early = early
            self.seed = seed
            self.epochs = epochs
            self.history = list(state.get("history", []))
            self.best_val_loss = state.get("best_val_loss")
            self.epoch_lr = None
            self.nan = None

        def on_epoch_begin(self, epoch, logs=None):
            reseed_dropout(self.model, self.seed, epoch)
            self.epoch_lr = _float(self.model.optimizer.learning_rate)

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.nan = f"training loss became {float(loss)} at batch {batch + 1}"
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            loss, val_loss = logs.get("loss"), logs.get("val_loss")
            for name, value in (("training", loss), ("validation", val_loss)):
                if self.nan is None and (value is None or not math.isfinite(value)):
                    self.nan = f"{name} loss is {value}"
            if self.nan is not None:
                self.nan = f"epoch {epoch + 1}: {self.nan}"
                self.model.stop_training = True
                return
            self.history.append({"epoch": epoch + 1, "loss": float(loss), "val_loss": float(val_loss),
                                 "lr": self.epoch_lr})
            improved = self.best_val_loss is None or val_loss < self.best_val_loss
            if improved:
                self.best_val_loss = float(val_loss)
                self.state["best_epoch"] = epoch + 1
            finished = None
            if self.model.stop_training:
                finished = "early_stopping"
            elif epoch + 1 >= self.epochs:
                finished = "max_epochs"
            if improved:
                save_model(self.model, self.run_dir / runs.BEST_MODEL_NAME)
            runs.write_history(self.run_dir, self.history)
            self.save_checkpoint(epoch + 1, finished)

        def save_checkpoint(self, completed: int, finished: str | None) -> None:
            ckpt_dir = self.run_dir / runs.CHECKPOINT_DIR
            ckpt_dir.mkdir(exist_ok=True)
            name = f"epoch-{completed:04d}.keras"
            save_model(self.model, ckpt_dir / name)
            previous = self.state.get("model_file")
            self.state.update({
                "epoch": completed, "model_file": name, "history": self.history,
                "best_val_loss": self.best_val_loss,
                "lr": _float(self.model.optimizer.learning_rate),
                "iterations": int(_float(self.model.optimizer.iterations)),
                "plateau": self.plateau.get_state(), "early_stopping": self.early.get_state(),
                "finished": finished, "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
            runs.write_json(ckpt_dir / "state.json", self.state)
            if previous and previous != name:
                (ckpt_dir / previous).unlink(missing_ok=True)

    return PlateauLR, EarlyStop, RunRecorder


def make_callbacks(args: argparse.Namespace, run_dir: Path, state: dict, min_lr: float):
    """Plateau LR, early stopping, [TensorBoard,] and the run recorder, which must come last."""
    import keras

    PlateauLR, EarlyStop, RunRecorder = callback_classes()
    plateau = PlateauLR(monitor="val_loss", factor=args.lr_factor, patience=args.lr_patience,
                        min_lr=min_lr, verbose=1 if args.verbose else 0)
    early = EarlyStop(monitor="val_loss", patience=args.patience, verbose=1 if args.verbose else 0)
    plateau.restored = state.get("plateau")
    early.restored = state.get("early_stopping")
    recorder = RunRecorder(run_dir, state, plateau, early, seed=args.seed, epochs=args.epochs)
    callbacks = [plateau, early]
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs")))
    return callbacks + [recorder], recorder


def save_model(model, path: Path) -> None:
    """``model.save`` to a temporary ``.keras`` sibling, then rename: never a half-written file."""
    with runs.atomic_path(path) as tmp:
        model.save(tmp)


# --- main ---------------------------------------------------------------------------------------

def summary(args: argparse.Namespace) -> int:
    """``--summary``: build the model, print the Keras summary and ``params: N``."""
    config, deviations = model_config(args)
    model = build(config, mixed_precision=False)
    model.summary()
    for note in deviations:
        print(f"note: {note}")
    print(f"params: {model.count_params()}")
    return 0


def same_data(recorded: dict, current: dict) -> bool:
    """Whether two data fingerprints name the same data: same source digest (a re-conversion of the
    same .mat files counts as the same), else the same ``meta.json``; split sizes must agree."""
    if recorded.get("num_samples") != current.get("num_samples"):
        return False
    if recorded.get("digest") and current.get("digest"):
        return recorded["digest"] == current["digest"]
    return recorded.get("meta_sha256") == current.get("meta_sha256")


def load_state(run_dir: Path) -> dict:
    """The checkpoint state of a run ({} when it has not finished an epoch yet)."""
    path = run_dir / runs.CHECKPOINT_DIR / "state.json"
    if not path.exists():
        return {}
    state = runs.read_json(path)
    if not (run_dir / runs.CHECKPOINT_DIR / state.get("model_file", "")).is_file():
        raise TrainError(f"{path}: names {state.get('model_file')!r}, which is missing")
    return state


def train(args: argparse.Namespace, argv: Sequence[str] | None, resuming: bool, saved: dict) -> int:
    """Everything after argument parsing: checks, run directory, model, data, fit."""
    run_dir = Path(args.out)
    if not args.data:
        raise TrainError("--data is required to train (or use --summary)")
    data_dir = Path(args.data)
    if not data_dir.exists():
        raise TrainError(f"{data_dir}: data directory not found")

    config, deviations = model_config(args)  # imports Keras but starts no TensorFlow runtime

    # TensorFlow from here on; logical devices must be set before anything initialises it.
    configure_devices(args.cpu_devices)
    import tensorflow as tf

    strategy = make_strategy(args.distribute)
    import keras

    from data.mat import DataError
    from data.pipeline import load_arrays, steps_per_epoch, train_dataset
    from data.store import resolve_store

    try:
        store = resolve_store(data_dir, args.store_dir)
        train_split, valid_split = store.split("train"), store.split("valid")
    except DataError as err:
        raise TrainError(str(err)) from None
    if config["num_targets"] != store.num_targets:
        raise TrainError(f"{store.path}: the data has {store.num_targets} targets but the model predicts "
                         f"{config['num_targets']}; pass --num-targets {store.num_targets}")
    if config["sequence_length"] > store.sequence_length:
        raise TrainError(f"{store.path}: the data's sequences are {store.sequence_length} bp but the model "
                         f"needs {config['sequence_length']}; pass --sequence-length {store.sequence_length} "
                         "or less")
    fingerprint = {**store.fingerprint, **runs.data_fingerprint(store.path)}
    if resuming and not same_data(saved["data"]["fingerprint"], fingerprint):
        raise TrainError(f"{store.path}: not the data this run was trained on (its fingerprint differs from "
                         f"the one recorded in {run_dir / runs.CONFIG_NAME})")
    replicas = strategy.num_replicas_in_sync
    if args.batch_size % replicas:
        raise TrainError(f"--batch-size {args.batch_size} does not divide evenly over {replicas} replicas")

    scale = args.batch_size / 256 if args.scale_lr else 1.0
    lr, min_lr = args.lr * scale, args.min_lr * scale
    n_train = min(train_split.num_samples, args.max_train_samples or train_split.num_samples)
    data_steps = steps_per_epoch(n_train, args.batch_size)
    steps = args.steps_per_epoch or data_steps

    if args.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(args.seed)
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    with strategy.scope():
        model = build(config, args.mixed_precision)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr, epsilon=ADAM_EPSILON), loss="binary_crossentropy",
                      jit_compile=bool(args.jit))
    gpus = tf.config.list_physical_devices("GPU")
    cudnn = lstm_cudnn_report(model, bool(gpus))
    if gpus and cudnn["has_lstm"] and not cudnn["cudnn_compatible_settings"]:
        print(f"warning: the LSTM cannot use cuDNN on this GPU ({'; '.join(cudnn['reasons'])}); it runs "
              "TensorFlow's generic kernel, many times slower. --fast-lstm switches to cuDNN-compatible "
              "settings (a deviation from the paper).", file=sys.stderr)

    state = load_state(run_dir) if resuming else {}
    if state.get("finished") == "max_epochs" and args.epochs > state["epoch"]:
        state["finished"] = None  # --epochs was raised: carry on
    if state.get("finished"):
        print(f"{run_dir}: already finished ({state['finished']}, {state['epoch']} epochs, best val_loss "
              f"{state['best_val_loss']:.6f}); nothing to do")
        return 0

    if not resuming:
        record = {
            "preset": args.model, "model": config, "params": model.count_params(),
            "args": vars(args), "command": runs.command_line(argv), "seed": args.seed,
            "deviations": deviations,
            "training": {
                "optimizer": "adam", "adam_epsilon": ADAM_EPSILON, "loss": "binary_crossentropy",
                "batch_size": args.batch_size,
                "lr": lr, "min_lr": min_lr, "lr_scale": scale, "lr_factor": args.lr_factor,
                "lr_patience": args.lr_patience, "early_stopping_patience": args.patience,
                "patience_counting": "keras-2.0.8 (first LR cut on the (lr_patience+1)-th epoch "
                                     "without improvement, stop on the (patience+1)-th)",
                "monitor": "val_loss", "max_epochs": args.epochs, "steps_per_epoch": steps,
                "data_steps_per_epoch": data_steps, "train_samples": n_train,
                "valid_samples": None, "best_model": "lowest val_loss",
            },
            "data": {"path": str(data_dir.resolve()), "store": str(store.path.resolve()),
                     "sequence_length": store.sequence_length, "num_targets": store.num_targets,
                     "crop_to": config["sequence_length"], "fingerprint": fingerprint},
            "distribution": {"strategy": args.distribute, "replicas": replicas,
                             "devices": strategy_devices(strategy),
                             "global_batch": args.batch_size,
                             "per_replica_batch": args.batch_size // replicas},
            "mixed_precision": bool(args.mixed_precision), "jit_compile": bool(model.jit_compile),
            "deterministic_ops": bool(args.deterministic),
            "lstm_cudnn": cudnn, "device": runs.device_info(), "versions": runs.package_versions(),
            "git": runs.git_commit(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    # Validation data is loaded before the run directory exists: a bad split fails cleanly.
    x_valid, y_valid = load_arrays(valid_split, config["sequence_length"], args.max_valid_samples)

    if not resuming:
        record["training"]["valid_samples"] = int(x_valid.shape[0])
        try:
            runs.create_run_dir(run_dir, record, overwrite=args.overwrite)
        except runs.RunDirError as err:
            raise TrainError(str(err)) from None
    else:
        record = saved
        record.setdefault("resumes", []).append({
            "from_epoch": state.get("epoch", 0), "command": runs.command_line(argv),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        runs.write_json(run_dir / runs.CONFIG_NAME, record)

    start = state.get("epoch", 0)
    if start:
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
        model.load_weights(run_dir / runs.CHECKPOINT_DIR / state["model_file"])
        if abs(_float(model.optimizer.learning_rate) - state["lr"]) > 1e-12:
            model.optimizer.learning_rate = state["lr"]
        print(f"resuming {run_dir} after epoch {start} (lr {state['lr']:.3g}, best val_loss "
              f"{state['best_val_loss']:.6f})")

    consumed = start * steps  # batches drawn so far; the stream restarts where it left off
    dataset = train_dataset(train_split, batch_size=args.batch_size, seed=args.seed,
                            start_epoch=consumed // data_steps, sequence_length=config["sequence_length"],
                            max_samples=args.max_train_samples)
    if consumed % data_steps:
        dataset = dataset.skip(consumed % data_steps)

    callbacks, recorder = make_callbacks(args, run_dir, state, min_lr)
    if start >= args.epochs:
        print(f"{run_dir}: {start} epochs done, --epochs is {args.epochs}; nothing to do")
        return 0
    model.fit(dataset, epochs=args.epochs, initial_epoch=start, steps_per_epoch=steps,
              validation_data=(x_valid, y_valid), validation_batch_size=args.batch_size,
              callbacks=callbacks, verbose=args.verbose, shuffle=False)
    if recorder.nan:
        done = recorder.state.get("epoch", 0)
        kept = f"the checkpoint of epoch {done} is kept" if done else "no epoch was completed"
        print(f"error: {run_dir}: {recorder.nan}; training stopped ({kept}); lower --lr and start again "
              "with --overwrite", file=sys.stderr)
        return EXIT_NAN
    final = recorder.state
    if recorder.history:
        best = min(recorder.history, key=lambda row: row["val_loss"])
        print(f"{run_dir}: {final.get('finished') or 'stopped'} after {len(recorder.history)} epochs; best "
              f"val_loss {best['val_loss']:.6f} at epoch {best['epoch']} -> {run_dir / runs.BEST_MODEL_NAME}")
    return 0


def list_models() -> int:
    """Print every preset: name, expected parameter count (when fixed) and description."""
    from models.presets import PRESETS

    for name, preset in PRESETS.items():
        params = f"{preset['expected_params']:,}" if preset.get("expected_params") else "-"
        print(f"{name:28s} {params:>12s}  {preset['description']} ({preset['source']})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and train (or print the summary)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    explicit = vars(build_parser(suppress_defaults=True).parse_args(argv))
    try:
        check_args(args)
        if args.list_models:
            return list_models()
        if args.summary:
            if not args.model:
                raise TrainError("--summary needs --model")
            return summary(args)
        if not args.out:
            raise TrainError("--out RUN_DIR is required to train (or use --summary)")
        run_dir = Path(args.out)
        config_path = run_dir / runs.CONFIG_NAME
        resuming = bool(args.resume and run_dir.exists())
        saved: dict = {}
        if run_dir.exists() and not (args.resume or args.overwrite):
            raise TrainError(f"{run_dir}: run directory already exists; use --resume to continue it "
                             "or --overwrite to replace it")
        if resuming:
            saved = runs.read_json(config_path)
            args = merge_resume_args(args, explicit, saved.get("args", {}), config_path)
            check_args(args)
        if not args.model:
            raise TrainError("--model PRESET is required (python train.py --list-models lists them)")
        return train(args, argv, resuming, saved)
    except (TrainError, runs.RunDirError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"interrupted; continue with: python train.py --out {args.out} --resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
