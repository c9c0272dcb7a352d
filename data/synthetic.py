"""A synthetic DeepSEA bundle in the exact published layouts, with labels driven by JASPAR motifs.

    python -m data.synthetic OUT_DIR [--n-train 30000 --n-valid 2000 --n-test 4000 --seed 0]

Writes ``train.mat`` (MATLAB v7.3: HDF5 behind a 512-byte MATLAB header, ``trainxdata`` (1000, 4, N)
and ``traindata`` (919, N) as h5py sees them, chunked and gzip-compressed), ``valid.mat`` and
``test.mat`` (MATLAB v5, ``{split}xdata`` (N, 4, 1000), ``{split}data`` (N, 919)), ``truth.json`` and
``truth.npz`` (which motifs were planted in each forward row, and which motifs drive each target:
:func:`oracle_probabilities` and :func:`oracle_summary` turn them into the Bayes-optimal scores).
One-hot channels are in DeepSEA's A, G, C, T order. In every split the second half holds the
reverse complements of the first half, in the same order, with the same labels.

The generative model (all settings recorded in truth.json):

* Background: i.i.d. bases, then CpG depletion: 3/4 of CG dinucleotides are mutated to TG or CA
  (as methyl-cytosine deamination does), leaving about 41% GC and CpG at about a quarter of its
  expected frequency, as in the human genome.
* A pool of ``num_motifs`` distinct, informative JASPAR 2018 CORE vertebrate motifs (8-21 bp):
  first the motifs of TFs assayed in DeepSEA's targets (CTCF, GATA1, ...), near-duplicates merged,
  then other informative motifs to fill the pool.
* Each forward sequence receives Poisson(``motifs_per_sequence``) instances, sampled from the
  motif's PWM (sharpened towards the consensus), in either orientation, in distinct 25 bp slots of
  the central 200 bp; with ``repeat_probability`` an instance repeats the sequence's first motif
  (homotypic clusters), which makes present motifs strong, quickly learnable signals.
* Each of the 919 targets (named after DeepSEA's) is driven by 1-2 motifs: a TF target by its TF's
  motif (shared by every cell type that assays the TF; family members share one motif), DNase by
  two motifs of its cell type, a histone mark or a factor without a JASPAR motif (Pol2, p300, ...)
  by either a cell-type motif or a motif of its own. The label is 1 when any driving motif is
  present, then flipped with label noise (false negatives and false positives).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from cli import UserError, run_command
from data.encoding import one_hot, reverse_complement_codes
from data.mat import DataError, variable_names
from fileio import atomic_path, atomic_write_text

SEQUENCE_LENGTH = 1000
CENTER = (400, 600)  # the central 200 bp that DeepSEA labels describe
SLOT = 25  # planting slots: 8 per centre, so instances never overlap
DEFAULTS = {
    "num_motifs": 40,
    "motifs_per_sequence": 4.0,
    "repeat_probability": 0.5,
    "pwm_sharpening": 3.0,
    "gc_content": 0.41,
    "cpg_depletion": 0.75,
    "false_negative_rate": 0.05,
    "false_positive_rate": 0.003,
    "min_motif_length": 8,
    "max_motif_length": 21,
    "min_information": 1.2,  # bits per position, for motifs filling the pool
    "min_tf_information": 0.85,  # looser for motifs of TFs that DeepSEA assays (CTCF: 0.9)
    "jaspar_release": "JASPAR2018",
}
# DeepSEA assay names that differ from the JASPAR 2018 motif name of the same factor.
_TF_ALIASES = {
    "C-FOS": "FOS", "EGFP-FOS": "FOS", "C-JUN": "JUN", "EGFP-JUNB": "JUNB", "EGFP-JUND": "JUND",
    "C-MYC": "MYC", "PU.1": "SPI1", "NRSF": "REST", "GABP": "GABPA", "EGR-1": "EGR1",
    "NF-YA": "NFYA", "NF-YB": "NFYB", "ERALPHA": "ESR1", "GR": "NR3C1", "TR4": "NR2C2",
    "NF-E2": "NFE2", "AP-2ALPHA": "TFAP2A", "AP-2GAMMA": "TFAP2C", "PAX5-C20": "PAX5",
    "PAX5-N19": "PAX5", "SREBP1": "SREBF1", "ERRA": "ESRRA", "NFKB": "RELA", "EGFP-GATA2": "GATA2",
    "HA-E2F1": "E2F1", "TAL1": "TAL1::TCF3",
}
BUNDLE_FILES = {"train": "train.mat", "valid": "valid.mat", "test": "test.mat", "truth": "truth.json",
                "oracle": "truth.npz"}
_MATLAB_73_HEADER = (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: synthetic (data.synthetic) "
                     b"HDF5 schema 1.00 .")


# -- writers for the published layouts ---------------------------------------------------------
def one_hot_channels_first(codes: np.ndarray) -> np.ndarray:
    """uint8 (n, 4, L) one-hot in A,G,C,T order from base codes (n, L); code 4 (N) = zeros."""
    return one_hot(codes, np.uint8).transpose(0, 2, 1)


def write_mat_v73(path: os.PathLike | str, split: str, blocks, num_samples: int, *,
                  sequence_length: int = SEQUENCE_LENGTH, num_targets: int = 919, chunk_samples: int = 256,
                  compression_level: int | None = 1) -> None:
    """Write a MATLAB v7.3 (HDF5) split as MATLAB does: x (L, 4, N), y (T, N) as h5py sees them.

    ``blocks`` yields ``(codes uint8 (b, L), labels uint8 (b, T))`` in sample order, so arbitrarily
    large files are written in bounded memory. Datasets are chunked ``(L, 4, chunk_samples)`` and
    gzip-compressed at ``compression_level`` (None: uncompressed). The 512-byte user block holds
    the MATLAB 7.3 header text. Written to a temporary name and renamed.
    """
    import h5py

    path = Path(path)
    x_name, y_name = variable_names(split)
    gzip = {} if compression_level is None else {"compression": "gzip", "compression_opts": compression_level}
    chunk = max(1, min(chunk_samples, num_samples))
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", userblock_size=512, libver="earliest") as handle:
            x = handle.create_dataset(x_name, shape=(sequence_length, 4, num_samples), dtype=np.uint8,
                                      chunks=(sequence_length, 4, chunk), **gzip)
            y = handle.create_dataset(y_name, shape=(num_targets, num_samples), dtype=np.uint8,
                                      chunks=(num_targets, chunk), **gzip)
            for dataset in (x, y):
                dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
            start = 0
            for codes, labels in blocks:
                stop = start + codes.shape[0]
                x[:, :, start:stop] = one_hot_channels_first(codes).transpose(2, 1, 0)
                y[:, start:stop] = np.asarray(labels, np.uint8).T
                start = stop
            if start != num_samples:
                raise ValueError(f"blocks held {start} samples, expected {num_samples}")
        header = _MATLAB_73_HEADER.ljust(116, b" ") + b" " * 8 + (0x0200).to_bytes(2, "little") + b"IM"
        with open(tmp, "r+b") as handle:
            handle.write(header)


def write_mat_v5(path: os.PathLike | str, split: str, codes: np.ndarray, labels: np.ndarray) -> None:
    """Write a MATLAB v5 split: x (N, 4, L) uint8, y (N, T) uint8 as scipy.io.loadmat returns them."""
    import scipy.io

    path = Path(path)
    x_name, y_name = variable_names(split)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        scipy.io.savemat(handle, {x_name: np.ascontiguousarray(one_hot_channels_first(codes)),
                                  y_name: np.asarray(labels, np.uint8)}, format="5")


# -- the generative model -----------------------------------------------------------------------
def _information(probabilities: np.ndarray) -> float:
    p = (probabilities + 1e-3) / (1 + 4e-3)
    return float((2 + (p * np.log2(p)).sum(axis=1)).mean())


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best mean column correlation of two PWMs over offsets (overlap >= 6) and both orientations."""
    best = -1.0
    for other in (b, b[::-1, ::-1]):
        for shift in range(-(len(other) - 6), len(a) - 5):
            lo, hi = max(0, shift), min(len(a), shift + len(other))
            if hi - lo < 6:
                continue
            x = a[lo:hi] - 0.25
            y = other[lo - shift:hi - shift] - 0.25
            num = (x * y).sum(axis=1)
            den = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1)) + 1e-9
            best = max(best, float((num / den).sum() / max(len(a), len(other))))
    return best


def _choose_motifs(settings: dict, assays: list[str], rng: np.random.Generator):
    """Pick the motif pool and map each DeepSEA TF assay to a pool index (or None)."""
    from data.jaspar import load_motifs

    motifs = load_motifs(settings["jaspar_release"])
    def usable(motif, min_information):
        return (settings["min_motif_length"] <= motif.counts.shape[0] <= settings["max_motif_length"]
                and _information(motif.probabilities) >= min_information)

    informative = [m for m in motifs if usable(m, settings["min_information"])]
    by_name = {m.name.upper(): m for m in motifs if usable(m, settings["min_tf_information"])}
    pool: list = []
    assay_motif: dict[str, int | None] = {}

    def add(motif) -> int:
        for index, chosen in enumerate(pool):
            if chosen.matrix_id == motif.matrix_id or _similarity(chosen.probabilities, motif.probabilities) > 0.6:
                return index  # a near-duplicate (family member): share the motif already chosen
        pool.append(motif)
        return len(pool) - 1

    for assay in sorted(set(assays), key=lambda a: (-assays.count(a), a)):
        name = _TF_ALIASES.get(assay.upper(), assay.upper())
        motif = by_name.get(name)
        if motif is None or len(pool) >= settings["num_motifs"]:
            assay_motif[assay] = None
            continue
        assay_motif[assay] = add(motif)
    others = [m for m in informative if m.matrix_id not in {p.matrix_id for p in pool}]
    for i in rng.permutation(len(others)):
        if len(pool) >= settings["num_motifs"]:
            break
        size = len(pool)
        if add(others[i]) != size:
            continue
    return pool, assay_motif


def _target_drivers(settings: dict, num_motifs: int, rng: np.random.Generator) -> list[list[int]]:
    """Driving motif indices for each of the 919 DeepSEA targets (see the module docstring)."""
    from data.features import target_table

    table = target_table()
    assays = [row["assay"] for row in table]
    cell_types = sorted({row["cell_type"] for row in table})
    cell_motifs = {c: rng.choice(num_motifs, size=2, replace=False).tolist() for c in cell_types}
    histone = {a for a in assays if a.startswith(("H2", "H3", "H4"))}
    assay_motif = settings["_assay_motif"]
    fallback = {a: int(rng.integers(num_motifs)) for a in sorted(set(assays))}
    drivers = []
    for row in table:
        assay, cell = row["assay"], row["cell_type"]
        if assay == "DNase":
            chosen = cell_motifs[cell]
        elif assay in histone:  # a mark laid down by a cell-type factor
            chosen = [cell_motifs[cell][1]] if rng.random() < 0.5 else [fallback[assay]]
        elif assay_motif.get(assay) is not None:
            chosen = [assay_motif[assay]]
        else:  # a factor without a JASPAR motif (Pol2, p300, ...): recruited by the cell's factor
            chosen = [cell_motifs[cell][0]] if rng.random() < 0.5 else [fallback[assay]]
        drivers.append(sorted(set(int(m) for m in chosen)))
    return drivers


def _sample_forward(num: int, pwms: list[np.ndarray], drivers: np.ndarray, settings: dict,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``num`` forward sequences: codes uint8 (num, L), labels uint8 (num, T), motif presence (num, K)."""
    # Depletion turns C/G into T/A, so draw slightly more GC to end at the requested content.
    gc = settings["gc_content"]
    for _ in range(5):
        gc = settings["gc_content"] + (gc / 2) ** 2 * settings["cpg_depletion"]
    cumulative = np.cumsum([(1 - gc) / 2, gc / 2, gc / 2])  # A, G, C, (T)
    codes = np.searchsorted(cumulative, rng.random((num, SEQUENCE_LENGTH), dtype=np.float32)).astype(np.uint8)
    # CpG depletion: C (2) followed by G (1) -> TG or CA.
    cpg = (codes[:, :-1] == 2) & (codes[:, 1:] == 1)
    rows, cols = np.nonzero(cpg & (rng.random(cpg.shape, dtype=np.float32) < settings["cpg_depletion"]))
    to_tg = rng.random(rows.size) < 0.5
    codes[rows[to_tg], cols[to_tg]] = 3
    codes[rows[~to_tg], cols[~to_tg] + 1] = 0

    num_slots = (CENTER[1] - CENTER[0]) // SLOT
    counts = np.minimum(rng.poisson(settings["motifs_per_sequence"], size=num), num_slots)
    slot_order = np.argsort(rng.random((num, num_slots)), axis=1)
    inst_row = np.repeat(np.arange(num), counts)
    rank = np.arange(inst_row.size) - np.repeat(np.cumsum(counts) - counts, counts)  # i-th instance of its row
    inst_slot = slot_order[inst_row, rank]
    inst_motif = rng.integers(len(pwms), size=inst_row.size)
    # Homotypic clusters: later instances often repeat the row's first motif, which makes each
    # present motif a stronger, easier-to-learn signal.
    first = np.cumsum(counts) - counts  # index of each row's first instance
    repeat = (rank > 0) & (rng.random(inst_row.size) < settings["repeat_probability"])
    inst_motif[repeat] = inst_motif[first[inst_row[repeat]]]
    inst_reverse = rng.random(inst_row.size) < 0.5
    inst_jitter = rng.random(inst_row.size)
    presence = np.zeros((num, len(pwms)), dtype=bool)
    presence[inst_row, inst_motif] = True
    for m, pwm in enumerate(pwms):
        sel = np.nonzero(inst_motif == m)[0]
        if sel.size == 0:
            continue
        length = pwm.shape[0]
        bases = (rng.random((sel.size, length, 1)) > np.cumsum(pwm, axis=1)[None, :, :3]).sum(axis=2)
        bases = bases.astype(np.uint8)
        rev = inst_reverse[sel]
        bases[rev] = reverse_complement_codes(bases[rev])
        starts = CENTER[0] + inst_slot[sel] * SLOT + (inst_jitter[sel] * (SLOT - length + 1)).astype(int)
        codes[inst_row[sel, None], starts[:, None] + np.arange(length)] = bases

    labels = (presence.astype(np.uint8) @ drivers) > 0
    noise = rng.random(labels.shape, dtype=np.float32)
    labels = np.where(labels, noise >= settings["false_negative_rate"], noise < settings["false_positive_rate"])
    return codes, labels.astype(np.uint8), presence


def _split_arrays(n: int, pwms, drivers, settings, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both strands of ``n // 2`` sequences: codes (n, L), labels (n, T), forward presence (n // 2, K)."""
    codes, labels, presence = _sample_forward(n // 2, pwms, drivers, settings, rng)
    return (np.concatenate([codes, reverse_complement_codes(codes)]), np.concatenate([labels, labels]),
            presence)


def generate(out_dir: os.PathLike | str, n_train: int = 30000, n_valid: int = 2000, n_test: int = 4000,
             seed: int = 0, *, num_motifs: int = DEFAULTS["num_motifs"],
             motifs_per_sequence: float = DEFAULTS["motifs_per_sequence"],
             repeat_probability: float = DEFAULTS["repeat_probability"],
             pwm_sharpening: float = DEFAULTS["pwm_sharpening"],
             min_motif_length: int = DEFAULTS["min_motif_length"],
             false_negative_rate: float = DEFAULTS["false_negative_rate"],
             false_positive_rate: float = DEFAULTS["false_positive_rate"], overwrite: bool = True,
             reuse: bool = False) -> dict:
    """Write a synthetic DeepSEA bundle into ``out_dir``; returns the ground truth (also truth.json).

    Sizes count both strands and must be even. The same arguments always give the same arrays.
    A store that ``data.resolve_store`` converted into ``out_dir/store`` from earlier files is
    removed, since it no longer matches them. With ``reuse``, a complete bundle already in
    ``out_dir`` that was made with these same arguments is kept (and its truth returned) instead
    of being written again; one made with other arguments is an error unless ``overwrite``.
    """
    for name, value in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        if value < 2 or value % 2:
            raise ValueError(f"{name} must be an even number >= 2 (forward + reverse-complement halves), got {value}")
    if not 1 <= num_motifs <= 200:
        raise ValueError(f"num_motifs must be between 1 and 200, got {num_motifs}")
    if not 0 < motifs_per_sequence <= 8:
        raise ValueError(f"motifs_per_sequence must be in (0, 8], got {motifs_per_sequence}")
    if not 0 <= repeat_probability <= 1:
        raise ValueError(f"repeat_probability must be in [0, 1], got {repeat_probability}")
    if not 0 < pwm_sharpening <= 20:
        raise ValueError(f"pwm_sharpening must be in (0, 20], got {pwm_sharpening}")
    if not DEFAULTS["min_motif_length"] <= min_motif_length <= DEFAULTS["max_motif_length"]:
        raise ValueError(f"min_motif_length must be between {DEFAULTS['min_motif_length']} and "
                         f"{DEFAULTS['max_motif_length']}, got {min_motif_length}")
    for name, rate in (("false_negative_rate", false_negative_rate), ("false_positive_rate", false_positive_rate)):
        if not 0 <= rate < 0.5:
            raise ValueError(f"{name} must be in [0, 0.5), got {rate}")
    from data.features import target_names, target_table

    out_dir = Path(out_dir)
    names = dict(BUNDLE_FILES)
    settings = dict(DEFAULTS, num_motifs=num_motifs, motifs_per_sequence=motifs_per_sequence,
                    repeat_probability=repeat_probability, pwm_sharpening=pwm_sharpening,
                    min_motif_length=min_motif_length, false_negative_rate=false_negative_rate,
                    false_positive_rate=false_positive_rate)
    sizes = {"train": n_train, "valid": n_valid, "test": n_test}
    if reuse and all((out_dir / f).exists() for f in names.values()):
        existing = read_truth(out_dir)
        if existing is not None and existing.get("seed") == seed and existing.get("sizes") == sizes and \
                {k: existing["settings"].get(k) for k in settings} == settings:
            return existing
        if not overwrite:
            raise DataError(out_dir, "already holds a synthetic bundle made with other settings "
                                     "(use --overwrite to replace it, or another directory)")
    if not overwrite and any((out_dir / f).exists() for f in names.values()):
        raise DataError(out_dir, "already holds a synthetic bundle (use --overwrite to replace it)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("truth", "oracle"):  # never leave the old truth beside half-replaced splits
        (out_dir / names[name]).unlink(missing_ok=True)
    from data.store import is_store

    if is_store(out_dir / "store"):  # converted from the files being replaced: now stale
        shutil.rmtree(out_dir / "store")
    started = time.perf_counter()
    model_rng = np.random.default_rng([seed, 0])
    pool, assay_motif = _choose_motifs(settings, [r["assay"] for r in target_table()], model_rng)
    settings["_assay_motif"] = assay_motif
    driver_lists = _target_drivers(settings, len(pool), model_rng)
    del settings["_assay_motif"]
    drivers = np.zeros((len(pool), len(driver_lists)), dtype=np.uint8)
    for t, motif_ids in enumerate(driver_lists):
        drivers[motif_ids, t] = 1
    # Sharpening (p**k, renormalised) keeps sampled instances close to the consensus, so the
    # motifs are learnable from the few thousand sequences a short demo sees; the smoothing keeps
    # every base possible.
    pwms = [m.probabilities ** settings["pwm_sharpening"] for m in pool]
    pwms = [(p / p.sum(axis=1, keepdims=True) + 0.01) / 1.04 for p in pwms]
    pwms = [p[:, [0, 2, 1, 3]] for p in pwms]  # JASPAR A,C,G,T -> DeepSEA A,G,C,T

    positive_rate = {}
    oracle_arrays = {"drivers": drivers}
    labels_sha256 = {}
    for index, (split, n) in enumerate((("train", n_train), ("valid", n_valid), ("test", n_test)), start=1):
        codes, labels, presence = _split_arrays(n, pwms, drivers, settings, np.random.default_rng([seed, index]))
        positive_rate[split] = float(labels.mean())
        oracle_arrays[f"presence_{split}"] = presence
        labels_sha256[split] = _labels_digest(labels[:n // 2])
        if split == "train":
            blocks = ((codes[i:i + 4096], labels[i:i + 4096]) for i in range(0, n, 4096))
            write_mat_v73(out_dir / names[split], split, blocks, n)
        else:
            write_mat_v5(out_dir / names[split], split, codes, labels)

    target_name_list = target_names()
    truth = {
        "generator": "data.synthetic",
        "seed": seed,
        "sizes": sizes,
        "settings": dict(settings, center=list(CENTER), slot=SLOT, sequence_length=SEQUENCE_LENGTH),
        "layout": {
            "train.mat": "MATLAB v7.3 (HDF5, 512-byte header): trainxdata (1000, 4, N), traindata (919, N) "
                         "as h5py sees them; gzip-chunked",
            "valid.mat/test.mat": "MATLAB v5: {split}xdata (N, 4, 1000), {split}data (N, 919)",
            "channels": "A, G, C, T",
            "strands": "in every split, rows N/2.. are the reverse complements of rows 0..N/2-1, same labels",
        },
        "positive_rate": positive_rate,
        "oracle": {
            "file": names["oracle"],
            "contents": "presence_{split}: bool (N/2, K), which pool motifs were planted in each forward "
                        "row; drivers: uint8 (K, T), the motifs that drive each target",
            "probability": "P(y=1) = 1 - false_negative_rate if any driving motif is present, "
                           "else false_positive_rate",
            "labels_sha256": labels_sha256,
        },
        "motifs": [{"index": i, "matrix_id": m.matrix_id, "name": m.name, "tf_class": m.tf_class,
                    "length": int(m.counts.shape[0])} for i, m in enumerate(pool)],
        "targets": [{"index": t, "name": target_name_list[t], "motifs": [pool[i].matrix_id for i in ids]}
                    for t, ids in enumerate(driver_lists)],
        "seconds": round(time.perf_counter() - started, 2),
    }
    # The arrays first, truth.json (which names them) last: a bundle with truth.json is complete.
    with atomic_path(out_dir / names["oracle"]) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **oracle_arrays)
    atomic_write_text(out_dir / names["truth"], json.dumps(truth, indent=1) + "\n")
    return truth


# -- the oracle: what the generator knows about every label ------------------------------------
def _labels_digest(labels: np.ndarray) -> str:
    """sha256 of uint8 labels (n, T) in C order: ties truth.npz to the labels it was drawn with."""
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(labels, dtype=np.uint8).tobytes()).hexdigest()


def read_truth(data_dir: os.PathLike | str) -> dict | None:
    """``truth.json`` of a synthetic bundle that carries its oracle, or None (real data, or a bundle
    written before ``truth.npz`` existed)."""
    path = Path(data_dir) / BUNDLE_FILES["truth"]
    if not path.is_file():
        return None
    try:
        truth = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DataError(path, f"unreadable ground truth: {err}") from None
    if not isinstance(truth, dict) or truth.get("generator") != "data.synthetic" or "oracle" not in truth:
        return None
    return truth


def oracle_probabilities(data_dir: os.PathLike | str, split: str) -> np.ndarray | None:
    """The generator's P(y=1 | planted motifs) for the forward rows of ``split``: float32 (N/2, T).

    ``1 - false_negative_rate`` where any motif driving the target was planted, else
    ``false_positive_rate``. Scoring these against the labels gives the Bayes-optimal (oracle)
    metrics. Row i is forward row i of the split file; its reverse complement (row i + N/2) has
    the same probability. None when ``data_dir`` holds no synthetic ground truth.
    """
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be train, valid or test, got {split!r}")
    truth = read_truth(data_dir)
    if truth is None:
        return None
    path = Path(data_dir) / truth["oracle"]["file"]
    try:
        with np.load(path) as arrays:
            presence = arrays[f"presence_{split}"]
            drivers = arrays["drivers"]
    except (OSError, ValueError, KeyError) as err:
        raise DataError(path, f"unreadable oracle arrays (regenerate the bundle): {err}") from None
    half = truth["sizes"][split] // 2
    num_motifs = len(truth["motifs"])
    if presence.shape != (half, num_motifs) or drivers.shape != (num_motifs, len(truth["targets"])):
        raise DataError(path, f"presence {presence.shape} / drivers {drivers.shape} do not match truth.json "
                              f"({half} forward {split} rows, {num_motifs} motifs)")
    settings = truth["settings"]
    driven = (presence.astype(np.int32) @ drivers.astype(np.int32)) > 0
    return np.where(driven, np.float32(1 - settings["false_negative_rate"]),
                    np.float32(settings["false_positive_rate"])).astype(np.float32)


def forward_labels(data_dir: os.PathLike | str, split: str) -> np.ndarray:
    """uint8 labels (N/2, T) of the forward rows of ``data_dir/{split}.mat``."""
    from data.mat import open_split

    with open_split(Path(data_dir) / BUNDLE_FILES[split], split) as reader:
        half = reader.num_samples // 2
        parts = []
        for start, _, y in reader.iter_chunks():
            if start >= half:
                break
            parts.append(np.array(y[:half - start], dtype=np.uint8))
    return np.concatenate(parts)


def oracle_summary(data_dir: os.PathLike | str, split: str = "test",
                   labels: np.ndarray | None = None) -> dict | None:
    """Mean oracle AUPRC / AP / AUROC over the targets with positives, as evaluation scores a model.

    ``labels`` are the forward-row labels (N/2, T) the model is scored on (evaluation's
    ``PairedPredictions.labels``); by default they are read from the split file. They must be the
    labels the bundle was generated with (checked by digest). None without synthetic ground truth.
    """
    probabilities = oracle_probabilities(data_dir, split)
    if probabilities is None:
        return None
    labels = forward_labels(data_dir, split) if labels is None else np.asarray(labels)
    truth = read_truth(data_dir)
    if labels.shape != probabilities.shape or _labels_digest(labels) != truth["oracle"]["labels_sha256"][split]:
        raise DataError(Path(data_dir) / BUNDLE_FILES["oracle"],
                        f"does not describe these {split} labels {labels.shape} (files replaced since "
                        f"generation?)")
    from evaluation import metrics, reports

    means = reports.means(metrics.per_target_metrics(labels, probabilities))  # as a model's summary
    return {
        "split": split,
        "num_pairs": int(labels.shape[0]),
        "targets_scored": means["targets"],
        "mean_auprc": means["mean_auprc"],
        "mean_ap": means["mean_ap"],
        "mean_auroc": means["mean_auroc"],
        "definition": "the generator's P(y=1 | planted motifs) scored like a model (strand pairs share it): "
                      "PRROC AUPRC, sklearn AP and AUROC, mean over targets with positives",
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 for bad settings, as every command)."""
    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data.synthetic",
        description="Write a synthetic DeepSEA bundle (train.mat v7.3, valid.mat/test.mat v5, truth.json) "
                    "whose 919 labels are driven by planted JASPAR 2018 motifs.")
    parser.add_argument("out_dir", help="directory to write into")
    parser.add_argument("--n-train", type=int, default=30000, help="training sequences, both strands [default: %(default)s]")
    parser.add_argument("--n-valid", type=int, default=2000, help="validation sequences, both strands [default: %(default)s]")
    parser.add_argument("--n-test", type=int, default=4000, help="test sequences, both strands [default: %(default)s]")
    parser.add_argument("--seed", type=int, default=0, help="random seed [default: %(default)s]")
    parser.add_argument("--num-motifs", type=int, default=DEFAULTS["num_motifs"],
                        help="size of the JASPAR motif pool [default: %(default)s]")
    parser.add_argument("--motifs-per-sequence", type=float, default=DEFAULTS["motifs_per_sequence"],
                        help="mean planted motif instances per sequence [default: %(default)s]")
    parser.add_argument("--repeat-probability", type=float, default=DEFAULTS["repeat_probability"],
                        help="chance that a further instance repeats the sequence's first motif "
                             "(homotypic clusters) [default: %(default)s]")
    parser.add_argument("--pwm-sharpening", type=float, default=DEFAULTS["pwm_sharpening"],
                        help="exponent applied to the PWMs before sampling instances: higher = closer to "
                             "the consensus, stronger motifs [default: %(default)s]")
    parser.add_argument("--min-motif-length", type=int, default=DEFAULTS["min_motif_length"],
                        help="shortest JASPAR motif admitted to the pool (bp; longer motifs are easier "
                             "to learn) [default: %(default)s]")
    parser.add_argument("--false-negative-rate", type=float, default=DEFAULTS["false_negative_rate"],
                        help="label noise: P(y=0) when a driving motif is present [default: %(default)s]")
    parser.add_argument("--false-positive-rate", type=float, default=DEFAULTS["false_positive_rate"],
                        help="label noise: P(y=1) when no driving motif is present [default: %(default)s]")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files [default: %(default)s]")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a complete bundle in OUT_DIR made with these same arguments instead of "
                             "writing it again [default: %(default)s]")
    args = parser.parse_args(argv)
    truth_file = Path(args.out_dir) / BUNDLE_FILES["truth"]
    before = truth_file.stat().st_mtime_ns if truth_file.exists() else None
    try:
        truth = generate(args.out_dir, args.n_train, args.n_valid, args.n_test, args.seed,
                         num_motifs=args.num_motifs, motifs_per_sequence=args.motifs_per_sequence,
                         repeat_probability=args.repeat_probability, pwm_sharpening=args.pwm_sharpening,
                         min_motif_length=args.min_motif_length,
                         false_negative_rate=args.false_negative_rate,
                         false_positive_rate=args.false_positive_rate, overwrite=args.overwrite,
                         reuse=args.reuse)
    except ValueError as err:  # bad settings or a bundle that may not be replaced
        raise UserError(str(err)) from None
    rates = ", ".join(f"{k} {v:.3f}" for k, v in truth["positive_rate"].items())
    if before is not None and truth_file.stat().st_mtime_ns == before:
        print(f"{args.out_dir} already holds this bundle ({len(truth['motifs'])} motifs, positive rate "
              f"{rates}); reusing it")
    else:
        print(f"wrote {args.out_dir}: {len(truth['motifs'])} motifs, positive rate {rates}, "
              f"{truth['seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
