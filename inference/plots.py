"""The in-silico mutagenesis figure: a sequence logo weighted by effect over an effect heat map."""
from __future__ import annotations

from typing import Sequence

import numpy as np

BASES = "ACGT"


def plot_mutagenesis(effect: np.ndarray, sequence: str, *, positions: Sequence[int] | None = None,
                     title: str = "", xlabel: str = "position", ax=None):
    """Draw one target's saturation mutagenesis; returns the figure.

    ``effect`` (n, 4): change in predicted probability when position i becomes base A, C, G, T
    (0 at the reference base). Top: the reference sequence as a logo, each letter's height the
    mean loss when it is mutated (ref minus mean of the three substitutions; below the axis when
    mutating it raises the prediction). Bottom: the heat map of all substitutions (red: up, blue:
    down). ``ax`` is a pair (logo axes, heat-map axes) or None for a new figure.
    """
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    effect = np.asarray(effect, dtype=np.float64)
    n = len(sequence)
    if effect.shape != (n, 4):
        raise ValueError(f"effect must be (len(sequence), 4) = ({n}, 4), got {effect.shape}")
    positions = np.arange(n) if positions is None else np.asarray(positions)
    if ax is None:
        fig, (logo_ax, heat_ax) = plt.subplots(2, 1, figsize=(max(6.0, n * 0.12), 3.6), sharex=True,
                                               gridspec_kw={"height_ratios": [1, 1.2]})
    else:
        logo_ax, heat_ax = ax
        fig = logo_ax.figure
    weights = np.zeros((n, 4))
    for i, base in enumerate(sequence.upper()):
        if base in BASES:
            column = BASES.index(base)
            others = [j for j in range(4) if j != column]
            weights[i, column] = -effect[i, others].mean()
    frame = pd.DataFrame(weights, columns=list(BASES), index=np.arange(n))
    logomaker.Logo(frame, ax=logo_ax, color_scheme="classic")
    logo_ax.axhline(0, color="0.6", lw=0.5)
    logo_ax.set_ylabel("ref - mean alt")
    if title:
        logo_ax.set_title(title, fontsize=9, loc="left")
    limit = float(np.abs(effect).max()) or 1.0
    image = heat_ax.imshow(effect.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                           interpolation="nearest", extent=(-0.5, n - 0.5, 3.5, -0.5))
    heat_ax.set_yticks(range(4), list(BASES))
    heat_ax.set_ylabel("substitution")
    ticks = np.linspace(0, n - 1, num=min(n, 6)).round().astype(int)
    heat_ax.set_xticks(ticks, [str(positions[t]) for t in ticks])
    heat_ax.set_xlim(-0.5, n - 0.5)
    heat_ax.set_xlabel(xlabel)
    fig.colorbar(image, ax=[logo_ax, heat_ax] if ax is None else heat_ax, shrink=0.6, pad=0.01,
                 label="alt - ref")
    return fig


def mutagenesis_figure(effect: np.ndarray, sequence: str, target_names: Sequence[str], *,
                       positions: Sequence[int] | None = None, title: str = "", xlabel: str = "position"):
    """One :func:`plot_mutagenesis` pair per target; ``effect`` (n, 4, k) for the k targets drawn."""
    import matplotlib.pyplot as plt

    k = len(target_names)
    n = len(sequence)
    fig, axes = plt.subplots(2 * k, 1, figsize=(max(6.0, n * 0.12), 3.4 * k), sharex=True,
                             gridspec_kw={"height_ratios": [1, 1.2] * k}, squeeze=False)
    for j, name in enumerate(target_names):
        heading = f"{title}  {name}" if title else name
        plot_mutagenesis(effect[:, :, j], sequence, positions=positions, title=heading, xlabel=xlabel,
                         ax=(axes[2 * j, 0], axes[2 * j + 1, 0]))
        if j < k - 1:
            axes[2 * j + 1, 0].set_xlabel("")
    fig.subplots_adjust(hspace=0.35)
    return fig
