"""Use a trained or published model on your own DNA (docs/PREDICT.md).

    python predict.py sequences   --model RUN --fasta seqs.fa            -o scores.h5
    python predict.py regions     --model RUN --bed peaks.bed --genome hg19.fa -o regions.h5
    python predict.py variants    --model RUN --vcf snps.vcf.gz --genome hg19.fa -o effects.h5
    python predict.py mutagenesis --model RUN --region chr1:1000-2000 --genome hg19.fa -o ism.h5
    python predict.py export      --model RUN exported/

``--model`` is a run directory (train.py, or evaluate.py --published --save-model) or a .keras
file. Every prediction is the mean of the forward and reverse-complement strands, made in
batches with a progress bar; results are HDF5 (default) or TSV (``--format tsv`` or an OUT
ending in .tsv). This file only parses flags: the work is done by the ``inference`` package.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

import cli

DEFAULT_BATCH = 128
GENOME_HELP = "genome FASTA, plain or bgzipped; indexed on first use if it has no .fai"


def _common(parser: argparse.ArgumentParser, *, out: bool = True) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL",
                        help="run directory (trained, or evaluate.py --published) or a .keras file")
    if out:
        parser.add_argument("-o", "--out", required=True, metavar="OUT",
                            help="output file (.h5 -> HDF5, .tsv -> TSV unless --format says otherwise)")
        parser.add_argument("--format", choices=("hdf5", "tsv"), default=None,
                            help="output format [default: from OUT's suffix: .tsv/.txt -> tsv, else hdf5]")
        parser.add_argument("--targets", nargs="+", metavar="PATTERN", default=None,
                            help="targets to report: names or globs over cell_type|assay|treatment "
                                 "(e.g. 'GM12878|CTCF|*'), a field (CTCF, K562), a category (DNase, "
                                 "'TF binding', 'histone marks') or an index [default: all]")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, metavar="N",
                            help="windows per model call (both strands run together) [default: %(default)s]")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--force", action="store_true",
                        help="replace existing output files (never an input or a run directory's files)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="predict.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Predict with a trained or published model on your own sequences, regions or variants "
                    "(strand-averaged), run in-silico mutagenesis, or export the model for serving.",
        epilog="examples:\n"
               "  python predict.py sequences --model runs/demo/crnn-320-projection --fasta my.fa -o my.h5\n"
               "  python predict.py variants --model RUN --vcf my.vcf --genome hg19.fa -o effects.tsv --top 10\n"
               "  python predict.py export --model RUN exported/\n"
               "see docs/PREDICT.md for the window conventions and output layouts")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    seq = commands.add_parser("sequences", help="score the sequences of a FASTA file (gzip too)",
                              description="Score every sequence of a FASTA file. Sequences of the model's "
                                          "length are scored as they are, longer ones tiled (or centre-"
                                          "cropped with --center), shorter ones padded with N.")
    _common(seq)
    seq.add_argument("--fasta", required=True, metavar="FILE", help="FASTA file, plain or gzipped")
    seq.add_argument("--stride", type=int, default=None, metavar="BP",
                     help="tile step for sequences longer than the model's input [default: the input length]")
    seq.add_argument("--center", action="store_true",
                     help="score one centre crop of a longer sequence instead of tiling it")

    reg = commands.add_parser("regions", help="score windows centred on BED intervals of a genome",
                              description="Score the window of the model's input length centred on each "
                                          "BED interval, read from an indexed genome FASTA.")
    _common(reg)
    reg.add_argument("--bed", required=True, metavar="FILE", help="BED file (3+ columns; gzip too)")
    reg.add_argument("--genome", required=True, metavar="FASTA", help=GENOME_HELP)

    var = commands.add_parser("variants", help="score VCF variants (reference vs alternative allele)",
                              description="Predict each variant's effect: reference and alternative windows "
                                          "(Selene's centring), both strands, diff and log2 odds ratio.")
    _common(var)
    var.add_argument("--vcf", required=True, metavar="FILE", help="VCF, plain or bgzipped")
    var.add_argument("--genome", required=True, metavar="FASTA", help=GENOME_HELP)
    var.add_argument("--allow-ref-mismatch", action="store_true",
                     help="score variants whose REF disagrees with the genome, using the VCF's REF "
                          "[default: report and leave them out]")
    var.add_argument("--value", choices=("diff", "log2_odds_ratio", "ref", "alt"), default="diff",
                     help="what the TSV's target columns hold, and what --top ranks by (absolute value) "
                          "[default: %(default)s]")
    var.add_argument("--top", type=int, default=None, metavar="K",
                     help="long TSV: the K targets of largest |--value| per variant, one row each, with "
                          "the target's cell_type/assay/treatment columns")

    ism = commands.add_parser("mutagenesis", help="in-silico saturation mutagenesis of one window",
                              description="Every single-base substitution of one window (3 x L variants), "
                                          "its effect on the chosen targets, and a heat map + logo figure.")
    _common(ism)
    source = ism.add_mutually_exclusive_group(required=True)
    source.add_argument("--fasta", metavar="FILE", help="FASTA with one sequence (cropped/padded to L as "
                                                        "'sequences --center' does)")
    source.add_argument("--region", metavar="CHR:START-END",
                        help="genome region, 1-based inclusive as samtools writes it; the window of the "
                             "model's length centred on it is mutated (needs --genome)")
    ism.add_argument("--genome", metavar="FASTA", help="genome FASTA for --region")
    ism.add_argument("--plot-targets", type=int, default=3, metavar="K",
                     help="draw the K chosen targets with the largest effects (0: no figure) [default: %(default)s]")
    ism.add_argument("--plot-span", type=int, default=100, metavar="BP",
                     help="bases drawn, centred on the strongest position (0: the whole window) "
                          "[default: %(default)s]")
    ism.add_argument("--figure", metavar="PATH", default=None,
                     help="figure path; PNG and PDF are written [default: OUT with .png/.pdf]")

    exp = commands.add_parser("export", help="export the model: TensorFlow SavedModel + portable .keras",
                              description="Write OUT/saved_model (TensorFlow serving, strand-averaged "
                                          "'serve' endpoint), OUT/model.keras (reloads with plain Keras, "
                                          "no project code), OUT/targets.tsv and OUT/export.json.")
    _common(exp, out=False)
    exp.add_argument("out", metavar="OUT", help="new directory to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.quiet_tensorflow()
    command = "predict.py " + " ".join(sys.argv[1:] if argv is None else argv)
    from inference import model as model_lib

    loaded = model_lib.load(args.model)
    if args.command == "export":
        from inference.export import export_model

        result = export_model(loaded, args.out, force=args.force)
        print(f"{args.out}: {', '.join(result.files)} (input {loaded.sequence_length} bp, "
              f"{loaded.num_targets} targets; {'; '.join(result.notes) or 'no layers rewritten'})")
        return cli.EXIT_OK

    from inference.output import resolve_format
    from inference.targets import Targets

    fmt = resolve_format(args.out, args.format)
    targets = Targets.select(args.targets, loaded.num_targets)
    common = dict(fmt=fmt, targets=targets, batch_size=args.batch_size, progress=not args.no_progress,
                  force=args.force, command=command)
    if args.command == "sequences":
        from inference.sequences import predict_sequences

        s = predict_sequences(loaded, args.fasta, args.out, stride=args.stride, center=args.center, **common)
        shape = f"{s.sequences} sequences ({s.tiled} tiled, {s.cropped} cropped, {s.padded} padded)"
        print(f"{args.out}: {s.windows} windows of {shape} x {len(targets)} targets, "
              f"{s.windows / max(s.seconds, 1e-9):.1f} windows/s")
    elif args.command == "regions":
        from inference.regions import predict_regions

        s = predict_regions(loaded, args.bed, args.genome, args.out, **common)
        skipped = f", {s.off_end} off a chromosome end (skipped)" if s.off_end else ""
        print(f"{args.out}: {s.scored} of {s.intervals} regions{skipped} x {len(targets)} targets, "
              f"{s.scored / max(s.seconds, 1e-9):.1f} regions/s")
    elif args.command == "variants":
        from inference.variants import predict_variants

        s = predict_variants(loaded, args.vcf, args.genome, args.out, allow_ref_mismatch=args.allow_ref_mismatch,
                             tsv_value=args.value, top=args.top, **common)
        print(f"{args.out}: {s.line()} x {len(targets)} targets, {s.scored / max(s.seconds, 1e-9):.1f} variants/s")
    elif args.command == "mutagenesis":
        from inference.mutagenesis import run_mutagenesis

        if args.region and not args.genome:
            raise cli.UserError("--region needs --genome")
        s = run_mutagenesis(loaded, out=args.out, fasta=args.fasta, region=args.region, genome_path=args.genome,
                            plot_targets=args.plot_targets, plot_span=args.plot_span, figure=args.figure, **common)
        print(f"{args.out}: {s.mutations} substitutions of a {loaded.sequence_length} bp window x "
              f"{len(targets)} targets" + (f"; figure {', '.join(map(str, s.figures))}" if s.figures else ""))
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run_command(main))
