"""Loss-curve figure (Fig. 2) from hand-written run directories."""
import json

import numpy as np

from analysis import loss_curves
from analysis.runs import read_history, variant_of

HISTORY = """epoch,loss,val_loss,lr
1,0.30,0.25,0.0003
2,0.20,0.21,0.0003
3,0.15,0.22,0.0003
4,0.12,0.23,6e-05
5,0.11,0.22,6e-05
6,0.10,0.22,1.2e-05
"""


def make_run(root, name, projection_dim, dropout, history=HISTORY, family="cnn"):
    run = root / name
    run.mkdir()
    (run / "config.json").write_text(json.dumps(
        {"family": family, "filters": 300, "projection_dim": projection_dim, "dropout": dropout}))
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


def test_plot_from_handwritten_history(tmp_path):
    plain = make_run(tmp_path, "plain", 0, 0.0)
    proj = make_run(tmp_path, "proj", 64, 0.2, HISTORY.replace("0.22,", "0.19,"))
    history = read_history(plain)
    np.testing.assert_allclose(history["val_loss"], [0.25, 0.21, 0.22, 0.23, 0.22, 0.22])

    fig = loss_curves.plot_runs([str(plain), str(proj)], train=True, group_by="auto")
    axes = fig.axes
    # One family -> with/without projection side by side.
    assert [ax.get_title() for ax in axes] == ["without projection", "with projection"]
    lines = {line.get_label(): line for line in axes[0].get_lines()}
    np.testing.assert_allclose(lines["plain: plain (valid)"].get_ydata(), history["val_loss"])
    np.testing.assert_allclose(lines["plain: plain (train)"].get_ydata(), history["loss"])
    drops = lines["learning-rate drop"]
    np.testing.assert_allclose(drops.get_xdata(), [4, 6])  # first epochs at the lower rate
    np.testing.assert_allclose(drops.get_ydata(), [0.23, 0.22])
    proj_valid = [l for l in axes[1].get_lines() if l.get_label() == "proj: projection+dropout (valid)"]
    np.testing.assert_allclose(proj_valid[0].get_ydata(), [0.25, 0.21, 0.19, 0.23, 0.19, 0.19])


def test_cli_writes_png_and_pdf_and_groups_by_family(tmp_path):
    a = make_run(tmp_path, "a", 0, 0.0)
    b = make_run(tmp_path, "b", 64, 0.0, family="danq")
    out = tmp_path / "figs" / "fig2"
    assert loss_curves.main([str(a), str(b), "-o", str(out)]) == 0
    assert (tmp_path / "figs" / "fig2.png").stat().st_size > 1000
    assert (tmp_path / "figs" / "fig2.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["fig2.pdf", "fig2.png"]
    fig = loss_curves.plot_runs([str(a), str(b)])
    assert [ax.get_title() for ax in fig.axes] == ["cnn", "danq"]


def test_cli_error_names_the_file(tmp_path, capsys):
    run = make_run(tmp_path, "r", 0, 0.0)
    (run / "history.csv").unlink()
    assert loss_curves.main([str(run), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "history.csv" in err and err.count("\n") == 1
    assert not list(tmp_path.glob("x*"))
