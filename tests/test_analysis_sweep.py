"""First-layer sweep runner (grid, shards, resume states, commands) and the Fig. 1 plot."""
import json

import numpy as np
import pytest

from analysis import sweep
from analysis.runs import AnalysisError


def test_grid_uses_registered_presets_in_fixed_order():
    cells = sweep.grid()
    assert len(cells) == 2 * 4 * 4 == len(set(cells))
    assert cells[:4] == ["cnn-300", "cnn-300-dropout", "cnn-300-projection", "cnn-300-projection-dropout"]
    assert cells[-1] == "danq-1000-projection-dropout"
    assert sweep.cell_preset("cnn-500-projection") == ("cnn-500-projection", None)
    # Sizes without a registered preset: the 300-filter preset of the variant, --filters SIZE.
    assert sweep.grid(["danq"], [16], ["projection+dropout"]) == ["danq-16-projection-dropout"]
    assert sweep.cell_preset("danq-16-projection-dropout") == ("danq-300-projection-dropout", 16)
    with pytest.raises(AnalysisError, match=">= 1"):
        sweep.grid(["cnn"], [0])


def test_shards_partition_the_grid():
    cells = sweep.grid()
    shards = [sweep.shard(cells, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(cells)
    assert all(not set(a) & set(b) for i, a in enumerate(shards) for b in shards[i + 1:])
    assert sweep.parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/2/3"):
        with pytest.raises(AnalysisError):
            sweep.parse_shard(bad)


def test_cell_states_and_commands(tmp_path):
    new, partial, trained, done = (tmp_path / name for name in ("new", "partial", "trained", "done"))
    (partial / "checkpoint").mkdir(parents=True)
    (partial / "checkpoint" / "state.json").write_text(json.dumps({"epoch": 3, "finished": None}))
    (trained / "checkpoint").mkdir(parents=True)
    (trained / "checkpoint" / "state.json").write_text(json.dumps({"epoch": 9, "finished": "early_stopping"}))
    done.mkdir()
    (done / "metrics_test.json").write_text("{}")
    assert [sweep.cell_state(p) for p in (new, partial, trained, done)] == ["new", "partial", "trained", "done"]

    shrink = {"epochs": 2, "steps_per_epoch": 5, "max_train_samples": None, "max_valid_samples": 64,
              "batch_size": None, "lr": 0.001, "seed": None}
    cmds = sweep.cell_commands("cnn-300-projection", new, "D", "new", shrink, python="py")
    assert cmds[0][2:] == ["--model", "cnn-300-projection", "--data", "D", "--out", str(new), "--verbose", "2",
                           "--epochs", "2", "--steps-per-epoch", "5", "--max-valid-samples", "64", "--lr", "0.001"]
    assert cmds[1][1].endswith("evaluate.py") and cmds[1][2:] == [str(new), "--data", "D", "--no-progress"]
    resume = sweep.cell_commands("x", partial, "D", "partial", shrink, python="py")
    assert "--resume" in resume[0] and "--model" not in resume[0] and len(resume) == 2
    assert [c[1].rsplit("/", 1)[-1] for c in sweep.cell_commands("x", trained, "D", "trained", shrink)] == [
        "evaluate.py"]
    assert sweep.cell_commands("x", done, "D", "done", shrink) == []
    small = sweep.cell_commands("cnn-32-dropout", new, "D", "new", shrink, python="py")[0]
    assert small[2:4] == ["--model", "cnn-300-dropout"] and small[small.index("--filters") + 1] == "32"


def test_dry_run_prints_plan_for_one_shard(tmp_path, capsys):
    code = sweep.main(["run", "--data", str(tmp_path), "--root", str(tmp_path / "runs"), "--families", "cnn",
                       "--sizes", "300", "500", "--shard", "2/2", "--dry-run", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "cnn-300-dropout: new" in out and "cnn-300: new" not in out
    assert "shard 2/2: 4 cell(s) planned" in out
    assert not (tmp_path / "runs").exists()


def make_evaluated_run(root, family, filters, projection_dim, dropout, auprc):
    run = root / f"{family}-{filters}-{projection_dim}-{dropout}"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": {
        "family": family, "filters": filters, "projection_dim": projection_dim, "dropout": dropout}}))
    (run / "metrics_test.json").write_text(json.dumps({"mean_auprc": auprc, "mean_auroc": 0.9}))


def test_plot_from_evaluated_runs(tmp_path):
    expected = {}
    for family in ("cnn", "danq"):
        for filters in (300, 500):
            for proj, drop in ((0, 0.0), (64, 0.2)):
                value = 0.1 + filters / 1e4 + proj / 1e3 + (family == "danq") * 0.05
                make_evaluated_run(tmp_path, family, filters, proj, drop, value)
                expected[(family, "projection+dropout" if proj else "plain", filters)] = value
    (tmp_path / "unevaluated").mkdir()  # ignored: no metrics_test.json
    results = sweep.collect_results(tmp_path)
    assert len(results) == 8
    fig = sweep.plot_families(results)
    assert [ax.get_title() for ax in fig.axes] == ["cnn", "danq"]
    for ax in fig.axes:
        for line in ax.get_lines():
            values = [expected[(ax.get_title(), line.get_label(), f)] for f in (300, 500)]
            np.testing.assert_allclose(line.get_ydata(), values)
    cnn_x = fig.axes[0].get_lines()[0].get_xdata()
    np.testing.assert_allclose(cnn_x, [300, 500])  # DanQ points are jittered, CNN points are not
    assert sweep.main(["plot", str(tmp_path), "-o", str(tmp_path / "fig1")]) == 0
    assert (tmp_path / "fig1.png").exists() and (tmp_path / "fig1.pdf").exists()


def test_plot_errors_name_the_problem(tmp_path, capsys):
    assert sweep.main(["plot", str(tmp_path), "-o", str(tmp_path / "f")]) == 2
    assert "no evaluated runs" in capsys.readouterr().err
    make_evaluated_run(tmp_path, "cnn", 300, 0, 0.0, "n/a")
    assert sweep.main(["plot", str(tmp_path), "-o", str(tmp_path / "f")]) == 2
    assert "metrics_test.json: no numeric 'mean_auprc'" in capsys.readouterr().err
