"""Fig. 2: validation loss per epoch, with and without the two regularisation strategies.

    python -m analysis.loss_curves RUN_DIR... -o FIG [--layout paper|overlay] [--train]

``paper`` (default, the paper's Fig. 2): one panel per model family, CNN left and DanQ-style
right (in the paper: the 500-filter presets ``cnn-500*`` and ``danq-500*``), each with its
variants (plain, dropout, projection, projection + dropout) named in the legend.
``overlay``: every run in one panel (used for the demo's CRNN-320 pair).

Reads each run's history and config (through :mod:`analysis.runs`). Learning-rate drops
(ReduceLROnPlateau) are marked with a down-pointing triangle on the validation curve at the
first epoch trained at the lower rate. Titles say "synthetic data" when a run was trained on
a synthetic bundle.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from analysis import runs as rundirs
from analysis.plotting import (SYNTHETIC_NOTE, VARIANT_COLOURS, VARIANT_LABELS, VARIANTS, check_figure_path,
                               new_axes, save_figure)
from analysis.runs import AnalysisError

LAYOUTS = ("paper", "overlay")
FAMILY_ORDER = ("cnn", "danq", "crnn")
FAMILY_TITLES = {"cnn": "CNN", "danq": "DanQ-style", "crnn": "CRNN"}


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
    from matplotlib.ticker import MaxNLocator

    fig, ax = new_axes(ax)
    marked = False
    for i, run in enumerate(runs):
        history, colour = run["history"], run.get("colour") or f"C{i}"
        epochs = history["epoch"]
        suffix = " (valid)" if train else ""
        ax.plot(epochs, history["val_loss"], "-", marker="o", markersize=3, color=colour,
                label=f"{run['label']}{suffix}")
        if train and "loss" in history:
            ax.plot(epochs, history["loss"], "--", color=colour, alpha=0.7, label=f"{run['label']} (train)")
        if "lr" in history:
            drops = lr_drop_indices(history["lr"])
            if drops.size:
                ax.plot(epochs[drops], history["val_loss"][drops], "v", color=colour, markersize=8,
                        markeredgecolor="black", linestyle="none",
                        label=None if marked else "learning-rate drop")
                marked = True
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (binary cross-entropy)" if not train else "loss (binary cross-entropy)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def load_runs(run_dirs: list[str]) -> list[dict]:
    """History, config, family, variant, seed and synthetic flag of each run directory."""
    loaded = []
    for run_dir in run_dirs:
        config = rundirs.load_config(run_dir)
        cfg = rundirs.model_config(config, str(rundirs.config_path(run_dir)))
        variant = rundirs.variant_of(cfg)
        loaded.append({"run_dir": str(run_dir), "name": Path(run_dir).name, "history": rundirs.read_history(run_dir),
                       "config": cfg, "family": str(cfg.get("family")), "filters": cfg.get("filters"),
                       "variant": variant, "seed": rundirs.run_seed(config),
                       "synthetic": rundirs.is_synthetic(config), "colour": VARIANT_COLOURS.get(variant)})
    return loaded


def _family_key(family: str) -> tuple:
    return (FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER), family)


def _variant_labels(runs: list[dict]) -> None:
    """Label each run by its variant, adding the seed where a panel has one variant twice."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run["variant"]] = counts.get(run["variant"], 0) + 1
    for run in runs:
        label = VARIANT_LABELS.get(run["variant"], run["variant"])
        run["label"] = label + (f", seed {run['seed']}" if counts[run["variant"]] > 1 else "")


def _suptitle(fig, runs: list[dict], text: str) -> None:
    if any(r["synthetic"] for r in runs):
        text += f" ({SYNTHETIC_NOTE})"
    fig.suptitle(text, fontsize=10)


def plot_fig2(runs: list[dict], axes=None, train: bool = False):
    """The paper's Fig. 2: one panel per family (CNN left, DanQ right), variants named in the legend.

    ``runs`` from :func:`load_runs`; ``axes`` one per family or None. Returns the figure.
    """
    import matplotlib.pyplot as plt

    families = sorted({r["family"] for r in runs}, key=_family_key)
    if axes is None:
        fig, grid = plt.subplots(1, len(families), figsize=(5.4 * len(families), 4.3), squeeze=False)
        axes = list(grid[0])
    fig = axes[0].figure
    for ax, family in zip(axes, families):
        panel = sorted((r for r in runs if r["family"] == family),
                       key=lambda r: (VARIANTS.index(r["variant"]), r["seed"] or 0, r["name"]))
        _variant_labels(panel)
        sizes = sorted({r["filters"] for r in panel if r["filters"]})
        size = f", {'/'.join(map(str, sizes))} first-layer filters" if sizes else ""
        plot_loss_curves(panel, ax=ax, train=train, title=FAMILY_TITLES.get(family, family) + size)
    _suptitle(fig, runs, "Validation loss, with and without dropout and projection")
    fig.tight_layout()
    return fig


def demo_loss_curves(runs: list[dict], ax=None, train: bool = True):
    """Every run overlaid in one panel, labelled by run name and variant (the demo's CRNN-320 pair)."""
    fig, ax = new_axes(ax, figsize=(6.0, 4.3))
    runs = sorted(runs, key=lambda r: (VARIANTS.index(r["variant"]), r["name"]))
    for run in runs:
        run["label"] = f"{run['name']}: {VARIANT_LABELS.get(run['variant'], run['variant'])}"
    plot_loss_curves(runs, ax=ax, train=train)
    title = "Loss per epoch"
    if any(r["synthetic"] for r in runs):
        title += f" ({SYNTHETIC_NOTE})"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_runs(run_dirs: list[str], train: bool = False, layout: str = "paper"):
    """Load the runs and draw them in one of :data:`LAYOUTS`; returns the figure."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}; expected one of {', '.join(LAYOUTS)}")
    loaded = load_runs(run_dirs)
    return plot_fig2(loaded, train=train) if layout == "paper" else demo_loss_curves(loaded, train=train)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (refused I/O such as a full disk: 4)."""
    from cli import run_command

    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.loss_curves",
        description="Plot validation (and training) loss per epoch of run directories (Fig. 2); "
                    "writes FIG.png and FIG.pdf.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories of trained models")
    parser.add_argument("-o", "--out", required=True, help="output figure path, without or with .png/.pdf")
    parser.add_argument("--force", action="store_true", help="replace existing figure files [default: %(default)s]")
    parser.add_argument("--train", action="store_true", help="also plot the training loss (dashed)")
    parser.add_argument("--layout", choices=LAYOUTS, default="paper",
                        help="paper: one panel per family (CNN | DanQ), variants in each; overlay: all runs "
                             "in one panel [default: %(default)s]")
    args = parser.parse_args(argv)
    check_figure_path(args.out, args.force)
    try:
        fig = plot_runs(args.run_dirs, train=args.train, layout=args.layout)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in save_figure(fig, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
