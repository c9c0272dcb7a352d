"""Fig. 3: PCA of the projection-matrix columns of filters that match known motifs, beside logos.

    python -m analysis.projection_pca RUN_DIR -o FIG [--q-threshold 1e-8] [--logos 8]

Column f of the projection kernel (layer ``projection``, kernel (1, n_filters, 64)) is the
64-d embedding of first-layer filter f. Like the paper, the PCA uses the filters whose best
JASPAR match has q < 1e-8 (``--q-threshold``); each point is labelled by its matched motif,
``(f)``/``(rc)`` (which strand of the JASPAR matrix the filter matches) and the filter index,
and coloured by TF family as the paper did (cyan C2H2 zinc finger, green bZIP, red homeodomain,
purple bHLH, blue other; JASPAR's TF class). Labels are moved apart (adjustText) with a thin
line to their point. Beside it: information-content logos of labelled filters (the best one
of each matched motif and orientation, up to ``--logos``), each above its JASPAR match aligned
by TOMTOM's offset and orientation. The match table comes from ``python -m analysis.motifs``
(which records the JASPAR release and TOMTOM column distance used; the title says them).

When fewer than ``--min-points`` pass (typical of small demo runs) it falls back to the
``--fallback-n`` filters with the smallest q among those with q < ``--stat-q`` and says so in
the title, on stdout and in the JSON.

Beyond the paper, a number for its claim that forward and reverse-complement versions of a
motif are projected to similar places: among filters with a significant match (q <
``--stat-q``), the mean cosine similarity of the columns of pairs matching the **same** JASPAR
motif in **opposite** orientations, against the mean over the same number of random pairs drawn
from those filters (permutation p-value, one-sided, ``(1 + #null >= observed) / (1 + n)``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from analysis import runs as rundirs
from analysis.motifs import FAMILIES, plot_logo_pairs, read_meme_motifs, read_tsv
from analysis.plotting import SYNTHETIC_NOTE, check_figure_path, new_axes, save_figure
from analysis.runs import AnalysisError, write_json

# The paper's colours: cyan C2H2 ZF, green bZIP, red homeodomain, purple bHLH, blue other.
FAMILY_COLOURS = dict(zip(FAMILIES, ("c", "g", "r", "purple", "b")))
# Label text: the same hues, cyan darkened so that it reads on white.
LABEL_COLOURS = dict(zip(FAMILIES, ("darkcyan", "darkgreen", "firebrick", "purple", "navy")))


def projection_columns(model) -> np.ndarray:
    """(n_filters, projection_dim): column f of the projection matrix for each first-layer filter."""
    try:
        layer = model.get_layer("projection")
    except ValueError:
        raise AnalysisError("model has no layer named 'projection' (not a projection run)") from None
    kernel = np.asarray(layer.get_weights()[0])  # (1, n_filters, projection_dim)
    return kernel.reshape(kernel.shape[-2], kernel.shape[-1])


def select_filters(rows: list[dict], q_threshold: float = 1e-8, min_points: int = 3,
                   fallback_n: int = 20, fallback_q: float = 0.01) -> tuple[list[dict], str]:
    """Rows of filters to show: q < ``q_threshold``, or a stated fallback when too few pass."""
    matched = sorted((r for r in rows if r["match_id"]), key=lambda r: r["q_value"])
    chosen = [r for r in matched if r["q_value"] < q_threshold]
    if len(chosen) >= min_points:
        return chosen, f"{len(chosen)} filters with best match q < {q_threshold:g}"
    fallback = [r for r in matched if r["q_value"] < fallback_q][:fallback_n]
    note = (f"only {len(chosen)} filters with q < {q_threshold:g}; showing the {len(fallback)} "
            f"best-matching filters with q < {fallback_q:g} instead")
    return fallback, note


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First two principal-component scores of the rows, and their explained-variance ratios."""
    centred = np.asarray(vectors, dtype=np.float64) - np.mean(vectors, axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:  # a single point or a single component: pad with zeros
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    variance = singular ** 2
    ratio = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return coords, np.pad(ratio, (0, 2 - len(ratio)))


def point_label(row: dict) -> str:
    """``CTCF (rc) 12``: matched motif, orientation, filter index."""
    return f"{row['match_name']} ({row['orientation']}) {row['filter']}"


def plot_projection_pca(coords: np.ndarray, labels: list[str], families: list[str], ax=None,
                        title: str | None = None, explained: np.ndarray | None = None,
                        declutter: bool = True):
    """Scatter of PCA scores, each point labelled and coloured by TF family (the paper's colours).

    With ``declutter`` the labels are pushed apart (adjustText), each joined to its point by a
    thin line. Returns the figure.
    """
    fig, ax = new_axes(ax, figsize=(7.0, 6.0))
    for family in FAMILIES:
        idx = [i for i, fam in enumerate(families) if fam == family]
        if idx:
            ax.scatter(coords[idx, 0], coords[idx, 1], c=FAMILY_COLOURS[family], s=28, label=family,
                       edgecolors="black", linewidths=0.3, zorder=3)
    texts = [ax.text(x, y, label, fontsize=6, color=LABEL_COLOURS.get(family, "navy"), zorder=4)
             for (x, y), label, family in zip(coords, labels, families)]
    if explained is not None:
        ax.set_xlabel(f"PC1 ({100 * explained[0]:.0f}% of variance)")
        ax.set_ylabel(f"PC2 ({100 * explained[1]:.0f}% of variance)")
    if title:
        ax.set_title(title, fontsize=9)
    if not len(coords):
        ax.text(0.5, 0.5, "no filters with a significant match", ha="center", transform=ax.transAxes)
        return fig
    ax.legend(fontsize=7, loc="best", title="TF family", title_fontsize=7)
    if declutter and len(texts) > 1:
        from adjustText import adjust_text

        pad = 0.08 * (np.ptp(coords, axis=0) + 1e-9)
        ax.set_xlim(coords[:, 0].min() - pad[0], coords[:, 0].max() + pad[0])
        ax.set_ylim(coords[:, 1].min() - pad[1], coords[:, 1].max() + pad[1])
        adjust_text(texts, x=coords[:, 0], y=coords[:, 1], ax=ax, time_lim=5,
                    arrowprops=dict(arrowstyle="-", color="0.55", lw=0.4))
    return fig


def logo_rows(chosen: list[dict], n: int) -> list[dict]:
    """Up to ``n`` filters for logos: the best of each (motif, orientation), forward and reverse
    complement of a motif next to each other, motifs in order of their best q."""
    best: dict[tuple, dict] = {}
    for row in sorted(chosen, key=lambda r: r["q_value"]):
        best.setdefault((row["match_id"], row["orientation"]), row)
    order = list(dict.fromkeys(key[0] for key in best))
    picked = [best[(m, o)] for m in order for o in ("f", "rc") if (m, o) in best]
    return picked[:n]


def plot_fig3(coords: np.ndarray, chosen: list[dict], probabilities: dict, targets, n_logos: int = 8,
              title: str | None = None, explained: np.ndarray | None = None, caption: str | None = None,
              axes=None):
    """The paper's Fig. 3 (PCA, labelled and coloured) with logos of labelled filters beside it.

    ``axes``: ``(pca_ax, [(filter_ax, match_ax), ...])`` with one pair per logo shown
    (:func:`logo_rows`), or None for a new figure. Returns the figure.
    """
    import matplotlib.pyplot as plt

    from analysis.motifs import logo_pair_axes

    shown = logo_rows(chosen, n_logos) if n_logos else []
    if axes is None:
        fig = plt.figure(figsize=(13.0, max(7.0, 1.25 * len(shown) + 1.4)))
        grid = fig.add_gridspec(1, 2, width_ratios=(1.5, 1.0), wspace=0.16)
        axes = (fig.add_subplot(grid[0]), logo_pair_axes(fig, grid[1], len(shown)) if shown else [])
        fig.subplots_adjust(left=0.06, right=0.98, top=0.94, bottom=0.09)
    pca_ax, pairs = axes
    fig = pca_ax.figure
    plot_projection_pca(coords, [point_label(r) for r in chosen], [r["family"] for r in chosen], ax=pca_ax,
                        title=title, explained=explained)
    if shown:
        plot_logo_pairs(probabilities, shown, targets, axes=pairs)
    if caption:
        fig.text(0.01, 0.005, caption, fontsize=7, ha="left", va="bottom", wrap=True)
    return fig


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarities of the rows (zero rows give 0)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    return unit @ unit.T


def orientation_pair_statistic(vectors: np.ndarray, rows: list[dict], q_threshold: float = 0.01,
                               n_permutations: int = 10000, seed: int = 0) -> dict:
    """Mean cosine of same-motif opposite-orientation filter pairs vs random pairs, with p-value.

    ``vectors`` holds one row per filter (indexed by ``row["filter"]``). The null draws, for
    each permutation, as many distinct random pairs (without replacement) from the
    significantly matched filters as there are observed pairs.
    """
    pool = [r for r in rows if r["match_id"] and r["q_value"] < q_threshold]
    index = np.array([r["filter"] for r in pool], dtype=int)
    cos = cosine_matrix(vectors[index]) if len(index) else np.zeros((0, 0))
    upper_i, upper_j = np.triu_indices(len(pool), k=1)
    same_motif = np.array([pool[i]["match_id"] == pool[j]["match_id"] for i, j in zip(upper_i, upper_j)], bool)
    opposite = np.array([pool[i]["orientation"] != pool[j]["orientation"] for i, j in zip(upper_i, upper_j)],
                        bool)
    all_cos = cos[upper_i, upper_j]
    opp = all_cos[same_motif & opposite] if all_cos.size else all_cos
    same = all_cos[same_motif & ~opposite] if all_cos.size else all_cos
    result = {
        "q_threshold": q_threshold, "n_matched_filters": len(pool),
        "n_opposite_pairs": int(opp.size), "mean_cosine_opposite": float(opp.mean()) if opp.size else None,
        "n_same_orientation_pairs": int(same.size),
        "mean_cosine_same_orientation": float(same.mean()) if same.size else None,
        "n_all_pairs": int(all_cos.size), "mean_cosine_all_pairs": float(all_cos.mean()) if all_cos.size else None,
        "n_permutations": n_permutations, "seed": seed, "null_mean": None, "p_value": None,
        "opposite_pairs": [{"filters": [int(index[i]), int(index[j])], "match_id": pool[i]["match_id"],
                            "match_name": pool[i]["match_name"], "cosine": float(cos[i, j])}
                           for i, j in zip(upper_i[same_motif & opposite], upper_j[same_motif & opposite])],
    }
    if opp.size == 0 or opp.size >= all_cos.size:
        result["note"] = "no permutation test: no opposite-orientation pairs, or no other pairs to compare"
        return result
    rng = np.random.default_rng(seed)
    observed = float(opp.mean())
    # Each draw: opp.size distinct pairs of the pool, without replacement.
    null = np.array([all_cos[rng.choice(all_cos.size, size=opp.size, replace=False)].mean()
                     for _ in range(n_permutations)])
    result["null_mean"] = float(null.mean())
    result["p_value"] = float((1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations))
    return result


def read_filter_probabilities(path: Path) -> dict[int, np.ndarray]:
    """``{filter index: (w, 4) A,C,G,T probabilities}`` from the motif analysis's MEME file."""
    if not path.is_file():
        raise AnalysisError(f"{path}: file not found (run `python -m analysis.motifs` first)")
    return {int(name.rsplit("_", 1)[1]): matrix for name, matrix in read_meme_motifs(path).items()}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (refused I/O such as a full disk: 4)."""
    from cli import run_command

    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.projection_pca",
        description="Fig. 3: PCA of the projection-matrix columns of filters matching JASPAR motifs, with "
                    "logos of those filters beside their matches, and the forward/reverse-complement "
                    "cosine statistic (written to the run dir).")
    parser.add_argument("run_dir", help="run directory of a trained projection model")
    parser.add_argument("-o", "--out", required=True, help="output figure path (FIG.png and FIG.pdf)")
    parser.add_argument("--force", action="store_true", help="replace existing figure files [default: %(default)s]")
    parser.add_argument("--motifs", default=None,
                        help="folder written by python -m analysis.motifs [default: RUN_DIR/motifs]")
    parser.add_argument("--q-threshold", type=float, default=1e-8,
                        help="filters shown: best match q below this [default: %(default)s]")
    parser.add_argument("--min-points", type=int, default=3,
                        help="fewer passing filters than this -> fallback [default: %(default)s]")
    parser.add_argument("--fallback-n", type=int, default=20,
                        help="fallback: this many best-matching filters [default: %(default)s]")
    parser.add_argument("--stat-q", type=float, default=0.01,
                        help="q threshold for the fallback and the cosine statistic [default: %(default)s]")
    parser.add_argument("--logos", type=int, default=8,
                        help="logo pairs beside the PCA (0 = PCA only) [default: %(default)s]")
    parser.add_argument("--n-permutations", type=int, default=10000, help="[default: %(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="permutation seed [default: %(default)s]")
    args = parser.parse_args(argv)
    check_figure_path(args.out, args.force)
    run_dir = Path(args.run_dir)
    motif_dir = Path(args.motifs) if args.motifs else rundirs.motifs_dir(run_dir)
    try:
        if args.n_permutations < 1:
            raise AnalysisError(f"--n-permutations must be >= 1, got {args.n_permutations}")
        if args.logos < 0:
            raise AnalysisError(f"--logos must be >= 0, got {args.logos}")
        synthetic = rundirs.is_synthetic(rundirs.load_config(run_dir))
        model = rundirs.load_run_model(run_dir)
        try:
            vectors = projection_columns(model)
        except AnalysisError as exc:
            raise AnalysisError(f"{rundirs.model_path(run_dir)}: {exc}") from None
        rows = read_tsv(rundirs.motif_file(motif_dir, "table"))
        if len(rows) != len(vectors):
            raise AnalysisError(f"motif table has {len(rows)} filters but the projection has "
                                f"{len(vectors)} columns (table from another run?)")
        summary = rundirs.read_json(rundirs.motif_file(motif_dir, "summary"))
        release = summary.get("jaspar_release", "JASPAR2018")
        probabilities = read_filter_probabilities(rundirs.motif_file(motif_dir, "meme")) if args.logos else {}
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from data.jaspar import load_motifs

    chosen, note = select_filters(rows, args.q_threshold, args.min_points, args.fallback_n, args.stat_q)
    print(note)
    coords, explained = pca_2d(vectors[[r["filter"] for r in chosen]]) if chosen else (np.zeros((0, 2)), None)
    matching = f"{summary.get('distance', 'pearson')} TOMTOM vs {release}"
    title = f"{run_dir.name}: projection columns, {note}" + (f" ({SYNTHETIC_NOTE})" if synthetic else "")
    caption = (f"PCA of the 64-d projection-matrix columns of the filters whose best {release} CORE vertebrate "
               f"match ({summary.get('distance', 'pearson')} TOMTOM; activation rule "
               f"'{summary.get('activation_rule', '?')}') passes the selection; "
               "label: matched motif, (f) forward / (rc) reverse complement of the JASPAR matrix, filter index; "
               "colour: TF family (cyan C2H2 ZF, green bZIP, red homeodomain, purple bHLH, blue other). "
               "Logos: information content of labelled filters (best of each motif and orientation) above "
               "their JASPAR match, aligned by TOMTOM's offset and orientation."
               + (" Synthetic data: motifs were planted." if synthetic else ""))
    fig = plot_fig3(coords, chosen, probabilities, load_motifs(release), n_logos=args.logos, title=title,
                    explained=explained, caption=caption)
    for path in save_figure(fig, args.out):
        print(f"wrote {path}")
    stats = orientation_pair_statistic(vectors, rows, args.stat_q, args.n_permutations, args.seed)
    stats.update(pca_selection=note, pca_filters=[r["filter"] for r in chosen], matching=matching)
    path = write_json(rundirs.projection_similarity_path(run_dir), stats)
    if stats["p_value"] is None:
        print(f"cosine statistic: {stats.get('note')}")
    else:
        print(f"mean cosine, same motif opposite orientation: {stats['mean_cosine_opposite']:.3f} "
              f"({stats['n_opposite_pairs']} pairs) vs random pairs {stats['null_mean']:.3f}, "
              f"permutation p = {stats['p_value']:.2g}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
