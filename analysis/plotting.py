"""Shared plotting helpers: one place that saves figures (PNG + PDF, atomically)."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are only ever written to files
import matplotlib.pyplot as plt  # noqa: E402

from fileio import atomic_path  # noqa: E402

# Fixed colours and order of the four Fig. 1/2 variants, so every figure agrees.
VARIANTS = ("plain", "dropout", "projection", "projection+dropout")
VARIANT_COLOURS = {"plain": "tab:blue", "dropout": "tab:orange",
                   "projection": "tab:green", "projection+dropout": "tab:red"}
VARIANT_LABELS = {"plain": "plain", "dropout": "dropout 0.2", "projection": "projection (64)",
                  "projection+dropout": "projection (64) + dropout 0.2"}
SYNTHETIC_NOTE = "synthetic data"


def new_axes(ax=None, figsize=(5.0, 4.0)):
    """Return ``(fig, ax)``: the given axes and its figure, or a fresh single-axes figure."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def figure_stem(path: str | os.PathLike) -> Path:
    """``fig.png`` / ``fig.pdf`` / ``fig`` -> ``fig`` (the name both outputs share)."""
    path = Path(path)
    return path.with_suffix("") if path.suffix.lower() in (".png", ".pdf") else path


def check_figure_path(path: str | os.PathLike, force: bool, formats=("png", "pdf")) -> None:
    """Refuse (one-line UserError) to write a figure over an existing file unless ``force``, or into
    a run directory's own files; call before the (slow) work that draws it."""
    from rundir import check_output_path

    stem = figure_stem(path)
    for fmt in formats:
        check_output_path(stem.parent / f"{stem.name}.{fmt}", force=force)


def save_figure(fig, path: str | os.PathLike, formats=("png", "pdf"), dpi: int = 110) -> list[Path]:
    """Write ``fig`` as ``STEM.png`` and ``STEM.pdf`` and close it.

    Each file is written under a temporary name in the target folder and renamed,
    so an interrupted run never leaves a half-written figure behind.
    """
    stem = figure_stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = stem.parent / f"{stem.name}.{fmt}"
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
        written.append(target)
    plt.close(fig)
    return written
