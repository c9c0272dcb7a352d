"""``predict.py variants``: the predicted effect of each VCF variant (reference vs alternative window).

Windows follow Selene's convention (data.windows.variant_windows). Every variant is checked
before anything is predicted: a chromosome the genome lacks or a malformed line stops the run
(nothing written); a REF that disagrees with the genome, a window running off the chromosome,
a symbolic or non-sequence allele, or an allele longer than L/2 is reported on one stderr line
and left out (a REF mismatch is kept with ``--allow-ref-mismatch``: the reference window then
carries the VCF's REF, as Selene does, and ``ref_matches_genome`` is 0).

Outputs per variant and target: ``ref`` and ``alt`` (strand-averaged probabilities), ``diff``
(alt - ref) and ``log2_odds_ratio`` (DeepSEA's log fold change of odds,
log2(alt / (1 - alt)) - log2(ref / (1 - ref)), probabilities clipped to [1e-6, 1 - 1e-6] first so it
stays finite: at most about +-39.9).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cli import UserError
from data.encoding import encode, one_hot
from data.genome import Genome
from data.vcf import Variant, read_vcf
from data.windows import variant_windows
from evaluation.predict import predict_averaged
from inference.common import Timer, check_batch_size, output_attrs
from inference.model import LoadedModel
from inference.output import RowWriter, check_outputs, output_paths
from inference.targets import Targets

VALUES = ("ref", "alt", "diff", "log2_odds_ratio")
#: Probabilities are clipped to [ODDS_CLIP, 1 - ODDS_CLIP] before the log odds.
ODDS_CLIP = 1e-6


def log2_odds_ratio(ref: np.ndarray, alt: np.ndarray, clip: float = ODDS_CLIP) -> np.ndarray:
    """log2(alt / (1 - alt)) - log2(ref / (1 - ref)), float32, after clipping both to [clip, 1 - clip]."""
    r = np.clip(np.asarray(ref, dtype=np.float64), clip, 1 - clip)
    a = np.clip(np.asarray(alt, dtype=np.float64), clip, 1 - clip)
    return (np.log2(a / (1 - a)) - np.log2(r / (1 - r))).astype(np.float32)


@dataclass(slots=True)
class ScoredVariant:
    variant: Variant
    chrom: str  # the genome's name
    ref_matches: bool


@dataclass
class VariantsSummary:
    read: int  # (REF, ALT) pairs in the VCF
    scored: int
    ref_mismatch: int  # REF disagreeing with the genome (left out unless allowed)
    ref_mismatch_kept: int
    off_end: int
    unscorable: int  # symbolic, missing or non-sequence alleles
    too_long: int
    seconds: float
    paths: list[Path]

    def line(self) -> str:
        parts = []
        if self.ref_mismatch:
            kept = f", {self.ref_mismatch_kept} kept" if self.ref_mismatch_kept else ", left out"
            parts.append(f"{self.ref_mismatch} REF mismatch{'es' if self.ref_mismatch != 1 else ''}{kept}")
        for count, text in ((self.off_end, "off a chromosome end"), (self.unscorable, "not sequence"),
                            (self.too_long, "longer than L/2")):
            if count:
                parts.append(f"{count} {text}")
        return f"{self.scored} of {self.read} variants scored" + (f" ({'; '.join(parts)})" if parts else "")


def _report(vcf, variant: Variant, problem: str) -> None:
    print(f"skipped: {vcf}: line {variant.line}: {variant.variant_id}: {problem}", file=sys.stderr)


def check_variants(vcf, genome: Genome, length: int, *, allow_ref_mismatch: bool):
    """Read and check every variant; returns the scorable ones and the counts of the others."""
    counts = {"read": 0, "ref_mismatch": 0, "ref_mismatch_kept": 0, "off_end": 0, "unscorable": 0,
              "too_long": 0}
    kept: list[ScoredVariant] = []
    for variant in read_vcf(vcf):
        counts["read"] += 1
        if variant.skip:
            counts["unscorable"] += 1
            _report(vcf, variant, variant.skip)
            continue
        chrom = genome.require(variant.chrom, f"{vcf}: line {variant.line}")
        if max(len(variant.ref), len(variant.alt)) > length // 2:
            counts["too_long"] += 1
            _report(vcf, variant, f"an allele is longer than {length // 2} bp (half the {length} bp window)")
            continue
        windows = variant_windows(variant.pos, len(variant.ref), len(variant.alt), length)
        lo, hi = windows.genome_span
        if not genome.contains(chrom, lo, hi):
            counts["off_end"] += 1
            _report(vcf, variant, f"its windows need 0-based [{lo}, {hi}) of {chrom}, which runs off {chrom} "
                                  f"({genome.lengths[chrom]} bp)")
            continue
        ref0 = variant.pos - 1
        genome_ref = genome.fetch(chrom, ref0, ref0 + len(variant.ref))
        matches = genome_ref == variant.ref
        if not matches:
            counts["ref_mismatch"] += 1
            if allow_ref_mismatch:
                counts["ref_mismatch_kept"] += 1
                print(f"warning: {vcf}: line {variant.line}: {variant.variant_id}: REF disagrees with the "
                      f"genome ({genome_ref!r} at {chrom}:{variant.pos}); kept with the VCF's REF "
                      "(--allow-ref-mismatch)", file=sys.stderr)
            else:
                _report(vcf, variant, f"REF disagrees with the genome ({genome_ref!r} at {chrom}:{variant.pos}); "
                                      "use --allow-ref-mismatch to score it with the VCF's REF")
                continue
        kept.append(ScoredVariant(variant, chrom, matches))
    return kept, counts


def variant_codes(genome: Genome, item: ScoredVariant, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Base codes (L,) of a variant's reference and alternative windows."""
    variant = item.variant
    windows = variant_windows(variant.pos, len(variant.ref), len(variant.alt), length)
    lo, hi = windows.genome_span
    span = genome.codes(item.chrom, lo, hi)
    ref = span[windows.ref_span[0] - lo:windows.ref_span[1] - lo].copy()
    if not item.ref_matches:
        ref[windows.ref_offset:windows.ref_offset + len(variant.ref)] = encode(variant.ref)
    alt = np.concatenate([span[windows.alt_left[0] - lo:windows.alt_left[1] - lo], encode(variant.alt),
                          span[windows.alt_right[0] - lo:windows.alt_right[1] - lo]])
    return ref, alt


def pair_batches(genome: Genome, items: list[ScoredVariant], length: int, variants_per_batch: int):
    """One-hot batches (2b, L, 4): b reference windows, then the same b variants' alternative windows."""
    for start in range(0, len(items), variants_per_batch):
        chunk = items[start:start + variants_per_batch]
        codes = np.empty((2 * len(chunk), length), dtype=np.uint8)
        for i, item in enumerate(chunk):
            codes[i], codes[len(chunk) + i] = variant_codes(genome, item, length)
        yield one_hot(codes)


def predict_variants(loaded: LoadedModel, vcf: str | os.PathLike, genome_path: str | os.PathLike,
                     out: str | os.PathLike, *, fmt: str, targets: Targets, allow_ref_mismatch: bool = False,
                     tsv_value: str = "diff", top: int | None = None, batch_size: int = 128,
                     progress: bool = True, force: bool = False, command: str | None = None) -> VariantsSummary:
    """Score every variant of ``vcf`` (both alleles, both strands) and write ``out``.

    ``batch_size`` counts windows per model call (reference and alternative each count), so a
    batch holds ``batch_size // 2`` variants.
    """
    check_batch_size(batch_size, 2)
    if tsv_value not in VALUES:
        raise UserError(f"--value {tsv_value!r} is not one of {', '.join(VALUES)}")
    if top is not None:
        if top < 1:
            raise UserError(f"--top must be at least 1, got {top}")
        if fmt != "tsv":
            raise UserError("--top writes the long TSV form; give an OUT ending in .tsv or --format tsv")
    check_outputs(output_paths(out, fmt, top), inputs=[vcf, genome_path, loaded.path], force=force)
    length = loaded.sequence_length
    timer = Timer()
    with Genome(genome_path) as genome:
        items, counts = check_variants(vcf, genome, length, allow_ref_mismatch=allow_ref_mismatch)
        if not items:
            raise UserError(f"{vcf}: none of its {counts['read']} variants could be scored (see the lines "
                            "above); nothing was written")
        v = [item.variant for item in items]
        rows = {
            "variant_id": np.array([x.variant_id for x in v], dtype=object),
            "chrom": np.array([x.chrom for x in v], dtype=object),
            "pos": np.array([x.pos for x in v], dtype=np.int64),
            "id": np.array([x.id for x in v], dtype=object),
            "ref_allele": np.array([x.ref for x in v], dtype=object),
            "alt_allele": np.array([x.alt for x in v], dtype=object),
            "ref_matches_genome": np.array([item.ref_matches for item in items], dtype=np.int8),
        }
        writer = RowWriter(out, fmt=fmt, targets=targets, rows=rows, values=list(VALUES), tsv_value=tsv_value,
                           top=top, attrs=output_attrs(
                               loaded, command, subcommand="variants", input=str(vcf), genome=str(genome_path),
                               window="Selene's: REF of r bases at 1-based POS -> reference window "
                                      "[POS + r//2 - L//2, +L) 0-based; ALT centred by the same rule",
                               log2_odds_ratio_clip=ODDS_CLIP, allow_ref_mismatch=allow_ref_mismatch))

        def on_batch(start: int, scores: np.ndarray) -> None:
            b = len(scores) // 2
            ref, alt = targets.take(scores[:b]), targets.take(scores[b:])
            writer.write(start // 2, {"ref": ref, "alt": alt, "diff": alt - ref,
                                      "log2_odds_ratio": log2_odds_ratio(ref, alt)})

        with writer:
            predict_averaged(loaded.predictor, pair_batches(genome, items, length, max(1, batch_size // 2)),
                             total=2 * len(items), progress=progress, desc="variants (ref+alt windows)",
                             on_batch=on_batch, collect=False)
    return VariantsSummary(counts["read"], len(items), counts["ref_mismatch"], counts["ref_mismatch_kept"],
                           counts["off_end"], counts["unscorable"], counts["too_long"], timer.seconds,
                           writer.paths)
