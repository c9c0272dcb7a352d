"""The window conventions of predict.py: how a sequence, a BED interval or a variant becomes
model inputs of the model's length ``L``. Pure coordinate arithmetic, one rule each (docs/PREDICT.md
has worked examples). All coordinates are 0-based and half-open unless named ``pos`` (a VCF POS,
1-based).

* A sequence of length ``n`` (:func:`sequence_window_starts`): ``n == L`` as is; ``n > L`` tiled
  from 0 with ``stride`` (a last tile flush with the end is added when the stride leaves bases
  uncovered), or one centre crop starting at ``(n - L) // 2``; ``n < L`` padded with N, the sequence
  starting at ``(L - n) // 2``. A window may start before 0 or end after ``n``: those positions are N.
* A BED interval (:func:`centered_window`): the window of length ``L`` centred on its midpoint
  ``(start + end) // 2``, starting at ``midpoint - L // 2``; an interval of length ``L`` is its own window.
* A variant (:func:`variant_windows`), Selene's convention: for REF of length ``r`` at 1-based ``pos``,
  the reference window is ``[pos + r // 2 - L // 2, pos + r // 2 - L // 2 + L)``, so REF starts at
  window index ``L // 2 - 1 - r // 2`` (an SNV sits at ``L/2 - 1``, the 500th of 1000 bases). The
  alternative window centres ALT by the same rule (ALT starts at ``L // 2 - 1 - a // 2``) with the
  genome on both sides: for a substitution it is the reference window with ALT in place of REF; an
  insertion trims the flanks, a deletion takes more flanking genome.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.encoding import N_CODE


def sequence_window_starts(n: int, length: int, *, stride: int | None = None,
                           center: bool = False) -> np.ndarray:
    """Start offsets (int64) of the windows scoring a sequence of ``n`` bases (see the module doc)."""
    if n < 1:
        raise ValueError("a sequence needs at least one base")
    if n <= length:
        return np.array([-((length - n) // 2)], dtype=np.int64)
    if center:
        return np.array([(n - length) // 2], dtype=np.int64)
    stride = length if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    starts = np.arange(0, n - length + 1, stride, dtype=np.int64)
    if starts[-1] + length < n:  # the stride left bases uncovered at the end
        starts = np.append(starts, n - length)
    return starts


def window_codes(codes: np.ndarray, start: int, length: int) -> np.ndarray:
    """Codes of ``codes[start:start + length]`` with N wherever the window leaves the sequence."""
    out = np.full(length, N_CODE, dtype=np.uint8)
    lo, hi = max(start, 0), min(start + length, len(codes))
    if hi > lo:
        out[lo - start:hi - start] = codes[lo:hi]
    return out


def centered_window(start: int, end: int, length: int) -> tuple[int, int]:
    """The ``length``-bp window centred on [start, end): starts at ``(start + end) // 2 - length // 2``."""
    window_start = (start + end) // 2 - length // 2
    return window_start, window_start + length


def allele_offset(allele_length: int, length: int) -> int:
    """Window index where an allele of ``allele_length`` bases starts (Selene's centring)."""
    return length // 2 - 1 - allele_length // 2


@dataclass(frozen=True)
class VariantWindows:
    """Genome spans of one variant's two windows (0-based, half-open, on the variant's chromosome).

    The reference window is ``ref_span``; REF occupies window indices ``[ref_offset, ref_offset + r)``.
    The alternative window is ``genome[alt_left] + ALT + genome[alt_right]`` (``L`` bases).
    """

    ref_span: tuple[int, int]
    ref_offset: int
    alt_left: tuple[int, int]
    alt_right: tuple[int, int]

    @property
    def genome_span(self) -> tuple[int, int]:
        """Every genome base either window needs."""
        return (min(self.ref_span[0], self.alt_left[0]), max(self.ref_span[1], self.alt_right[1]))


def variant_windows(pos: int, ref_length: int, alt_length: int, length: int) -> VariantWindows:
    """The windows of a variant at 1-based ``pos`` (REF of ``ref_length``, ALT of ``alt_length`` bases)."""
    if ref_length < 1 or alt_length < 1:
        raise ValueError("REF and ALT need at least one base each")
    if max(ref_length, alt_length) > length // 2:
        raise ValueError(f"alleles longer than {length // 2} bases (half the window) are not short variants")
    ref0 = pos - 1  # REF's first base, 0-based
    ref_offset = allele_offset(ref_length, length)
    ref_start = ref0 - ref_offset
    alt_offset = allele_offset(alt_length, length)
    after = length - alt_offset - alt_length  # genome bases after ALT in the alternative window
    return VariantWindows(ref_span=(ref_start, ref_start + length), ref_offset=ref_offset,
                          alt_left=(ref0 - alt_offset, ref0),
                          alt_right=(ref0 + ref_length, ref0 + ref_length + after))
