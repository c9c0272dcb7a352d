"""An indexed reference genome (plain or bgzipped FASTA), read through ``pysam.FastaFile``.

* The index is what htslib uses: ``GENOME.fai`` (and ``GENOME.gzi`` for a bgzipped genome). A
  genome without one is indexed on first use, as ``samtools faidx`` would do it, with a note on
  stderr; the index is written under a temporary name and renamed, so a killed run never leaves a
  half-written index that later runs would trust. A folder that cannot take the index (read-only)
  gives one line saying how to index a copy.
* A plain-gzip genome (``gzip``, not ``bgzip``) cannot be indexed; the error says how to recompress it.
* Coordinates are 0-based, half-open. :meth:`Genome.fetch` refuses an interval that leaves the
  chromosome (pysam itself would silently return a shorter string).
* Chromosome names: exact match first, then the other UCSC/Ensembl spelling (``1`` <-> ``chr1``,
  ``MT`` <-> ``chrM``), so a VCF written against Ensembl names works on a UCSC genome.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from data.encoding import encode
from data.mat import DataError
from fileio import atomic_path

GZIP_MAGIC = b"\x1f\x8b"


def quiet_htslib() -> None:
    """Keep htslib's own ``[E::...]`` lines off stderr: every failure becomes one error line here."""
    import pysam

    pysam.set_verbosity(0)


def is_gzip(path: str | os.PathLike) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def is_bgzip(path: str | os.PathLike) -> bool:
    """Whether a gzip file is BGZF (its first member carries the ``BC`` extra subfield)."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    return (len(head) >= 18 and head[:2] == GZIP_MAGIC and head[3] & 4 == 4
            and head[12:14] == b"BC")


def index_paths(path: str | os.PathLike) -> list[Path]:
    """The index files htslib needs beside a genome: ``.fai``, plus ``.gzi`` when bgzipped."""
    path = Path(path)
    paths = [Path(f"{path}.fai")]
    if is_gzip(path):
        paths.append(Path(f"{path}.gzi"))
    return paths


def build_index(path: str | os.PathLike) -> list[Path]:
    """Write the genome's missing index files (atomically) and return their paths."""
    import pysam

    path = Path(path)
    wanted = index_paths(path)
    fai, gzi = wanted[0], (wanted[1] if len(wanted) > 1 else None)
    try:
        with atomic_path(fai) as tmp_fai:
            args = [str(path), "--fai-idx", tmp_fai]
            if gzi is None:
                pysam.faidx(*args)
            else:
                with atomic_path(gzi) as tmp_gzi:
                    pysam.faidx(*args, "--gzi-idx", tmp_gzi)
    except pysam.utils.SamtoolsError as err:
        detail = " ".join(str(err).split())
        raise DataError(path, f"cannot index this FASTA ({detail[:200]}); is it a FASTA file with "
                              "equal-length lines within each sequence?") from None
    except PermissionError:
        raise DataError(path, f"has no index and its folder is read-only; index a copy elsewhere "
                              f"(`samtools faidx GENOME`, or python -c \"import pysam; "
                              f"pysam.faidx('GENOME')\") and pass that copy") from None
    return wanted


class Genome:
    """An open, indexed genome FASTA; use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike, *, index: bool = True) -> None:
        import pysam

        quiet_htslib()
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(self.path, "no such genome FASTA")
        if not self.path.is_file():
            raise DataError(self.path, "is not a file (a genome FASTA is expected)")
        if is_gzip(self.path) and not is_bgzip(self.path):
            raise DataError(self.path, "is gzip-compressed but not with bgzip, so it cannot be indexed; "
                                       "recompress it: gunzip -c GENOME.fa.gz | bgzip > GENOME.fa.bgz "
                                       "(or python -c \"import pysam; pysam.tabix_compress('GENOME.fa', "
                                       "'GENOME.fa.bgz')\")")
        missing = [p for p in index_paths(self.path) if not p.is_file()]
        if missing:
            if not index:
                raise DataError(self.path, f"is not indexed (no {missing[0].name}); run `samtools faidx "
                                           f"{self.path}`")
            print(f"note: {self.path}: no index; writing {', '.join(p.name for p in missing)} beside it "
                  "(once)", file=sys.stderr)
            build_index(self.path)
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as err:
            raise DataError(self.path, f"cannot open as an indexed FASTA ({' '.join(str(err).split())[:200]})"
                            ) from None
        self.lengths: dict[str, int] = dict(zip(self._fasta.references, self._fasta.lengths))
        if not self.lengths:
            raise DataError(self.path, "holds no sequences")

    def __enter__(self) -> "Genome":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._fasta.close()

    def __repr__(self) -> str:
        return f"Genome({str(self.path)!r}, {len(self.lengths)} sequences)"

    def resolve(self, chrom: str) -> str | None:
        """This genome's name for ``chrom`` (exact, else its chr-prefixed/unprefixed twin), or None."""
        if chrom in self.lengths:
            return chrom
        for alias in _aliases(chrom):
            if alias in self.lengths:
                return alias
        return None

    def require(self, chrom: str, where: str) -> str:
        """:meth:`resolve`, or a :class:`DataError` naming ``where`` (the input file and line)."""
        name = self.resolve(chrom)
        if name is None:
            shown = ", ".join(list(self.lengths)[:5]) + (", ..." if len(self.lengths) > 5 else "")
            raise DataError(where, f"chromosome {chrom!r} is not in the genome {self.path} (it has {shown})")
        return name

    def contains(self, chrom: str, start: int, end: int) -> bool:
        """Whether 0-based half-open [start, end) lies on ``chrom`` (a genome name)."""
        return 0 <= start <= end <= self.lengths[chrom]

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Bases [start, end) of ``chrom`` (a genome name), upper-cased; refuses leaving the chromosome."""
        if not self.contains(chrom, start, end):
            raise ValueError(f"{chrom}:{start}-{end} leaves {chrom} (length {self.lengths[chrom]})")
        return self._fasta.fetch(chrom, start, end).upper()

    def codes(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Base codes uint8 (end - start,) of [start, end); N and IUPAC codes become N."""
        text = self.fetch(chrom, start, end)
        try:
            return encode(text)
        except ValueError as err:
            raise DataError(self.path, f"{chrom}:{start + 1}-{end}: {err}") from None


def _aliases(chrom: str) -> list[str]:
    if chrom.startswith("chr"):
        bare = chrom[3:]
        return [bare] + (["MT"] if bare == "M" else [])
    return [f"chr{chrom}"] + (["chrM"] if chrom == "MT" else [])
