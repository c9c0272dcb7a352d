"""``predict.py mutagenesis``: in-silico saturation mutagenesis of one window.

The window is one FASTA sequence fitted to the model's length L as ``sequences --center`` fits it
(centre crop, or N padding), or the L-bp window centred on a genome region (as ``regions`` centres
a BED interval). Every position is changed to each base it is not (3 x L windows; 4 at an N),
all predicted in batches with both strands averaged.

Outputs, bases in A, C, G, T order: ``ref`` (K,) scores of the window itself; ``alt`` (L, 4, K)
scores with base b at position i (``ref`` at the reference base); ``effect`` = alt - ref;
``importance`` (L, K) = ref - mean of the substitutions at each position (0 at N), the per-position
effect the logo draws.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cli import UserError
from data.encoding import ALPHABET, N_CODE, decode, one_hot
from data.fasta import read_fasta
from data.genome import Genome
from data.windows import centered_window, sequence_window_starts, window_codes
from evaluation.predict import predict_averaged
from fileio import StagedFiles
from inference.common import Timer, check_batch_size, one_hot_batches, output_attrs
from inference.model import LoadedModel
from inference.output import (RowWriter, check_outputs, output_paths, set_attrs, write_dataset,
                              write_targets_hdf5)
from inference.targets import Targets

BASES = "ACGT"
#: Position in A,C,G,T of each base code (A,G,C,T order; N has none).
_ACGT_OF_CODE = np.array([BASES.index(b) for b in ALPHABET])
_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)(-(?P<end>[\d,]+))?$")


def parse_region(text: str) -> tuple[str, int, int]:
    """``chr1:1,000-2,000`` (1-based, inclusive, as samtools writes it) -> ('chr1', 999, 2000) 0-based half-open."""
    match = _REGION.match(text.strip())
    if not match:
        raise UserError(f"--region {text!r}: expected CHROM:START-END (1-based, inclusive), e.g. chr1:1000-2000")
    start = int(match["start"].replace(",", ""))
    end = int(match["end"].replace(",", "")) if match["end"] else start
    if start < 1 or end < start:
        raise UserError(f"--region {text!r}: need 1 <= START <= END")
    return match["chrom"], start - 1, end


@dataclass
class Window:
    codes: np.ndarray  # (L,) base codes
    positions: np.ndarray  # (L,) 0-based genome coordinates, or offsets in the FASTA sequence
    name: str
    chrom: str | None = None
    describe: str = ""


def window_from_fasta(path, length: int) -> Window:
    records = iter(read_fasta(path))
    name, codes = next(records)
    if next(records, None) is not None:
        raise UserError(f"{path}: holds more than one sequence; mutagenesis takes one window (put the one "
                        "sequence in its own FASTA, or use --region)")
    start = int(sequence_window_starts(len(codes), length, center=True)[0])
    return Window(window_codes(codes, start, length), np.arange(start, start + length), name,
                  describe=f"{name} [{start}, {start + length}) of {len(codes)} bp")


def window_from_region(region: str, genome: Genome, length: int) -> Window:
    chrom, start, end = parse_region(region)
    name = genome.require(chrom, "--region")
    if end > genome.lengths[name]:
        raise UserError(f"--region {region}: ends past the end of {name} ({genome.lengths[name]} bp in {genome.path})")
    w_start, w_end = centered_window(start, end, length)
    if not genome.contains(name, w_start, w_end):
        raise UserError(f"--region {region}: its {length} bp window {name}:{w_start + 1}-{w_end} runs off {name} "
                        f"(1-{genome.lengths[name]})")
    return Window(genome.codes(name, w_start, w_end), np.arange(w_start, w_end), region, chrom,
                  describe=f"{name}:{w_start + 1}-{w_end}")


def substitutions(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every single-base change of a window: (positions, new base codes), position-major, bases in
    A,C,G,T order; an N position takes all four bases."""
    positions, bases = [], []
    for i, code in enumerate(codes.tolist()):
        for base in BASES:
            new = ALPHABET.index(base)
            if new != code:
                positions.append(i)
                bases.append(new)
    return np.array(positions, dtype=np.int64), np.array(bases, dtype=np.uint8)


@dataclass
class MutagenesisResult:
    window: Window
    ref: np.ndarray  # (K,)
    alt: np.ndarray  # (L, 4, K), A,C,G,T
    targets: Targets
    mutations: int

    @property
    def effect(self) -> np.ndarray:
        return self.alt - self.ref

    @property
    def importance(self) -> np.ndarray:
        """(L, K): ref minus the mean of the substitutions at each position (0 where the window has N)."""
        effect = self.effect
        codes = self.window.codes
        out = np.zeros((len(codes), effect.shape[2]), dtype=np.float32)
        real = codes != N_CODE
        total = effect[real].sum(axis=1)  # the reference base contributes 0
        out[real] = -total / 3.0
        return out


def saturate(loaded: LoadedModel, window: Window, targets: Targets, *, batch_size: int = 128,
             progress: bool = True) -> MutagenesisResult:
    """Predict the window and all its single-base substitutions (strand-averaged)."""
    length = loaded.sequence_length
    ref = targets.take(loaded.predictor.averaged(one_hot(window.codes[None]))[0])
    positions, bases = substitutions(window.codes)

    def mutants():
        for i, base in zip(positions.tolist(), bases.tolist()):
            codes = window.codes.copy()
            codes[i] = base
            yield codes

    scores = predict_averaged(loaded.predictor, one_hot_batches(mutants(), length, batch_size),
                              total=len(positions), progress=progress, desc="mutagenesis")
    alt = np.repeat(np.repeat(ref[None, None, :], length, axis=0), 4, axis=1).astype(np.float32)
    alt[positions, _ACGT_OF_CODE[bases]] = targets.take(scores)
    return MutagenesisResult(window, ref, alt, targets, len(positions))


@dataclass
class MutagenesisSummary:
    mutations: int
    seconds: float
    paths: list[Path]
    figures: list[Path] = field(default_factory=list)


def figure_paths(out: str | os.PathLike, figure: str | os.PathLike | None) -> list[Path]:
    base = Path(figure) if figure else Path(out)
    stem = base.with_suffix("") if base.suffix.lower() in (".png", ".pdf", ".h5", ".hdf5", ".tsv", ".txt") else base
    return [stem.with_name(f"{stem.name}.png"), stem.with_name(f"{stem.name}.pdf")]


def plotted(result: MutagenesisResult, k: int, span: int) -> tuple[list[int], slice]:
    """The ``k`` targets (columns) of largest absolute effect and the ``span`` bases around the
    position where they matter most (``span`` 0: the whole window)."""
    effect = np.abs(result.effect)
    strength = effect.max(axis=(0, 1))
    chosen = sorted(np.argsort(-strength, kind="stable")[:k].tolist())
    length = effect.shape[0]
    if span <= 0 or span >= length:
        return chosen, slice(0, length)
    centre = int(np.abs(result.importance[:, chosen]).max(axis=1).argmax())
    start = min(max(0, centre - span // 2), length - span)
    return chosen, slice(start, start + span)


def run_mutagenesis(loaded: LoadedModel, *, out: str | os.PathLike, fasta=None, region: str | None = None,
                    genome_path=None, fmt: str, targets: Targets, batch_size: int = 128, progress: bool = True,
                    force: bool = False, command: str | None = None, plot_targets: int = 3,
                    plot_span: int = 100, figure=None) -> MutagenesisSummary:
    """Saturation mutagenesis of one window, written to ``out`` (+ the figure as PNG and PDF)."""
    check_batch_size(batch_size)
    if (fasta is None) == (region is None):
        raise UserError("give exactly one of --fasta or --region")
    if plot_targets < 0 or plot_span < 0:
        raise UserError("--plot-targets and --plot-span must be >= 0")
    out = Path(out)
    figures = figure_paths(out, figure) if plot_targets else []
    inputs = [fasta, genome_path, loaded.path]
    check_outputs(output_paths(out, fmt) + figures, inputs=inputs, force=force)
    if len(set(map(str, output_paths(out, fmt) + figures))) != len(output_paths(out, fmt) + figures):
        raise UserError(f"{out}: the figure would overwrite the output; give --figure another name")
    timer = Timer()
    length = loaded.sequence_length
    if fasta is not None:
        window = window_from_fasta(fasta, length)
    else:
        with Genome(genome_path) as genome:
            window = window_from_region(region, genome, length)
    result = saturate(loaded, window, targets, batch_size=batch_size, progress=progress)
    attrs = output_attrs(loaded, command, subcommand="mutagenesis", input=str(fasta or region),
                         genome=str(genome_path) if genome_path else None, window=window.describe,
                         chrom=window.chrom, bases=BASES)
    sequence = decode(window.codes)
    with StagedFiles(out.parent) as staged:
        if fmt == "hdf5":
            import h5py

            with h5py.File(staged.path(out.name), "w") as h5:
                write_dataset(h5, "sequence", np.array([sequence], dtype=object))
                write_dataset(h5, "bases", np.array(list(BASES), dtype=object))
                write_dataset(h5, "position", window.positions)
                for name, values in (("ref", result.ref), ("alt", result.alt), ("effect", result.effect),
                                     ("importance", result.importance)):
                    h5.create_dataset(name, data=np.asarray(values, dtype=np.float32))
                write_targets_hdf5(h5, targets)
                set_attrs(h5, attrs)
        else:
            positions, bases = substitutions(window.codes)
            acgt = _ACGT_OF_CODE[bases]
            rows = {"index": positions, "position": window.positions[positions],
                    "ref_base": np.array([sequence[i] for i in positions], dtype=object),
                    "alt_base": np.array([BASES[j] for j in acgt], dtype=object)}
            with RowWriter(out, fmt="tsv", targets=targets, rows=rows, values=["effect"], staged=staged) as writer:
                writer.write(0, {"effect": result.effect[positions, acgt]})
        if figures:
            from analysis.plotting import plt
            from inference.plots import mutagenesis_figure

            chosen, span = plotted(result, plot_targets, plot_span)
            fig = mutagenesis_figure(result.effect[span][:, :, chosen], sequence[span],
                                     [targets.names[j] for j in chosen], positions=window.positions[span],
                                     title=window.describe,
                                     xlabel=f"{window.chrom} position (0-based)" if window.chrom
                                     else "position in the sequence (0-based)")
            try:
                for path in figures:
                    # an absolute name joins to itself, so a figure outside OUT's folder is staged too
                    fig.savefig(staged.path(os.fspath(path.absolute())), format=path.suffix[1:], dpi=110,
                                bbox_inches="tight")
            finally:
                plt.close(fig)
    return MutagenesisSummary(result.mutations, timer.seconds, output_paths(out, fmt), figures)

