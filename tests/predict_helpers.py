"""Helpers for tests/test_predict.py: tiny models, genome/VCF/BED writers, and an independent
reference for strand-averaged scores (plain strings, a dict one-hot, model.predict on both strands)."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

# DeepSEA's channel order, spelled out independently of data.encoding.
ONE_HOT = {"A": (1, 0, 0, 0), "G": (0, 1, 0, 0), "C": (0, 0, 1, 0), "T": (0, 0, 0, 1)}


def one_hot_string(sequence: str) -> np.ndarray:
    """(L, 4) float32; anything but A, C, G, T (any case) is all zeros."""
    return np.array([ONE_HOT.get(base, (0, 0, 0, 0)) for base in sequence.upper()], dtype=np.float32)


def reference_scores(model, sequences: list[str]) -> np.ndarray:
    """Mean of model.predict on the sequences and on their reverse complements (reversed one-hot)."""
    x = np.stack([one_hot_string(s) for s in sequences])
    forward = model.predict(x, verbose=0, batch_size=64)
    reverse = model.predict(x[:, ::-1, ::-1].copy(), verbose=0, batch_size=64)
    return (forward.astype(np.float64) + reverse) / 2


def tiny_model(length: int, num_targets: int = 919, seed: int = 0, *, variable_length: bool = False):
    """conv(6, 5, project leaky ReLU) -> max + mean pooling -> dense: small, fast, input-sensitive."""
    import keras

    from models.blocks import leaky_relu_001

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None if variable_length else length, 4), name="sequence")
    h = keras.layers.Conv1D(6, 5, activation=leaky_relu_001, name="conv1")(inputs)
    pooled = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling1D()(h), keras.layers.GlobalAveragePooling1D()(h)])
    outputs = keras.layers.Dense(num_targets, activation="sigmoid", name="predictions")(pooled)
    return keras.Model(inputs, outputs)


def random_dna(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGT"), size=n))


def write_fasta(path: Path, records: dict[str, str], width: int = 60, compress: bool = False) -> Path:
    lines = []
    for name, sequence in records.items():
        lines.append(f">{name}")
        lines.extend(sequence[i:i + width] for i in range(0, len(sequence), width))
    text = "\n".join(lines) + "\n"
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def write_vcf(path: Path, rows: list[tuple], contigs: dict[str, int]) -> Path:
    """rows: (chrom, pos, id, ref, alt) with alt possibly 'A,T'."""
    header = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={n}>" for c, n in contigs.items()]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    body = [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t." for c, p, i, r, a in rows]
    path.write_text("\n".join(header + body) + "\n")
    return path


def bgzip(path: Path) -> Path:
    import pysam

    out = Path(f"{path}.gz")
    pysam.tabix_compress(str(path), str(out), force=True)
    return out


def ref_window(chrom: str, pos: int, ref: str, length: int) -> str:
    """Selene's reference window by string slicing: REF starts at index L//2 - 1 - len(REF)//2."""
    start = (pos - 1) - (length // 2 - 1 - len(ref) // 2)
    return chrom[start:start + length]


def alt_window(chrom: str, pos: int, ref: str, alt: str, length: int) -> str:
    """Apply the variant to the whole chromosome, then slice so ALT starts at L//2 - 1 - len(ALT)//2."""
    mutated = chrom[:pos - 1] + alt + chrom[pos - 1 + len(ref):]
    start = (pos - 1) - (length // 2 - 1 - len(alt) // 2)
    return mutated[start:start + length]


def consensus(probabilities: np.ndarray) -> str:
    """Most likely base per row of an A,C,G,T probability matrix."""
    return "".join("ACGT"[i] for i in np.asarray(probabilities).argmax(axis=1))
