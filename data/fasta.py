"""User sequences from a FASTA file (plain or gzip/bgzip), read with ``pysam.FastxFile``.

Every record is checked before anything is predicted: a file that is empty, not FASTA (FASTQ,
text), or holds a record with no bases or a character that is not an IUPAC nucleotide code is
refused with one line naming the file and the record. Names are the header's first word (what
pysam calls ``name``); lower-case (soft-masked) bases are read as upper case.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from data.encoding import encode
from data.genome import GZIP_MAGIC, quiet_htslib
from data.mat import DataError


@dataclass(frozen=True)
class FastaSummary:
    """What a first pass over a FASTA found: record names and lengths, in file order."""

    names: tuple[str, ...]
    lengths: tuple[int, ...]


def _first_character(path: Path) -> str:
    """The first non-whitespace character of a (possibly gzipped) text file, '' if none."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(65536):
                stripped = chunk.lstrip()
                if stripped:
                    return chr(stripped[0])
    except (OSError, EOFError) as err:
        raise DataError(path, f"cannot read ({err})") from None
    return ""


def read_fasta(path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, codes)`` for each record: base codes uint8 (n,), N for N and IUPAC codes."""
    import pysam

    quiet_htslib()
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such FASTA file" if not path.exists() else "is not a file")
    first = _first_character(path)
    if not first:
        raise DataError(path, "is empty (no FASTA records)")
    if first != ">":
        kind = "FASTQ" if first == "@" else "not FASTA"
        raise DataError(path, f"is {kind}: a FASTA file starts with a '>' header line, this one with {first!r}")
    count = 0
    try:
        with pysam.FastxFile(str(path)) as records:
            for record in records:
                count += 1
                name = record.name or f"record_{count}"
                sequence = record.sequence or ""
                if not sequence:
                    raise DataError(path, f"record {count} ({name!r}) has no bases")
                try:
                    codes = encode(sequence)
                except ValueError as err:
                    raise DataError(path, f"record {count} ({name!r}): {err}") from None
                yield name, codes
    except OSError as err:  # pysam: truncated gzip and the like
        raise DataError(path, f"cannot read after record {count} ({err})") from None
    if count == 0:
        raise DataError(path, "holds no FASTA records")


def summarize_fasta(path: str | os.PathLike) -> FastaSummary:
    """Check every record (see :func:`read_fasta`) and return their names and lengths."""
    names, lengths = [], []
    for name, codes in read_fasta(path):
        names.append(name)
        lengths.append(len(codes))
    return FastaSummary(tuple(names), tuple(lengths))
