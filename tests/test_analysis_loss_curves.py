"""Loss-curve figure (Fig. 2) from hand-written run directories."""
import json

import numpy as np

from analysis import loss_curves
from helpers import write_run_config
from analysis.runs import read_history, variant_of

HISTORY = """epoch,loss,val_loss,lr
1,0.30,0.25,0.0003
2,0.20,0.21,0.0003
3,0.15,0.22,0.0003
4,0.12,0.23,6e-05
5,0.11,0.22,6e-05
6,0.10,0.22,1.2e-05
"""


def make_run(root, name, projection_dim, dropout, history=HISTORY, family="cnn", data=None):
    run = write_run_config(root / name, {"family": family, "filters": 300, "projection_dim": projection_dim,
                                         "dropout": dropout}, data=data, seed=0)
    (run / "history.csv").write_text(history)
    return run


def test_variant_names():
    assert variant_of({"projection_dim": 0, "dropout": 0.0}) == "plain"
    assert variant_of({"projection_dim": 0, "dropout": 0.2}) == "dropout"
    assert variant_of({"projection_dim": 64, "dropout": 0.0}) == "projection"
    assert variant_of({"projection_dim": 64, "dropout": 0.15}) == "projection+dropout"


def test_lr_drops_found():
    np.testing.assert_array_equal(loss_curves.lr_drop_indices([3e-4, 3e-4, 3e-4, 6e-5, 6e-5, 1.2e-5]), [3, 5])
    assert loss_curves.lr_drop_indices([1e-3]).size == 0


def test_paper_layout_one_panel_per_family_variants_named(tmp_path):
    runs = [make_run(tmp_path, "c-plain", 0, 0.0), make_run(tmp_path, "c-proj", 64, 0.2, HISTORY.replace("0.22,", "0.19,")),
            make_run(tmp_path, "d-drop", 0, 0.2, family="danq"), make_run(tmp_path, "d-proj", 64, 0.0, family="danq")]
    history = read_history(runs[0])
    np.testing.assert_allclose(history["val_loss"], [0.25, 0.21, 0.22, 0.23, 0.22, 0.22])

    fig = loss_curves.plot_runs([str(r) for r in runs[::-1]], train=True)  # order of the arguments does not matter
    cnn, danq = fig.axes
    assert cnn.get_title() == "CNN, 300 first-layer filters" and danq.get_title().startswith("DanQ-style")
    lines = {line.get_label(): line for line in cnn.get_lines()}
    np.testing.assert_allclose(lines["plain (valid)"].get_ydata(), history["val_loss"])
    np.testing.assert_allclose(lines["plain (train)"].get_ydata(), history["loss"])
    np.testing.assert_allclose(lines["projection (64) + dropout 0.2 (valid)"].get_ydata(),
                               [0.25, 0.21, 0.19, 0.23, 0.19, 0.19])
    drops = lines["learning-rate drop"]
    np.testing.assert_allclose(drops.get_xdata(), [4, 6])  # first epochs at the lower rate
    np.testing.assert_allclose(drops.get_ydata(), [0.23, 0.22])
    legend = [t.get_text() for t in danq.get_legend().get_texts() if t.get_text() != "learning-rate drop"]
    # Variants in the fixed order, each named.
    assert legend[:4] == ["dropout 0.2 (valid)", "dropout 0.2 (train)", "projection (64) (valid)",
                          "projection (64) (train)"]
    assert "synthetic" not in fig._suptitle.get_text()


def test_overlay_layout_and_synthetic_title(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "truth.json").write_text("{}")
    a = make_run(tmp_path, "crnn-320", 0, 0.15, family="crnn", data=data)
    b = make_run(tmp_path, "crnn-320-projection", 64, 0.15, family="crnn", data=data)
    fig = loss_curves.plot_runs([str(a), str(b)], layout="overlay", train=True)
    (ax,) = fig.axes
    assert ax.get_title() == "Loss per epoch (synthetic data)"
    labels = [line.get_label() for line in ax.get_lines()]
    assert "crnn-320: dropout 0.2 (valid)" in labels and "crnn-320-projection: projection (64) + dropout 0.2 (train)" in labels
    fig = loss_curves.plot_runs([str(a), str(b)])
    assert fig._suptitle.get_text().endswith("(synthetic data)")


def test_cli_writes_png_and_pdf(tmp_path):
    a = make_run(tmp_path, "a", 0, 0.0)
    b = make_run(tmp_path, "b", 64, 0.0, family="danq")
    out = tmp_path / "figs" / "fig2"
    assert loss_curves.main([str(a), str(b), "-o", str(out)]) == 0
    assert (tmp_path / "figs" / "fig2.png").stat().st_size > 1000
    assert (tmp_path / "figs" / "fig2.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["fig2.pdf", "fig2.png"]


def test_cli_replaces_an_existing_figure_only_with_force(tmp_path, capsys):
    run = make_run(tmp_path, "a", 0, 0.0)
    out = tmp_path / "fig2"
    (tmp_path / "fig2.pdf").write_text("the user's own file")
    assert loss_curves.main([str(run), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "fig2.pdf" in err and "--force" in err and err.count("\n") == 1
    assert (tmp_path / "fig2.pdf").read_text() == "the user's own file" and not (tmp_path / "fig2.png").exists()
    assert loss_curves.main([str(run), "-o", str(out), "--force"]) == 0
    assert (tmp_path / "fig2.pdf").read_bytes().startswith(b"%PDF")
    assert loss_curves.main([str(run), "-o", str(run / "curves")]) == 2  # never into a run directory
    assert "run directory" in capsys.readouterr().err


def test_cli_error_names_the_file(tmp_path, capsys):
    run = make_run(tmp_path, "r", 0, 0.0)
    (run / "history.csv").unlink()
    assert loss_curves.main([str(run), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "history.csv" in err and err.count("\n") == 1
    assert not list(tmp_path.glob("x*"))
