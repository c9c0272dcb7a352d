"""Motifs learned by the first convolutional layer, matched to JASPAR with TOMTOM.

Follows the paper (after Alipanahi et al., 2015): pass a few thousand training sequences
through the trained model; for every first-layer filter (``conv1``, after its activation
function) and every sequence in which the filter is *activated*, take the input window under
the filter at its maximally activating position and count its nucleotides into a position
frequency matrix (PFM).

When is a filter "activated" in a sequence (``--activation-rule``)?

* ``positive`` (the paper's text): its maximum activation over the sequence is > 0.
* ``fraction`` (default): its maximum is > 0 **and** > ``threshold_fraction`` x the filter's
  maximum over all the sequences used (default 0.5, the DanQ-style reading of Alipanahi et
  al.'s procedure), which keeps weak, off-motif windows out of the PFM.

With a Leaky ReLU the sign and order of positive values are the same before and after the
activation, so either side of it gives the same windows.

PFMs are converted from the DeepSEA one-hot order A,G,C,T to A,C,G,T, written as a MEME
minimal-format (v4) file and compared with a JASPAR release's CORE vertebrate matrices
(``--jaspar-release``, default JASPAR2018 as in the paper) by TOMTOM's complete-score method,
with Pearson-correlation column scores (``--distance pearson``, MEME 4.x's default, computed
by :mod:`analysis.tomtom`) or Euclidean ones (``euclidean``, ``memelite.tomtom``). q-values:
Benjamini-Hochberg over each filter's p-values against all targets
(``scipy.stats.false_discovery_control``); docs/ANALYSIS.md says how TOMTOM's own differ.
Orientation ``rc`` means the filter matches the reverse complement of the JASPAR matrix.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

from analysis import runs as rundirs
from analysis.runs import AnalysisError, write_json
from data.jaspar import Motif, agct_to_acgt, load_motifs, reverse_complement
from fileio import atomic_path, atomic_write_text

FAMILIES = ("C2H2 zinc finger", "bZIP", "homeodomain", "bHLH", "other")
ACTIVATION_RULES = ("fraction", "positive")
DISTANCES = ("pearson", "euclidean")
DEFAULT_RELEASE = "JASPAR2018"
TSV_COLUMNS = ("filter", "n_sites", "match_id", "match_name", "tf_class", "family", "orientation",
               "offset", "overlap", "p_value", "q_value", "significant_matches")


# ----------------------------------------------------------------------------- activations

def conv1_activation_model(model):
    """A model from the network input to the first conv layer's activations (layer ``conv1``).

    If ``conv1`` itself is linear and a separate activation layer consumes it, that
    layer's output is used, so the values are always after the activation function.
    """
    import keras

    try:
        conv = model.get_layer("conv1")
    except ValueError:
        raise AnalysisError("model has no layer named 'conv1' (the first convolution)") from None
    output = conv.output
    if getattr(conv.activation, "__name__", "") == "linear":
        for layer in model.layers:
            if layer is not conv and not layer.weights and _consumes(layer, conv.output):
                output = layer.output
                break
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, output), conv


def _consumes(layer, tensor) -> bool:
    """Whether ``layer`` is an elementwise activation applied directly to ``tensor``."""
    name = type(layer).__name__
    if name not in ("Activation", "LeakyReLU", "ReLU", "ELU", "PReLU"):
        return False
    try:
        return layer.input is tensor
    except (AttributeError, ValueError):
        return False


def window_start_shift(conv) -> int:
    """Input position of output position 0 of ``conv`` (0 for valid padding, -pad for same)."""
    width = int(conv.kernel_size[0])
    return 0 if conv.padding == "valid" else -((width - 1) // 2)


def max_activations(model, x: np.ndarray, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Per sequence and filter, the maximum first-layer activation and its position.

    Returns ``(max_act (n, F), argmax (n, F), width, shift)``: the window of filter f
    in sequence i starts at input position ``argmax[i, f] + shift``. Only the per-sequence
    maxima are kept, so memory stays O(n F) however long the sequences are.
    """
    sub, conv = conv1_activation_model(model)
    maxima, positions = [], []
    for start in range(0, len(x), batch_size):
        act = np.asarray(sub(x[start:start + batch_size], training=False))
        maxima.append(act.max(axis=1))
        positions.append(act.argmax(axis=1))
    return (np.concatenate(maxima), np.concatenate(positions), int(conv.kernel_size[0]),
            window_start_shift(conv))


# ----------------------------------------------------------------------------- PFMs

def activated_mask(max_act: np.ndarray, threshold_fraction: float = 0.5,
                   rule: str = "fraction") -> np.ndarray:
    """(n, F) bool: sequences in which each filter counts as activated (module docstring).

    ``positive``: the sequence maximum is > 0 (the paper). ``fraction``: also
    > ``threshold_fraction`` x the filter's maximum over all sequences.
    """
    if rule not in ACTIVATION_RULES:
        raise ValueError(f"activation rule {rule!r}; expected one of {', '.join(ACTIVATION_RULES)}")
    if rule == "positive":
        return max_act > 0
    if not 0.0 <= threshold_fraction < 1.0:
        raise ValueError(f"threshold_fraction must be in [0, 1), got {threshold_fraction}")
    overall = max_act.max(axis=0, keepdims=True)
    return (max_act > 0) & (max_act > threshold_fraction * overall)


def extract_pfms(x: np.ndarray, max_act: np.ndarray, argmax: np.ndarray, width: int,
                 threshold_fraction: float = 0.5, shift: int = 0,
                 rule: str = "fraction") -> tuple[np.ndarray, np.ndarray]:
    """Count the maximally activating window of every activated (sequence, filter) pair.

    Parameters
    ----------
    x : (n, L, 4) one-hot sequences in the DeepSEA order A,G,C,T.
    max_act, argmax : (n, F) from :func:`max_activations`.
    width : filter width (window length).
    shift : input position of output position 0 (negative for 'same' padding);
        windows running off either end count as N (zeros).
    rule, threshold_fraction : which sequences count, see :func:`activated_mask`.

    Returns
    -------
    counts : (F, width, 4) nucleotide counts in **A,C,G,T** order (JASPAR/MEME order).
    n_sites : (F,) number of sequences in which each filter was activated.
    """
    x = np.asarray(x, dtype=np.float32)
    pad_left, pad_right = max(0, -shift), max(0, width)
    padded = np.pad(x, ((0, 0), (pad_left, pad_right), (0, 0)))
    mask = activated_mask(max_act, threshold_fraction, rule)
    n_filters = max_act.shape[1]
    counts = np.zeros((n_filters, width, 4), dtype=np.float64)
    offsets = np.arange(width)
    for f in range(n_filters):
        rows = np.flatnonzero(mask[:, f])
        if rows.size == 0:
            continue
        starts = argmax[rows, f] + shift + pad_left
        windows = padded[rows[:, None], starts[:, None] + offsets[None, :]]  # (k, width, 4)
        counts[f] = windows.sum(axis=0)
    return agct_to_acgt(counts), mask.sum(axis=0)


def counts_to_probabilities(counts: np.ndarray) -> np.ndarray:
    """Rows of a (..., w, 4) count matrix normalised to sum to 1 (uniform where a row is empty)."""
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=-1, keepdims=True)
    return np.where(totals > 0, counts / np.maximum(totals, 1e-12), 0.25)


# ----------------------------------------------------------------------------- MEME file

def write_meme(path: str | os.PathLike, names: list[str], probabilities: list[np.ndarray],
               nsites: list[int] | None = None, background: np.ndarray | None = None) -> Path:
    """Write motifs ((w, 4) A,C,G,T probabilities) as a MEME minimal-format v4 file, atomically."""
    path = Path(path)
    background = np.full(4, 0.25) if background is None else np.asarray(background, dtype=float)
    nsites = nsites if nsites is not None else [20] * len(names)
    lines = ["MEME version 4", "", "ALPHABET= ACGT", "", "strands: + -", "",
             "Background letter frequencies",
             " ".join(f"{base} {freq:.4f}" for base, freq in zip("ACGT", background)), ""]
    for name, prob, sites in zip(names, probabilities, nsites):
        prob = np.asarray(prob)
        if prob.ndim != 2 or prob.shape[1] != 4:
            raise ValueError(f"motif {name}: expected a (width, 4) matrix, got shape {prob.shape}")
        lines += [f"MOTIF {name}",
                  f"letter-probability matrix: alength= 4 w= {prob.shape[0]} nsites= {int(sites)} E= 0"]
        lines += [" " + " ".join(f"{value:.6f}" for value in row) for row in prob]
        lines.append("")
    return atomic_write_text(path, "\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- TOMTOM

def qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis (``scipy.stats.false_discovery_control``)."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=np.float64)
    if p.shape[-1] == 0:
        return p.copy()
    return false_discovery_control(np.clip(p, 0.0, 1.0), axis=-1, method="bh")


def tf_family(tf_class: str) -> str:
    """Map JASPAR's TF class annotation to the five colour groups of the paper's Fig. 3."""
    text = tf_class.lower()
    if "c2h2" in text:
        return "C2H2 zinc finger"
    if "bzip" in text or "leucine zipper" in text:
        return "bZIP"
    if "homeo" in text:
        return "homeodomain"
    if "bhlh" in text or "helix-loop-helix" in text:
        return "bHLH"
    return "other"


def tomtom_pvalues(queries: list[np.ndarray], target_mats: list[np.ndarray], distance: str = "pearson",
                   min_overlap: int = 1, n_jobs: int = -1):
    """(p, offsets, overlaps, strands), each (n_queries, n_targets), for (w, 4) A,C,G,T matrices.

    ``pearson``: :func:`analysis.tomtom.tomtom`; ``euclidean``: ``memelite.tomtom`` (which has
    no overlap limit, so ``min_overlap`` must be 1 there).
    """
    if distance == "pearson":
        from analysis.tomtom import tomtom

        result = tomtom(queries, target_mats, "pearson", min_overlap=min_overlap)
        return result.p_values, result.offsets, result.overlaps, result.strands
    if distance == "euclidean":
        from memelite import tomtom

        if min_overlap != 1:
            raise ValueError("memelite's Euclidean TOMTOM has no minimum overlap; use --min-overlap 1")
        p, _, offsets, overlaps, strands = tomtom([np.ascontiguousarray(q.T) for q in queries],
                                                  [np.ascontiguousarray(t.T) for t in target_mats],
                                                  n_jobs=n_jobs)
        return p, offsets.astype(int), overlaps.astype(int), (strands > 0.5).astype(int)
    raise ValueError(f"distance {distance!r}; expected one of {', '.join(DISTANCES)}")


def match_motifs(probabilities: list[np.ndarray], targets: tuple[Motif, ...] | None = None,
                 n_jobs: int = -1, q_threshold: float = 0.01, distance: str = "pearson",
                 min_overlap: int = 1, release: str = DEFAULT_RELEASE) -> list[dict]:
    """Best JASPAR match of each (w, 4) A,C,G,T query by TOMTOM p-value.

    Returns one dict per query with ``match_id, match_name, tf_class, family,
    orientation ('f' or 'rc'), offset, overlap, p_value, q_value`` of the best match,
    ``significant_matches`` (IDs of every target with q < ``q_threshold``, best first, joined
    by ``;``) and ``ranked_ids`` (the 10 best target IDs, not written to the table).
    ``offset`` d: filter position k is aligned with position k + d of the JASPAR matrix
    (reverse-complemented first when the orientation is ``rc``).
    """
    targets = load_motifs(release) if targets is None else targets
    if not probabilities:
        return []
    queries = [np.asarray(prob, dtype=np.float64) for prob in probabilities]
    target_mats = [motif.probabilities for motif in targets]
    p, offsets, overlaps, strands = tomtom_pvalues(queries, target_mats, distance, min_overlap, n_jobs)
    q = qvalues(p)
    rows = []
    for i in range(len(queries)):
        # Smallest p; ties: larger overlap, then target order (TOMTOM's sort).
        order = np.lexsort((-overlaps[i], p[i]))
        best = order[0]
        motif = targets[best]
        rows.append({"match_id": motif.matrix_id, "match_name": motif.name, "tf_class": motif.tf_class,
                     "family": tf_family(motif.tf_class),
                     "orientation": "rc" if strands[i, best] else "f",
                     "offset": int(offsets[i, best]), "overlap": int(overlaps[i, best]),
                     "p_value": float(p[i, best]), "q_value": float(q[i, best]),
                     "significant_matches": ";".join(targets[j].matrix_id for j in order if q[i, j] < q_threshold),
                     "ranked_ids": [targets[j].matrix_id for j in order[:10]]})
    return rows


# ----------------------------------------------------------------------------- pipeline

def analyse_filters(model, x: np.ndarray, threshold_fraction: float = 0.5,
                    targets: tuple[Motif, ...] | None = None, batch_size: int = 128,
                    min_sites: int = 1, q_threshold: float = 0.01, rule: str = "fraction",
                    distance: str = "pearson", min_overlap: int = 1,
                    release: str = DEFAULT_RELEASE) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Full pipeline for one model: activations -> PFMs -> TOMTOM matches.

    Returns ``(rows, counts (F, w, 4) ACGT, n_sites (F,))``; ``rows`` has one dict per
    filter (columns :data:`TSV_COLUMNS`); filters with fewer than ``min_sites``
    activated sequences get no match (empty fields, p = q = 1).
    """
    max_act, argmax, width, shift = max_activations(model, x, batch_size)
    counts, n_sites = extract_pfms(x, max_act, argmax, width, threshold_fraction, shift, rule)
    usable = np.flatnonzero(n_sites >= max(1, min_sites))
    matches = match_motifs([counts_to_probabilities(counts[f]) for f in usable], targets,
                           q_threshold=q_threshold, distance=distance, min_overlap=min_overlap,
                           release=release)
    by_filter = dict(zip(usable.tolist(), matches))
    rows = []
    for f in range(len(n_sites)):
        row = {"filter": f, "n_sites": int(n_sites[f])}
        row.update(by_filter.get(f, {"match_id": "", "match_name": "", "tf_class": "", "family": "",
                                     "orientation": "", "offset": "", "overlap": "",
                                     "p_value": 1.0, "q_value": 1.0, "significant_matches": ""}))
        rows.append(row)
    return rows, counts, n_sites


def count_significant(rows: list[dict], q_threshold: float = 0.01) -> int:
    """Number of filters whose best match has q < ``q_threshold``."""
    return sum(1 for row in rows if row["match_id"] and float(row["q_value"]) < q_threshold)


def write_tsv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write the per-filter match table as TSV (atomically)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TSV_COLUMNS, delimiter="\t", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            out = dict(row)
            for key in ("p_value", "q_value"):
                out[key] = f"{float(row[key]):.4g}"
            writer.writerow(out)
    return path


def read_meme_motifs(path: str | Path) -> dict[str, np.ndarray]:
    """``{motif id: (w, 4) A,C,G,T probabilities}`` of a MEME file (memelite's reader)."""
    from memelite.io import read_meme

    path = Path(path)
    if not path.is_file():
        raise AnalysisError(f"{path}: file not found")
    try:
        motifs = read_meme(str(path))
    except Exception as exc:  # memelite raises plain exceptions for a malformed file
        raise AnalysisError(f"{path}: not a MEME motif file ({type(exc).__name__}: {exc})") from None
    if not motifs:
        raise AnalysisError(f"{path}: no motifs")
    # MEME's "MOTIF id alt" line: memelite keys by "id alt"; TOMTOM names queries by id.
    return {name.split()[0]: np.asarray(matrix, dtype=np.float64).T for name, matrix in motifs.items()}


def read_tsv(path: str | os.PathLike) -> list[dict]:
    """Read a table written by :func:`write_tsv` (numbers parsed back)."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except FileNotFoundError:
        raise AnalysisError(f"{path}: file not found (run `python -m analysis.motifs` first)") from None
    if rows and set(TSV_COLUMNS) - set(rows[0]):
        raise AnalysisError(f"{path}: not a motif match table (missing columns)")
    for row in rows:
        row["filter"], row["n_sites"] = int(row["filter"]), int(row["n_sites"])
        row["p_value"], row["q_value"] = float(row["p_value"]), float(row["q_value"])
        for key in ("offset", "overlap"):
            row[key] = int(row[key]) if row[key] not in ("", None) else None
    return rows


def sample_sequences(data_dir: str | os.PathLike, n_sequences: int, sequence_length: int | None,
                     seed: int = 0, split: str = "train") -> np.ndarray:
    """``n_sequences`` random sequences (sorted indices, for memmap locality) of one split, one-hot AGCT."""
    from data.store import resolve_store

    store = resolve_store(data_dir)
    part = store.split(split)
    n = min(n_sequences, part.num_samples)
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.choice(part.num_samples, size=n, replace=False))
    x, _ = part.read(indices, sequence_length)
    return np.asarray(x, dtype=np.float32)


# ----------------------------------------------------------------------------- logos

LOGO_COLOURS = "classic"  # logomaker's: A green, C blue, G orange, T red


def information_logo(probabilities: np.ndarray, ax, start: int = 0, ylabel: str = "bits"):
    """Draw a (w, 4) A,C,G,T probability matrix as an information-content logo (bits) on ``ax``.

    ``start`` is the x position of the matrix's first column (to align two logos).
    """
    import logomaker
    import pandas as pd

    prob = np.asarray(probabilities, dtype=np.float64)
    prob = prob / np.maximum(prob.sum(axis=1, keepdims=True), 1e-12)
    ic = 2.0 + np.sum(np.where(prob > 0, prob * np.log2(np.maximum(prob, 1e-12)), 0.0), axis=1)
    frame = pd.DataFrame(prob * ic[:, None], columns=list("ACGT"), index=np.arange(start, start + len(prob)))
    logomaker.Logo(frame, ax=ax, color_scheme=LOGO_COLOURS, show_spines=False)
    ax.set_ylim(0, 2)
    ax.set_yticks([0, 2])
    ax.set_ylabel(ylabel, fontsize=6, rotation=0, ha="right", va="center")
    ax.tick_params(labelsize=6, length=2)
    return ax


def aligned_match(row: dict, targets_by_id: dict[str, Motif]) -> tuple[np.ndarray, int] | None:
    """The filter's best JASPAR match oriented as matched, and its start in filter coordinates."""
    motif = targets_by_id.get(row.get("match_id") or "")
    if motif is None or row.get("offset") in ("", None):
        return None
    matrix = motif.probabilities
    if row["orientation"] == "rc":
        matrix = reverse_complement(matrix)
    return matrix, -int(row["offset"])  # target column j sits at filter position j - offset


def logo_pair_axes(fig, subplot_spec, n: int) -> list[tuple]:
    """``n`` (filter, match) axes pairs in ``subplot_spec``: each pair tight, pairs apart."""
    from matplotlib.gridspec import GridSpecFromSubplotSpec

    outer = GridSpecFromSubplotSpec(n, 1, subplot_spec=subplot_spec, hspace=0.55)
    pairs = []
    for k in range(n):
        inner = GridSpecFromSubplotSpec(2, 1, subplot_spec=outer[k], hspace=0.12)
        top = fig.add_subplot(inner[0])
        pairs.append((top, fig.add_subplot(inner[1], sharex=top)))
    return pairs


def logo_header(row: dict) -> str:
    """Title of a logo pair: filter, sites, best match, orientation, q."""
    return (f"filter {row['filter']} ({row['n_sites']} sites): {row['match_name']} {row['match_id']} "
            f"({row['orientation']}), q = {row['q_value']:.1e}")


def plot_logo_pairs(probabilities, rows: list[dict], targets: tuple[Motif, ...], axes=None):
    """Logo of each row's filter (upper) above its best JASPAR match (lower), aligned by TOMTOM.

    ``probabilities[f]`` is filter f's (w, 4) PFM (counts or probabilities). ``axes``: one
    (upper, lower) pair per row, or None for a new figure. x is the position in the filter
    (1-based); the match is shifted and, for ``rc``, reverse-complemented as TOMTOM aligned it.
    Returns the figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(rows))
    if axes is None:
        fig = plt.figure(figsize=(4.4, 1.35 * n + 0.3))
        axes = logo_pair_axes(fig, fig.add_gridspec(1, 1)[0], n)
    fig = axes[0][0].figure
    by_id = {m.matrix_id: m for m in targets}
    for k, row in enumerate(rows):
        top, bottom = axes[k]
        width = np.asarray(probabilities[row["filter"]]).shape[0]
        information_logo(counts_to_probabilities(probabilities[row["filter"]]), top, start=1, ylabel="filter")
        top.set_title(logo_header(row), fontsize=6.5, loc="left", pad=2)
        match = aligned_match(row, by_id)
        lo, hi = 0.5, width + 0.5
        if match is not None:
            matrix, start = match
            information_logo(matrix, bottom, start=start + 1, ylabel="JASPAR")
            lo, hi = min(lo, start + 0.5), max(hi, start + len(matrix) + 0.5)
        top.set_xlim(lo, hi)
        top.tick_params(labelbottom=False)
        top.set_yticks([0, 2], ["", "2"])  # the lower logo's "2" would touch the upper's "0"
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    if rows:
        axes[len(rows) - 1][1].set_xlabel("position in filter (letter height: information content, bits)",
                                          fontsize=6)
    else:
        axes[0][0].text(0.5, 0.5, "no matched filters", ha="center", transform=axes[0][0].transAxes)
    return fig


def plot_logos(counts: np.ndarray, rows: list[dict], top: int = 8,
               targets: tuple[Motif, ...] | None = None, release: str = DEFAULT_RELEASE, axes=None):
    """Logos of the ``top`` best-matching filters, each above its aligned JASPAR match."""
    ranked = sorted((r for r in rows if r["match_id"]), key=lambda r: r["q_value"])[:top]
    return plot_logo_pairs(counts, ranked, load_motifs(release) if targets is None else targets, axes)


# ----------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (refused I/O such as a full disk: 4)."""
    from cli import run_command

    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.motifs",
        description="Turn the first-layer filters of a trained run into PFMs, write them as a MEME "
                    "file and match them against JASPAR CORE vertebrates with TOMTOM.")
    parser.add_argument("run_dir", help="run directory of a trained model")
    parser.add_argument("--data", default=None,
                        help="data directory (store or DeepSEA .mat files) [default: the one the run was "
                             "trained on, from its config]")
    parser.add_argument("--n-sequences", type=int, default=4000,
                        help="training sequences passed through the model [default: %(default)s]")
    parser.add_argument("--activation-rule", choices=ACTIVATION_RULES, default="fraction",
                        help="a filter is activated in a sequence when its maximum is > 0 ('positive', "
                             "the paper's text) or also > --threshold-fraction x its maximum over all "
                             "sequences ('fraction') [default: %(default)s]")
    parser.add_argument("--threshold-fraction", type=float, default=0.5,
                        help="the fraction of the 'fraction' rule [default: %(default)s]")
    parser.add_argument("--jaspar-release", default=DEFAULT_RELEASE,
                        help="JASPAR release (pyjaspar name; the paper used JASPAR2018) [default: %(default)s]")
    parser.add_argument("--distance", choices=DISTANCES, default="pearson",
                        help="TOMTOM column score: Pearson correlation (MEME 4.x's default) or Euclidean "
                             "(memelite) [default: %(default)s]")
    parser.add_argument("--min-overlap", type=int, default=1,
                        help="TOMTOM minimum overlap (pearson only) [default: %(default)s]")
    parser.add_argument("--q-threshold", type=float, default=0.01,
                        help="significance threshold on the best match's q-value [default: %(default)s]")
    parser.add_argument("--split", default="train", help="data split to sample [default: %(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="sequence sampling seed [default: %(default)s]")
    parser.add_argument("--batch-size", type=int, default=128, help="[default: %(default)s]")
    parser.add_argument("--logos", type=int, default=0,
                        help="also draw logos of this many best-matching filters beside their JASPAR "
                             "matches (0 = none) [default: %(default)s]")
    parser.add_argument("-o", "--out", default=None,
                        help="output folder [default: RUN_DIR/motifs]")
    args = parser.parse_args(argv)
    try:
        if args.n_sequences < 1:
            raise AnalysisError(f"--n-sequences must be >= 1, got {args.n_sequences}")
        if not 0.0 <= args.threshold_fraction < 1.0:
            raise AnalysisError(f"--threshold-fraction must be in [0, 1), got {args.threshold_fraction}")
        if args.min_overlap < 1:
            raise AnalysisError(f"--min-overlap must be >= 1, got {args.min_overlap}")
        run_dir = Path(args.run_dir)
        out = Path(args.out) if args.out else rundirs.motifs_dir(run_dir)
        config = rundirs.load_config(run_dir)
        cfg = rundirs.model_config(config, str(rundirs.config_path(run_dir)))
        data = args.data or rundirs.data_dir(config)
        if data is None:
            raise AnalysisError(f"{rundirs.config_path(run_dir)}: no data directory recorded; pass --data")
        targets = load_motifs(args.jaspar_release)
        model = rundirs.load_run_model(run_dir)
        length = int(model.inputs[0].shape[1])
        x = sample_sequences(data, args.n_sequences, length, args.seed, args.split)
        rows, counts, n_sites = analyse_filters(
            model, x, args.threshold_fraction, targets, batch_size=args.batch_size,
            q_threshold=args.q_threshold, rule=args.activation_rule, distance=args.distance,
            min_overlap=args.min_overlap, release=args.jaspar_release)
    except (AnalysisError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = [f"filter_{f}" for f in range(len(rows))]
    used = [f for f in range(len(rows)) if n_sites[f] > 0]
    background = agct_to_acgt(x.reshape(-1, 4).sum(axis=0))
    write_meme(rundirs.motif_file(out, "meme"), [names[f] for f in used],
               [counts_to_probabilities(counts[f]) for f in used], [int(n_sites[f]) for f in used],
               background / max(background.sum(), 1))
    write_tsv(rundirs.motif_file(out, "table"), rows)
    k = count_significant(rows, args.q_threshold)
    rule = ("max > 0" if args.activation_rule == "positive"
            else f"max > 0 and > {args.threshold_fraction:g} x the filter's overall max")
    write_json(rundirs.motif_file(out, "summary"), {
        "n_filters": len(rows), "n_with_sites": len(used), "n_significant": k,
        "q_threshold": args.q_threshold, "activation_rule": args.activation_rule,
        "activation_rule_text": rule, "threshold_fraction": args.threshold_fraction,
        "n_sequences": int(len(x)), "split": args.split, "seed": args.seed,
        "family": cfg.get("family"), "filters": cfg.get("filters"),
        "distance": args.distance, "min_overlap": args.min_overlap, "jaspar_release": args.jaspar_release,
        "qvalue_method": "Benjamini-Hochberg (scipy.stats.false_discovery_control) over each filter's "
                         "p-values against all targets, pi0 = 1",
        "targets": f"{args.jaspar_release} CORE vertebrates ({len(targets)} matrices)",
        "data": str(data), "synthetic_data": rundirs.is_synthetic(config)})
    if args.logos:
        from analysis.plotting import SYNTHETIC_NOTE, save_figure
        fig = plot_logos(counts, rows, top=args.logos, targets=targets)
        fig.suptitle(f"{run_dir.name}: best-matching filters, {args.distance} TOMTOM vs {args.jaspar_release}"
                     + (f" ({SYNTHETIC_NOTE})" if rundirs.is_synthetic(config) else ""), fontsize=7)
        save_figure(fig, rundirs.motif_file(out, "logos"))
    print(f"{k} of {len(rows)} learned motifs have a significant match (q < {args.q_threshold:g}) "
          f"[{args.distance} TOMTOM vs {args.jaspar_release}, activation rule {args.activation_rule}]")
    print(f"wrote {rundirs.motif_file(out, 'meme')}, {rundirs.motif_file(out, 'table')}, "
          f"{rundirs.motif_file(out, 'summary')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
