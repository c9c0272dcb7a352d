"""Table: inference cost: strand averaging, and predict.py's variant scoring against the bare model.

* Strand averaging: ``StrandPredictor.averaged`` (forward rows, reverse complements built inside
  the step, both in one model call, then the mean) against ``StrandPredictor.single``, both
  making model calls of the same number of rows; the cost per scored sequence is at least 2x.
* Variant scoring: ``inference.variants.predict_variants`` end to end (VCF, genome windows, both
  alleles on both strands, HDF5 output) against ``predict_averaged`` on pre-built one-hot arrays of
  the same windows and batch size: what predict.py's data path costs on top of the model.
The model has random weights: speed does not depend on them.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench import timing

TITLE = "Inference: strand averaging and variant scoring"
STRAND_TARGET = 2.1
BASES = "ACGT"

FULL = {"model": "crnn-320-projection", "rows": 256, "variants": 256, "variant_batch": 128, "warmup": 1,
        "repeats": 5, "overrides": {}}
QUICK = {"model": "crnn-320-projection", "rows": 4, "variants": 6, "variant_batch": 4, "warmup": 1, "repeats": 2,
         "overrides": {"filters": 8, "projection_dim": 4, "lstm_units": 4, "hidden_units": 8, "num_targets": 8,
                       "sequence_length": 200}}


def write_genome_and_vcf(folder: Path, num_variants: int, length: int, seed: int = 0) -> tuple[Path, Path]:
    """A random one-chromosome FASTA and a VCF of SNVs (one in seven a 2 bp deletion, one in seven
    a 2 bp insertion) spread along it."""
    rng = np.random.default_rng(seed)
    size = max(4 * length, num_variants * 97 + 2 * length)
    chrom = "".join(rng.choice(list(BASES), size=size))
    genome = folder / "genome.fa"
    genome.write_text(">chr1\n" + "\n".join(chrom[i:i + 60] for i in range(0, size, 60)) + "\n")
    positions = np.sort(rng.choice(np.arange(length, size - length), size=num_variants, replace=False))
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID=chr1,length={size}>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for k, pos in enumerate(positions.tolist()):
        ref = chrom[pos - 1]
        if k % 7 == 3:
            ref, alt = chrom[pos - 1:pos + 2], chrom[pos - 1]
        elif k % 7 == 5:
            alt = ref + "GA"
        else:
            alt = BASES[(BASES.index(ref) + 1) % 4]
        lines.append(f"chr1\t{pos}\tv{k}\t{ref}\t{alt}\t.\tPASS\t.")
    vcf = folder / "variants.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return genome, vcf


def measure_strand(model, settings: dict) -> dict[str, Any]:
    from evaluation.predict import StrandPredictor

    predictor = StrandPredictor(model)
    rows = settings["rows"]
    x, _ = timing.random_batch(rows, predictor.sequence_length, predictor.num_targets)
    half = x[: rows // 2]  # averaged: rows/2 sequences + their reverse complements = rows per call
    times = timing.interleaved({"single": lambda: predictor.single(x), "averaged": lambda: predictor.averaged(half)},
                               warmup=settings["warmup"], repeats=settings["repeats"])
    ratio = timing.speedup(times["averaged"], times["single"], "wall", (rows // 2, rows))
    return {"rows": rows, "single_seq_per_s": times["single"].rate(rows),
            "averaged_seq_per_s": times["averaged"].rate(rows // 2), "ratio": ratio,
            "ratio_cpu": timing.speedup(times["averaged"], times["single"], "cpu", (rows // 2, rows)),
            "passed": ratio <= STRAND_TARGET}


def measure_variants(model, settings: dict) -> dict[str, Any]:
    from evaluation.predict import predict_averaged
    from inference.model import LoadedModel, check_model
    from inference.targets import Targets
    from inference.variants import predict_variants

    length, num_targets = check_model(model, settings["model"])
    loaded = LoadedModel(model, Path(settings["model"]), length, num_targets)
    n, batch = settings["variants"], settings["variant_batch"]
    windows = timing.random_batch(2 * n, length, 1, seed=1)[0]
    batches = [windows[i:i + batch] for i in range(0, 2 * n, batch)]
    with tempfile.TemporaryDirectory(prefix="bench_variants_") as tmp:
        genome, vcf = write_genome_and_vcf(Path(tmp), n, length)
        count = [0]

        def variants():
            count[0] += 1
            out = Path(tmp) / f"effects_{count[0]}.h5"
            summary = predict_variants(loaded, vcf, genome, out, fmt="hdf5", targets=Targets.select(None, num_targets),
                                       batch_size=batch, progress=False)
            if summary.scored != n:
                raise RuntimeError(f"predict_variants scored {summary.scored} of {n} variants")
            out.unlink()

        times = timing.interleaved(
            {"variants": variants,
             "model": lambda: predict_averaged(loaded.predictor, batches, total=2 * n, progress=False, collect=False)},
            warmup=settings["warmup"], repeats=settings["repeats"])
    return {"variants": n, "windows_per_call": batch, "end_to_end": times["variants"].rate(n),
            "model_only": times["model"].rate(n), "ratio": timing.speedup(times["model"], times["variants"], "wall"),
            "ratio_cpu": timing.speedup(times["model"], times["variants"], "cpu")}


def measure(settings: dict) -> dict[str, Any]:
    timing.log(f"inference: {settings['model']}")
    model = timing.build_model(settings["model"], settings["overrides"])
    result = {"strand": measure_strand(model, settings), "variants": measure_variants(model, settings)}
    timing.release()
    return result


def markdown(result: dict, settings: dict) -> list[str]:
    s, v = result["strand"], result["variants"]
    out = [f"{settings['model']} (random weights), {settings['repeats']} timed rounds after {settings['warmup']} "
           "warm-up, the two arms of each row interleaved; ratios are medians of per-round ratios (wall, CPU time).",
           "", f"Strand averaging: model calls of {s['rows']} rows in both arms; single strand scores {s['rows']} "
           f"sequences per call, strand-averaged {s['rows'] // 2} (each from its forward and reverse-complement "
           f"rows in the same call). Cost per scored sequence, averaged / single: 2.0 is the floor; target "
           f"<= {STRAND_TARGET}x.", ""]
    out += timing.table(["single strand seq/s", "strand-averaged seq/s", "cost ratio (wall, CPU)", "target"],
                        [[f"{s['single_seq_per_s']:,.1f}", f"{s['averaged_seq_per_s']:,.1f}",
                          f"{s['ratio']:.2f}x, {s['ratio_cpu']:.2f}x", timing.verdict(s["passed"])]])
    out += ["", f"Variant scoring: {v['variants']} variants (one in seven a 2 bp deletion, one in seven a 2 bp "
            f"insertion) on a generated genome, {v['windows_per_call']} windows per model call "
            "(predict.py's `--batch-size`), both alleles on both strands. Ratio = end-to-end variants/s over "
            "the bare model's (1.0 = the data path costs nothing on top).", ""]
    out += timing.table(["`predict_variants` variants/s", "`predict_averaged` on pre-built arrays, variants/s",
                         "ratio (wall, CPU)"],
                        [[f"{v['end_to_end']:,.1f}", f"{v['model_only']:,.1f}",
                          f"{v['ratio']:.2f}, {v['ratio_cpu']:.2f}"]])
    return out


#: Issue 12: predict.py's variants/s end to end at least this share of the bare model's rate.
VARIANT_TARGET = 0.80


def checks(result: dict) -> list[dict]:
    s, v = result["strand"], result["variants"]
    return [{"check": f"strand-averaged inference costs <= {STRAND_TARGET}x single-strand per sequence",
             "measured": f"{s['ratio']:.2f}x", "passed": s["passed"]},
            {"check": f"variants scored end to end >= {timing.percent(VARIANT_TARGET)} of the bare model's rate (wall)",
             "measured": f"{timing.percent(v['ratio'])} (CPU time {timing.percent(v['ratio_cpu'])})",
             "passed": v["ratio"] >= VARIANT_TARGET}]
