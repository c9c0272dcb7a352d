"""``predict.py sequences``: score the sequences of a FASTA file (see data.windows for the rule
that fits each one to the model's input length)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli import UserError
from data.fasta import read_fasta, summarize_fasta
from data.windows import sequence_window_starts, window_codes
from evaluation.predict import predict_averaged
from inference.common import Timer, check_batch_size, one_hot_batches, output_attrs
from inference.model import LoadedModel
from inference.output import RowWriter, check_outputs, output_paths
from inference.targets import Targets


@dataclass
class SequencesSummary:
    sequences: int
    windows: int
    tiled: int  # sequences longer than L that gave more than one window
    cropped: int
    padded: int
    seconds: float
    paths: list[Path]


def predict_sequences(loaded: LoadedModel, fasta: str | os.PathLike, out: str | os.PathLike, *,
                      fmt: str, targets: Targets, stride: int | None = None, center: bool = False,
                      batch_size: int = 128, progress: bool = True, force: bool = False,
                      command: str | None = None) -> SequencesSummary:
    """Strand-averaged scores of every window of every FASTA record, written to ``out``.

    Rows are windows in file order: ``names`` (the record), ``start``/``end`` (the window in the
    record's 0-based coordinates; outside ``[0, length)`` is N padding) and ``length`` (the record's).
    """
    check_batch_size(batch_size)
    if center and stride is not None:
        raise UserError("--center and --stride exclude each other: a long sequence is either "
                        "centre-cropped to one window or tiled")
    if stride is not None and stride < 1:
        raise UserError(f"--stride must be at least 1, got {stride}")
    length = loaded.sequence_length
    check_outputs(output_paths(out, fmt), inputs=[fasta, loaded.path], force=force)
    timer = Timer()
    summary = summarize_fasta(fasta)
    starts = [sequence_window_starts(n, length, stride=stride, center=center) for n in summary.lengths]
    counts = np.array([len(s) for s in starts])
    rows = {
        "names": np.repeat(np.array(summary.names, dtype=object), counts),
        "start": np.concatenate(starts),
        "end": np.concatenate(starts) + length,
        "length": np.repeat(np.array(summary.lengths, dtype=np.int64), counts),
    }
    writer = RowWriter(out, fmt=fmt, targets=targets, rows=rows, values=["scores"],
                       attrs=output_attrs(loaded, command, subcommand="sequences", input=str(fasta),
                                          mode="center" if center else "tile",
                                          stride=(stride or length) if not center else None))

    def windows():
        for (name, codes), record_starts in zip(read_fasta(fasta), starts):
            for start in record_starts:
                yield window_codes(codes, int(start), length)

    with writer:
        predict_averaged(loaded.predictor, one_hot_batches(windows(), length, batch_size),
                         total=len(rows["start"]), progress=progress, desc="sequences",
                         on_batch=lambda start, scores: writer.write(start, {"scores": targets.take(scores)}),
                         collect=False)
    lengths = np.array(summary.lengths)
    return SequencesSummary(len(lengths), int(counts.sum()), int(((lengths > length) & (counts > 1)).sum()),
                            int(((lengths > length) & (counts == 1)).sum()), int((lengths < length).sum()),
                            timer.seconds, writer.paths)
