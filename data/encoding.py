"""The encoding facts of DeepSEA data, in one place.

* One-hot channels are in **A, G, C, T** order (DeepSEA's, not JASPAR/MEME's A, C, G, T).
* A base is stored as a code: its channel index 0-3, or :data:`N_CODE` (4) for N, any other IUPAC
  code, or an all-zero one-hot column; one-hot of N is all zeros.
* Reverse complement = reverse the positions and reverse the channel axis (A<->T, G<->C); this holds
  in both channel orders, which is why it cannot tell them apart.
* A centre crop of length ``l`` from ``L`` positions starts at ``(L - l) // 2`` (the authors' 250 for
  the paper's 500 bp "reduced" data).
* Paired splits (valid, test): row ``i + N/2`` is the reverse complement of row ``i``.
* Genomic DNA is CpG-depleted; read in the wrong order (A,C,G,T data as A,G,C,T) the depletion shows
  on GpC instead, which :func:`channel_order_signature` measures.
"""
from __future__ import annotations

import numpy as np

ALPHABET = "AGCT"
#: Base code of N (and of every ambiguous IUPAC code).
N_CODE = 4
#: IUPAC nucleotide codes accepted in text sequences; all but A, C, G, T become N.
IUPAC = frozenset("ACGTRYSWKMBDHVN")
#: Channel order of JASPAR, MEME and TOMTOM matrices.
ACGT = "ACGT"
#: Swapping G and C converts A,C,G,T <-> A,G,C,T (its own inverse).
_SWAP_G_C = np.array([0, 2, 1, 3])
_ONE_HOT = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])
_COMPLEMENT_CODE = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)  # A<->T, G<->C, N stays N
_CODE_OF_BYTE = np.full(256, 255, dtype=np.uint8)  # 255 = not an IUPAC nucleotide
for _letter in IUPAC:
    for _case in (_letter, _letter.lower()):
        _CODE_OF_BYTE[ord(_case)] = ALPHABET.index(_letter) if _letter in ALPHABET else N_CODE


def one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot (..., L, 4) in A,G,C,T order from base codes (..., L); N (code 4) is all zeros."""
    return _ONE_HOT[np.asarray(codes)].astype(dtype, copy=False)


class MultipleBasesError(ValueError):
    """A one-hot position with more than one base set; ``index`` is its (sample, position)."""

    def __init__(self, index: tuple[int, ...]) -> None:
        self.index = index
        super().__init__(f"more than one base set at sample/position {index}")


def codes_from_one_hot(x: np.ndarray) -> np.ndarray:
    """Base codes uint8 (..., L) from a 0/1 one-hot (..., L, 4) in A,G,C,T order; all zeros = N.

    Raises :class:`MultipleBasesError` at the first position with more than one base set.
    """
    x = np.asarray(x, dtype=np.uint8)
    counts = x.sum(axis=-1, dtype=np.uint8)
    if (counts > 1).any():
        raise MultipleBasesError(tuple(int(i) for i in np.argwhere(counts > 1)[0]))
    codes = x[..., 1] + 2 * x[..., 2] + 3 * x[..., 3]
    codes[counts == 0] = N_CODE
    return codes.astype(np.uint8, copy=False)


def encode(sequence: str | bytes) -> np.ndarray:
    """Base codes uint8 (L,) of a DNA string (any case); N and other IUPAC codes become N.

    Raises ``ValueError`` naming the first character that is not an IUPAC nucleotide code.
    """
    raw = np.frombuffer(sequence.encode("ascii", "replace") if isinstance(sequence, str) else sequence,
                        dtype=np.uint8)
    codes = _CODE_OF_BYTE[raw]
    bad = np.flatnonzero(codes == 255)
    if bad.size:
        char = chr(raw[bad[0]]) if raw[bad[0]] < 128 else "?"
        raise ValueError(f"character {char!r} at position {int(bad[0]) + 1} is not a nucleotide (IUPAC) code")
    return codes


def decode(codes: np.ndarray) -> str:
    """The DNA string of base codes (N for code 4)."""
    return np.frombuffer(b"AGCTN", dtype=np.uint8)[np.asarray(codes)].tobytes().decode("ascii")


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot sequences or matrices (..., L, 4), in either channel order."""
    return np.asarray(x)[..., ::-1, ::-1]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes (..., L): reverse positions, A<->T, G<->C; N stays N."""
    return _COMPLEMENT_CODE[np.asarray(codes)[..., ::-1]]


def center_crop(x: np.ndarray, length: int | None, axis: int = -1) -> np.ndarray:
    """The central ``length`` positions along ``axis``, offset ``(L - length) // 2`` (a view).

    ``axis=-1`` for base codes (..., L); ``axis=-2`` for one-hot (..., L, 4).
    """
    full = x.shape[axis]
    if length is None or length == full:
        return x
    if not 1 <= length <= full:
        raise ValueError(f"sequence_length must be between 1 and {full}, got {length}")
    offset = (full - length) // 2
    index = [slice(None)] * x.ndim
    index[axis] = slice(offset, offset + length)
    return x[tuple(index)]


def acgt_to_agct(matrix: np.ndarray) -> np.ndarray:
    """Reorder the last axis of a (..., 4) A,C,G,T matrix to DeepSEA's A,G,C,T."""
    return np.asarray(matrix)[..., _SWAP_G_C]


def agct_to_acgt(matrix: np.ndarray) -> np.ndarray:
    """Reorder the last axis of a (..., 4) A,G,C,T matrix to JASPAR/MEME's A,C,G,T."""
    return np.asarray(matrix)[..., _SWAP_G_C]


def mismatched_pair(codes: np.ndarray, *, sample: int = 256, seed: int = 0) -> int | None:
    """Check a paired split's strand halves on a sample of rows; return a bad forward row or None.

    ``codes`` (N, L) holds forward rows first and their reverse complements second, in the same
    order. Up to ``sample`` evenly spread pairs are compared (cheap even on a memory map).
    """
    half = codes.shape[0] // 2
    if half == 0:
        return None
    rows = np.unique(np.linspace(0, half - 1, num=min(sample, half)).astype(np.int64))
    forward, reverse = np.asarray(codes[rows]), np.asarray(codes[rows + half])
    bad = np.flatnonzero((reverse_complement_codes(forward) != reverse).any(axis=1))
    return int(rows[bad[0]]) if bad.size else None


def dinucleotide_oe(codes: np.ndarray) -> dict[str, float]:
    """Observed/expected ratios of CpG and GpC when ``codes`` are read as A,G,C,T (N pairs ignored)."""
    codes = np.asarray(codes)
    left, right = codes[..., :-1].ravel(), codes[..., 1:].ravel()
    valid = (left < N_CODE) & (right < N_CODE)
    left, right = left[valid], right[valid]
    pairs = max(1, left.size)
    freq = np.bincount(np.concatenate([left, right]), minlength=4)[:4] / max(1, 2 * left.size)
    g, c = ALPHABET.index("G"), ALPHABET.index("C")

    def oe(first: int, second: int) -> float:
        observed = np.count_nonzero((left == first) & (right == second)) / pairs
        expected = freq[first] * freq[second]
        return float(observed / expected) if expected > 0 else float("nan")

    return {"CpG": oe(c, g), "GpC": oe(g, c), "bases": int(left.size)}


#: Minimum base pairs before the channel-order signature is trusted.
SIGNATURE_MIN_PAIRS = 5000


def channel_order_signature(codes: np.ndarray) -> str | None:
    """``"ACGT"`` when data read as A,G,C,T shows genomic CpG depletion on GpC instead, else None.

    Genomic DNA has CpG at about a quarter of its expected frequency. A,C,G,T data read as A,G,C,T
    turns real CpG into apparent GpC, so a strongly depleted GpC beside an undepleted CpG is the
    signature of the wrong order. Data without depletion (synthetic, shuffled) gives None.
    """
    ratios = dinucleotide_oe(codes)
    if ratios["bases"] < SIGNATURE_MIN_PAIRS:
        return None
    if ratios["GpC"] < 0.5 and ratios["CpG"] > 0.7:
        return "ACGT"
    return None
