"""Variants from a VCF or bgzipped VCF, read with ``pysam.VariantFile`` (never a hand parser).

A record with several ALT alleles becomes one :class:`Variant` per ALT. A malformed line stops
the read with one error naming the file and the line; alleles that are not plain sequence
(symbolic ``<DEL>``, ``*``, a missing ``.``, or characters outside the IUPAC codes) are returned
with a ``skip`` reason so the caller can report them and go on.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from data.encoding import IUPAC
from data.genome import GZIP_MAGIC, quiet_htslib
from data.mat import DataError


@dataclass(frozen=True, slots=True)  # slots: a million-variant VCF is held in memory once
class Variant:
    """One (REF, ALT) pair of a VCF record; ``pos`` is the VCF's 1-based POS."""

    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    line: int
    skip: str = ""  # why it cannot be scored as sequence ("" when it can)

    @property
    def variant_id(self) -> str:
        """``CHROM:POS:REF:ALT`` as written in the VCF."""
        return f"{self.chrom}:{self.pos}:{self.ref}:{self.alt}"


def _allele_problem(allele: str | None, which: str) -> str:
    if allele is None or allele in (".", ""):
        return f"{which} is missing"
    if allele == "*" or allele.startswith("<") or "[" in allele or "]" in allele:
        return f"{which} {allele!r} is symbolic, not sequence"
    bad = sorted(set(allele.upper()) - IUPAC)
    if bad:
        return f"{which} {allele!r} has non-nucleotide characters {''.join(bad)!r}"
    return ""


def _header_line_count(path: Path) -> int:
    """Lines before the first record of a text VCF (plain or bgzipped), so errors can name a line."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    count = 0
    with (gzip.open if compressed else open)(path, "rb") as handle:
        for text in handle:
            if not text.startswith(b"#"):
                break
            count += 1
    return count


def read_vcf(path: str | os.PathLike) -> Iterator[Variant]:
    """Yield every (REF, ALT) pair of a VCF/BCF (plain or bgzipped), in file order."""
    import pysam

    quiet_htslib()
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such VCF file" if not path.exists() else "is not a file")
    try:
        handle = pysam.VariantFile(str(path))
    except (ValueError, OSError) as err:
        raise DataError(path, "is not a VCF with a valid header (it needs ##fileformat and the "
                              "#CHROM POS ID REF ALT QUAL FILTER INFO line)"
                        + (f": {err}" if "VCF/BCF" not in str(err) else "")) from None
    line = _header_line_count(path)
    with handle:
        records = iter(handle)
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except (OSError, ValueError) as err:
                raise DataError(path, f"line {line + 1}: malformed VCF record ({err}; columns must be "
                                      "tab-separated CHROM POS ID REF ALT QUAL FILTER INFO, POS an integer)"
                                ) from None
            line += 1
            if record.pos < 1:
                raise DataError(path, f"line {line}: POS {record.pos} is not a 1-based position")
            ident = record.id or "."
            ref = record.ref or ""
            ref_problem = _allele_problem(ref, "REF")
            for alt in record.alts or (None,):
                problem = ref_problem or _allele_problem(alt, "ALT")
                yield Variant(record.chrom, record.pos, ident, ref.upper(), (alt or ".").upper(), line, problem)
