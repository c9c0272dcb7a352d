"""bench.roofline and bench.profile_step: the arithmetic of rates and ratios by hand, op-name
classification, and short end-to-end runs on a CNN pair."""
import os

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from bench import profile_step, roofline

LAYERS = ["sequence", "conv1", "pool1", "bilstm", "predictions"]


def test_rates_and_ratios_by_hand():
    entry = {"flops": 2e9, "batch": 10}
    times = {"wall": [1.0, 2.0, 4.0], "cpu": [2.0, 4.0, 8.0]}
    matmul = {"wall": [0.5, 1.0, 1.0], "cpu": [1.0, 2.0, 2.0]}  # 10 GFLOP per call
    r = roofline.rates(entry, times, matmul, 10e9)
    assert r["seq_per_s"] == pytest.approx(5.0)
    assert r["gflops"] == pytest.approx(10.0)
    # per round: (20 GFLOP / t) / (10 GFLOP / m) = 2 m / t -> 1.0, 1.0, 0.5
    assert r["fraction"] == pytest.approx(1.0) and r["cpu_fraction"] == pytest.approx(1.0)
    slow, fast = {"wall": [3.0, 9.0, 6.0]}, {"wall": [1.0, 3.0, 3.0]}
    assert roofline.ratio(slow, fast, "wall") == pytest.approx(3.0)
    assert roofline.ratio(slow, fast, "wall", per=(1, 2)) == pytest.approx(6.0)


@pytest.mark.parametrize("name, expected", [
    ("crnn_1/conv1_1/convolution", ("conv1", "forward")),
    ("gradient_tape/crnn_1/conv1_1/convolution/Conv2DBackpropFilter", ("conv1", "gradient")),
    ("crnn_1/bilstm_1/forward_lstm_1/while/body/_1/crnn_1/bilstm_1/forward_lstm_1/while/MatMul",
     ("bilstm/forward_lstm (time loop)", "forward")),
    ("gradient_tape/crnn_1/bilstm_1/backward_lstm_1/MatMul/MatMul", ("bilstm/backward_lstm", "gradient")),
    ("adam/Sqrt", ("(other)", "optimizer")),
    ("compile_loss/binary_crossentropy/Mean", ("loss", "forward")),
])
def test_classify(name, expected):
    assert profile_step.classify(name, "crnn", LAYERS) == expected


def test_short_op_name():
    name = ("gradient_tape/crnn_1/bilstm_1/forward_lstm_1/while/crnn_1/bilstm_1/forward_lstm_1/"
            "while_grad/body/_1//gradient_tape/crnn_1/bilstm_1/forward_lstm_1/while/gradients/"
            "crnn_1/bilstm_1/forward_lstm_1/while/MatMul_grad/MatMul_1")
    assert profile_step.short_op_name(name, "crnn", LAYERS) == \
        "grad of bilstm/forward_lstm/while/MatMul_grad/MatMul_1"


def test_profile_step_end_to_end(tmp_path):
    out = tmp_path / "profile.md"
    assert profile_step.main(["--model", "cnn-300-projection", "--batch-size", "2", "--steps", "1",
                              "--warmup", "1", "--top", "60", "-o", str(out)]) == 0
    text = out.read_text()
    assert "| (other) | optimizer |" in text  # Adam over 9.6M weights dominates at batch 2
    assert "| conv1 | gradient | `conv1/convolution/Conv2DBackpropFilter` |" in text


@pytest.mark.slow
def test_roofline_quick_models_section(tmp_path):
    out = tmp_path / "roofline.md"
    assert roofline.main(["--quick", "--sections", "models", "--models", "cnn-300,cnn-300-projection",
                          "-o", str(out)]) == 0
    text = out.read_text()
    assert "| cnn-300 | 9,900,371 | 8 |" in text and "| cnn-300-projection | 9,587,283 | 8 |" in text
    assert "| cnn-300 / cnn-300-projection |" in text


def test_roofline_rejects_unknown_section_and_model(capsys):
    assert roofline.main(["--sections", "speed"]) == 2
    assert roofline.main(["--models", "crnn-9000"]) == 2
    assert "crnn-9000" in capsys.readouterr().err
