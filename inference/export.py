"""``predict.py export``: the model for serving (TensorFlow SavedModel) and as a portable ``.keras``.

OUT/ (a new directory, assembled under a temporary name and renamed into place):

* ``saved_model/``: ``tf.saved_model.load(path)`` with no Keras or project code; endpoint ``serve``
  gives the strand-averaged probabilities predict.py reports, ``serve_single_strand`` the model's
  output for the strand given. Input float32 (batch, L, 4), one-hot A,G,C,T, N all zeros.
* ``model.keras``: reloads with plain ``keras.saving.load_model`` in a process that never imported
  this project. The project's custom functions are replaced by stock Keras that computes the same:
  ``leaky_relu_001`` -> a ``LeakyReLU(0.01)`` layer after the layer that used it;
  ``deepsea_threshold`` (x if x > 0 else 1e-6) -> ``Rescaling(offset=-1e-6)``, ``ReLU``,
  ``Rescaling(offset=1e-6)``, which is max(x, 1e-6) (the same outside (0, 1e-6], off by < 1e-6 inside);
  the LSTM gate ``keras2_hard_sigmoid`` clip(0.2 z + 0.5, 0, 1) -> Keras 3's ``hard_sigmoid``
  clip(z / 6 + 0.5, 0, 1) with the input, forget and output gate weights scaled by 1.2, since
  0.2 z = (1.2 z) / 6. The rewritten model is checked against the original before anything is written.
  A custom layer or function without a stock rewrite here stops the export with its name.
* ``targets.tsv`` (index, name, cell_type, assay, treatment, category) and ``export.json`` (input
  length, channel order, endpoints, the rewrites, the check, versions, how to load).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli import UserError
from inference.model import LoadedModel
from inference.output import write_targets_tsv
from inference.targets import Targets

EXPORT_KIND = "projection-layers-export/1"
MODEL_FILE, SAVED_MODEL_DIR, TARGETS_FILE, INFO_FILE = "model.keras", "saved_model", "targets.tsv", "export.json"
EXPORT_ENTRIES = {MODEL_FILE, SAVED_MODEL_DIR, TARGETS_FILE, INFO_FILE}
#: Largest difference allowed between the portable model and the original on the check inputs.
TOLERANCE = 1e-5
#: Layers whose ``activation`` is applied to their output last, so a stock activation layer after
#: them computes the same.
ACTIVATION_LAST = {"Conv1D", "Conv2D", "Conv3D", "Dense", "Activation"}
GATE_SCALE = 1.2


class ExportError(UserError):
    """A model that cannot be exported, or an output directory that cannot be written."""


@dataclass
class ExportResult:
    out: Path
    files: list[str]
    notes: list[str]
    max_difference: float


def _stock_activations() -> dict:
    """Registered name of each custom activation -> builder of the stock layers that replace it."""
    import keras
    from keras import layers

    from models import blocks

    def leaky(name):
        return [layers.LeakyReLU(negative_slope=0.01, name=f"{name}_leaky_relu")]

    def threshold(name):
        return [layers.Rescaling(1.0, offset=-1e-6, name=f"{name}_minus_1e6"), layers.ReLU(name=f"{name}_relu"),
                layers.Rescaling(1.0, offset=1e-6, name=f"{name}_plus_1e6")]

    return {keras.saving.get_registered_name(blocks.leaky_relu_001): leaky,
            keras.saving.get_registered_name(blocks.deepsea_threshold): threshold}


def _function_name(node) -> str | None:
    """The registered name of a serialized function (``{"class_name": "function", "config": NAME}``)."""
    if isinstance(node, dict) and node.get("class_name") == "function" and isinstance(node.get("config"), str):
        return node["config"]
    return None


def _rewrite_gates(node, gate: str, found: list) -> None:
    """Replace ``recurrent_activation`` = ``gate`` by Keras' hard_sigmoid in LSTM configs, recursively."""
    if isinstance(node, dict):
        config = node.get("config")
        if isinstance(config, dict) and _function_name(config.get("recurrent_activation")) == gate:
            if node.get("class_name") != "LSTM":
                raise ExportError(f"layer {config.get('name')!r} ({node.get('class_name')}) uses {gate} as its "
                                  "recurrent activation; only LSTM layers can be rewritten to stock Keras")
            config["recurrent_activation"] = "hard_sigmoid"
            found.append(config.get("name"))
        for value in node.values():
            _rewrite_gates(value, gate, found)
    elif isinstance(node, list):
        for value in node:
            _rewrite_gates(value, gate, found)


def portable_model(model):
    """A stock-Keras copy of ``model`` computing the same function, and notes on what changed."""
    import keras

    from models import blocks

    stock = _stock_activations()
    gate = keras.saving.get_registered_name(blocks.keras2_hard_sigmoid)
    post: dict[str, list] = {}
    gated: list[str] = []
    notes: list[str] = []

    def clone(layer):
        node = keras.saving.serialize_keras_object(layer)
        config = node["config"]
        name = _function_name(config.get("activation"))
        if name in stock and node.get("class_name") in ACTIVATION_LAST:
            config["activation"] = "linear"
            post[layer.name] = stock[name](layer.name)
            notes.append(f"{layer.name}: {name.split('>')[-1]} -> {', '.join(type(p).__name__ for p in post[layer.name])}")
        found: list = []
        _rewrite_gates(node, gate, found)
        if found:
            gated.append(layer.name)
            notes.append(f"{layer.name}: LSTM gates {gate.split('>')[-1]} -> hard_sigmoid, gate weights x{GATE_SCALE}")
        return keras.saving.deserialize_keras_object(node)

    def call(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        for extra in post.get(layer.name, []):
            out = extra(out)
        return out

    new = keras.models.clone_model(model, clone_function=clone, call_function=call)
    for layer in model.layers:
        if layer.weights:
            new.get_layer(layer.name).set_weights(layer.get_weights())
    for name in gated:
        _scale_gates(new.get_layer(name))
    leftover = sorted(n for n in keras.saving.get_custom_objects() if f'"{n}"' in new.to_json())
    if leftover:
        raise ExportError(f"the model uses {', '.join(leftover)}, which has no stock-Keras rewrite in "
                          "inference/export.py; the portable .keras cannot be made (add a rewrite there)")
    return new, notes


def _scale_gates(layer) -> None:
    """Multiply the input, forget and output gate columns (Keras order i, f, c, o) by GATE_SCALE."""
    import keras

    lstms = [layer.forward_layer, layer.backward_layer] if isinstance(layer, keras.layers.Bidirectional) else [layer]
    for lstm in lstms:
        cell = lstm.cell
        units = cell.units
        scale = np.full(4 * units, GATE_SCALE, dtype=np.float32)
        scale[2 * units:3 * units] = 1.0  # the cell candidate uses tanh, not the gate function
        cell.kernel.assign(cell.kernel.numpy() * scale)
        cell.recurrent_kernel.assign(cell.recurrent_kernel.numpy() * scale)
        if cell.use_bias:
            cell.bias.assign(cell.bias.numpy() * scale)


def check_inputs(length: int, n: int = 8, seed: int = 0) -> np.ndarray:
    """Random one-hot sequences (n, L, 4), a quarter of them with a run of N, for the export check."""
    from data.encoding import N_CODE, one_hot

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    codes[: max(1, n // 4), : max(1, length // 10)] = N_CODE
    return one_hot(codes)


def write_saved_model(model, path: str, length: int) -> None:
    """``serve`` (strand-averaged) and ``serve_single_strand`` endpoints, via keras.export.ExportArchive."""
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = [tf.TensorSpec((None, length, 4), tf.float32, name="sequence")]

    def averaged(x):
        both = tf.concat([x, tf.reverse(x, axis=[1, 2])], axis=0)
        p = tf.cast(model(both, training=False), tf.float32)
        half = tf.shape(x)[0]
        return (p[:half] + p[half:]) / 2.0

    archive.add_endpoint("serve", averaged, input_signature=spec)
    archive.add_endpoint("serve_single_strand", lambda x: model(x, training=False), input_signature=spec)
    archive.write_out(path, verbose=False)


def _check_out(out: Path, model_path: Path, force: bool) -> None:
    import rundir

    run = rundir.run_containing(out)
    if run is not None:
        raise ExportError(f"{out}: lies inside the run directory {run}; export elsewhere")
    resolved = out.resolve()
    source = Path(model_path).resolve()
    if resolved == source or resolved in source.parents:
        raise ExportError(f"{out}: holds the model being exported; choose another OUT")
    if not out.exists():
        if not out.parent.is_dir():
            raise ExportError(f"{out.parent}: no such directory for the export")
        return
    if not force:
        raise ExportError(f"{out}: already exists; pass --force to replace an earlier export")
    info = out / INFO_FILE
    try:
        kind = json.loads(info.read_text()).get("kind") if info.is_file() else None
    except (OSError, ValueError):
        kind = None
    foreign = sorted(e.name for e in out.iterdir() if e.name not in EXPORT_ENTRIES) if out.is_dir() else []
    if kind != EXPORT_KIND or foreign:
        raise ExportError(f"{out}: is not an earlier predict.py export (no {INFO_FILE} of one, or other files: "
                          f"{', '.join(foreign[:3]) or '-'}); refusing to replace it")


def export_model(loaded: LoadedModel, out: str | os.PathLike, *, force: bool = False) -> ExportResult:
    """Write OUT/ (see the module docstring); an existing OUT is replaced only with ``force`` and only
    if it is an earlier export."""
    import rundir

    out = Path(out)
    _check_out(out, loaded.path, force)
    model = loaded.model
    portable, notes = portable_model(model)
    x = check_inputs(loaded.sequence_length)
    difference = float(np.max(np.abs(np.asarray(portable(x, training=False)) - np.asarray(model(x, training=False)))))
    if not difference <= TOLERANCE:
        raise ExportError(f"the stock-Keras rewrite differs from the model by {difference:.3g} (> {TOLERANCE}); "
                          "not exporting")
    targets = Targets.select(None, loaded.num_targets)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)
        portable.save(tmp / MODEL_FILE)
        write_saved_model(model, str(tmp / SAVED_MODEL_DIR), loaded.sequence_length)
        write_targets_tsv(tmp / TARGETS_FILE, targets)
        info = {
            "kind": EXPORT_KIND,
            "source": str(loaded.path),
            "sequence_length": loaded.sequence_length,
            "num_targets": loaded.num_targets,
            "input": "float32 (batch, L, 4) one-hot in A,G,C,T channel order; N and other IUPAC codes all zeros",
            "output": f"float32 (batch, {loaded.num_targets}) probabilities, columns as in {TARGETS_FILE}",
            "endpoints": {"serve": "strand-averaged: mean of the forward and reverse-complement predictions "
                                   "(what predict.py reports)",
                          "serve_single_strand": "the model's output for the strand given"},
            "model_keras": "single strand; average it with its reverse complement x[:, ::-1, ::-1] yourself",
            "rewrites": notes,
            "check": {"inputs": len(x), "max_abs_difference": difference, "tolerance": TOLERANCE},
            "load": {"keras": f"keras.saving.load_model('{MODEL_FILE}')",
                     "saved_model": f"tf.saved_model.load('{SAVED_MODEL_DIR}').serve(x)"},
            "versions": rundir.package_versions(),
        }
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")
        old = None
        if out.exists():  # an earlier export (checked above): moved aside, deleted once the new one is in
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:
                os.replace(old / out.name, out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(out, sorted(e.name for e in out.iterdir()), notes, difference)
