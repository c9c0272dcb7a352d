"""Evaluate trained runs or the published DeepSEA/DanQ weights exactly as the paper did.

    python evaluate.py RUN_DIR --data DIR [--split test|valid]           # a trained run
    python evaluate.py --published danq --weights DanQ_bestmodel.hdf5 --data DIR --out runs/danq
    python evaluate.py RUN_DIR --compare-published [--compare-model danq]  # per-target diffs
    python evaluate.py --table RUN_DIR... [-o table.md]                   # Table 1
    python evaluate.py --predict IN.h5 OUT.h5 --model RUN_DIR             # DeepSEA/DanQ-style `pred`

Scores are the mean of each forward / reverse-complement pair (rows i and i + N/2), predicted
together in one model call; AUPRC is PRROC's Davis-Goadrich area; losses count both strands.
Outputs go into the run directory, each replaced only once all of them are complete:
``predictions_<split>.h5``, ``metrics_<split>.json``, ``per_target_<split>.tsv``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import evaluation
from evaluation import EvaluationError


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
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    pub = parser.add_argument_group("published weights")
    pub.add_argument("--published", choices=sorted(evaluation.PUBLISHED), help="evaluate published weights")
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
    cmp.add_argument("--compare-model", choices=sorted(evaluation.PUBLISHED),
                     help="published model to compare with [default: the one evaluated]")
    cmp.add_argument("--published-metrics", default=None,
                     help="published per-target metrics TSV [default: data/reference/published_test_metrics.tsv]")
    tab = parser.add_argument_group("Table 1")
    tab.add_argument("--table", nargs="+", metavar="RUN_DIR", help="print Table 1 for these run directories")
    tab.add_argument("-o", "--output", help="also write the --table Markdown here")
    pred = parser.add_argument_group("DeepSEA/DanQ-compatible prediction")
    pred.add_argument("--predict", nargs=2, metavar=("IN", "OUT"),
                      help="read testxdata (N, 4, L) from IN (HDF5/.mat), write pred (N, T) to OUT")
    pred.add_argument("--model", help="run directory whose best_model.keras --predict uses")
    return parser


def _store(args):
    from data.mat import DataError
    from data.store import resolve_store

    if not args.data:
        raise EvaluationError("--data DIR is required to evaluate")
    try:
        return resolve_store(args.data, args.store_dir, progress=not args.no_progress)
    except DataError as err:
        raise EvaluationError(str(err)) from None


def _evaluate_run(args) -> Path:
    if not args.data:
        raise EvaluationError("--data DIR is required to evaluate")
    run_dir = Path(args.run_dir)
    config = evaluation.read_config(run_dir)
    length = evaluation.sequence_length_of(config, run_dir)
    model = evaluation.load_run_model(run_dir)
    store = _store(args)
    summary = evaluation.evaluate_model(
        model, store, args.split, run_dir, sequence_length=length, batch_size=args.batch_size,
        progress=not args.no_progress, extra={"model": evaluation.model_name(config, run_dir),
                                              "run_dir": str(run_dir)})
    _report(run_dir, summary)
    return run_dir


def _evaluate_published(args) -> Path:
    from models.published import WeightsError, load_published

    if not args.weights or not args.out:
        raise EvaluationError("--published needs --weights FILE and --out OUT_DIR")
    out = Path(args.out)
    existing = out / evaluation.CONFIG_NAME
    if existing.is_file() and "published" not in evaluation.read_config(out):
        raise EvaluationError(f"{existing}: {out} is a trained run, not a published-weights directory; "
                              "choose another --out")
    store = _store(args)  # fail on bad data before the (slow) weight conversion
    length = store.sequence_length
    try:
        model = load_published(args.published, args.weights, backward=args.backward, sequence_length=length,
                                scale_dropout=not args.no_dropout_scaling)
    except WeightsError as err:
        raise EvaluationError(str(err)) from None
    config = {
        "preset": f"published-{args.published}", "published": args.published,
        "model_name": evaluation.PUBLISHED[args.published], "weights": str(Path(args.weights).resolve()),
        "backward": args.backward, "dropout_scaling": not args.no_dropout_scaling,
        "sequence_length": length, "num_targets": store.num_targets,
        "params": model.count_params(), "source": "published weights, converted by models/published.py",
    }
    summary = evaluation.evaluate_model(
        model, store, args.split, out, sequence_length=length, batch_size=args.batch_size,
        progress=not args.no_progress, extra={"model": config["model_name"], "published": args.published,
                                              "weights": config["weights"], "backward": args.backward})
    with evaluation.StagedFiles(out) as staged:
        staged.text(evaluation.CONFIG_NAME, evaluation.json_text(config))
        if args.save_model:
            model.save(staged.path(evaluation.BEST_MODEL_NAME))
    _report(out, summary)
    return out


def _report(run_dir: Path, summary: dict) -> None:
    print(f"{run_dir} [{summary['split']}]: AUPRC {summary['mean_auprc']:.4f}  AP {summary['mean_ap']:.4f}  "
          f"AUROC {summary['mean_auroc']:.4f}  loss {summary['loss']:.5f}  "
          f"({summary['targets_scored']} targets scored, {summary['targets_skipped']} skipped: "
          f"{', '.join(summary['skipped_targets']) or 'none'})")


def _compare(args, run_dir: Path) -> None:
    name = args.compare_model or evaluation.read_config(run_dir).get("published")
    if name not in evaluation.PUBLISHED:
        raise EvaluationError(f"{run_dir}: not a published-weights directory; say which published model "
                              "to compare with: --compare-model {deepsea,danq,danq-jaspar}")
    table, summary = evaluation.compare_published(run_dir / "per_target_test.tsv", name,
                                                 args.published_metrics or evaluation.PUBLISHED_METRICS)
    line = evaluation.comparison_line(summary)
    with evaluation.StagedFiles(run_dir) as staged:
        staged.text(f"compare_{name}_test.tsv", table)
        staged.text(f"compare_{name}_test.json", evaluation.json_text(summary))
    sys.stdout.write(table)
    print(line)


def run(args, parser) -> int:
    if args.split not in evaluation.SPLITS:
        raise EvaluationError(f"unknown split {args.split!r}; expected one of {', '.join(evaluation.SPLITS)}")
    if args.compare_published and args.split != "test":
        raise EvaluationError("--compare-published compares test-set metrics; use --split test")
    if args.table:
        if args.run_dir or args.published or args.predict:
            parser.error("--table takes its run directories itself; no other mode with it")
        text = evaluation.markdown_table(args.table)
        if args.output:
            with evaluation.StagedFiles(Path(args.output).parent) as staged:
                staged.text(Path(args.output).name, text)
        sys.stdout.write(text)
        return 0
    if args.predict:
        if not args.model:
            parser.error("--predict needs --model RUN_DIR")
        config = evaluation.read_config(args.model)
        model = evaluation.load_run_model(args.model)
        n = evaluation.predict_file(model, *args.predict, sequence_length=evaluation.sequence_length_of(
            config, args.model), batch_size=args.batch_size, progress=not args.no_progress)
        print(f"{args.predict[1]}: pred ({n}, {int(model.outputs[0].shape[-1])})")
        return 0
    if args.published:
        if args.run_dir:
            parser.error("--published writes into --out; do not also give RUN_DIR")
        out = _evaluate_published(args)
    elif args.run_dir:
        out = Path(args.run_dir)
        if args.data or not args.compare_published:
            _evaluate_run(args)
    else:
        parser.error("give RUN_DIR, --published, --table or --predict")
    if args.compare_published:
        _compare(args, out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size < 2 or args.batch_size % 2:
        parser.error(f"--batch-size must be an even number >= 2, got {args.batch_size}")
    try:
        return run(args, parser)
    except EvaluationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
