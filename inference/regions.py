"""``predict.py regions``: score a window of the model's length centred on each BED interval."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli import UserError
from data.bed import check_intervals, read_bed
from data.genome import Genome
from data.windows import centered_window
from evaluation.predict import predict_averaged
from inference.common import Timer, check_batch_size, one_hot_batches, output_attrs
from inference.model import LoadedModel
from inference.output import RowWriter, check_outputs, output_paths
from inference.targets import Targets


@dataclass
class RegionsSummary:
    intervals: int
    scored: int
    off_end: int  # windows running off a chromosome end: reported and skipped
    seconds: float
    paths: list[Path]


def predict_regions(loaded: LoadedModel, bed: str | os.PathLike, genome_path: str | os.PathLike,
                    out: str | os.PathLike, *, fmt: str, targets: Targets, batch_size: int = 128,
                    progress: bool = True, force: bool = False, command: str | None = None) -> RegionsSummary:
    """Strand-averaged scores of the window centred on each interval, written to ``out``.

    Rows: ``names`` (BED name, or ``chrom:start-end``), ``chrom`` (as in the BED), ``start``/``end``
    (the window, 0-based half-open), ``interval_start``/``interval_end`` (the BED interval).
    """
    check_batch_size(batch_size)
    check_outputs(output_paths(out, fmt), inputs=[bed, genome_path, loaded.path], force=force)
    length = loaded.sequence_length
    timer = Timer()
    intervals = read_bed(bed)
    with Genome(genome_path) as genome:
        chroms = check_intervals(bed, intervals, genome)
        kept, spans = [], []
        for interval, chrom in zip(intervals, chroms):
            start, end = centered_window(interval.start, interval.end, length)
            if not genome.contains(chrom, start, end):
                print(f"skipped: {bed}: line {interval.line}: {interval.name}: its {length} bp window "
                      f"[{start}, {end}) runs off {chrom} ({genome.lengths[chrom]} bp)", file=sys.stderr)
                continue
            kept.append(interval)
            spans.append((chrom, start, end))
        if not kept:
            raise UserError(f"{bed}: none of its {len(intervals)} intervals has a {length} bp window on "
                            "its chromosome; nothing was written")
        rows = {
            "names": np.array([i.name for i in kept], dtype=object),
            "chrom": np.array([i.chrom for i in kept], dtype=object),
            "start": np.array([s[1] for s in spans], dtype=np.int64),
            "end": np.array([s[2] for s in spans], dtype=np.int64),
            "interval_start": np.array([i.start for i in kept], dtype=np.int64),
            "interval_end": np.array([i.end for i in kept], dtype=np.int64),
        }
        writer = RowWriter(out, fmt=fmt, targets=targets, rows=rows, values=["scores"],
                           attrs=output_attrs(loaded, command, subcommand="regions", input=str(bed),
                                              genome=str(genome_path),
                                              window="centred on (start + end) // 2, starting at "
                                                     "midpoint - L // 2"))
        windows = (genome.codes(chrom, start, end) for chrom, start, end in spans)
        with writer:
            predict_averaged(loaded.predictor, one_hot_batches(windows, length, batch_size),
                             total=len(spans), progress=progress, desc="regions",
                             on_batch=lambda start, scores: writer.write(start, {"scores": targets.take(scores)}),
                             collect=False)
    return RegionsSummary(len(intervals), len(kept), len(intervals) - len(kept), timer.seconds, writer.paths)
