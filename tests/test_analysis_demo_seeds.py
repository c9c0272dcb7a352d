"""The demo's seed-spread report (analysis/demo_seeds.py)."""
import json

import pytest

from analysis import demo_seeds
from helpers import asymmetric_model, save_run, write_run_config


def _rows():
    values = {("crnn-320", 0): 0.80, ("crnn-320", 1): 0.83, ("crnn-320", 2): 0.81,
              ("crnn-320-projection", 0): 0.82, ("crnn-320-projection", 1): 0.82, ("crnn-320-projection", 2): 0.86}
    return [{"model": m, "seed": s, "auprc": v, "auroc": v + 0.1, "run_dir": f"r/{m}-{s}"}
            for (m, s), v in values.items()]


def test_report_fraction_of_oracle_spread_and_difference():
    text = demo_seeds.report(_rows(), {"mean_auprc": 0.9, "mean_auroc": 0.98})
    assert "| crnn-320 | 1 | 0.8300 | 0.9300 | 0.922 |" in text  # 0.83 / 0.9
    assert "| oracle (P(y \\| planted motifs)) | — | 0.9000 | 0.9800 | 1 |" in text
    assert "crnn-320: 3 seeds, test AUPRC mean 0.8133, spread (max - min) 0.0300, lowest 0.8000 (0.889 of the oracle)" in text
    assert "crnn-320-projection: 3 seeds, test AUPRC mean 0.8333, spread (max - min) 0.0400" in text
    assert "crnn-320-projection - crnn-320: test AUPRC seed 0 +0.0200, seed 1 -0.0100, seed 2 +0.0500; mean +0.0200" in text


def test_report_without_oracle():
    text = demo_seeds.report(_rows()[:1], None)
    assert "| crnn-320 | 0 | 0.8000 | 0.9000 | — |" in text and "oracle (" not in text
    assert "crnn-320: test AUPRC 0.8000\n" in text  # one seed: no spread


def test_report_one_seed_per_model_as_in_the_demo():
    rows = [r for r in _rows() if r["seed"] == 0]
    text = demo_seeds.report(rows, {"mean_auprc": 0.9, "mean_auroc": 0.98})
    assert "crnn-320: test AUPRC 0.8000 = 0.889 of the oracle's 0.9000" in text
    assert "crnn-320-projection - crnn-320: test AUPRC seed 0 +0.0200; mean +0.0200" in text


def test_cli_names_a_run_that_was_not_evaluated(tmp_path, capsys):
    run = write_run_config(tmp_path / "run", {"family": "crnn"}, seed=0)
    assert demo_seeds.main([str(run)]) == 2
    assert f"{run}: not evaluated on the test split" in capsys.readouterr().err
    assert demo_seeds.main([str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err


def test_cli_reports_evaluated_runs_against_the_recorded_oracle(tmp_path, capsys, synthetic_mat_dir):
    import evaluate

    runs = []
    for seed in (0, 1):
        run = save_run(tmp_path / f"run{seed}", asymmetric_model(200, 919, seed=seed), 200, seed=seed)
        assert evaluate.main([str(run), "--data", str(synthetic_mat_dir), "--no-progress"]) == 0
        runs.append(str(run))
    oracle = json.loads((tmp_path / "run0" / "metrics_test.json").read_text())["oracle"]
    out = tmp_path / "seeds.md"
    assert demo_seeds.main(runs + ["-o", str(out)]) == 0
    text = out.read_text()
    assert f"{oracle['mean_auprc']:.4f}" in text and "tiny-test: 2 seeds" in text
    assert demo_seeds.main(runs + ["-o", str(out)]) == 2  # an existing report is not replaced silently
    assert "--force" in capsys.readouterr().err and out.read_text() == text
