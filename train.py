"""Train a preset model on DeepSEA-format data with the paper's protocol, into a resumable run directory.

    python train.py --model crnn-320-projection --data DATA_DIR --out runs/crnn-320-projection
    python train.py --out runs/crnn-320-projection --resume     # after a crash or kill: exact continuation
    python train.py --model crnn-320 --summary                  # build only, print the summary and params
    python train.py --list-models                               # every preset with its parameter count
    TF_CONFIG=... python train.py --distribute multi-worker ...  # on every worker (docs/DISTRIBUTED.md)

The defaults are the paper's protocol (authors' code): Adam lr 3e-4, batch 256, binary
cross-entropy over all targets, validation loss on the whole validation set each epoch,
ReduceLROnPlateau(factor 0.2, patience 2, min_lr 2e-6), EarlyStopping(patience 5), at most
35 epochs, best-validation-loss model kept. Every item is a flag. This file only parses flags:
the protocol lives in the ``training`` package, the run directory in ``rundir.py``.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

import cli
from training.precision import POLICIES
from training.settings import BATCH_ORDERS, DISTRIBUTE_CHOICES, GATE_CHOICES, MODEL_OVERRIDES, TrainSettings

DEFAULTS = TrainSettings()


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
    for key, kind, text in MODEL_OVERRIDES:
        model.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=default(None), metavar="N" if kind is int else "X",
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
                      help="continue RUN_DIR from its last completed epoch (with --model: start it if it does not exist)")
    data.add_argument("--overwrite", action="store_true", default=default(False),
                      help="replace an existing run directory (only one train.py made; the old one is deleted once "
                           "the new one is in place)")

    protocol = parser.add_argument_group("training protocol (the paper's by default)")
    protocol.add_argument("--epochs", metavar="N", type=int, default=default(DEFAULTS.epochs), help="maximum epochs [default: %(default)s]")
    protocol.add_argument("--batch-size", metavar="N", type=int, default=default(DEFAULTS.batch_size),
                          help="global batch size, split across replicas [default: %(default)s]")
    protocol.add_argument("--lr", metavar="X", type=float, default=default(DEFAULTS.lr), help="Adam learning rate [default: %(default)s]")
    protocol.add_argument("--lr-factor", metavar="X", type=float, default=default(DEFAULTS.lr_factor),
                          help="ReduceLROnPlateau factor [default: %(default)s]")
    protocol.add_argument("--lr-patience", metavar="N", type=int, default=default(DEFAULTS.lr_patience),
                          help="ReduceLROnPlateau patience in epochs [default: %(default)s]")
    protocol.add_argument("--min-lr", metavar="X", type=float, default=default(DEFAULTS.min_lr),
                          help="ReduceLROnPlateau lower bound [default: %(default)s]")
    protocol.add_argument("--patience", metavar="N", type=int, default=default(DEFAULTS.patience),
                          help="EarlyStopping patience in epochs on val_loss [default: %(default)s]")
    protocol.add_argument("--steps-per-epoch", metavar="N", type=int, default=default(None),
                          help="batches per epoch [default: one pass over the training samples]")
    protocol.add_argument("--batch-order", choices=BATCH_ORDERS, default=default(DEFAULTS.batch_order),
                          help="authors = the authors' code: the samples permuted once into fixed batches, "
                               "only the order of the batches shuffled each epoch, the remainder dropped; "
                               "reshuffle = all samples permuted every epoch, last batch partial (what runs "
                               "made before this flag used) [default: %(default)s]")
    protocol.add_argument("--max-train-samples", metavar="N", type=int, default=default(None),
                          help="train on a fixed seeded subset of this many samples [default: all]")
    protocol.add_argument("--max-valid-samples", metavar="N", type=int, default=default(None),
                          help="validate on this many samples (whole strand pairs) [default: all]")
    protocol.add_argument("--seed", metavar="N", type=int, default=default(DEFAULTS.seed),
                          help="seed for weights, data order and dropout [default: %(default)s]")

    perf = parser.add_argument_group("performance (each recorded in config.json)")
    perf.add_argument("--distribute", choices=DISTRIBUTE_CHOICES, default=default(DEFAULTS.distribute),
                      help="none; mirrored = all local GPUs (or the logical CPUs of --cpu-devices); "
                           "multi-worker = one process per machine (or per GPU) from TF_CONFIG or the SLURM "
                           "job step, the same command on every worker, only the chief writes "
                           "(docs/DISTRIBUTED.md) [default: %(default)s]")
    perf.add_argument("--port-base", metavar="PORT", type=int, default=default(DEFAULTS.port_base),
                      help="multi-worker under SLURM: the port of each node's first task (the next task "
                           "+1, ...) [default: %(default)s]")
    perf.add_argument("--startup-timeout", metavar="S", type=float, default=default(DEFAULTS.startup_timeout),
                      help="multi-worker: give up (one error line) if the workers have not all joined "
                           "within S seconds [default: %(default)s]")
    perf.add_argument("--cpu-devices", metavar="N", type=int, default=default(1),
                      help="split the CPU into this many logical devices (to exercise --distribute "
                           "without GPUs) [default: %(default)s]")
    perf.add_argument("--mixed-precision", action="store_true", default=default(False),
                      help="mixed precision where the hardware has the units for it: float16 on a GPU, "
                           "bfloat16 on a CPU with avx512_bf16/amx_bf16 (refused elsewhere); the output "
                           "layer stays float32 [default: %(default)s]")
    perf.add_argument("--precision", choices=POLICIES, default=default(None),
                      help="an explicit Keras dtype policy instead [default: float32, or what "
                           "--mixed-precision picks]")
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
    output.add_argument("--verbose", type=int, choices=(0, 1, 2), default=default(DEFAULTS.verbose),
                        help="Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch "
                             "[default: 1 on a terminal, 2 when written to a file or pipe]")
    return parser


def list_models() -> int:
    """Print every preset with its parameter count, from the catalog alone (no Keras, no TensorFlow)."""
    import importlib.util
    from pathlib import Path

    # Loaded as a file so that the models package, which imports Keras, is not initialised.
    spec = importlib.util.spec_from_file_location("models_catalog", Path(__file__).parent / "models" / "catalog.py")
    catalog = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(catalog)
    print(catalog.listing())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and train (or list the presets, or print a model summary); the exit
    status follows cli's convention."""
    return cli.run_command(_main, argv)


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    explicit = vars(build_parser(suppress_defaults=True).parse_args(argv))
    if args.list_models:
        return list_models()
    actions = ("list_models", "summary")
    settings = TrainSettings(**{k: v for k, v in vars(args).items() if k not in actions})
    settings.check()
    from training import loop  # imports TensorFlow only once the run directory is claimed

    if args.summary:
        if not settings.model:
            raise cli.UserError("--summary needs --model")
        return loop.summary(settings)
    try:
        return loop.start(settings, {k: v for k, v in explicit.items() if k not in actions}, argv)
    except KeyboardInterrupt:
        print(f"interrupted; continue with: python train.py --out {settings.out} --resume", file=sys.stderr)
        return cli.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
