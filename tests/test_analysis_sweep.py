"""First-layer sweep runner (grid, shards, resume states, commands) and the Fig. 1 plot."""
import json

import numpy as np
import pytest
from helpers import write_run_config

from analysis import sweep
from analysis.plotting import VARIANT_LABELS
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
    for run, epoch, finished in ((partial, 3, None), (trained, 9, "early_stopping")):
        (run / "checkpoint").mkdir(parents=True)
        (run / "checkpoint" / f"epoch-{epoch:04d}.keras").write_text("")
        (run / "checkpoint" / "state.json").write_text(json.dumps(
            {"epoch": epoch, "finished": finished, "model_file": f"epoch-{epoch:04d}.keras"}))
    done.mkdir()
    (done / "metrics_test.json").write_text("{}")
    assert [sweep.cell_state(p) for p in (new, partial, trained, done)] == ["new", "partial", "trained", "done"]

    shrink = {"epochs": 2, "steps_per_epoch": 5, "max_train_samples": None, "max_valid_samples": 64,
              "batch_size": None, "lr": 0.001}
    cmds = sweep.cell_commands("cnn-300-projection", new, "D", "new", shrink, python="py", seed=3)
    assert cmds[0][2:] == ["--model", "cnn-300-projection", "--data", "D", "--out", str(new), "--verbose", "2",
                           "--epochs", "2", "--steps-per-epoch", "5", "--max-valid-samples", "64", "--lr", "0.001",
                           "--seed", "3"]
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
    assert "cnn-300-dropout seed 0: new" in out and "cnn-300 seed 0: new" not in out
    assert "shard 2/2: 4 run(s) planned" in out
    assert not (tmp_path / "runs").exists()


def test_seeds_give_one_run_directory_each(tmp_path, capsys):
    root = tmp_path / "runs"
    assert sweep.main(["run", "--data", str(tmp_path), "--root", str(root), "--families", "danq",
                       "--sizes", "64", "--variants", "plain", "--seeds", "0", "1", "2", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for seed in (0, 1, 2):
        assert f"--out {root / 'danq-64' / f'seed{seed}'} " in out and f"--seed {seed}" in out
    assert "3 run(s) planned" in out


def make_evaluated_run(root, family, filters, projection_dim, dropout, auprc, seed=0, data=None,
                       oracle=None):
    run = write_run_config(root / f"{family}-{filters}-{projection_dim}-{dropout}" / f"seed{seed}",
                           {"family": family, "filters": filters, "projection_dim": projection_dim,
                            "dropout": dropout}, data=data, seed=seed)
    metrics = {"mean_auprc": auprc, "mean_auroc": 0.9, "num_pairs": 100}
    if oracle is not None:
        metrics["oracle"] = {"mean_auprc": oracle}
    (run / "metrics_test.json").write_text(json.dumps(metrics))
    # 3 targets with 10, 30 and 0 positives among 100 pairs: chance AUPRC = mean(0.1, 0.3) = 0.2.
    (run / "per_target_test.tsv").write_text("index\ttarget\tpositives\tauprc\tap\tauroc\n"
                                             "0\ta\t10\t0.5\t0.5\t0.9\n1\tb\t30\t0.5\t0.5\t0.9\n"
                                             "2\tc\t0\tnan\tnan\tnan\n")
    return run


def test_plot_from_evaluated_runs(tmp_path):
    synthetic = tmp_path / "data"
    synthetic.mkdir()
    (synthetic / "truth.json").write_text("{}")
    values = {}
    for family in ("cnn", "danq"):
        for filters in (300, 500):
            for proj, drop in ((0, 0.0), (64, 0.2)):
                for seed in (0, 1, 2):
                    value = 0.1 + filters / 1e4 + proj / 1e3 + (family == "danq") * 0.05 + seed / 100
                    make_evaluated_run(tmp_path / "runs", family, filters, proj, drop, value, seed, synthetic,
                                       oracle=0.7 if family == "cnn" else None)
                    values.setdefault((family, "projection+dropout" if proj else "plain", filters), []).append(value)
    (tmp_path / "runs" / "unevaluated").mkdir()  # ignored: no test metrics
    results = sweep.collect_results(tmp_path / "runs")
    assert len(results) == 24 and {r["seed"] for r in results} == {0, 1, 2}
    assert all(r["chance"] == pytest.approx(0.2) for r in results)
    fig = sweep.plot_families(results)
    assert [ax.get_title() for ax in fig.axes] == ["CNN", "DanQ-style (CNN + BiLSTM)"]
    assert "synthetic data" in fig._suptitle.get_text() and "over 3 seed(s)" in fig._suptitle.get_text()
    for ax, family in zip(fig.axes, ("cnn", "danq")):
        # Mean +- s.d. over seeds: the error-bar containers hold the means.
        means = {c.get_label(): c.lines[0] for c in ax.containers}
        for variant in ("plain", "projection+dropout"):
            line = means[VARIANT_LABELS[variant]]
            expected = [np.mean(values[(family, variant, f)]) for f in (300, 500)]
            np.testing.assert_allclose(np.asarray(line.get_ydata(), float), expected)
            x = np.asarray(line.get_xdata(), float)
            if family == "cnn":
                np.testing.assert_allclose(x, [300, 500])  # CNN points are not jittered
            else:
                assert not np.allclose(x, [300, 500]) and np.allclose(x, [300, 500], atol=20)
        # One point per seed.
        assert sum(len(c.get_offsets()) for c in ax.collections if c.get_offsets().size) >= 12
        labels = [line.get_label() for line in ax.get_lines()]
        assert any(label.startswith("chance (positive rate) 0.200") for label in labels)
        assert any(label.startswith("oracle") for label in labels) == (family == "cnn")
    assert sweep.main(["plot", str(tmp_path / "runs"), "-o", str(tmp_path / "fig1")]) == 0
    assert (tmp_path / "fig1.png").exists() and (tmp_path / "fig1.pdf").exists()
    assert sweep.main(["plot", str(tmp_path / "runs"), "-o", str(tmp_path / "fig1")]) == 2  # exists: --force
    assert sweep.main(["plot", str(tmp_path / "runs"), "-o", str(tmp_path / "fig1"), "--force"]) == 0


def test_plot_errors_name_the_problem(tmp_path, capsys):
    assert sweep.main(["plot", str(tmp_path), "-o", str(tmp_path / "f")]) == 2
    assert "no evaluated runs" in capsys.readouterr().err
    make_evaluated_run(tmp_path, "cnn", 300, 0, 0.0, "n/a")
    assert sweep.main(["plot", str(tmp_path), "-o", str(tmp_path / "f")]) == 2
    assert "metrics_test.json: no numeric 'mean_auprc'" in capsys.readouterr().err
