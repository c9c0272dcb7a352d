"""analysis.runs: the one module of analysis/ that knows run-directory file names."""
import json
import re
from pathlib import Path

import pytest
from cli import UserError
from helpers import write_run_config

from analysis import runs

ANALYSIS = Path(__file__).resolve().parent.parent / "analysis"
RUN_FILE_NAMES = ("config.json", "history.csv", "best_model.keras", "state.json", "metrics_", "per_target_",
                  "truth.json", "tomtom.tsv", "filters.meme", "summary.json", "projection_similarity.json")


def test_no_other_analysis_module_spells_a_run_file_name():
    offenders = []
    for path in sorted(ANALYSIS.glob("*.py")):
        if path.name == "runs.py":
            continue
        text = path.read_text()
        offenders += [f"{path.name}: {name}" for name in RUN_FILE_NAMES if re.search(re.escape(name), text)]
    assert not offenders, offenders


def make_run(root, name, metrics=None, per_target=None, data=None, seed=None):
    run = write_run_config(root / name, {"family": "cnn", "filters": 8}, data=data, seed=seed)
    if metrics is not None:
        (run / "metrics_test.json").write_text(json.dumps(metrics))
    if per_target is not None:
        (run / "per_target_test.tsv").write_text(per_target)
    return run


def test_chance_oracle_and_synthetic(tmp_path):
    data = tmp_path / "bundle"
    data.mkdir()
    per_target = "index\ttarget\tpositives\tauprc\tap\tauroc\n0\ta\t5\t1\t1\t1\n1\tb\t15\t1\t1\t1\n2\tc\t0\t\t\t\n"
    run = make_run(tmp_path, "r", {"mean_auprc": 0.3, "num_pairs": 50}, per_target, data, seed=4)
    assert runs.chance_auprc(run) == pytest.approx((5 / 50 + 15 / 50) / 2)  # targets without positives skipped
    assert runs.oracle_auprc(run) is None
    assert runs.run_seed(runs.load_config(run)) == 4
    assert not runs.is_synthetic(runs.load_config(run))
    (data / "truth.json").write_text("{}")
    assert runs.is_synthetic(runs.load_config(run))
    other = make_run(tmp_path, "o", {"mean_auprc": 0.3, "mean_positive_rate": 0.125, "oracle": {"mean_auprc": 0.6}})
    assert runs.chance_auprc(other) == 0.125 and runs.oracle_auprc(other) == 0.6
    assert runs.chance_auprc(make_run(tmp_path, "n", {"mean_auprc": 0.3})) is None


def test_evaluated_runs_one_or_two_levels_deep(tmp_path):
    make_run(tmp_path, "flat", {"mean_auprc": 0.1})
    make_run(tmp_path, "cell/seed0", {"mean_auprc": 0.1})
    make_run(tmp_path, "cell/seed1")  # not evaluated
    assert [p.relative_to(tmp_path).as_posix() for p in runs.evaluated_runs(tmp_path)] == ["cell/seed0", "flat"]
    assert runs.training_state(tmp_path / "cell" / "seed1") == "partial"
    assert runs.training_state(tmp_path / "missing") == "new"
    with pytest.raises(UserError, match="no such run directory"):
        runs.load_config(tmp_path / "missing")
