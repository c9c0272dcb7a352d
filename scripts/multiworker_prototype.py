"""Prototype of multi-worker training (issue 14), until train.py is wired to training.distributed.

Trains a preset on an existing data store with the paper's callbacks (Keras 2.0.8 patience
counting), keeps a resumable checkpoint after every epoch and the best model, and writes the run
directory from the chief only. Start the same command on every worker, each with its TF_CONFIG
(or under srun); see docs/DISTRIBUTED.md.

    TF_CONFIG='{"cluster": {"worker": ["localhost:23456", "localhost:23457"]},
                "task": {"type": "worker", "index": 0}}' \
      python scripts/multiworker_prototype.py --distribute multi-worker --data STORE --out runs/mw
    # the same with "index": 1 in a second shell; after a crash, both again with --resume

``--distribute none`` trains with Keras ``Model.fit`` instead (the single-worker reference).
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import runs  # noqa: E402

EXIT_USAGE = 2
EXIT_CLUSTER = 4  # a worker was lost (one that never joins: killed by the start-up watchdog, 137)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    D = " [default: %(default)s]"
    add = parser.add_argument
    add("--data", required=True, help="an existing data store (python -m data.convert makes one)")
    add("--out", required=True, help="run directory (written by the chief only)")
    add("--resume", action="store_true", help="continue the run directory's last completed epoch (or start it)")
    add("--distribute", choices=("none", "multi-worker"), default="multi-worker",
        help="multi-worker: training.distributed.fit; none: Keras Model.fit" + D)
    add("--model", default="cnn-500-dropout", help="preset" + D)
    add("--filters", type=int, default=8, help="first-layer filters" + D)
    add("--sequence-length", type=int, default=200, help="centre crop" + D)
    add("--hidden-units", type=int, default=32, help="hidden dense layer width" + D)
    add("--dropout", type=float, default=0.0, help="every dropout rate of the preset (0: runs compare exactly)" + D)
    add("--batch-size", type=int, default=64, help="global batch size" + D)
    add("--batch-order", choices=("reshuffle", "authors"), default="reshuffle", help="batch order" + D)
    add("--max-train-samples", type=int, default=None, help="seeded training subset [default: all]")
    add("--max-valid-samples", type=int, default=None, help="validation rows (whole pairs) [default: all]")
    add("--steps-per-epoch", type=int, default=None, help="global batches per epoch [default: one pass]")
    add("--epochs", type=int, default=3, help="maximum epochs" + D)
    add("--lr", type=float, default=3e-3, help="Adam learning rate" + D)
    add("--lr-patience", type=int, default=1, help="ReduceLROnPlateau patience (Keras 2.0.8 counting)" + D)
    add("--patience", type=int, default=5, help="EarlyStopping patience (Keras 2.0.8 counting)" + D)
    add("--seed", type=int, default=0, help="weights, data order, dropout" + D)
    add("--startup-timeout", type=float, default=120.0, help="seconds to wait for every worker to join" + D)
    add("--port-base", type=int, default=8888,
        help="under SLURM: the port of a node's first task (the next task: +1, ...)" + D)
    add("--freeze-at", metavar="EPOCH:BATCH", default=None,
        help="fault injection for tests: this worker prints 'frozen' and stops responding before that batch "
             "(1-based), as a dying worker would [default: never]")
    add("--verbose", type=int, choices=(0, 1, 2), default=2, help="Keras verbosity (chief)" + D)
    return parser


def recorder_class():
    """Per epoch: reseed dropout, keep history and best, checkpoint; files on the chief only."""
    import keras

    from train import reseed_dropout  # moves to training/ with the lead's split

    class Recorder(keras.callbacks.Callback):
        def __init__(self, run_dir: Path, state: dict, plateau, early, *, seed: int, write: bool):
            super().__init__()
            self.run_dir, self.state, self.plateau, self.early = run_dir, state, plateau, early
            self.seed, self.write = seed, write
            self.history = list(state.get("history", []))
            self.best = state.get("best_val_loss")
            self.lr = None

        def on_epoch_begin(self, epoch, logs=None):
            reseed_dropout(self.model, self.seed, epoch)
            self.lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            self.history.append({"epoch": epoch + 1, "loss": float(logs["loss"]),
                                 "val_loss": float(logs["val_loss"]), "lr": self.lr})
            improved = self.best is None or logs["val_loss"] < self.best
            self.best = float(logs["val_loss"]) if improved else self.best
            self.state.update({"epoch": epoch + 1, "history": self.history, "best_val_loss": self.best,
                               "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                               "plateau": self.plateau.get_state(), "early_stopping": self.early.get_state(),
                               "model_file": f"epoch-{epoch + 1:04d}.keras"})
            if not self.write:
                return  # a worker other than the chief: same bookkeeping, no files
            if improved:
                save(self.model, self.run_dir / runs.BEST_MODEL_NAME)
            checkpoint = self.run_dir / runs.CHECKPOINT_DIR
            checkpoint.mkdir(exist_ok=True)
            save(self.model, checkpoint / self.state["model_file"])
            runs.write_history(self.run_dir, self.history)
            runs.write_json(checkpoint / "state.json", self.state)  # last: names a complete epoch
            for old in checkpoint.glob("epoch-*.keras"):
                if old.name != self.state["model_file"]:
                    old.unlink()

    def save(model, path: Path) -> None:
        with runs.atomic_path(path) as tmp:
            model.save(tmp)

    return Recorder


def freeze_callback(at: str):
    """Fault injection: block forever before batch ``EPOCH:BATCH`` (the test kills the process there)."""
    import keras

    epoch, batch = (int(part) for part in at.split(":"))

    class Freeze(keras.callbacks.Callback):
        def on_epoch_begin(self, index, logs=None):
            self.epoch = index + 1

        def on_train_batch_begin(self, index, logs=None):
            if (self.epoch, index + 1) == (epoch, batch):
                print("frozen", flush=True)
                threading.Event().wait()

    return Freeze()


def train(args: argparse.Namespace) -> int:
    import keras

    from data.pipeline import load_arrays, steps_per_epoch, train_dataset
    from data.store import open_store
    from models import build_model, get_preset, resolve_config
    from train import ADAM_EPSILON, callback_classes
    from training import distributed

    strategy = distributed.make_strategy(args.distribute, startup_timeout=args.startup_timeout,
                                         port_base=args.port_base)
    chief = distributed.is_chief(strategy)
    run_dir = Path(args.out)
    state_path = run_dir / runs.CHECKPOINT_DIR / "state.json"
    state = runs.read_json(state_path) if args.resume and state_path.exists() else {}
    store = open_store(args.data)
    train_split, valid_split = store.split("train"), store.split("valid")
    rates = {key: args.dropout for key in ("dropout", "hidden_dropout", "recurrent_dropout")
             if key in get_preset(args.model)}
    config = resolve_config(args.model, filters=args.filters, sequence_length=args.sequence_length,
                            hidden_units=args.hidden_units, num_targets=store.num_targets, **rates)
    n_train = min(train_split.num_samples, args.max_train_samples or train_split.num_samples)
    steps = args.steps_per_epoch or steps_per_epoch(n_train, args.batch_size, args.batch_order)

    keras.utils.set_random_seed(args.seed)
    with strategy.scope():
        model = build_model(config)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=args.lr, epsilon=ADAM_EPSILON),
                      loss="binary_crossentropy")
    start = state.get("epoch", 0)
    if start:
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)
        model.load_weights(run_dir / runs.CHECKPOINT_DIR / state["model_file"])  # every worker reads it
        model.optimizer.learning_rate = state["lr"]
    elif chief:
        run_dir.mkdir(parents=True, exist_ok=args.resume)
        runs.write_json(run_dir / runs.CONFIG_NAME, {
            "args": vars(args), "model": config, "distribution": distributed.describe(strategy, args.distribute),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    PlateauLR, EarlyStop, _ = callback_classes()
    plateau = PlateauLR(monitor="val_loss", factor=0.2, patience=args.lr_patience, min_lr=2e-6)
    early = EarlyStop(monitor="val_loss", patience=args.patience)
    plateau.restored, early.restored = state.get("plateau"), state.get("early_stopping")
    recorder = recorder_class()(run_dir, state, plateau, early, seed=args.seed, write=chief)
    callbacks = [plateau, early, recorder] + ([freeze_callback(args.freeze_at)] if args.freeze_at else [])

    x_valid, y_valid = load_arrays(valid_split, config["sequence_length"], args.max_valid_samples)

    def batches(num_replicas: int, replica_ids: Sequence[int]):
        return train_dataset(train_split, batch_size=args.batch_size, seed=args.seed,
                             sequence_length=config["sequence_length"], max_samples=args.max_train_samples,
                             batch_order=args.batch_order, skip_batches=start * steps,
                             num_replicas=num_replicas, replica_ids=replica_ids)

    if start >= args.epochs:
        return 0
    if args.distribute == "none":
        model.fit(batches(1, [0]), epochs=args.epochs, initial_epoch=start, steps_per_epoch=steps,
                  validation_data=(x_valid, y_valid), validation_batch_size=args.batch_size,
                  callbacks=callbacks, verbose=args.verbose, shuffle=False)
    else:
        distributed.fit(model, strategy, batches, epochs=args.epochs, initial_epoch=start, steps_per_epoch=steps,
                        validation_data=(x_valid, y_valid), validation_batch_size=args.batch_size,
                        callbacks=callbacks, verbose=args.verbose)
    if chief:
        print(f"{run_dir}: {len(recorder.history)} epochs, best val_loss {recorder.best:.6f}")
    distributed.barrier(strategy)  # after the chief's last write: leave together
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from training.distributed import ClusterError

    try:
        return train(args)
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CLUSTER
    except (ValueError, runs.RunDirError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
