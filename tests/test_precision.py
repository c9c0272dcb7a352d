"""training.precision: policy choice and bfloat16 unit detection from /proc/cpuinfo text;
the builders' output_dtype under a mixed policy."""
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from training import precision

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme avx2 avx512f avx512_bf16 avx512_vnni
processor\t: 1
flags\t\t: fpu vme avx2 avx512f avx512_bf16 avx512_vnni
"""
SAPPHIRE_RAPIDS = "flags\t: fpu avx512f amx_bf16 amx_tile amx_int8 avx512_bf16\n"
OLD = "flags\t: fpu sse4_2 avx avx2 fma\nmodel name\t: avx512_bf16 in a name is not a flag\n"


@pytest.fixture
def cpuinfo(tmp_path):
    def write(text):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        return str(path)
    return write


def test_bf16_units(cpuinfo):
    assert precision.cpu_bf16_units(cpuinfo(ZEN4)) == ["avx512_bf16"]
    assert precision.cpu_bf16_units(cpuinfo(SAPPHIRE_RAPIDS)) == ["avx512_bf16", "amx_bf16"]
    assert precision.cpu_bf16_units(cpuinfo(OLD)) == []
    assert precision.cpu_bf16_units("/nonexistent/cpuinfo") == []


def test_choose_policy(cpuinfo):
    assert precision.choose_policy("auto", gpus=True, cpuinfo_path=cpuinfo(OLD)) == "mixed_float16"
    assert precision.choose_policy("auto", gpus=False, cpuinfo_path=cpuinfo(ZEN4)) == "mixed_bfloat16"
    assert precision.choose_policy("auto", gpus=True, cpuinfo_path=cpuinfo(ZEN4)) == "mixed_float16"
    for explicit in ("float32", "mixed_float16", "mixed_bfloat16"):
        assert precision.choose_policy(explicit, gpus=False, cpuinfo_path=cpuinfo(OLD)) == explicit
    with pytest.raises(precision.PrecisionError, match="avx512_bf16 or amx_bf16"):
        precision.choose_policy("auto", gpus=False, cpuinfo_path=cpuinfo(OLD))
    with pytest.raises(precision.PrecisionError, match="'float16' is not allowed"):
        precision.choose_policy("float16", gpus=True)


def test_output_dtype():
    assert precision.output_dtype("float32") is None
    assert precision.output_dtype("mixed_bfloat16") == "float32"
    assert precision.output_dtype("mixed_float16") == "float32"


@pytest.mark.parametrize("preset, overrides", [
    ("crnn-320-projection", dict(filters=8, lstm_units=4, hidden_units=8)),
    ("cnn-300", dict(filters=8, hidden_units=8)),
    ("danq-300", dict(filters=8, lstm_units=4, hidden_units=8)),
    ("deepsea", dict(filters=8, hidden_units=8)),
])
def test_builders_output_dtype_under_mixed_policy(preset, overrides):
    import keras
    import numpy as np

    import models

    config = models.resolve_config(preset, num_targets=3, **overrides)
    assert "output_dtype" not in config
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = models.build_model(config, output_dtype=precision.output_dtype("mixed_bfloat16"))
        default = models.build_model(config)
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert model.get_layer("hidden").compute_dtype == "bfloat16"
    assert default.get_layer("predictions").compute_dtype == "bfloat16"
    x = np.eye(4, dtype="float32")[np.zeros((2, config["sequence_length"]), int)]
    assert model.predict_on_batch(x).dtype == np.float32
