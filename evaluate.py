"""Evaluate trained runs or the published DeepSEA/DanQ weights exactly as the paper did.

    python evaluate.py RUN_DIR --data DIR [--split test|valid]           # a trained run
    python evaluate.py --published danq --weights DanQ_bestmodel.hdf5 --data DIR --out runs/danq
    python evaluate.py RUN_DIR --compare-published [--compare-model danq]  # per-target diffs
    python evaluate.py --table RUN_DIR... [-o table.md]                   # Table 1
    python evaluate.py --predict IN.h5 OUT.h5 --model RUN_DIR             # DeepSEA/DanQ-style `pred`

Scores are the mean of each forward / reverse-complement pair (rows i and i + N/2), predicted
together in one model call; AUPRC is PRROC's Davis-Goadrich area; losses count both strands.
Outputs go into the run directory, each replaced only once all of them are complete:
``predictions_<split>.h5``, ``metrics_<split>.json``, ``per_target_<split>.tsv``. This file only
parses flags: the library is the ``evaluation`` package, the run directory ``rundir.py``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import cli
from data.mat import CHANNEL_ORDERS
from rundir import PUBLISHED_NAMES, SPLITS, check_output_path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python evaluate.py",
        description="Strand-averaged evaluation (PRROC AUPRC, AP, AUROC, losses) of a run directory or "
                    "of published weights; Table 1; DeepSEA-style prediction.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    parser.add_argument("run_dir", nargs="?", help="run directory (config.json + best_model.keras)")
    parser.add_argument("--data", help="DeepSEA directory (train/valid/test.mat) or converted store")
    parser.add_argument("--store-dir", help="where to convert .mat files [default: DATA/store]")
    parser.add_argument("--split", default="test", help="split to evaluate: test or valid [default: %(default)s]")
    parser.add_argument("--batch-size", type=int, default=512,
                        help="rows per model call, both strands (even) [default: %(default)s]")
    parser.add_argument("--targets", nargs="+", metavar="PATTERN",
                        help="also report the mean over these targets: names or globs over "
                             "cell_type|assay|treatment, a field (CTCF, K562) or a category (DNase) "
                             "[default: all targets only]")
    parser.add_argument("--force", action="store_true",
                        help="replace results computed on other data, or an existing output file "
                             "[default: %(default)s]")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    pub = parser.add_argument_group("published weights")
    pub.add_argument("--published", choices=sorted(PUBLISHED_NAMES), help="evaluate published weights")
    pub.add_argument("--weights", help="the published weights file (deepsea.cpu / .pth / DanQ*_bestmodel.hdf5)")
    pub.add_argument("--out", help="output directory for --published (gets a config.json describing it)")
    pub.add_argument("--backward", default="reverse", choices=("reverse", "forward", "reverse-unaligned"),
                     help="direction of DanQ's backward LSTM (models/published.py) [default: %(default)s]")
    pub.add_argument("--no-dropout-scaling", action="store_true",
                     help="do not fold Keras 0.2's non-inverted test-time dropout scaling into the DanQ weights "
                          "(docs/PUBLISHED_WEIGHTS.md) [default: scaling on, as Keras 0.2 predicted]")
    pub.add_argument("--save-model", action="store_true",
                     help="also save the converted model as OUT/best_model.keras [default: off]")
    cmp = parser.add_argument_group("comparison with published per-target metrics")
    cmp.add_argument("--compare-published", action="store_true",
                     help="per target, our test AUPRC/AUROC minus the published values, with a summary line")
    cmp.add_argument("--compare-model", choices=sorted(PUBLISHED_NAMES),
                     help="published model to compare with [default: the one evaluated]")
    cmp.add_argument("--published-metrics", default=None,
                     help="published per-target metrics TSV [default: data/reference/published_test_metrics.tsv]")
    tab = parser.add_argument_group("Table 1")
    tab.add_argument("--table", nargs="+", metavar="RUN_DIR", help="print Table 1 for these run directories")
    tab.add_argument("-o", "--output", help="also write the --table Markdown to this file")
    pred = parser.add_argument_group("DeepSEA/DanQ-compatible prediction")
    pred.add_argument("--predict", nargs=2, metavar=("IN", "OUT"),
                      help="read testxdata from IN (HDF5 (N, 4, L), MATLAB v7.3 (L, 4, N) as h5py sees it, or "
                           "MATLAB v5 (N, 4, L)), write pred (N, T) to OUT")
    pred.add_argument("--model", help="run directory or .keras file that --predict uses")
    pred.add_argument("--channel-order", choices=CHANNEL_ORDERS, default="auto",
                      help="one-hot channel order of IN: auto = DeepSEA's A,G,C,T, refusing data whose "
                           "CpG/GpC depletion says A,C,G,T; ACGT reorders [default: %(default)s]")
    return parser


def _store(args):
    from data.store import resolve_store

    if not args.data:
        raise cli.UserError("--data DIR is required to evaluate")
    return resolve_store(args.data, args.store_dir, progress=not args.no_progress)


def _report(label: str, summary: dict, per_target: dict, patterns) -> None:
    from data.features import target_names
    from evaluation import reports

    selection = reports.selection_report(per_target, target_names(len(per_target["positives"])), patterns)
    print(reports.summary_line(label, summary, selection))


def run(args, parser) -> int:
    from evaluation import evaluate, reports

    if args.split not in SPLITS:
        raise cli.UserError(f"unknown split {args.split!r}; expected one of {', '.join(SPLITS)}")
    if args.compare_published and args.split != "test":
        raise cli.UserError("--compare-published compares test-set metrics; use --split test")
    if args.table:
        if args.run_dir or args.published or args.predict:
            parser.error("--table takes its run directories itself; no other mode with it")
        if args.output:
            check_output_path(args.output, force=args.force)
        text, warnings = reports.markdown_table(args.table, args.targets)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.output:
            from fileio import atomic_write_text

            atomic_write_text(args.output, text)
        sys.stdout.write(text)
        return 0
    if args.predict:
        if not args.model:
            parser.error("--predict needs --model RUN_DIR (or a .keras file)")
        n, t, note = evaluate.predict_file(args.model, *args.predict, batch_size=args.batch_size,
                                           progress=not args.no_progress, force=args.force,
                                           channel_order=args.channel_order)
        if note:
            print(f"note: {note}", file=sys.stderr)
        print(f"{args.predict[1]}: pred ({n}, {t})")
        return 0
    if args.published:
        if args.run_dir:
            parser.error("--published writes into --out; do not also give RUN_DIR")
        if not args.weights or not args.out:
            raise cli.UserError("--published needs --weights FILE and --out OUT_DIR")
        store = _store(args)  # fail on bad data before the (slow) weight conversion
        summary, per_target = evaluate.evaluate_published(
            args.published, args.weights, store, args.out, args.split, backward=args.backward,
            scale_dropout=not args.no_dropout_scaling, save_model=args.save_model, batch_size=args.batch_size,
            progress=not args.no_progress, force=args.force)
        out = Path(args.out)
        _report(str(out), summary, per_target, args.targets)
    elif args.run_dir:
        out = Path(args.run_dir)
        if args.data or not args.compare_published:
            summary, per_target = evaluate.evaluate_run(out, _store(args), args.split, batch_size=args.batch_size,
                                                        progress=not args.no_progress, force=args.force,
                                                        data_dir=args.data)
            _report(str(out), summary, per_target, args.targets)
    else:
        parser.error("give RUN_DIR, --published, --table or --predict")
    if args.compare_published:
        table, summary = evaluate.compare(out, args.compare_model, args.published_metrics, args.targets)
        sys.stdout.write(table)
        print(reports.comparison_line(summary))
    return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 2 or args.batch_size % 2:
        parser.error(f"--batch-size must be an even number >= 2, got {args.batch_size}")
    cli.quiet_tensorflow()
    return run(args, parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and evaluate; the exit status follows cli's convention."""
    return cli.run_command(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
