"""Variant-scoring throughput of ``predict.py variants`` against the model's own strand-averaged
prediction speed, measured side by side in one process.

* ``variants`` -- :func:`inference.variants.predict_variants` end to end on a generated genome and
  VCF: reading and checking the VCF, fetching both windows of every variant from the indexed genome,
  encoding, predicting both alleles on both strands, writing the HDF5 output.
* ``model`` -- :meth:`evaluation.predict.StrandPredictor.averaged` on pre-built one-hot arrays of the
  same number of windows (2 per variant), in batches of the same size, with the same predictor.

The two are timed interleaved (a, b, b, a, ...), so machine load hits both alike; the ratio of
their variants/s (median over rounds of the per-round ratio) is the overhead's measure, in wall
time and in process CPU time (which other users' load inflates less). Only
public APIs are used. The model has random weights: speed does not depend on them.

Usage: ``python -m bench.bench_predict [--model crnn-320-projection] [--variants 256] [--batch-size 128]
[--repeats 3] [--json out.json]`` (``--model`` also takes a run directory or a .keras file).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.common import command_string, interleaved_times, machine_info, round_ratios, summarize, write_json

BASES = "ACGT"


def build_inputs(folder: Path, num_variants: int, length: int, seed: int = 0) -> tuple[Path, Path]:
    """A random one-chromosome genome FASTA and a VCF of SNVs (every 7th an indel) spread along it."""
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
            ref, alt = chrom[pos - 1:pos + 2], chrom[pos - 1]  # a 2 bp deletion
        elif k % 7 == 5:
            alt = ref + "GA"  # a 2 bp insertion
        else:
            alt = BASES[(BASES.index(ref) + 1) % 4]
        lines.append(f"chr1\t{pos}\tv{k}\t{ref}\t{alt}\t.\tPASS\t.")
    vcf = folder / "variants.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return genome, vcf


def load_model(spec: str):
    """A preset name (random weights) or a run directory / .keras file."""
    from inference import model as model_lib

    if Path(spec).exists():
        return model_lib.load(spec)
    from models.presets import build_model, resolve_config

    model = build_model(resolve_config(spec))
    length, targets = model_lib.check_model(model, spec)
    return model_lib.LoadedModel(model, Path(spec), length, targets)


def run(model_spec: str, num_variants: int, batch_size: int, repeats: int) -> dict:
    from evaluation.predict import predict_averaged
    from inference.targets import Targets
    from inference.variants import predict_variants

    loaded = load_model(model_spec)
    length = loaded.sequence_length
    targets = Targets.select(None, loaded.num_targets)
    with tempfile.TemporaryDirectory(prefix="bench_predict_") as tmp:
        folder = Path(tmp)
        genome, vcf = build_inputs(folder, num_variants, length)
        rng = np.random.default_rng(1)
        windows = 2 * num_variants
        prebuilt = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(windows, length))]
        batches = [prebuilt[i:i + batch_size] for i in range(0, windows, batch_size)]
        runs = {"count": 0}

        def variants():
            runs["count"] += 1
            out = folder / f"effects_{runs['count']}.h5"
            summary = predict_variants(loaded, vcf, genome, out, fmt="hdf5", targets=targets,
                                       batch_size=batch_size, progress=False)
            assert summary.scored == num_variants, summary
            out.unlink()

        def model_only():
            predict_averaged(loaded.predictor, batches, total=windows, progress=False, collect=False)

        # predict_variants prints nothing for clean input; its summary is checked above.
        cpu: dict = {}
        times = interleaved_times({"variants": variants, "model": model_only}, warmup=1, repeats=repeats,
                                  cpu_times=cpu)
    ratios = round_ratios(times["model"], times["variants"])  # = variants/s over model variants/s
    cpu_ratios = round_ratios(cpu["model"], cpu["variants"])
    return {
        "model": model_spec,
        "sequence_length": length,
        "num_targets": loaded.num_targets,
        "variants": num_variants,
        "windows_per_call": batch_size,
        "model_rows_per_call": 2 * batch_size,
        "predict_variants": summarize(times["variants"], num_variants),
        "strand_predictor_prebuilt": summarize(times["model"], num_variants),
        "ratio_per_round": [round(r, 4) for r in ratios],
        "ratio_median": statistics.median(ratios),
        # process CPU seconds (all threads): less inflated by other users' load on a shared machine
        "cpu_s": {"predict_variants": [round(t, 3) for t in cpu["variants"]],
                  "strand_predictor_prebuilt": [round(t, 3) for t in cpu["model"]]},
        "cpu_ratio_per_round": [round(r, 4) for r in cpu_ratios],
        "cpu_ratio_median": statistics.median(cpu_ratios),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_predict", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="crnn-320-projection",
                        help="preset (random weights), run directory or .keras file [default: %(default)s]")
    parser.add_argument("--variants", type=int, default=256, help="variants per run [default: %(default)s]")
    parser.add_argument("--batch-size", type=int, default=128,
                        help="windows per model call, as predict.py's --batch-size [default: %(default)s]")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds [default: %(default)s]")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)
    import cli

    cli.quiet_tensorflow()
    result = run(args.model, args.variants, args.batch_size, args.repeats)
    result["machine"] = machine_info()
    result["command"] = command_string("bench.bench_predict", argv)
    v, m = result["predict_variants"]["items_per_s"], result["strand_predictor_prebuilt"]["items_per_s"]
    print(f"{args.model}: predict_variants {v:.2f} variants/s, StrandPredictor.averaged on pre-built arrays "
          f"{m:.2f} variants/s (2 windows each, batch {args.batch_size} windows); ratio {result['ratio_median']:.3f} "
          f"(per round {result['ratio_per_round']}); CPU-time ratio {result['cpu_ratio_median']:.3f} "
          f"(per round {result['cpu_ratio_per_round']})")
    if args.json:
        write_json(args.json, result)
    print(json.dumps({k: result[k] for k in ("ratio_median", "ratio_per_round", "cpu_ratio_median")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
