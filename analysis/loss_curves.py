"""Fig. 2: validation (and training) loss per epoch, runs with and without projection side by side.

Reads each run's ``history.csv`` (epoch, loss, val_loss, lr) and ``config.json``.
Learning-rate drops (ReduceLROnPlateau) are marked with a down-pointing triangle on
the validation curve at the first epoch trained at the lower rate.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from analysis.plotting import VARIANT_COLOURS, VARIANTS, new_axes, save_figure
from analysis.runs import AnalysisError, load_config, model_config, read_history, variant_of

GROUPINGS = ("auto", "family", "projection", "none")


def lr_drop_indices(lr: np.ndarray) -> np.ndarray:
    """Indices of epochs whose learning rate is lower than the previous epoch's."""
    lr = np.asarray(lr, dtype=float)
    if lr.size < 2:
        return np.zeros(0, dtype=int)
    return np.flatnonzero(lr[1:] < lr[:-1] * (1 - 1e-6)) + 1


def plot_loss_curves(runs: list[dict], ax=None, train: bool = False, title: str | None = None):
    """Plot loss curves of several runs on one axes.

    Each run is a dict with ``label``, ``history`` (from :func:`analysis.runs.read_history`)
    and optionally ``colour``. Validation loss is solid, training loss (``train=True``) dashed.
    Returns the figure.
    """
    fig, ax = new_axes(ax)
    marked = False
    for i, run in enumerate(runs):
        history, colour = run["history"], run.get("colour") or f"C{i}"
        epochs = history["epoch"]
        ax.plot(epochs, history["val_loss"], "-", color=colour, label=f"{run['label']} (valid)")
        if train and "loss" in history:
            ax.plot(epochs, history["loss"], "--", color=colour, alpha=0.7, label=f"{run['label']} (train)")
        if "lr" in history:
            drops = lr_drop_indices(history["lr"])
            if drops.size:
                ax.plot(epochs[drops], history["val_loss"][drops], "v", color=colour, markersize=8,
                        markeredgecolor="black", label=None if marked else "learning-rate drop")
                marked = True
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (binary cross-entropy)")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def load_runs(run_dirs: list[str]) -> list[dict]:
    """History, config and labels of each run directory."""
    runs = []
    for run_dir in run_dirs:
        cfg = model_config(load_config(run_dir), str(Path(run_dir) / "config.json"))
        variant = variant_of(cfg)
        runs.append({"run_dir": str(run_dir), "history": read_history(run_dir), "config": cfg,
                     "family": str(cfg.get("family")), "variant": variant,
                     "projection": variant.startswith("projection"),
                     "label": f"{Path(run_dir).name}: {variant}",
                     "colour": VARIANT_COLOURS.get(variant)})
    return runs


def group_runs(runs: list[dict], group_by: str = "auto") -> list[tuple[str, list[dict]]]:
    """Split runs into panels: by model family, by with/without projection, or one panel.

    ``auto`` = by family when the runs span several families (the paper's Fig. 2),
    otherwise with vs without projection side by side.
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"group_by={group_by!r}; expected one of {', '.join(GROUPINGS)}")
    if group_by == "auto":
        group_by = "family" if len({r["family"] for r in runs}) > 1 else "projection"
    if group_by == "none":
        return [("", runs)]
    if group_by == "family":
        families = list(dict.fromkeys(r["family"] for r in runs))
        return [(family, [r for r in runs if r["family"] == family]) for family in families]
    groups = [("without projection", [r for r in runs if not r["projection"]]),
              ("with projection", [r for r in runs if r["projection"]])]
    return [g for g in groups if g[1]]


def plot_runs(run_dirs: list[str], train: bool = False, group_by: str = "auto"):
    """One panel per group (shared y axis), runs ordered by variant; returns the figure."""
    import matplotlib.pyplot as plt

    groups = group_runs(load_runs(run_dirs), group_by)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.2), sharey=True, squeeze=False)
    for ax, (name, runs) in zip(axes[0], groups):
        runs = sorted(runs, key=lambda r: (VARIANTS.index(r["variant"]), r["label"]))
        plot_loss_curves(runs, ax=ax, train=train, title=name or None)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.loss_curves",
        description="Plot validation (and training) loss per epoch of run directories (Fig. 2); "
                    "writes FIG.png and FIG.pdf.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (history.csv)")
    parser.add_argument("-o", "--out", required=True, help="output figure path, without or with .png/.pdf")
    parser.add_argument("--train", action="store_true", help="also plot the training loss (dashed)")
    parser.add_argument("--group-by", choices=GROUPINGS, default="auto",
                        help="panels: by family, by with/without projection, one panel, or auto "
                             "(family if several, else projection) [default: %(default)s]")
    args = parser.parse_args(argv)
    try:
        fig = plot_runs(args.run_dirs, train=args.train, group_by=args.group_by)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in save_figure(fig, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
