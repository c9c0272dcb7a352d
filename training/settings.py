"""The training settings: one dataclass whose defaults are the paper's protocol, and its checks.

Importing this module imports neither Keras nor TensorFlow, so ``train.py --help`` stays fast.
A run's settings are saved in its config.json (``args``) and restored on ``--resume``; the flags
that may change on resume are :data:`RESUME_MUTABLE`, every other one must match.
"""
from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from cli import UserError

GATE_CHOICES = ("keras2_hard_sigmoid", "sigmoid")
# The same as training.distributed.DISTRIBUTE_CHOICES and data.pipeline.BATCH_ORDERS (a test checks),
# spelled here so that this module imports no TensorFlow.
DISTRIBUTE_CHOICES = ("none", "mirrored", "multi-worker")
BATCH_ORDERS = ("authors", "reshuffle")
#: What runs recorded before --batch-order existed were trained with.
LEGACY_BATCH_ORDER = "reshuffle"
#: Keras 2.0.8's Adam epsilon (the authors' version); Keras 3's default is 1e-7.
ADAM_EPSILON = 1e-8
#: Settings that may differ when a run is resumed; every other one must match the saved config.
RESUME_MUTABLE = frozenset({"resume", "overwrite", "data", "store_dir", "verbose", "tensorboard",
                            "epochs", "out", "port_base", "startup_timeout"})
#: Settings that override preset values: (config key, type, help).
MODEL_OVERRIDES = (
    ("filters", int, "first-layer convolution filters"),
    ("projection_dim", int, "projection (1x1 conv) dimension, 0 = no projection"),
    ("dropout", float, "dropout rate after the first pool / projection"),
    ("sequence_length", int,
     "input length; shorter than the data's means a centre crop (500 = the paper's reduced data)"),
    ("num_targets", int, "number of outputs (must equal the data's targets)"),
    ("lstm_units", int, "LSTM cells per direction"),
    ("recurrent_dropout", float, "LSTM recurrent dropout"),
    ("hidden_units", int, "units of the hidden dense layer"),
    ("hidden_dropout", float, "dropout rate after the hidden dense layer (CNN family)"),
    ("lstm_dropout", float, "dropout rate after the BiLSTM (DanQ family)"),
)
# Keys that older versions saved in ``args`` but that are command-line actions, not settings.
_ACTION_KEYS = ("list_models", "summary")


class TrainError(UserError):
    """A problem with the training settings or inputs the user can fix (one line, exit 2)."""


@dataclass
class TrainSettings:
    """Everything a training run depends on; the defaults are the paper's protocol."""

    # model
    model: str | None = None
    filters: int | None = None
    projection_dim: int | None = None
    dropout: float | None = None
    sequence_length: int | None = None
    num_targets: int | None = None
    lstm_units: int | None = None
    recurrent_dropout: float | None = None
    hidden_units: int | None = None
    hidden_dropout: float | None = None
    lstm_dropout: float | None = None
    gate: str | None = None
    fast_lstm: bool = False
    # data and run directory
    data: str | None = None
    store_dir: str | None = None
    out: str | None = None
    resume: bool = False
    overwrite: bool = False
    # protocol
    epochs: int = 35
    batch_size: int = 256
    lr: float = 3e-4
    lr_factor: float = 0.2
    lr_patience: int = 2
    min_lr: float = 2e-6
    patience: int = 5
    steps_per_epoch: int | None = None
    batch_order: str = "authors"  # the authors' code: fixed batches, only their order shuffled
    max_train_samples: int | None = None
    max_valid_samples: int | None = None
    seed: int = 0
    # performance
    distribute: str = "none"
    port_base: int = 8888  # multi-worker under SLURM: the port of a node's first task
    startup_timeout: float = 600.0  # multi-worker: seconds to wait for every worker to join
    cpu_devices: int = 1
    mixed_precision: bool = False  # "auto": float16 on a GPU, bfloat16 on a CPU with bf16 units
    precision: str | None = None  # an explicit dtype policy (training/precision.py's POLICIES)
    jit: bool = False
    scale_lr: bool = False
    deterministic: bool = False
    # output
    tensorboard: bool = False
    verbose: int | None = None  # None: a progress bar on a terminal, one line per epoch otherwise

    def as_record(self) -> dict[str, Any]:
        """The settings as saved in config.json's ``args``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], source: Path) -> "TrainSettings":
        """Settings saved in a run's config.json; unknown keys are refused. A run saved before
        ``batch_order`` existed was trained with :data:`LEGACY_BATCH_ORDER`, not today's default, and
        one saved with ``--mixed-precision`` before ``precision`` existed ran mixed_float16."""
        record = {"batch_order": LEGACY_BATCH_ORDER, **{k: v for k, v in record.items() if k not in _ACTION_KEYS}}
        if "precision" not in record and record.get("mixed_precision"):
            record["precision"] = "mixed_float16"  # what --mixed-precision meant before bfloat16

        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise TrainError(f"{source}: unknown training setting(s) {', '.join(unknown)}; this run was "
                             "made by another version of train.py")
        return cls(**record)

    @property
    def requested_precision(self) -> str:
        """``precision``, else "auto" under ``--mixed-precision``, else "float32"."""
        return self.precision or ("auto" if self.mixed_precision else "float32")

    def check(self) -> None:
        """Checks that need neither TensorFlow nor files."""
        from training.precision import POLICIES

        if self.precision is not None and self.precision not in POLICIES:
            raise TrainError(f"--precision must be one of {', '.join(POLICIES)}, got {self.precision!r}")
        if self.precision == "float32" and self.mixed_precision:
            raise TrainError("--mixed-precision contradicts --precision float32")
        for name in ("epochs", "batch_size", "cpu_devices", "steps_per_epoch", "max_train_samples",
                     "max_valid_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise TrainError(f"--{_flag(name)} must be >= 1, got {value}")
        for name in ("lr_patience", "patience"):
            if getattr(self, name) < 0:
                raise TrainError(f"--{_flag(name)} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0 or not self.min_lr >= 0:
            raise TrainError(f"--lr must be > 0 and --min-lr >= 0, got {self.lr} and {self.min_lr}")
        if not 0 < self.lr_factor < 1:
            raise TrainError(f"--lr-factor must be in (0, 1), got {self.lr_factor}")
        if self.distribute not in DISTRIBUTE_CHOICES:
            raise TrainError(f"--distribute must be one of {', '.join(DISTRIBUTE_CHOICES)}, got "
                             f"{self.distribute!r}")
        if self.batch_order not in BATCH_ORDERS:
            raise TrainError(f"--batch-order must be one of {', '.join(BATCH_ORDERS)}, got {self.batch_order!r}")
        if self.distribute == "multi-worker" and self.jit:
            raise TrainError("--jit is not available with --distribute multi-worker (its training loop, "
                             "training.distributed.fit, is not XLA-compiled)")
        if not 1 <= self.port_base <= 65535:
            raise TrainError(f"--port-base must be a port number (1 to 65535), got {self.port_base}")
        if not self.startup_timeout > 0:
            raise TrainError(f"--startup-timeout must be > 0 seconds, got {self.startup_timeout}")
        if self.gate is not None and self.gate not in GATE_CHOICES:
            raise TrainError(f"--gate must be one of {', '.join(GATE_CHOICES)}, got {self.gate!r}")
        if self.tensorboard and importlib.util.find_spec("tensorboard") is None:
            raise TrainError("--tensorboard needs the tensorboard package, which is not installed "
                             "(pip install tensorboard)")
        if self.resume and self.overwrite:
            raise TrainError("--resume and --overwrite exclude each other")
        if self.fast_lstm and self.gate == "keras2_hard_sigmoid":
            raise TrainError("--fast-lstm needs sigmoid gates; it contradicts --gate keras2_hard_sigmoid")
        if self.fast_lstm and self.recurrent_dropout:
            raise TrainError("--fast-lstm needs recurrent dropout 0; it contradicts --recurrent-dropout "
                             f"{self.recurrent_dropout}")

    def resumed(self, saved: Mapping[str, Any], explicit: Mapping[str, Any], source: Path) -> "TrainSettings":
        """The saved run's settings, updated by the explicitly given ones that may change on resume.

        An explicitly given setting that would change the run (model, protocol, seed, ...) is an error.
        """
        merged = TrainSettings.from_record(saved, source).as_record()
        for key, value in explicit.items():
            if key in RESUME_MUTABLE:
                merged[key] = value
            elif key in merged and merged[key] != value:
                flag = "--" + _flag(key)
                made = "without " + flag if merged[key] in (None, False) else f"with {flag} {merged[key]}"
                given = flag if value is True else f"{flag} {value}"
                raise TrainError(f"{source}: the run was made {made}, not {given}; drop the flag to "
                                 "resume, or use --overwrite to start again")
        settings = TrainSettings(**merged)
        settings.check()
        return settings


def _flag(name: str) -> str:
    return name.replace("_", "-")


def model_config(settings: TrainSettings) -> tuple[dict, list[str]]:
    """Resolved model config for the preset and overrides, and the list of deviations from the paper."""
    from models import resolve_config

    overrides = {key: getattr(settings, key) for key, _, _ in MODEL_OVERRIDES}
    overrides["gate"] = settings.gate
    deviations = []
    try:
        config = resolve_config(settings.model, **overrides)
        if settings.fast_lstm:
            if "gate" not in config:
                deviations.append(f"--fast-lstm has no effect: the {config['family']} family has no LSTM")
            else:
                changed = {k: v for k, v in (("gate", "sigmoid"), ("recurrent_dropout", 0.0)) if config[k] != v}
                if changed:
                    before = ", ".join(f"{k}={config[k]!r}" for k in changed)
                    after = ", ".join(f"{k}={v!r}" for k, v in changed.items())
                    deviations.append(f"--fast-lstm (cuDNN-compatible LSTM): {before} -> {after}")
                    config = resolve_config(settings.model, **{**overrides, **changed})
    except ValueError as err:
        raise TrainError(str(err)) from None
    return config, deviations


def build(config: dict, policy: str = "float32"):
    """Build the model under the dtype ``policy``; a mixed policy keeps ``predictions`` float32."""
    from models import build_model
    from training.precision import output_dtype

    try:
        return build_model(config, output_dtype=output_dtype(policy))
    except ValueError as err:
        raise TrainError(str(err)) from None
