"""bench/: the timing arithmetic by hand, every table on shrunken models (quick settings), the page,
and bench/gpu.sh. Timings are not checked for speed, only for being what the tables say they are."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import builds, data_speed, inference_speed, metrics_speed, run_all, timing, train_loop, training_speed

ROOT = Path(__file__).resolve().parent.parent


# --- timing -----------------------------------------------------------------------------------------

def test_interleaved_rotates_the_order_and_keeps_the_first_call():
    order = []
    calls = {name: (lambda n=name: order.append(n)) for name in "abc"}
    times = timing.interleaved(calls, warmup=1, repeats=3)
    assert order == list("abc") + list("abc") + list("bca") + list("cab")
    assert all(len(t.wall) == len(t.cpu) == 3 and t.first is not None for t in times.values())
    assert timing.interleaved(calls, warmup=0, repeats=1)["a"].first is None
    with pytest.raises(ValueError):
        timing.interleaved(calls, repeats=0)


def test_speedup_is_the_median_of_per_round_ratios():
    slow = timing.Times(wall=[2.0, 6.0, 4.0], cpu=[4.0, 12.0, 8.0])
    fast = timing.Times(wall=[1.0, 3.0, 1.0], cpu=[1.0, 3.0, 1.0])
    # the machine slowed 3x in round 2: each round's ratio still counts alike
    assert timing.speedup(slow, fast) == statistics.median([2.0, 2.0, 4.0])
    assert timing.speedup(slow, fast, "cpu") == 4.0
    assert timing.speedup(slow, fast, per=(2, 1)) == 1.0  # per item: slow calls do twice the items
    assert fast.rate(10) == 10 / 1.0 and slow.rate(4, "cpu") == 4 / 8.0
    with pytest.raises(ValueError):
        timing.speedup(slow, timing.Times(wall=[1.0]))


def test_random_batch_is_one_hot_and_table_is_markdown():
    x, y = timing.random_batch(3, 20, 5, seed=1)
    assert x.shape == (3, 20, 4) and y.shape == (3, 5) and x.dtype == y.dtype == np.float32
    np.testing.assert_array_equal(x.sum(-1), 1)
    assert timing.table(["a", "b"], [[1, 2]]) == ["| a | b |", "|---|---:|", "| 1 | 2 |"]
    assert timing.full_epoch_hours(4_400_000 / 3600) == pytest.approx(1.0)


def test_build_model_is_train_pys_build_and_compile():
    from training.settings import ADAM_EPSILON

    model = timing.build_model("crnn-320-projection", {"filters": 8, "lstm_units": 4, "no_such_key": 1},
                               stock_lstm=True, gate="sigmoid")
    lstm = model.get_layer("bilstm").forward_layer
    assert type(lstm).__module__.startswith("keras") and lstm.cell.recurrent_activation.__name__ == "sigmoid"
    assert model.get_layer("conv1").filters == 8
    assert model.optimizer.get_config()["epsilon"] == ADAM_EPSILON and model.jit_compile is False
    from cli import UserError

    with pytest.raises(UserError, match="no-such-gate"):
        timing.build_model("crnn-320-projection", gate="no-such-gate")


# --- tables on shrunken models --------------------------------------------------------------------------

def test_training_table_rates_and_pair_ratio_by_hand():
    settings = {**training_speed.QUICK, "repeats": 3}
    result = training_speed.measure(settings)
    plain, proj = result["rows"]["cnn-300"], result["rows"]["cnn-300-projection"]
    for r in (plain, proj):
        wall = np.array(r["times"]["wall"])
        assert r["batch"] == 4 and r["length"] == 500
        assert r["seq_per_s"] == pytest.approx(4 / np.median(wall))
    (pair,) = result["pairs"]
    per_round = np.array(plain["times"]["cpu"]) / np.array(proj["times"]["cpu"])
    assert pair["speedup_cpu"] == pytest.approx(np.median(per_round))
    assert pair["executed_ratio"] == pytest.approx(plain["executed_flops"] / proj["executed_flops"])
    assert pair["passed"] == (pair["speedup_cpu"] / pair["executed_ratio"] >= 0.9)
    text = "\n".join(training_speed.markdown(result, settings))
    assert "| cnn-300 / cnn-300-projection |" in text and "| cnn-300-projection |" in text


def test_groups_pair_each_model_with_its_twin():
    assert training_speed.groups(["deepsea", "crnn-320-projection", "crnn-320", "cnn-300"]) == \
        [["deepsea"], ["crnn-320", "crnn-320-projection"], ["cnn-300"]]


def test_builds_table_skips_what_does_not_apply():
    settings = {**builds.QUICK, "models": ("cnn-300",), "builds": ("default", "stock-lstm", "mixed"), "repeats": 1}
    result = builds.measure(settings)
    default, stock, mixed = result["rows"]
    assert default["vs_default"] == 1.0 and stock["skipped"] == "no LSTM"
    assert mixed.get("policy") == builds.mixed_policy(False) or "bfloat16 units" in mixed["skipped"]
    assert "| cnn-300 | 2 | stock-lstm | skipped: no LSTM |" in "\n".join(builds.markdown(result, settings))


def test_builds_checks_judge_keras_parity_and_bfloat16_by_wall_time():
    def row(model, batch, build, wall, cpu, policy="float32"):
        return {"model": model, "batch": batch, "build": build, "seq_per_s": 1.0, "policy": policy,
                "vs_default": wall, "vs_default_cpu": cpu}
    result = {"rows": [row("crnn-320-projection", 256, "keras-sigmoid", 0.95, 1.05),  # default 1.05x faster
                       row("crnn-320-projection", 64, "keras-sigmoid", 1.10, 1.0),    # Keras faster: fail
                       row("crnn-320-projection", 256, "mixed", 1.35, 1.1, "mixed_bfloat16"),
                       row("cnn-1000-projection", 256, "mixed", 1.5, 1.2, "mixed_bfloat16"),
                       row("crnn-320-projection", 64, "mixed", 1.0, 1.0, "mixed_bfloat16"),  # no target at 64
                       {"model": "x", "batch": 256, "build": "mixed", "skipped": "no bf16"}]}
    checks = {c["check"]: c for c in builds.checks(result)}
    assert len(checks) == 4
    keras256 = checks["crnn-320-projection default build at least as fast as unmodified Keras, batch 256 (wall)"]
    assert keras256["passed"] and keras256["measured"].startswith("1.05x")
    assert not checks["crnn-320-projection default build at least as fast as unmodified Keras, batch 64 (wall)"]["passed"]
    assert checks["crnn-320-projection bfloat16 >= 1.3x float32, batch 256 (wall)"]["passed"]
    assert not checks["cnn-1000-projection bfloat16 >= 1.6x float32, batch 256 (wall)"]["passed"]


@pytest.mark.slow
def test_builds_table_times_the_lstm_builds_interleaved():
    settings = {**builds.QUICK, "builds": ("default", "stock-lstm", "fast-lstm"), "repeats": 2}
    rows = {r["build"]: r for r in builds.measure(settings)["rows"]}
    stock = np.array(rows["stock-lstm"]["times"]["wall"])
    assert rows["stock-lstm"]["vs_default"] == pytest.approx(np.median(np.array(rows["default"]["times"]["wall"]) / stock))
    assert rows["fast-lstm"]["first_s"] > 0 and rows["fast-lstm"]["policy"] == "float32"


def test_inference_table_strand_ratio_is_per_sequence():
    settings = {**inference_speed.QUICK, "repeats": 3}
    result = inference_speed.measure(settings)
    s, v = result["strand"], result["variants"]
    assert s["rows"] == 4 and s["ratio"] >= 1.0 and s["passed"] == (s["ratio"] <= 2.1)
    assert s["averaged_seq_per_s"] < s["single_seq_per_s"]
    assert v["variants"] == 6 and v["end_to_end"] > 0 and v["model_only"] > 0
    strand, variants = inference_speed.checks(result)
    assert strand["passed"] == s["passed"] and variants["passed"] == (v["ratio"] >= 0.80)


def test_write_genome_and_vcf_matches_the_genome(tmp_path):
    genome, vcf = inference_speed.write_genome_and_vcf(tmp_path, 20, 50)
    sequence = "".join(genome.read_text().splitlines()[1:])
    records = [line.split("\t") for line in vcf.read_text().splitlines() if not line.startswith("#")]
    assert len(records) == 20
    for chrom, pos, _, ref, alt, *_ in records:
        assert sequence[int(pos) - 1:int(pos) - 1 + len(ref)] == ref and ref != alt


def test_data_table_converts_and_feeds(tmp_path):
    result = data_speed.measure(data_speed.QUICK)
    assert 0.01 < result["peak_rss_gib"] < 1.5 and set(result["pipeline"]) == {1000, 500}
    checks = data_speed.checks(result, ("m", 500, result["pipeline"][500] / 10))
    assert [c["passed"] for c in checks] == [True, True] and checks[1]["measured"].startswith("10x")


def test_metrics_table_against_numpy_argsort():
    result = metrics_speed.measure(metrics_speed.QUICK)
    assert result["ratio"] == pytest.approx(result["metrics_s"] / result["argsort_s"])
    y, scores = metrics_speed.make_data(5000, 4)
    assert 0 < y.mean() < 0.2 and scores.dtype == np.float32


def test_train_loop_helpers():
    assert train_loop.override_flags({"lstm_units": 4, "sequence_length": 200}) == \
        ["--lstm-units", "4", "--sequence-length", "200"]
    # 3 epochs of 2 steps: the first (tracing) epoch is left out
    assert train_loop.bare_epochs({"steps": [9.0, 9.0, 1.0, 2.0, 3.0, 4.0]}, 2) == [3.0, 7.0]


def test_bare_loop_prints_step_times(capsys):
    assert train_loop.main(["--steps", "3", "--batch-size", "2",
                            "--json-overrides", json.dumps(train_loop.QUICK["overrides"])]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(out["steps"]) == 3 and out["evaluate_s"] > 0


@pytest.mark.slow
def test_train_loop_table_runs_train_py_and_the_bare_loop():
    result = train_loop.measure(train_loop.QUICK)
    assert len(result["epochs"]) == 1 and len(result["bare_before"]) == len(result["bare_after"]) == 1
    assert result["ratio"] == pytest.approx(result["train_net_s"] / result["bare_s"])


# --- the page ---------------------------------------------------------------------------------------------

def _results() -> dict:
    return {"training": {"rows": {"cnn-300": {"seq_per_s": 50.0, "length": 500}},
                         "pairs": [{"plain": "a", "projection": "a-projection", "speedup_cpu": 1.8,
                                    "executed_ratio": 2.0, "share_cpu": 0.9, "passed": True}]},
            "data": {"peak_rss_gib": 2.0, "pipeline": {1000: 1000.0, 500: 200.0}},
            "metrics": {"ratio": 1.5, "passed": True}}


def test_checks_and_render():
    checks = {c["check"].split()[0]: c for c in run_all.all_checks(_results())}
    assert checks["a-projection"]["passed"] is True
    assert checks["converter"]["passed"] is False  # 2 GiB
    assert checks["input"]["measured"].startswith("4x") and checks["input"]["passed"] is False
    sections = [{"name": "metrics", "title": "M", "seconds": 1.0, "load_start": "1", "load_end": "2",
                 "markdown": ["table"]}, {"name": "data", "title": "D", "seconds": 1.0, "load_start": "1",
                                          "load_end": "2", "error": "RuntimeError: boom"}]
    page = run_all.render(sections, _results(), command="python -m bench.run_all", quick=False, gpu=False,
                          started={**timing.machine(), "load": "0.5 0.5 0.5"}, done=True)
    assert "Command: `python -m bench.run_all --only metrics`" in page and "**Failed**: `RuntimeError: boom`" in page
    assert "| metrics <= 2x one argsort | 1.50x | **PASS** |" in page and "BENCHMARKS_GPU.md" in page


def test_only_full_runs_write_into_docs():
    assert run_all.page_path(False, False, False) == ROOT / "docs" / "BENCHMARKS.md"
    assert run_all.page_path(True, False, False) == ROOT / "docs" / "BENCHMARKS_GPU.md"
    assert run_all.page_path(False, True, False).parent == ROOT / "scratch"
    assert run_all.page_path(False, False, True).parent == ROOT / "scratch"


def test_run_all_rejects_bad_tables_and_paths(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        run_all.main(["--only", "speed"])
    assert err.value.code == 2 and "speed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_all.main(["--only", "metrics", "--out", str(tmp_path / "missing" / "B.md")])


def test_run_all_quick_writes_the_page(tmp_path):
    out = tmp_path / "B.md"
    assert run_all.main(["--quick", "--only", "metrics,data", "--out", str(out)]) == 0
    page = out.read_text()
    assert "Quick mode" in page and "## Data: conversion and input pipeline" in page
    assert "Command: `python -m bench.run_all --only metrics --quick`" in page and "Incomplete" not in page


def test_gpu_script_refuses_without_a_gpu():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PY": sys.executable}
    proc = subprocess.run(["bash", "bench/gpu.sh", "--quick"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and "sees no CUDA GPU" in proc.stderr


@pytest.mark.slow
def test_gpu_script_runs_on_the_cpu_when_allowed(tmp_path):
    out = tmp_path / "GPU.md"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PY": sys.executable}
    proc = subprocess.run(["bash", "bench/gpu.sh", "--quick", "--allow-cpu", "--only", "inference", "--out", str(out)],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text().startswith("# Benchmarks on GPU") and "## Inference" in out.read_text()
