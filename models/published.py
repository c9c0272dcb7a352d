"""Load the published DeepSEA, DanQ and DanQ-JASPAR weights into Keras 3 models.

The original files need software nobody can install any more (Keras 0.2 + Theano +
seya for DanQ, Lua Torch7 for DeepSEA), so this module reads them directly and
converts every convention that differs from Keras 3:

* **DanQ / DanQ-JASPAR** (Keras 0.2 ``save_weights`` HDF5: root attribute ``nb_layers``,
  one group ``layer_{k}`` per layer of the Sequential model with attribute ``nb_params``
  and datasets ``param_0..``). Theano convolution is a true convolution, so kernels are
  flipped. The 24 Bidirectional parameters are the forward then the backward LSTM, each
  ``W_i, U_i, b_i, W_c, U_c, b_c, W_f, U_f, b_f, W_o, U_o, b_o``; Keras 3 wants
  ``i, f, c, o`` concatenated. Gates use Theano's hard sigmoid ``clip(0.2x + 0.5, 0, 1)``.
  Keras 0.2's ``Dropout`` was not inverted: at inference it multiplied its input by
  ``1 - p``. Those factors (0.8 before the BiLSTM, 0.5 before the hidden dense layer)
  are folded into the next layer's input weights (``scale_dropout=True``).
* **DeepSEA** (Torch7 binary ``deepsea.cpu``, or Kipoi's PyTorch state dict). Torch
  convolution is a cross-correlation (no flip); ``SpatialConvolutionMM`` stores its kernel
  2-D as ``(out, in * kH * kW)``; ``nn.Reshape`` flattens channel-major (``c * L + t``), so
  the rows of the first dense layer are permuted for Keras's time-major ``Flatten``.
  Torch ``nn.Dropout`` without ``v2`` also scaled at inference; that is read from the file.

The Bidirectional layer of DanQ came from seya. Upstream seya reversed axis 0 of a
``(batch, time, features)`` tensor, i.e. the *batch*, both for the backward LSTM's input and
for its output, so the "backward" LSTM really ran forward in time. DanQ shipped a patched
seya whose source is lost, so the direction is a switch (``backward``):

* ``"reverse"`` (default): true reverse time, output re-aligned with the input positions
  (what a fixed seya and ``keras.layers.Bidirectional`` do);
* ``"forward"``: upstream seya's behaviour, both LSTMs run forward in time;
* ``"reverse-unaligned"``: reverse time without re-aligning the backward output (a patch
  that fixed only the input reversal); realised exactly by permuting the hidden layer's rows.

Which setting reproduces the published per-target metrics is checked with
``evaluate.py --published danq --weights FILE --backward ... --compare-published``
(see docs/PUBLISHED_WEIGHTS.md).

The module is also a CLI that converts once and saves a normal ``.keras`` file::

    python -m models.published danq DanQ_bestmodel.hdf5 danq.keras
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import keras
import numpy as np
import torchfile

from models.danq import build_danq_jaspar, build_danq_original
from models.deepsea import build_deepsea
from cli import UserError, run_command

PUBLISHED = ("deepsea", "danq", "danq-jaspar")
BACKWARD_MODES = ("reverse", "forward", "reverse-unaligned")
DEEPSEA_CONV_FILTERS = (None, 480, 960)  # conv2/conv3 widths fixed by models.deepsea
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_T7_TORCH_OBJECT = 4  # torch7 File.lua TYPE_TORCH: a serialised class instance


class WeightsError(UserError, ValueError):
    """A weights file is missing, unreadable, or does not match the expected architecture.

    The message names the file and what does not match (expected vs found).
    """


@dataclass
class Converted:
    """Weights converted to Keras 3 layouts, plus the architecture they imply.

    ``builder_kwargs`` go to the model builder; ``layers`` maps a layer name of the built
    model to its ``set_weights`` list (``"bilstm/forward"`` / ``"bilstm/backward"`` name
    the two LSTMs whatever the backward mode); ``notes`` are human-readable facts about
    the conversion (dropout factors folded in, file format).
    """

    name: str
    builder_kwargs: dict
    num_params: int  # weights in the file (what Table 1 counts)
    layers: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


# ----------------------------------------------------------------------------- DanQ (Keras 0.2)

@dataclass(frozen=True)
class _DanqSpec:
    layer_types: tuple  # class of each layer of the Keras 0.2 Sequential model, in order
    conv: int
    lstm: int
    hidden: int
    output: int
    kernel_size: int
    pool_size: int
    dropout: float  # after pool, before the BiLSTM
    lstm_dropout: float  # after the BiLSTM, before flatten/dense


# Layer lists of DanQ_train.py and DanQ-JASPAR_train.py (github uci-cbcl/DanQ).
_DANQ_SPECS = {
    "danq": _DanqSpec(("Convolution1D", "MaxPooling1D", "Dropout", "Bidirectional", "Dropout",
                       "Flatten", "Dense", "Activation", "Dense", "Activation"),
                      conv=0, lstm=3, hidden=6, output=8, kernel_size=26, pool_size=13,
                      dropout=0.2, lstm_dropout=0.5),
    "danq-jaspar": _DanqSpec(("Convolution1D", "MaxPooling1D", "Dropout", "Bidirectional",
                              "Dropout", "Flatten", "Dense", "Dense"),
                             conv=0, lstm=3, hidden=6, output=7, kernel_size=30, pool_size=15,
                             dropout=0.2, lstm_dropout=0.5),
}
# Keras 0.2 LSTM parameter order, and where each gate goes in Keras 3's i, f, c, o.
_K02_GATES = ("i", "c", "f", "o")
_K3_GATES = ("i", "f", "c", "o")


def _read_keras02(handle, path: Path) -> list[list]:
    """Datasets (unread h5py objects) of every ``layer_{k}`` group of an open file, in order."""
    if "nb_layers" not in handle.attrs:
        found = ", ".join(sorted(handle.keys())[:5]) or "nothing"
        raise WeightsError(f"{path}: no root attribute 'nb_layers' (found groups: {found}); "
                           "not a Keras 0.2 save_weights file")
    nb_layers = int(handle.attrs["nb_layers"])
    layers = []
    for k in range(nb_layers):
        group = handle.get(f"layer_{k}")
        if group is None or "nb_params" not in getattr(group, "attrs", {}):
            raise WeightsError(f"{path}: group 'layer_{k}' (with attribute nb_params) is missing; "
                               f"the file says nb_layers={nb_layers}")
        params = []
        for p in range(int(group.attrs["nb_params"])):
            if f"param_{p}" not in group:
                raise WeightsError(f"{path}: dataset 'layer_{k}/param_{p}' is missing; "
                                   f"layer_{k} says nb_params={int(group.attrs['nb_params'])}")
            params.append(group[f"param_{p}"])
        layers.append(params)
    return layers


def _expect_shape(path: Path, where: str, found: tuple, expected: tuple, what: str) -> None:
    if tuple(found) != tuple(expected):
        raise WeightsError(f"{path}: {where} has shape {tuple(found)}, expected {tuple(expected)} "
                           f"({what})")


def _danq_steps(spec: _DanqSpec, sequence_length: int) -> int:
    steps = (sequence_length - spec.kernel_size + 1) // spec.pool_size
    if steps < 1:
        raise ValueError(f"sequence_length={sequence_length} is too short for a convolution of "
                         f"{spec.kernel_size} and pooling of {spec.pool_size}")
    return steps


def convert_danq(name: str, weights_path: str | os.PathLike, *, sequence_length: int = 1000,
                 scale_dropout: bool = True, read_values: bool = True) -> Converted:
    """Read and check a DanQ / DanQ-JASPAR Keras 0.2 HDF5 file; convert to Keras 3 layouts.

    Filters, LSTM units, hidden units and targets are taken from the file; kernel and pool
    sizes and the layer list are those of the published scripts. ``read_values=False``
    only checks the layout (cheap on the 200 MB files): ``layers`` stays empty.
    """
    path = Path(weights_path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise WeightsError(f"{path}: not a readable HDF5 file ({exc})") from None
    with handle:
        return _convert_danq(name, handle, path, sequence_length=sequence_length,
                             scale_dropout=scale_dropout, read_values=read_values)


def _convert_danq(name: str, handle, path: Path, *, sequence_length: int, scale_dropout: bool,
                  read_values: bool) -> Converted:
    spec = _DANQ_SPECS[name]
    layers = _read_keras02(handle, path)
    other = [n for n, s in _DANQ_SPECS.items() if n != name and len(s.layer_types) == len(layers)]
    if len(layers) != len(spec.layer_types):
        hint = f"; this looks like the {other[0]} file" if other else ""
        raise WeightsError(f"{path}: nb_layers={len(layers)}, expected {len(spec.layer_types)} for "
                           f"{name} ({', '.join(spec.layer_types)}){hint}")
    counts = {spec.conv: 2, spec.lstm: 24, spec.hidden: 2, spec.output: 2}
    for k, (params, kind) in enumerate(zip(layers, spec.layer_types)):
        expected = counts.get(k, 0)
        if len(params) != expected:
            detail = " (forward LSTM 12 + backward LSTM 12)" if k == spec.lstm else ""
            raise WeightsError(f"{path}: layer_{k} ({kind}) has nb_params={len(params)}, "
                               f"expected {expected}{detail} for {name}")

    conv_w, conv_b = layers[spec.conv]
    filters = conv_w.shape[0] if conv_w.ndim == 4 else -1
    _expect_shape(path, f"layer_{spec.conv}/param_0", conv_w.shape,
                  (filters, 4, spec.kernel_size, 1),
                  f"Convolution1D W (nb_filter, 4, {spec.kernel_size}, 1)")
    _expect_shape(path, f"layer_{spec.conv}/param_1", conv_b.shape, (filters,), "Convolution1D b")

    lstm = layers[spec.lstm]
    units = lstm[0].shape[1] if lstm[0].ndim == 2 else -1
    for p, dset in enumerate(lstm):
        direction = "forward" if p < 12 else "backward"
        gate = _K02_GATES[(p % 12) // 3]
        kind = ("W", "U", "b")[p % 3]
        expected = {"W": (filters, units), "U": (units, units), "b": (units,)}[kind]
        _expect_shape(path, f"layer_{spec.lstm}/param_{p}", dset.shape, expected,
                      f"{direction} LSTM {kind}_{gate}")

    steps = _danq_steps(spec, sequence_length)
    hidden_w, hidden_b = layers[spec.hidden]
    hidden = hidden_w.shape[1] if hidden_w.ndim == 2 else -1
    _expect_shape(path, f"layer_{spec.hidden}/param_0", hidden_w.shape,
                  (steps * 2 * units, hidden),
                  f"Dense W: {steps} LSTM steps x {2 * units} features for sequence length "
                  f"{sequence_length}")
    _expect_shape(path, f"layer_{spec.hidden}/param_1", hidden_b.shape, (hidden,), "Dense b")
    out_w, out_b = layers[spec.output]
    targets = out_w.shape[1] if out_w.ndim == 2 else -1
    _expect_shape(path, f"layer_{spec.output}/param_0", out_w.shape, (hidden, targets),
                  "output Dense W")
    _expect_shape(path, f"layer_{spec.output}/param_1", out_b.shape, (targets,), "output Dense b")

    converted = Converted(name, dict(sequence_length=sequence_length, num_targets=int(targets),
                                     filters=int(filters), lstm_units=int(units),
                                     hidden_units=int(hidden)),
                          num_params=int(sum(d.size for params in layers for d in params)))
    converted.notes.append(f"{path.name}: Keras 0.2 HDF5, {len(layers)} layers")
    if not read_values:
        return converted

    def value(dset):
        return np.asarray(dset[()], dtype=np.float32)

    in_scale = (1.0 - spec.dropout) if scale_dropout else 1.0
    dense_scale = (1.0 - spec.lstm_dropout) if scale_dropout else 1.0
    if scale_dropout:
        converted.notes.append(f"Keras 0.2 inference dropout folded in: LSTM inputs x{in_scale:g}, "
                               f"hidden-layer inputs x{dense_scale:g}")
    # Theano conv2d is a true convolution: flip along the kernel axis.
    converted.layers["conv1"] = [value(conv_w)[:, :, ::-1, 0].transpose(2, 1, 0).copy(),
                                 value(conv_b)]
    for direction, offset in (("forward", 0), ("backward", 12)):
        gates = {g: [value(lstm[offset + 3 * i + j]) for j in range(3)]
                 for i, g in enumerate(_K02_GATES)}
        kernel = np.concatenate([gates[g][0] for g in _K3_GATES], axis=1) * in_scale
        recurrent = np.concatenate([gates[g][1] for g in _K3_GATES], axis=1)
        bias = np.concatenate([gates[g][2] for g in _K3_GATES])
        converted.layers[f"bilstm/{direction}"] = [kernel.astype(np.float32), recurrent, bias]
    converted.layers["hidden"] = [value(hidden_w) * np.float32(dense_scale), value(hidden_b)]
    converted.layers["predictions"] = [value(out_w), value(out_b)]
    return converted


def _unalign_backward_rows(kernel: np.ndarray, steps: int, units: int) -> np.ndarray:
    """Hidden-layer rows for a backward LSTM whose output stayed in processing order.

    The original flattened ``h_b`` in the order the reversed scan produced it (step ``t``
    = input position ``steps-1-t``); Keras re-aligns it, so row block ``t`` of the
    backward half must take the original block ``steps-1-t``.
    """
    blocks = kernel.reshape(steps, 2, units, kernel.shape[1]).copy()
    blocks[:, 1] = blocks[::-1, 1]
    return blocks.reshape(kernel.shape)


# ----------------------------------------------------------------------------- DeepSEA (Torch)

def _torch_name(obj) -> str:
    """Torch class name of a torchfile object ('nn.Linear'), or the Python type's name."""
    if getattr(type(obj), "torch_typename", None) is None:  # a plain Lua table or value
        return type(obj).__name__
    name = obj.torch_typename()
    return name.decode() if isinstance(name, bytes) else str(name)


def _field(obj, key, default=None):
    value = obj[key]
    return default if value is None else value


def _flatten_modules(module) -> list:
    """Leaf modules of (possibly nested) ``nn.Sequential`` containers, in order."""
    if _torch_name(module) == "nn.Sequential":
        children = _field(module, "modules", [])
        if isinstance(children, dict):  # a Lua table torchfile could not turn into a list
            children = [children[k] for k in sorted(children)]
        return [leaf for child in children for leaf in _flatten_modules(child)]
    return [module]


def _check_t7_header(path: Path) -> None:
    """Fail early, with a clear message, unless the file starts with a serialised nn module."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    ok = len(head) >= 12 and int.from_bytes(head[:4], "little") == _T7_TORCH_OBJECT
    if ok:
        size = int.from_bytes(head[8:12], "little")
        text = head[12:12 + size]
        if text.startswith(b"V "):  # versioned class: the name follows as another string
            start = 12 + size
            size = int.from_bytes(head[start:start + 4], "little")
            text = head[start + 4:start + 4 + size]
        ok = text.startswith(b"nn.")
    if not ok:
        raise WeightsError(f"{path}: not a Torch7 binary nn model (expected a serialised nn.* "
                           "object, as in DeepSEA's deepsea.cpu)")


def _read_t7_modules(path: Path) -> list:
    _check_t7_header(path)
    try:
        model = torchfile.load(str(path))
    except Exception as exc:  # torchfile raises anything from struct.error to MemoryError
        raise WeightsError(f"{path}: cannot parse the Torch7 file ({type(exc).__name__}: {exc})") \
            from None
    return _flatten_modules(model)


def _deepsea_from_t7(path: Path) -> tuple[list, list, list]:
    """Walk DeepSEA's module list: (conv (w, b, kernel), linear (w, b), input scale per
    weighted layer) after checking it is conv-thr-pool x2, conv-thr, reshape, linear-thr,
    linear-sigmoid (dropouts anywhere in between)."""
    modules = _read_t7_modules(path)
    expected = ["conv", "threshold", "pool", "conv", "threshold", "pool", "conv", "threshold",
                "reshape", "linear", "threshold", "linear", "sigmoid"]
    kinds = {"nn.SpatialConvolutionMM": "conv", "nn.SpatialConvolution": "conv",
             "nn.Threshold": "threshold", "nn.SpatialMaxPooling": "pool", "nn.Reshape": "reshape",
             "nn.View": "reshape", "nn.Linear": "linear", "nn.Sigmoid": "sigmoid"}
    convs, linears, scales = [], [], []
    scale = 1.0
    step = 0
    for index, module in enumerate(modules):
        name = _torch_name(module)
        if name == "nn.Dropout":
            if not _field(module, "v2", False):  # pre-v2 Torch dropout scaled at inference
                scale *= 1.0 - float(_field(module, "p", 0.5))
            continue
        kind = kinds.get(name)
        if step >= len(expected) or kind != expected[step]:
            want = expected[step] if step < len(expected) else "the end of the model"
            raise WeightsError(f"{path}: module {index + 1} is {name}, expected {want} "
                               f"(DeepSEA: {' -> '.join(expected)})")
        step += 1
        where = f"module {index + 1} ({name})"
        if kind == "conv":
            kw, kh = int(_field(module, "kW", 0)), int(_field(module, "kH", 0))
            strides = (int(_field(module, "dW", 1)), int(_field(module, "dH", 1)))
            pads = (int(_field(module, "padW", _field(module, "padding", 0))),
                    int(_field(module, "padH", 0)))
            if min(kw, kh) != 1 or strides != (1, 1) or pads != (0, 0):
                raise WeightsError(f"{path}: {where} has kernel {kw}x{kh}, stride {strides}, "
                                   f"padding {pads}; expected a 1-D kernel, stride 1, no padding")
            weight = np.asarray(module["weight"], dtype=np.float32)
            bias = np.asarray(module["bias"], dtype=np.float32)
            n_out, n_in = int(_field(module, "nOutputPlane", -1)), int(_field(module, "nInputPlane", -1))
            kernel = kw * kh
            if weight.size != n_out * n_in * kernel or weight.shape[0] != n_out or bias.shape != (n_out,):
                raise WeightsError(f"{path}: {where} weight {weight.shape} / bias {bias.shape} do "
                                   f"not match nOutputPlane={n_out}, nInputPlane={n_in}, kernel {kernel}")
            # (out, in*kH*kW) or (out, in, kH, kW): one spatial axis is 1, so (out, in, k).
            convs.append((weight.reshape(n_out, n_in, kernel), bias, kernel))
            scales.append(scale)
            scale = 1.0
        elif kind == "threshold":
            th, val = float(_field(module, "threshold", 0)), float(_field(module, "val", 0))
            if th != 0 or not np.isclose(val, 1e-6, rtol=1e-3, atol=0):
                raise WeightsError(f"{path}: {where} is Threshold({th:g}, {val:g}), expected "
                                   "Threshold(0, 1e-06)")
        elif kind == "pool":
            size = (int(_field(module, "kW", 0)), int(_field(module, "kH", 0)))
            stride = (int(_field(module, "dW", 0)), int(_field(module, "dH", 0)))
            if sorted(size) != [1, 4] or size != stride:
                raise WeightsError(f"{path}: {where} pools {size} with stride {stride}; expected "
                                   "a 1-D pool of 4 with stride 4")
        elif kind == "linear":
            weight = np.asarray(module["weight"], dtype=np.float32)
            bias = np.asarray(module["bias"], dtype=np.float32)
            if weight.ndim != 2 or bias.shape != (weight.shape[0],):
                raise WeightsError(f"{path}: {where} weight {weight.shape} / bias {bias.shape}; "
                                   "expected (out, in) and (out,)")
            linears.append((weight, bias))
            scales.append(scale)
            scale = 1.0
    if step != len(expected):
        raise WeightsError(f"{path}: the model ends after {step} of DeepSEA's {len(expected)} "
                           f"modules; expected {' -> '.join(expected)}")
    return convs, linears, scales


def _deepsea_from_state_dict(path: Path) -> tuple[list, list, list]:
    """Kipoi's PyTorch conversion: keys 0/4/8 (convs), 12.1/14.1 (linears), optional prefix."""
    try:
        import torch
    except ImportError:
        raise WeightsError(f"{path}: is a PyTorch file; reading it needs PyTorch, which is not "
                           "installed (pip install torch), or use DeepSEA's Torch7 deepsea.cpu") \
            from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, a full nn.Module refused by weights_only, ...
        raise WeightsError(f"{path}: cannot read as a PyTorch state dict "
                           f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]})") from None
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: holds a {type(state).__name__}, expected a state dict")
    prefixes = {k[:-len("14.1.weight")] for k in state if str(k).endswith("14.1.weight")}
    prefixes = {p for p in prefixes if p == "" or p.endswith(".")}
    if len(prefixes) != 1:
        raise WeightsError(f"{path}: expected keys 0.weight, 4.weight, 8.weight, 12.1.weight, "
                           f"14.1.weight (optionally prefixed, e.g. '2.'); found "
                           f"{', '.join(sorted(map(str, state))[:8])}")
    prefix = prefixes.pop()

    def tensor(key):
        if prefix + key not in state:
            raise WeightsError(f"{path}: key '{prefix}{key}' is missing")
        return state[prefix + key].detach().cpu().float().numpy()

    convs = []
    for key in ("0", "4", "8"):
        weight, bias = tensor(f"{key}.weight"), tensor(f"{key}.bias")
        if weight.ndim != 4 or 1 not in weight.shape[2:] or bias.shape != (weight.shape[0],):
            raise WeightsError(f"{path}: '{prefix}{key}.weight' has shape {weight.shape} (bias "
                               f"{bias.shape}); expected (out, in, 1, k) and (out,)")
        kernel = weight.shape[2] * weight.shape[3]
        convs.append((weight.reshape(weight.shape[0], weight.shape[1], kernel), bias, kernel))
    linears = [(tensor(f"{key}.weight"), tensor(f"{key}.bias")) for key in ("12.1", "14.1")]
    # Kipoi's modules are PyTorch nn.Dropout (inverted): no scaling at inference.
    return convs, linears, [1.0] * 5


def _is_torch_zip_or_pickle(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def convert_deepsea(weights_path: str | os.PathLike, *, sequence_length: int = 1000) -> Converted:
    """Read DeepSEA's Torch7 ``deepsea.cpu`` or Kipoi's PyTorch state dict; convert."""
    path = Path(weights_path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_HDF5_MAGIC):
        raise WeightsError(f"{path}: is an HDF5 file; DeepSEA weights are a Torch7 binary "
                           "(deepsea.cpu) or a PyTorch state dict (.pth)")
    if _is_torch_zip_or_pickle(head):
        convs, linears, scales = _deepsea_from_state_dict(path)
        note = f"{path.name}: PyTorch state dict (Kipoi layout)"
    else:
        convs, linears, scales = _deepsea_from_t7(path)
        note = f"{path.name}: Torch7 binary"

    length = sequence_length
    n_in = 4
    for i, (weight, bias, kernel) in enumerate(convs):
        if weight.shape[1] != n_in or kernel != 8:
            raise WeightsError(f"{path}: convolution {i + 1} has {weight.shape[1]} input channels "
                               f"and kernel {kernel}; expected {n_in} and 8")
        wanted = DEEPSEA_CONV_FILTERS[i]
        if wanted is not None and weight.shape[0] != wanted:
            raise WeightsError(f"{path}: convolution {i + 1} has {weight.shape[0]} filters, "
                               f"expected {wanted} (DeepSEA)")
        n_in = weight.shape[0]
        length = length - kernel + 1
        if i < 2:
            length //= 4
    if length < 1:
        raise ValueError(f"sequence_length={sequence_length} is too short for DeepSEA")
    (hidden_w, hidden_b), (out_w, out_b) = linears
    channels = convs[2][0].shape[0]
    if hidden_w.shape[1] != channels * length:
        raise WeightsError(f"{path}: the first Linear has {hidden_w.shape[1]} inputs, expected "
                           f"{channels * length} ({channels} channels x {length} positions for "
                           f"sequence length {sequence_length})")
    if out_w.shape[1] != hidden_w.shape[0]:
        raise WeightsError(f"{path}: the second Linear has {out_w.shape[1]} inputs, expected "
                           f"{hidden_w.shape[0]} (outputs of the first)")

    converted = Converted("deepsea", dict(sequence_length=sequence_length,
                                          num_targets=int(out_w.shape[0]),
                                          filters=int(convs[0][0].shape[0]),
                                          hidden_units=int(hidden_w.shape[0])),
                          num_params=int(sum(w.size + b.size for w, b, _ in convs)
                                         + sum(w.size + b.size for w, b in linears)))
    converted.notes.append(note)
    if any(s != 1.0 for s in scales):
        converted.notes.append("Torch7 pre-v2 inference dropout folded in: input scales "
                               + ", ".join(f"{s:g}" for s in scales))
    for i, ((weight, bias, _), scale) in enumerate(zip(convs, scales[:3])):
        # Torch cross-correlation, (out, in, k) -> Keras (k, in, out); no flip.
        converted.layers[f"conv{i + 1}"] = [weight.transpose(2, 1, 0) * np.float32(scale), bias]
    # Torch flattened (channels, length) channel-major; Keras flattens (length, channels).
    kernel = hidden_w.T.reshape(channels, length, -1).transpose(1, 0, 2).reshape(channels * length, -1)
    converted.layers["hidden"] = [np.ascontiguousarray(kernel) * np.float32(scales[3]), hidden_b]
    converted.layers["predictions"] = [np.ascontiguousarray(out_w.T) * np.float32(scales[4]), out_b]
    return converted


# ----------------------------------------------------------------------------- public API

def convert_published(name: str, weights_path: str | os.PathLike, *, sequence_length: int = 1000,
                      scale_dropout: bool = True) -> Converted:
    """Read and check a published weights file; return its Keras 3 weights and architecture."""
    if name not in PUBLISHED:
        raise ValueError(f"unknown published model {name!r}; expected one of {', '.join(PUBLISHED)}")
    path = Path(weights_path)
    if not path.is_file():
        raise WeightsError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    if name == "deepsea":
        return convert_deepsea(path, sequence_length=sequence_length)
    with open(path, "rb") as handle:
        if handle.read(8) != _HDF5_MAGIC:
            raise WeightsError(f"{path}: not an HDF5 file; {name} weights are the Keras 0.2 "
                               "save_weights HDF5 from the DanQ site")
    return convert_danq(name, path, sequence_length=sequence_length, scale_dropout=scale_dropout)


def _check_backward(backward: str) -> None:
    if backward not in BACKWARD_MODES:
        raise ValueError(f"backward={backward!r} is not allowed; expected one of "
                         f"{', '.join(BACKWARD_MODES)}")


def load_published(name: str, weights_path: str | os.PathLike, *, backward: str = "reverse",
                   sequence_length: int = 1000, scale_dropout: bool = True) -> keras.Model:
    """Build the published model ``name`` and load its original weights file.

    Parameters
    ----------
    name : {"deepsea", "danq", "danq-jaspar"}
    weights_path : path to ``deepsea.cpu`` (Torch7) or Kipoi's ``.pth`` for DeepSEA;
        ``DanQ_bestmodel.hdf5`` / ``DanQ-JASPAR_bestmodel.hdf5`` for the DanQ models.
    backward : {"reverse", "forward", "reverse-unaligned"}
        Direction of DanQ's backward LSTM (see the module docstring); ignored for DeepSEA.
    sequence_length : input length the file's dense layer was trained for (1000).
    scale_dropout : fold Keras 0.2's inference-time dropout factors into the weights (DanQ).

    Returns an uncompiled ``keras.Model`` taking ``(N, L, 4)`` one-hot A, G, C, T input.
    Raises ``WeightsError`` naming the file and what does not match.
    """
    _check_backward(backward)  # before the (slow) read
    converted = convert_published(name, weights_path, sequence_length=sequence_length,
                                  scale_dropout=scale_dropout)
    return build_converted(converted, backward=backward)


def build_converted(converted: Converted, *, backward: str = "reverse") -> keras.Model:
    """Build the Keras model for ``converted`` and set its weights."""
    _check_backward(backward)
    kwargs = dict(converted.builder_kwargs)
    weights = dict(converted.layers)
    if converted.name == "deepsea":
        model = build_deepsea(**kwargs)
    else:
        builder = build_danq_original if converted.name == "danq" else build_danq_jaspar
        model = builder(**kwargs, backward_in_reverse=backward != "forward")
        if backward == "reverse-unaligned":
            spec = _DANQ_SPECS[converted.name]
            steps = _danq_steps(spec, kwargs["sequence_length"])
            kernel, bias = weights["hidden"]
            weights["hidden"] = [_unalign_backward_rows(kernel, steps, kwargs["lstm_units"]), bias]
        forward_w, backward_w = weights.pop("bilstm/forward"), weights.pop("bilstm/backward")
        if backward == "forward":
            model.get_layer("bilstm_forward").set_weights(forward_w)
            model.get_layer("bilstm_backward").set_weights(backward_w)
        else:
            bidirectional = model.get_layer("bilstm")
            bidirectional.forward_layer.set_weights(forward_w)
            bidirectional.backward_layer.set_weights(backward_w)
    for layer_name, values in weights.items():
        model.get_layer(layer_name).set_weights(values)
    return model


# ----------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    """Convert a published weights file once and save it as a normal ``.keras`` model."""
    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.published",
        description="Convert the published DeepSEA / DanQ / DanQ-JASPAR weights into a Keras 3 "
                    ".keras file (loadable with keras.models.load_model after importing models).")
    parser.add_argument("name", choices=PUBLISHED, help="which published model")
    parser.add_argument("weights", help="deepsea.cpu / Kipoi .pth (DeepSEA) or "
                                        "DanQ_bestmodel.hdf5 / DanQ-JASPAR_bestmodel.hdf5")
    parser.add_argument("output", help="where to write the .keras file (must end in .keras)")
    parser.add_argument("--backward", choices=BACKWARD_MODES, default="reverse",
                        help="direction of DanQ's backward LSTM [default: %(default)s]")
    parser.add_argument("--sequence-length", type=int, default=1000,
                        help="input length the weights were trained for [default: %(default)s]")
    parser.add_argument("--no-dropout-scaling", action="store_true",
                        help="do not fold Keras 0.2's inference-time dropout factors into the "
                             "DanQ weights [default: fold them]")
    parser.add_argument("--force", action="store_true",
                        help="overwrite OUTPUT if it exists [default: %(default)s]")
    args = parser.parse_args(argv)

    output = Path(args.output)
    if output.suffix != ".keras":
        parser.error(f"{output}: the output name must end in .keras")
    from rundir import check_output_path, save_model

    check_output_path(output, inputs=[args.weights], force=args.force)
    try:
        converted = convert_published(args.name, args.weights, sequence_length=args.sequence_length,
                                      scale_dropout=not args.no_dropout_scaling)
        model = build_converted(converted, backward=args.backward)
    except WeightsError:
        raise
    except ValueError as exc:  # a builder's check of the converted shapes
        raise WeightsError(f"{args.weights}: {exc}") from None
    save_model(model, output)  # under a temporary name, then renamed: never a half-written model
    for note in converted.notes:
        print(note)
    backward = f", backward={args.backward}" if args.name != "deepsea" else ""
    print(f"{args.name}: {model.count_params():,} parameters, {converted.builder_kwargs['num_targets']} "
          f"targets{backward}; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
