"""BED intervals (plain or gzipped): the first three columns, and the name in column 4 if present.

``track``, ``browser``, ``#`` and blank lines are skipped. Columns are tab-separated (a line
without tabs may use spaces). Coordinates are BED's: 0-based start, exclusive end. A line with
fewer than three columns, a non-integer or negative coordinate, or ``end < start`` is refused
with its line number; so is a chromosome the genome lacks and an interval past the chromosome end
(see :func:`check_intervals`). The strand column is not used: strand-averaged predictions are
the same on either strand.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from data.genome import GZIP_MAGIC, Genome
from data.mat import DataError


@dataclass(frozen=True)
class Interval:
    """One BED line: ``chrom`` as written, 0-based ``[start, end)``, a name, and its line number."""

    chrom: str
    start: int
    end: int
    name: str
    line: int


def read_bed(path: str | os.PathLike) -> list[Interval]:
    """Every interval of a BED file, checked (see the module docstring); at least one."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such BED file" if not path.exists() else "is not a file")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if compressed else open
    intervals = []
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.rstrip("\r\n")
                if not text.strip() or text.startswith(("#", "track", "browser")):
                    continue
                fields = text.split("\t") if "\t" in text else text.split()
                if len(fields) < 3:
                    raise DataError(path, f"line {number}: a BED line needs chrom, start and end "
                                          f"(found {len(fields)} column{'s' if len(fields) != 1 else ''})")
                chrom = fields[0].strip()
                try:
                    start, end = int(fields[1]), int(fields[2])
                except ValueError:
                    raise DataError(path, f"line {number}: start and end must be integers, found "
                                          f"{fields[1]!r} and {fields[2]!r}") from None
                if start < 0 or end < start:
                    raise DataError(path, f"line {number}: {chrom}:{start}-{end} is not an interval "
                                          "(need 0 <= start <= end)")
                name = fields[3].strip() if len(fields) > 3 and fields[3].strip() else f"{chrom}:{start}-{end}"
                intervals.append(Interval(chrom, start, end, name, number))
    except (OSError, EOFError) as err:
        raise DataError(path, f"cannot read ({err})") from None
    if not intervals:
        raise DataError(path, "holds no BED intervals")
    return intervals


def check_intervals(path: str | os.PathLike, intervals: list[Interval], genome: Genome) -> list[str]:
    """The genome's chromosome name for each interval; refuses absent chromosomes and intervals
    past the chromosome end (bad input, not a window running off the end)."""
    names = []
    for interval in intervals:
        where = f"{path}: line {interval.line}"
        chrom = genome.require(interval.chrom, where)
        if interval.end > genome.lengths[chrom]:
            raise DataError(where, f"{interval.chrom}:{interval.start}-{interval.end} ends past the end of "
                                   f"{chrom} ({genome.lengths[chrom]} bp in {genome.path}); is the BED for "
                                   "another assembly?")
        names.append(chrom)
    return names
