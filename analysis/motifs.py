"""Motifs learned by the first convolutional layer, matched to JASPAR with TOMTOM.

Follows the paper (after Alipanahi et al., 2015): pass a few thousand training
sequences through the trained model; for every first-layer filter (``conv1``,
after its activation function) and every sequence in which the filter is
*activated*, take the input window under the filter at its maximally activating
position and count its nucleotides into a position frequency matrix (PFM).

"Activated" here means: the filter's maximum over the sequence is > 0 **and**
> ``threshold_fraction`` x the filter's maximum over all the sequences used
(default 0.5, as in DanQ-style analyses of Alipanahi et al.'s procedure);
``threshold_fraction=0`` gives the literal "> 0" rule. With a Leaky ReLU the
sign and order of positive values are the same before and after the activation,
so either side of it gives the same windows.

PFMs are converted from the DeepSEA one-hot order A,G,C,T to A,C,G,T, written
as a MEME minimal-format (v4) file and compared against JASPAR 2018 CORE
vertebrates with ``memelite.tomtom`` (complete-score TOMTOM, both target strands).
``memelite`` reports p-values only; q-values are Benjamini-Hochberg over all
target p-values of each query (TOMTOM's own q-values are per query, BH).
Orientation ``rc`` means the filter matches the reverse complement of the JASPAR
matrix (memelite strand 1).
"""
from __future__ import annotations

import argparse
import csv
import importlib
import os
import sys
from pathlib import Path

import numpy as np

from analysis.runs import AnalysisError, load_config, model_config, write_json
from data.jaspar import Motif, agct_to_acgt, load_motifs
from fileio import atomic_path, atomic_write_text

FAMILIES = ("C2H2 zinc finger", "bZIP", "homeodomain", "bHLH", "other")
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

def activated_mask(max_act: np.ndarray, threshold_fraction: float = 0.5) -> np.ndarray:
    """(n, F) bool: the filter's sequence maximum is > 0 and > fraction x its overall maximum."""
    if not 0.0 <= threshold_fraction < 1.0:
        raise ValueError(f"threshold_fraction must be in [0, 1), got {threshold_fraction}")
    overall = max_act.max(axis=0, keepdims=True)
    return (max_act > 0) & (max_act > threshold_fraction * overall)


def extract_pfms(x: np.ndarray, max_act: np.ndarray, argmax: np.ndarray, width: int,
                 threshold_fraction: float = 0.5, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Count the maximally activating window of every activated (sequence, filter) pair.

    Parameters
    ----------
    x : (n, L, 4) one-hot sequences in the DeepSEA order A,G,C,T.
    max_act, argmax : (n, F) from :func:`max_activations`.
    width : filter width (window length).
    shift : input position of output position 0 (negative for 'same' padding);
        windows running off either end count as N (zeros).

    Returns
    -------
    counts : (F, width, 4) nucleotide counts in **A,C,G,T** order (JASPAR/MEME order).
    n_sites : (F,) number of sequences in which each filter was activated.
    """
    x = np.asarray(x, dtype=np.float32)
    pad_left, pad_right = max(0, -shift), max(0, width)
    padded = np.pad(x, ((0, 0), (pad_left, pad_right), (0, 0)))
    mask = activated_mask(max_act, threshold_fraction)
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

def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values along the last axis: min over k >= rank of p_(k) m / k, capped at 1."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[..., ::-1], axis=-1)[..., ::-1]
    q = np.empty_like(ranked)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=-1)
    return q


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


def match_motifs(probabilities: list[np.ndarray], targets: tuple[Motif, ...] | None = None,
                 n_jobs: int = -1, q_threshold: float = 0.01) -> list[dict]:
    """Best JASPAR match of each (w, 4) A,C,G,T query by TOMTOM p-value.

    Returns one dict per query with ``match_id, match_name, tf_class, family,
    orientation ('f' or 'rc'), offset, overlap, p_value, q_value`` of the best match and
    ``significant_matches``: the IDs of every target with q < ``q_threshold``, best first,
    joined by ``;`` (TOMTOM lists all significant matches, not only the best).
    """
    from memelite import tomtom

    targets = load_motifs("JASPAR2018") if targets is None else targets
    if not probabilities:
        return []
    queries = [np.ascontiguousarray(np.asarray(prob, dtype=np.float64).T) for prob in probabilities]
    target_mats = [np.ascontiguousarray(motif.probabilities.T) for motif in targets]
    p, scores, offsets, overlaps, strands = tomtom(queries, target_mats, n_jobs=n_jobs)
    q = bh_qvalues(p)
    rows = []
    for i in range(len(queries)):
        best = np.lexsort((-scores[i], p[i]))[0]  # smallest p, then highest score
        motif = targets[best]
        rows.append({"match_id": motif.matrix_id, "match_name": motif.name, "tf_class": motif.tf_class,
                     "family": tf_family(motif.tf_class),
                     "orientation": "rc" if strands[i, best] > 0.5 else "f",
                     "offset": int(offsets[i, best]), "overlap": int(overlaps[i, best]),
                     "p_value": float(p[i, best]), "q_value": float(q[i, best]),
                     "significant_matches": ";".join(
                         targets[j].matrix_id for j in np.lexsort((-scores[i], p[i])) if q[i, j] < q_threshold)})
    return rows


# ----------------------------------------------------------------------------- pipeline

def analyse_filters(model, x: np.ndarray, threshold_fraction: float = 0.5,
                    targets: tuple[Motif, ...] | None = None, batch_size: int = 128,
                    min_sites: int = 1, q_threshold: float = 0.01) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Full pipeline for one model: activations -> PFMs -> TOMTOM matches.

    Returns ``(rows, counts (F, w, 4) ACGT, n_sites (F,))``; ``rows`` has one dict per
    filter (columns :data:`TSV_COLUMNS`); filters with fewer than ``min_sites``
    activated sequences get no match (empty fields, p = q = 1).
    """
    max_act, argmax, width, shift = max_activations(model, x, batch_size)
    counts, n_sites = extract_pfms(x, max_act, argmax, width, threshold_fraction, shift)
    usable = np.flatnonzero(n_sites >= max(1, min_sites))
    matches = match_motifs([counts_to_probabilities(counts[f]) for f in usable], targets,
                           q_threshold=q_threshold)
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
    return rows


def load_run_model(run_dir: str | os.PathLike, weights: str = "best_model.keras"):
    """Load a run's saved Keras model (custom layers/activations of ``models`` registered first)."""
    import keras

    path = Path(run_dir) / weights
    if not path.exists():
        raise AnalysisError(f"{path}: file not found (has the run trained?)")
    for module in ("models.blocks", "models.presets"):
        try:
            importlib.import_module(module)  # registers custom serializables
        except ImportError:
            pass
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a bad file
        raise AnalysisError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None


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


def plot_logos(counts: np.ndarray, rows: list[dict], top: int = 12, ax=None):
    """Information-content logos (stacked letters as coloured bars) of the best-matching filters."""
    import matplotlib.pyplot as plt

    from analysis.plotting import new_axes

    ranked = sorted((r for r in rows if r["match_id"]), key=lambda r: r["q_value"])[:top]
    n = max(1, len(ranked))
    if ax is None:
        fig, axes = plt.subplots(n, 1, figsize=(6, 1.1 * n), squeeze=False)
        axes = axes[:, 0]
    else:
        fig, ax = new_axes(ax)
        axes = [ax]
    colours = {"A": "tab:green", "C": "tab:blue", "G": "orange", "T": "tab:red"}
    for axis, row in zip(axes, ranked):
        prob = counts_to_probabilities(counts[row["filter"]])
        ic = 2 + np.sum(np.where(prob > 0, prob * np.log2(np.maximum(prob, 1e-12)), 0), axis=1)
        heights = prob * ic[:, None]
        for pos in range(len(prob)):
            bottom = 0.0
            for j in np.argsort(heights[pos]):
                base, height = "ACGT"[j], heights[pos, j]
                axis.bar(pos, height, bottom=bottom, width=0.9, color=colours[base])
                if height > 0.35:  # letter inside its bar segment when it fits
                    axis.text(pos, bottom + height / 2, base, ha="center", va="center", color="white",
                              fontsize=7, fontweight="bold")
                bottom += height
        axis.set_ylim(0, 2)
        axis.set_xticks([])
        axis.set_ylabel("bits", fontsize=7)
        axis.set_title(f"filter {row['filter']}: {row['match_name']} ({row['orientation']}), "
                       f"q={row['q_value']:.1e}", fontsize=8)
    if not ranked:
        axes[0].text(0.5, 0.5, "no matched filters", ha="center", transform=axes[0].transAxes)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.motifs",
        description="Turn the first-layer filters of a trained run into PFMs, write them as a MEME "
                    "file and match them against JASPAR 2018 CORE vertebrates with TOMTOM.")
    parser.add_argument("run_dir", help="run directory (config.json, best_model.keras)")
    parser.add_argument("--data", required=True, help="data directory (store or DeepSEA .mat files)")
    parser.add_argument("--n-sequences", type=int, default=4000,
                        help="training sequences passed through the model [default: %(default)s]")
    parser.add_argument("--threshold-fraction", type=float, default=0.5,
                        help="a filter is activated in a sequence when its max is > 0 and > this "
                             "fraction of its max over all sequences; 0 = the literal '> 0' rule "
                             "[default: %(default)s]")
    parser.add_argument("--q-threshold", type=float, default=0.01,
                        help="significance threshold on the best match's q-value [default: %(default)s]")
    parser.add_argument("--split", default="train", help="data split to sample [default: %(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="sequence sampling seed [default: %(default)s]")
    parser.add_argument("--batch-size", type=int, default=128, help="[default: %(default)s]")
    parser.add_argument("--logos", type=int, default=0,
                        help="also draw logos of this many best-matching filters (0 = none) "
                             "[default: %(default)s]")
    parser.add_argument("-o", "--out", default=None,
                        help="output folder [default: RUN_DIR/motifs]")
    args = parser.parse_args(argv)
    try:
        if args.n_sequences < 1:
            raise AnalysisError(f"--n-sequences must be >= 1, got {args.n_sequences}")
        if not 0.0 <= args.threshold_fraction < 1.0:
            raise AnalysisError(f"--threshold-fraction must be in [0, 1), got {args.threshold_fraction}")
        run_dir = Path(args.run_dir)
        out = Path(args.out) if args.out else run_dir / "motifs"
        cfg = model_config(load_config(run_dir), str(run_dir / "config.json"))
        model = load_run_model(run_dir)
        length = int(model.inputs[0].shape[1])
        x = sample_sequences(args.data, args.n_sequences, length, args.seed, args.split)
        rows, counts, n_sites = analyse_filters(model, x, args.threshold_fraction, batch_size=args.batch_size,
                                                q_threshold=args.q_threshold)
    except (AnalysisError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = [f"filter_{f}" for f in range(len(rows))]
    used = [f for f in range(len(rows)) if n_sites[f] > 0]
    background = agct_to_acgt(x.reshape(-1, 4).sum(axis=0))
    write_meme(out / "filters.meme", [names[f] for f in used],
               [counts_to_probabilities(counts[f]) for f in used], [int(n_sites[f]) for f in used],
               background / max(background.sum(), 1))
    write_tsv(out / "tomtom.tsv", rows)
    k = count_significant(rows, args.q_threshold)
    write_json(out / "summary.json", {
        "n_filters": len(rows), "n_with_sites": len(used), "n_significant": k,
        "q_threshold": args.q_threshold, "threshold_fraction": args.threshold_fraction,
        "n_sequences": int(len(x)), "split": args.split, "seed": args.seed,
        "family": cfg.get("family"), "filters": cfg.get("filters"),
        "qvalue_method": "Benjamini-Hochberg over each filter's p-values against all targets",
        "targets": "JASPAR2018 CORE vertebrates"})
    if args.logos:
        from analysis.plotting import save_figure
        save_figure(plot_logos(counts, rows, top=args.logos), out / "logos")
    print(f"{k} of {len(rows)} learned motifs have a significant match (q < {args.q_threshold:g})")
    print(f"wrote {out / 'filters.meme'}, {out / 'tomtom.tsv'}, {out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
