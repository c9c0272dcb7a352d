"""Fast smoke tests of the benchmark helpers, the model benchmark on a shrunken CNN, and the report."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import common
from bench import bench_models, run_all

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- common


def test_time_calls_runs_warmup_untimed_then_repeats():
    calls = []
    times = common.time_calls(lambda: calls.append(1), warmup=2, repeats=3)
    assert len(calls) == 5 and len(times) == 3 and all(t >= 0 for t in times)
    with pytest.raises(ValueError, match="repeats"):
        common.time_calls(lambda: None, repeats=0)


def test_interleaved_times_alternates_and_rotates():
    order = []
    fns = {name: (lambda n=name: order.append(n)) for name in "abc"}
    times = common.interleaved_times(fns, warmup=1, repeats=3)
    assert order == list("abc") + list("abc") + list("bca") + list("cab")
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}


def test_round_ratios_cancel_load_changes_between_rounds():
    # the machine slows down 3x in round 2; each round's ratio is still 2
    assert common.round_ratios([2.0, 6.0], [1.0, 3.0]) == [2.0, 2.0]
    with pytest.raises(ValueError):
        common.round_ratios([1.0], [1.0, 2.0])


def test_summarize_median_and_throughput():
    s = common.summarize([0.4, 0.1, 0.2, 0.3], items_per_call=8)
    assert s["median_s"] == pytest.approx(statistics.median([0.4, 0.1, 0.2, 0.3]))
    assert s["items_per_s"] == pytest.approx(8 / 0.25)
    assert (s["min_s"], s["max_s"]) == (0.1, 0.4)


def test_full_epoch_hours():
    assert common.full_epoch_hours(4_400_000 / 3600) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        common.full_epoch_hours(0)


def test_random_batch_is_one_hot_and_reverse_complement_is_an_involution():
    x, y = common.random_batch(3, 20, 5, seed=1)
    assert x.shape == (3, 20, 4) and y.shape == (3, 5) and x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x.sum(-1), 1)
    rc = common.reverse_complement(x)
    # AGCT order: A<->T (0<->3), G<->C (1<->2), read backwards.
    codes = x.argmax(-1)
    np.testing.assert_array_equal(rc.argmax(-1), (3 - codes)[:, ::-1])
    np.testing.assert_array_equal(common.reverse_complement(rc), x)


def test_write_json_is_atomic_and_converts_numpy(tmp_path):
    path = tmp_path / "sub" / "r.json"
    common.write_json(path, {"a": np.float32(1.5), "b": [np.int64(2)], "c": float("inf")})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [2], "c": None}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left behind


def test_machine_info_describes_cpu_and_memory():
    info = common.machine_info(with_tensorflow=False)
    assert info["cores"] >= 1 and info["cpu"] and "UTC" in info["date_utc"]


# ----------------------------------------------------------------------------- bench_models


def test_expand_models_and_pairing():
    names = bench_models.expand_models("crnn-320-projection,cnn,crnn-320")
    assert names[0] == "crnn-320-projection" and "cnn-1000-projection" in names and len(names) == 10
    groups = bench_models.pair_groups(["deepsea", "crnn-320-projection", "crnn-320", "cnn-300"])
    assert groups == [["deepsea"], ["crnn-320", "crnn-320-projection"], ["cnn-300"]]


class _Doubler:
    """Stands in for a Keras model: the 'prediction' is the first channel summed over positions."""

    def predict_on_batch(self, x):
        return x[..., 0].sum(axis=1, keepdims=True)


def test_strand_averaged_predict_means_forward_and_reverse_complement():
    x, _ = common.random_batch(4, 10, seed=2)
    got = bench_models.strand_averaged_predict(_Doubler(), x)
    expected = 0.5 * (x[..., 0].sum(1) + x[..., 3].sum(1))  # RC turns A (ch 0) into T (ch 3)
    np.testing.assert_allclose(got[:, 0], expected)


TINY = ["--override", "filters=8", "--override", "hidden_units=16", "--override", "num_targets=8",
        "--batch-size", "2", "--warmup", "0", "--repeats", "1", "--check-repeats", "2",
        "--fast-lstm-pairs", ""]


def test_bench_models_end_to_end_on_a_tiny_cnn_pair(tmp_path):
    out = tmp_path / "models.json"
    rc = bench_models.main(["--json", str(out), "--models", "cnn-300,cnn-300-projection",
                            "--strand-model", "cnn-300-projection", "--variant-models", "cnn-300",
                            "--variants", "faithful,mixed,fast-lstm", *TINY])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["device"] == "CPU" and "bench.bench_models" in doc["command"]
    rows = {r["name"]: r for r in doc["models"]}
    assert set(rows) == {"cnn-300", "cnn-300-projection"}
    for r in rows.values():
        assert r["batch_size"] == 2 and r["sequence_length"] == 500 and r["jit_compile"] is False
        assert len(r["train"]["times_s"]) == 1 and r["train_seq_per_s"] > 0
        assert r["full_epoch_hours"] == pytest.approx(4_400_000 / r["train_seq_per_s"] / 3600)
    (pair,) = doc["projection_pairs"]
    assert pair["train_speedup"] == pytest.approx(  # one round: per-round ratio = ratio of medians
        rows["cnn-300-projection"]["train_seq_per_s"] / rows["cnn-300"]["train_seq_per_s"], rel=1e-3)
    assert pair["must_show"] is False
    st = doc["strand"]
    assert st["rows_per_call"] == 2
    # per sequence: a strand-averaged call scores half as many sequences as a single-strand call
    (a1, a2), (s1, s2) = st["averaged"]["times_s"], st["single"]["times_s"]
    assert st["ratio"] == pytest.approx(statistics.median([2 * a1 / s1, 2 * a2 / s2]), rel=1e-3)
    assert len(st["single"]["times_s"]) == 2 and st["passed"] == (st["ratio"] <= 2.1)
    variants = {v["variant"]: v for v in doc["variants"]}
    assert list(variants) == ["faithful", "mixed", "fast-lstm"]
    assert "GPU" in variants["mixed"]["skipped"] and "no LSTM" in variants["fast-lstm"]["skipped"]
    assert variants["faithful"]["train_speedup_vs_faithful"] == pytest.approx(1.0)


def test_bench_models_rejects_bad_input(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert bench_models.main(["--json", str(out), "--models", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err
    assert bench_models.main(["--json", str(out), "--models", "cnn-300", "--variants", "warp"]) == 2
    assert bench_models.main(["--json", str(out), "--models", "cnn-300", "--override", "nope=1"]) == 2
    assert bench_models.main(["--json", str(out), "--models", "cnn-300", "--fast-lstm-pairs", "cnn-300"]) == 2
    assert not out.exists()


def test_bench_models_records_a_failing_model_and_goes_on(tmp_path):
    out = tmp_path / "m.json"
    # 10 bp is too short for either model: each failure is recorded and the run goes on to the next.
    rc = bench_models.main(["--json", str(out), "--models", "cnn-300,deepsea", "--sections", "throughput",
                            "--override", "sequence_length=10", "--fast-lstm-pairs", ""])
    assert rc == 1
    doc = json.loads(out.read_text())
    assert [e["what"] for e in doc["errors"]] == ["cnn-300", "deepsea"]
    assert doc["models"] == [] and "too short" in doc["errors"][0]["error"]


# ----------------------------------------------------------------------------- run_all


def _models_doc(speedup: float, strand_ratio: float) -> dict:
    row = {"name": "crnn-320", "label": "crnn-320", "params": 2_727_335, "sequence_length": 1000,
           "batch_size": 256, "train_seq_per_s": 100.0, "predict_seq_per_s": 400.0,
           "full_epoch_hours": 12.2, "first_train_step_s": 9.0}
    proj = {**row, "name": "crnn-320-projection", "label": "crnn-320-projection",
            "train_seq_per_s": 100.0 * speedup}
    return {
        "command": "python -m bench.bench_models --json x", "device": "CPU",
        "machine": common.machine_info(with_tensorflow=False), "elapsed_s": 1.0,
        "settings": {"timed": "t", "optimizer": "Adam(3e-4)", "loss": "bce", "repeats": 3, "check_repeats": 5,
                     "warmup": 1, "batch_size": 256, "large_batch_size": 64, "overrides": {}},
        "models": [row, proj],
        "projection_pairs": [{"plain": "crnn-320", "projection": "crnn-320-projection",
                              "plain_train_seq_per_s": 100.0, "projection_train_seq_per_s": 100.0 * speedup,
                              "train_speedup": speedup, "predict_speedup": 1.2, "must_show": True,
                              "requested": True, "target": 1.3, "passed": speedup >= 1.3}],
        "strand": {"model": "crnn-320-projection", "rows_per_call": 256, "implementation": "x",
                   "single": {"median_s": 1.0, "items_per_s": 256.0},
                   "averaged": {"median_s": strand_ratio / 2, "items_per_s": 256.0 / strand_ratio},
                   "ratio": strand_ratio, "target": 2.1, "passed": strand_ratio <= 2.1},
    }


def test_checks_pass_fail_and_unmeasured():
    pipeline = {"500": {"seq_per_s": 9.0}, "1000": {"seq_per_s": 1000.0}}
    results = {"models": _models_doc(1.5, 2.3), "data": {"command": "d", "pipeline": pipeline},
               "metrics": None}
    checks = {c["check"].split()[0]: c for c in run_all.evaluate_checks(results)}
    assert checks["CRNN-320-projection"]["passed"] is True
    assert checks["input"]["measured"] == pytest.approx(1000.0 / 150.0) and checks["input"]["passed"] is True
    assert checks["strand-averaged"]["passed"] is False
    assert checks["metrics"]["passed"] is None


def test_run_all_renders_from_json_and_flags_failures(tmp_path):
    (tmp_path / "models.json").write_text(json.dumps(_models_doc(1.1, 2.0)))
    (tmp_path / "metrics.json").write_text(json.dumps({"command": "python -m bench.bench_metrics", "ratio": 1.4,
                                                      "rows": 100, "targets": 9}))
    out = tmp_path / "B.md"
    args = ["--from-json", str(tmp_path), "--out", str(out), "--gpu-doc", str(tmp_path / "none.md")]
    assert run_all.main(args) == 0  # a FAIL is reported in the page ...
    assert run_all.main(args + ["--strict"]) == 1  # ... and fails the run only with --strict
    page = out.read_text()
    assert "| CRNN-320-projection trains faster per epoch than CRNN-320 | 1.10x | >= 1.3x | **FAIL**" in page
    assert "| strand-averaged vs single-strand inference, cost per sequence | 2.00x | <= 2.1x | **PASS**" in page
    assert "| metrics (AUPRC+AP+AUROC) vs one argsort | 1.40x | <= 2x | **PASS**" in page
    assert "GPU figures are unmeasured" in page and "python -m bench.bench_models --json x" in page
    assert run_all.main(["--from-json", str(tmp_path / "missing"), "--out", str(out)]) == 2
    gpu_page = tmp_path / "GPU.md"
    assert run_all.main(["--gpu", "--from-json", str(tmp_path), "--out", str(gpu_page)]) == 0
    assert gpu_page.read_text().startswith("# Benchmarks on GPU") and "unmeasured" not in gpu_page.read_text()
    assert run_all.link_gpu_page(out, gpu_page)
    page = out.read_text()
    assert "unmeasured" not in page and "[GPU.md](GPU.md)" in page and "**FAIL**" in page


def test_run_all_runs_a_suite_in_a_subprocess(tmp_path):
    out = tmp_path / "B.md"
    rc = run_all.main(["--only", "metrics", "--quick", "--out", str(out), "--json-dir", str(tmp_path)])
    assert rc == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["rows"] == 20000
    assert "Quick mode" in out.read_text() and f"{doc['ratio']:.2f}x" in out.read_text()


def test_gpu_script_refuses_to_run_without_a_gpu():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PY": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--quick"], env=env, capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 1 and "no CUDA GPU visible" in proc.stderr
