"""Published-weight loaders: files written in the exact original layouts with random values,
loaded into Keras 3, and compared with independent numpy forward passes of the ORIGINAL
semantics (Theano true convolution, Keras 0.2 LSTM with hard sigmoid and non-inverted
dropout, Torch7 SpatialConvolutionMM / Threshold / channel-major Reshape)."""
import struct
import sys

import h5py
import numpy as np
import pytest
from helpers import write_keras02

from models import published
from models.published import WeightsError, load_published

ATOL = 1e-5


# --------------------------------------------------------------------------- Keras 0.2 / DanQ

# Reduced but same-family architectures: published kernel and pool sizes, few units.
DANQ_SMALL = {
    "danq": dict(kinds=["conv", None, None, "bilstm", None, None, "dense", None, "dense", None],
                 kernel=26, pool=13, length=100, filters=6, units=5, hidden=7, targets=4),
    "danq-jaspar": dict(kinds=["conv", None, None, "bilstm", None, None, "dense", "dense"],
                        kernel=30, pool=15, length=120, filters=6, units=4, hidden=7, targets=3),
}


def random_danq_layers(name, rng, shapes_only=False, **override):
    cfg = {**DANQ_SMALL[name], **override}
    f, u, h, t, k = cfg["filters"], cfg["units"], cfg["hidden"], cfg["targets"], cfg["kernel"]
    steps = (cfg["length"] - k + 1) // cfg["pool"]

    def arr(*shape, scale):
        return shape if shapes_only else (rng.normal(size=shape) * scale).astype(np.float32)

    dense = iter([((steps * 2 * u, h), 1.0), ((h, t), 1.5)])  # hidden, then output
    layers = []
    for kind in cfg["kinds"]:
        if kind == "conv":
            layers.append([arr(f, 4, k, 1, scale=0.4), arr(f, scale=0.2)])
        elif kind == "bilstm":  # forward then backward, each W_i,U_i,b_i,W_c,U_c,b_c,W_f,...,b_o
            layers.append([arr(*s, scale=0.6) for _ in range(2) for _ in "icfo"
                           for s in ((f, u), (u, u), (u,))])
        elif kind == "dense":
            shape, scale = next(dense)
            layers.append([arr(*shape, scale=scale), arr(shape[1], scale=0.2)])
        else:
            layers.append([])
    return layers


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


def theano_conv1d(x, w, b):
    """Keras 0.2 Convolution1D on Theano: TRUE convolution (kernel flipped), valid."""
    k = w.shape[2]
    n_out = x.shape[1] - k + 1
    out = np.zeros((x.shape[0], n_out, w.shape[0]))
    for a in range(k):
        out += x[:, a:a + n_out, :] @ w[:, :, k - 1 - a, 0].T
    return out + b


def keras02_lstm(x, params):
    """Keras 0.2 LSTM (return_sequences): hard-sigmoid gates, tanh, zero initial state."""
    w_i, u_i, b_i, w_c, u_c, b_c, w_f, u_f, b_f, w_o, u_o, b_o = params
    h = np.zeros((x.shape[0], u_i.shape[0]))
    c = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        i = hard_sigmoid(xt @ w_i + b_i + h @ u_i)
        f = hard_sigmoid(xt @ w_f + b_f + h @ u_f)
        c = f * c + i * np.tanh(xt @ w_c + b_c + h @ u_c)
        o = hard_sigmoid(xt @ w_o + b_o + h @ u_o)
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def danq_reference(name, layers, x, backward, scale_dropout=True):
    """The published DanQ forward pass at inference, in plain numpy (float64)."""
    cfg = DANQ_SMALL[name]
    weights = [[np.asarray(p, dtype=np.float64) for p in params] for params in layers]
    conv = np.maximum(theano_conv1d(x, *weights[0]), 0)
    steps = conv.shape[1] // cfg["pool"]
    pooled = conv[:, :steps * cfg["pool"]].reshape(len(x), steps, cfg["pool"], -1).max(axis=2)
    if scale_dropout:
        pooled = pooled * 0.8  # Keras 0.2 Dropout(0.2) at test time
    fwd = keras02_lstm(pooled, weights[3][:12])
    if backward == "forward":  # upstream seya: X[::-1] reversed the batch, twice
        bwd = keras02_lstm(pooled, weights[3][12:])
    elif backward == "reverse":
        bwd = keras02_lstm(pooled[:, ::-1], weights[3][12:])[:, ::-1]
    else:  # "reverse-unaligned"
        bwd = keras02_lstm(pooled[:, ::-1], weights[3][12:])
    seq = np.concatenate([fwd, bwd], axis=-1)
    if scale_dropout:
        seq = seq * 0.5  # Keras 0.2 Dropout(0.5) at test time
    flat = seq.reshape(len(x), -1)  # Theano reshape, row-major: t * 2U + feature
    hidden = np.maximum(flat @ weights[6][0] + weights[6][1], 0)
    last = weights[-1] if weights[-1] else weights[-2]
    return 1 / (1 + np.exp(-(hidden @ last[0] + last[1])))


def one_hot(rng, n, length):
    x = np.zeros((n, length, 4), dtype=np.float32)
    x[np.arange(n)[:, None], np.arange(length)[None], rng.integers(0, 4, size=(n, length))] = 1
    x[:, 3] = 0  # an N column
    return x


def predict(model, x):
    return np.asarray(model(x, training=False), dtype=np.float64)


@pytest.mark.parametrize("name,backward", [("danq", "reverse"), ("danq", "forward"),
                                           ("danq", "reverse-unaligned"),
                                           ("danq-jaspar", "reverse")])
def test_danq_matches_numpy_reference(tmp_path, name, backward):
    rng = np.random.default_rng(1)
    layers = random_danq_layers(name, rng)
    path = tmp_path / "weights.hdf5"
    write_keras02(path, layers)
    cfg = DANQ_SMALL[name]
    x = one_hot(rng, 3, cfg["length"])

    model = load_published(name, path, backward=backward, sequence_length=cfg["length"])
    got = predict(model, x)
    want = danq_reference(name, layers, x, backward)
    assert got.shape == (3, cfg["targets"])
    assert want.std() > 0.05  # not saturated: the comparison means something
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    # The conventions matter: another backward direction gives other predictions.
    other = "forward" if backward != "forward" else "reverse"
    assert np.abs(got - danq_reference(name, layers, x, other)).max() > 1e-3


def test_danq_without_dropout_scaling(tmp_path):
    rng = np.random.default_rng(2)
    layers = random_danq_layers("danq", rng)
    write_keras02(tmp_path / "w.hdf5", layers)
    x = one_hot(rng, 2, 100)
    got = predict(load_published("danq", tmp_path / "w.hdf5", sequence_length=100,
                                 scale_dropout=False), x)
    want = danq_reference("danq", layers, x, "reverse", scale_dropout=False)
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    assert np.abs(got - danq_reference("danq", layers, x, "reverse")).max() > 1e-3


@pytest.mark.parametrize("name,expected_params,kwargs", [
    ("danq", 46_926_479, dict(filters=320, lstm_units=320, hidden_units=925, num_targets=919)),
    ("danq-jaspar", 67_892_175, dict(filters=1024, lstm_units=512, hidden_units=925,
                                     num_targets=919)),
])
def test_full_size_layout_is_accepted(tmp_path, name, expected_params, kwargs):
    """Published shapes (datasets allocated lazily, so the file is tiny): the layout check
    infers the published architecture, and its size is Table 1's parameter count."""
    full = dict(filters=kwargs["filters"], units=kwargs["lstm_units"], hidden=925, targets=919,
                length=1000)
    path = tmp_path / "full.hdf5"
    write_keras02(path, random_danq_layers(name, None, shapes_only=True, **full))
    converted = published.convert_danq(name, path, read_values=False)
    assert converted.builder_kwargs == dict(sequence_length=1000, **kwargs)
    assert converted.num_params == expected_params


def _danq_file(tmp_path, rng, name="danq", mutate=None):
    layers = random_danq_layers(name, rng)
    if mutate:
        mutate(layers)
    path = tmp_path / f"{name}.hdf5"
    write_keras02(path, layers)
    return path


@pytest.mark.parametrize("mutate,message", [
    (lambda ls: ls[0].__setitem__(0, np.zeros((6, 4, 24, 1), np.float32)),
     r"layer_0/param_0 has shape \(6, 4, 24, 1\), expected \(6, 4, 26, 1\)"),
    (lambda ls: ls.__setitem__(3, ls[3][:12]), r"layer_3 \(Bidirectional\) has nb_params=12, expected 24"),
    (lambda ls: ls[3].__setitem__(13, np.zeros((6, 5), np.float32)),
     r"layer_3/param_13 has shape \(6, 5\), expected \(5, 5\) \(backward LSTM U_i\)"),
    (lambda ls: ls[6].__setitem__(0, np.zeros((40, 7), np.float32)),
     r"layer_6/param_0 has shape \(40, 7\), expected \(50, 7\)"),
    (lambda ls: ls[1].append(np.zeros(3, np.float32)), r"layer_1 \(MaxPooling1D\) has nb_params=1"),
])
def test_danq_wrong_architecture(tmp_path, mutate, message):
    path = _danq_file(tmp_path, np.random.default_rng(3), mutate=mutate)
    with pytest.raises(WeightsError, match=message) as info:
        load_published("danq", path, sequence_length=100)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_danq_damaged_files(tmp_path):
    rng = np.random.default_rng(4)
    jaspar = _danq_file(tmp_path, rng, name="danq-jaspar")
    with pytest.raises(WeightsError, match="nb_layers=8, expected 10.*looks like the danq-jaspar"):
        load_published("danq", jaspar, sequence_length=120)
    with pytest.raises(WeightsError, match="layer_6/param_0 .* sequence length 1000"):
        load_published("danq", _danq_file(tmp_path, rng))  # small file, published length
    text = tmp_path / "notes.hdf5"
    text.write_text("not weights\n")
    with pytest.raises(WeightsError, match="not an HDF5 file"):
        load_published("danq", text)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(WeightsError, match="no root attribute 'nb_layers'"):
        load_published("danq", tmp_path / "other.h5")
    missing = _danq_file(tmp_path, rng)
    with h5py.File(missing, "a") as f:
        del f["layer_6"]
    with pytest.raises(WeightsError, match="group 'layer_6'.* is missing"):
        load_published("danq", missing, sequence_length=100)
    with h5py.File(missing, "a") as f:
        del f["layer_3/param_5"]
    with pytest.raises(WeightsError, match="layer_3/param_5' is missing"):
        published.convert_danq("danq", missing, sequence_length=100)
    with pytest.raises(WeightsError, match="no such file"):
        load_published("danq", tmp_path / "absent.hdf5")
    with pytest.raises(ValueError, match="backward='sideways' is not allowed"):
        load_published("danq", missing, backward="sideways")
    with pytest.raises(ValueError, match="unknown published model 'basset'"):
        load_published("basset", missing)


# --------------------------------------------------------------------------- Torch7 / DeepSEA

class T7:
    """Minimal writer of Torch7's binary serialisation (torch7 File.lua / Tensor.c layout)."""

    NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN = 0, 1, 2, 3, 4, 5

    class Obj:
        def __init__(self, typename, fields):
            self.typename, self.fields = typename, fields

    class LongStorage:
        def __init__(self, values):
            self.values = list(values)

    def __init__(self, handle):
        self.f, self.index = handle, 0

    def _int(self, v):
        self.f.write(struct.pack("<i", v))

    def _long(self, v):
        self.f.write(struct.pack("<q", v))

    def _string(self, s):
        data = s.encode()
        self._int(len(data))
        self.f.write(data)

    def _header(self, typename):
        self._int(self.TORCH)
        self.index += 1
        self._int(self.index)
        self._string("V 1")
        self._string(typename)

    def write(self, v):
        if v is None:
            self._int(self.NIL)
        elif isinstance(v, bool):
            self._int(self.BOOLEAN)
            self._int(int(v))
        elif isinstance(v, (int, float)):
            self._int(self.NUMBER)
            self.f.write(struct.pack("<d", float(v)))
        elif isinstance(v, str):
            self._int(self.STRING)
            self._string(v)
        elif isinstance(v, (dict, list)):
            items = v.items() if isinstance(v, dict) else enumerate(v, start=1)
            items = list(items)
            self._int(self.TABLE)
            self.index += 1
            self._int(self.index)
            self._int(len(items))
            for key, value in items:
                self.write(key)
                self.write(value)
        elif isinstance(v, np.ndarray):  # torch.FloatTensor, contiguous
            self._header("torch.FloatTensor")
            self._int(v.ndim)
            for size in v.shape:
                self._long(size)
            strides = [int(np.prod(v.shape[i + 1:])) for i in range(v.ndim)]
            for stride in strides:
                self._long(stride)
            self._long(1)  # storage offset, 1-based
            if v.ndim == 0 or v.size == 0:
                self.write(None)
            else:
                self._header("torch.FloatStorage")
                self._long(v.size)
                self.f.write(np.ascontiguousarray(v, dtype="<f4").tobytes())
        elif isinstance(v, T7.LongStorage):
            self._header("torch.LongStorage")
            self._long(len(v.values))
            self.f.write(np.asarray(v.values, dtype="<i8").tobytes())
        elif isinstance(v, T7.Obj):
            self._header(v.typename)
            self.write(v.fields)
        else:
            raise TypeError(type(v))


EMPTY = np.zeros((0,), np.float32)


def _module(typename, **fields):
    return T7.Obj(typename, {"output": EMPTY, "gradInput": EMPTY, "train": False, **fields})


def deepsea_modules(weights, length, *, v2=True, relu_at=None):
    """DeepSEA's nn.Sequential, module by module as its training script built it
    (SpatialConvolutionMM(nIn, nOut, kW=1, kH=8) with 2-D weights, input (N, 4, L, 1))."""
    (w1, b1), (w2, b2), (w3, b3), (wl1, bl1), (wl2, bl2) = weights

    def conv(w, b):
        n_out, n_in = w.shape[0], w.shape[1] // 8
        return _module("nn.SpatialConvolutionMM", nInputPlane=n_in, nOutputPlane=n_out, kW=1,
                       kH=8, dW=1, dH=1, padW=0, padH=0, weight=w, bias=b, gradWeight=EMPTY,
                       gradBias=EMPTY, finput=EMPTY, fgradInput=EMPTY)

    def thr():
        return _module("nn.Threshold", threshold=0, val=1e-6, inplace=False)

    def pool():
        return _module("nn.SpatialMaxPooling", kW=1, kH=4, dW=1, dH=4, padW=0, padH=0,
                       indices=EMPTY)

    def drop(p):
        return _module("nn.Dropout", p=p, v2=v2, noise=EMPTY)

    flat = wl1.shape[1]
    modules = [conv(w1, b1), thr(), pool(), drop(0.2), conv(w2, b2), thr(), pool(), drop(0.2),
               conv(w3, b3), thr(), drop(0.5),
               _module("nn.Reshape", size=T7.LongStorage([flat]), nelement=flat,
                       batchsize=T7.LongStorage([1, flat])),
               _module("nn.Linear", weight=wl1, bias=bl1, gradWeight=EMPTY, gradBias=EMPTY),
               thr(),
               _module("nn.Linear", weight=wl2, bias=bl2, gradWeight=EMPTY, gradBias=EMPTY),
               _module("nn.Sigmoid")]
    if relu_at is not None:
        modules[relu_at] = _module("nn.ReLU", threshold=0, val=0, inplace=False)
    return _module("nn.Sequential", modules=modules)


DEEPSEA_LENGTH = 200  # conv 193 -> pool 48 -> conv 41 -> pool 10 -> conv 3 positions


def random_deepsea_weights(rng, filters=8, hidden=16, targets=5):
    def w(*shape, scale):
        return (rng.normal(size=shape) * scale).astype(np.float32)

    positions = 3
    return [(w(filters, 4 * 8, scale=0.5), w(filters, scale=0.1)),
            (w(480, filters * 8, scale=0.25), w(480, scale=0.1)),
            (w(960, 480 * 8, scale=0.03), w(960, scale=0.1)),
            (w(hidden, 960 * positions, scale=0.05), w(hidden, scale=0.1)),
            (w(targets, hidden, scale=0.5), w(targets, scale=0.1))]


def write_t7(path, obj):
    with open(path, "wb") as handle:
        T7(handle).write(obj)


def torch_deepsea_reference(weights, x, *, dropout_scale=(1.0, 1.0, 1.0)):
    """DeepSEA in Torch7 semantics: input (N, 4, L, 1); SpatialConvolutionMM = unfold the
    (channel, kernel-row) patches channel-major and multiply by the 2-D weight (no flip);
    Threshold(0, 1e-6); SpatialMaxPooling 4; Reshape channel-major; Linear y = x W^T + b."""
    h = x.transpose(0, 2, 1).astype(np.float64)  # (N, C, L): Torch's planes x height
    thr = lambda v: np.where(v > 0, v, 1e-6)  # noqa: E731
    for i, (w, b) in enumerate(weights[:3]):
        n_in, length = h.shape[1], h.shape[2]
        n_out = length - 8 + 1
        columns = np.stack([h[:, c, k:k + n_out] for c in range(n_in) for k in range(8)], axis=1)
        h = thr(np.einsum("oj,njt->not", w.astype(np.float64), columns) + b[:, None])
        if i < 2:
            t = h.shape[2] // 4
            h = h[:, :, :t * 4].reshape(h.shape[0], h.shape[1], t, 4).max(axis=3)
        h = h * dropout_scale[i]
    flat = h.reshape(h.shape[0], -1)  # nn.Reshape of (N, C, T, 1): index c * T + t
    hidden = thr(flat @ weights[3][0].T.astype(np.float64) + weights[3][1])
    return 1 / (1 + np.exp(-(hidden @ weights[4][0].T.astype(np.float64) + weights[4][1])))


@pytest.fixture(scope="module")
def deepsea_case(tmp_path_factory):
    rng = np.random.default_rng(5)
    weights = random_deepsea_weights(rng)
    x = one_hot(rng, 3, DEEPSEA_LENGTH)
    path = tmp_path_factory.mktemp("deepsea") / "deepsea.cpu"
    write_t7(path, deepsea_modules(weights, DEEPSEA_LENGTH))
    model = load_published("deepsea", path, sequence_length=DEEPSEA_LENGTH)
    return weights, x, path, predict(model, x)


def test_deepsea_t7_matches_torch_reference(deepsea_case, tmp_path):
    import keras

    weights, x, path, got = deepsea_case
    want = torch_deepsea_reference(weights, x)
    assert got.shape == (3, 5) and want.std() > 0.05
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    # A converted model is a normal .keras file (Threshold activation included).
    load_published("deepsea", path, sequence_length=DEEPSEA_LENGTH).save(tmp_path / "d.keras")
    np.testing.assert_allclose(predict(keras.models.load_model(tmp_path / "d.keras"), x), want,
                               atol=ATOL, rtol=0)


def test_deepsea_t7_pre_v2_dropout_scales(tmp_path):
    rng = np.random.default_rng(6)
    weights = random_deepsea_weights(rng)
    x = one_hot(rng, 2, DEEPSEA_LENGTH)
    write_t7(tmp_path / "old.t7", deepsea_modules(weights, DEEPSEA_LENGTH, v2=False))
    got = predict(load_published("deepsea", tmp_path / "old.t7", sequence_length=DEEPSEA_LENGTH), x)
    want = torch_deepsea_reference(weights, x, dropout_scale=(0.8, 0.8, 0.5))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    assert np.abs(got - torch_deepsea_reference(weights, x)).max() > 1e-3


def test_deepsea_t7_damaged(tmp_path, deepsea_case):
    weights, _, good, _ = deepsea_case
    write_t7(tmp_path / "relu.cpu", deepsea_modules(weights, DEEPSEA_LENGTH, relu_at=1))
    with pytest.raises(WeightsError, match="module 2 is nn.ReLU, expected threshold"):
        load_published("deepsea", tmp_path / "relu.cpu", sequence_length=DEEPSEA_LENGTH)
    with pytest.raises(WeightsError, match="first Linear has 2880 inputs, expected 50880"):
        load_published("deepsea", good)  # the small file at the published length
    truncated = tmp_path / "truncated.cpu"
    truncated.write_bytes(good.read_bytes()[:200_000])
    with pytest.raises(WeightsError, match="cannot parse the Torch7 file"):
        load_published("deepsea", truncated, sequence_length=DEEPSEA_LENGTH)
    garbage = tmp_path / "garbage.cpu"
    garbage.write_bytes(b"\x03\x00\x00\x00" + bytes(range(200)))
    with pytest.raises(WeightsError, match="not a Torch7 binary nn model"):
        load_published("deepsea", garbage)
    h5 = tmp_path / "deepsea.h5"
    with h5py.File(h5, "w") as f:
        f.attrs["nb_layers"] = 0
    with pytest.raises(WeightsError, match="is an HDF5 file"):
        load_published("deepsea", h5)
    small_conv2 = [weights[0], (weights[1][0][:100], weights[1][1][:100])] + weights[2:]
    write_t7(tmp_path / "narrow.cpu", deepsea_modules(small_conv2, DEEPSEA_LENGTH))
    with pytest.raises(WeightsError, match="convolution 2 has 100 filters, expected 480"):
        load_published("deepsea", tmp_path / "narrow.cpu", sequence_length=DEEPSEA_LENGTH)


def kipoi_state_dict(torch, weights, prefix=""):
    """Kipoi's deepsea_cpu.pth keys: Conv2d (out, in, 1, 8) at 0/4/8, Linear at 12.1/14.1."""
    state = {}
    for key, (w, b) in zip(("0", "4", "8"), weights[:3]):
        state[f"{prefix}{key}.weight"] = torch.from_numpy(w.reshape(w.shape[0], -1, 1, 8).copy())
        state[f"{prefix}{key}.bias"] = torch.from_numpy(b)
    for key, (w, b) in zip(("12.1", "14.1"), weights[3:]):
        state[f"{prefix}{key}.weight"] = torch.from_numpy(w)
        state[f"{prefix}{key}.bias"] = torch.from_numpy(b)
    return state


@pytest.mark.parametrize("prefix", ["", "2."])
def test_deepsea_pytorch_state_dict(tmp_path, deepsea_case, prefix):
    torch = pytest.importorskip("torch")
    weights, x, _, from_t7 = deepsea_case
    path = tmp_path / "deepsea_cpu.pth"
    torch.save(kipoi_state_dict(torch, weights, prefix), path)
    got = predict(load_published("deepsea", path, sequence_length=DEEPSEA_LENGTH), x)
    np.testing.assert_allclose(got, torch_deepsea_reference(weights, x), atol=ATOL, rtol=0)
    np.testing.assert_allclose(got, from_t7, atol=ATOL, rtol=0)


def test_deepsea_pytorch_damaged(tmp_path, deepsea_case, monkeypatch):
    weights = deepsea_case[0]
    path = tmp_path / "deepsea.pth"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(WeightsError, match="needs PyTorch, which is not installed"):
        load_published("deepsea", path)
    monkeypatch.undo()
    torch = pytest.importorskip("torch")
    with pytest.raises(WeightsError, match="cannot read as a PyTorch state dict"):
        load_published("deepsea", path)
    state = kipoi_state_dict(torch, weights)
    del state["8.bias"]
    torch.save(state, path)
    with pytest.raises(WeightsError, match="key '8.bias' is missing"):
        load_published("deepsea", path, sequence_length=DEEPSEA_LENGTH)
    torch.save({"conv.weight": torch.zeros(2)}, path)
    with pytest.raises(WeightsError, match="expected keys 0.weight"):
        load_published("deepsea", path)


# --------------------------------------------------------------------------- .keras round trip

@pytest.mark.parametrize("backward", ["reverse", "forward"])
def test_cli_converts_to_keras_file(tmp_path, capsys, backward):
    import keras

    rng = np.random.default_rng(7)
    layers = random_danq_layers("danq", rng)
    write_keras02(tmp_path / "w.hdf5", layers)
    out = tmp_path / "out" / "danq.keras"
    code = published.main(["danq", str(tmp_path / "w.hdf5"), str(out), "--sequence-length", "100",
                           "--backward", backward])
    assert code == 0 and out.is_file()
    assert f"backward={backward}; wrote" in capsys.readouterr().out
    x = one_hot(rng, 2, 100)
    reloaded = keras.models.load_model(out)
    np.testing.assert_allclose(predict(reloaded, x), danq_reference("danq", layers, x, backward),
                               atol=ATOL, rtol=0)
    assert sorted(p.name for p in out.parent.iterdir()) == ["danq.keras"]  # no temporary left

    bad = tmp_path / "bad.hdf5"
    bad.write_text("junk")
    assert published.main(["danq", str(bad), str(tmp_path / "bad.keras")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(bad) in err and "\n" not in err
    assert not (tmp_path / "bad.keras").exists()
