"""Evaluate a run or published weights into a run directory, compare with the published metrics, and
predict DeepSEA-style files: the library behind evaluate.py.

Outputs of one evaluation (predictions, metrics, per-target table) are computed in memory, then
written together under temporary names and renamed into the run directory, which is locked while it
is written. Results computed on other data are never replaced silently, and files derived from
replaced results (comparisons) are removed.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Sequence

import numpy as np

import rundir
from cli import UserError
from data.features import target_names
from evaluation import reports
from evaluation.predict import Progress, as_predictor, predict_paired, prefetched
from fileio import json_text, write_hdf5
from rundir import PUBLISHED_NAMES, RunDir, RunDirError

SPLITS = rundir.SPLITS


def evaluate(model, store, split_name: str, *, sequence_length: int, batch_size: int = 512,
             progress: bool = True, data_dir: str | Path | None = None) -> tuple[dict, dict, object]:
    """Strand-averaged predictions and metrics of one split: (summary, per_target, predictions).

    When ``data_dir`` (default: the store's own directory and the one above it, where
    ``data.convert`` puts it) is a synthetic bundle, the summary also carries its ``oracle``: the
    generator's true label probabilities scored the same way, the ceiling for any model.
    """
    if split_name not in SPLITS:
        raise UserError(f"unknown split {split_name!r}; expected one of {', '.join(SPLITS)}")
    split = store.split(split_name)
    if sequence_length > split.sequence_length:
        raise UserError(f"{store.path}: sequences are {split.sequence_length} bp but the model needs "
                        f"{sequence_length}")
    outputs = int(model.outputs[0].shape[-1])
    if outputs != split.num_targets:
        raise UserError(f"{store.path}: the data has {split.num_targets} targets but the model predicts {outputs}")
    pred = predict_paired(model, split, sequence_length=sequence_length, batch_size=batch_size,
                          progress=progress)
    names = target_names(split.num_targets)
    summary, per_target = reports.summarize(pred, names, split=split_name)
    summary.update(data=str(store.path), data_fingerprint=rundir.data_fingerprint(store),
                   sequence_length=sequence_length, batch_size=batch_size)
    oracle = _oracle(store, split_name, pred.labels, data_dir)
    if oracle:
        summary["oracle"] = oracle
    return summary, per_target, pred


def _oracle(store, split: str, labels, data_dir) -> dict | None:
    from data.synthetic import oracle_summary

    for candidate in ([data_dir] if data_dir else [store.path, Path(store.path).parent]):
        oracle = oracle_summary(candidate, split, labels)  # None where there is no synthetic truth
        if oracle:
            return oracle
    return None


def _refuse_other_data(run: RunDir, split: str, fingerprint: dict, force: bool) -> None:
    earlier = run.read_metrics(split)
    if earlier and earlier.get("data_fingerprint") and not rundir.same_data(earlier["data_fingerprint"],
                                                                          fingerprint) and not force:
        raise RunDirError(f"{run.metrics_path(split)}: was computed on other data ({earlier.get('data')}); "
                          "pass --force to replace it with results on this data")


def write_evaluation(run: RunDir, split: str, pred, summary: dict, per_target: dict) -> list[Path]:
    """Write predictions/metrics/per-target of ``split`` together; drop comparisons they replace."""
    import h5py

    names = target_names(len(per_target["positives"]))

    def predictions(h5) -> None:
        h5.create_dataset("scores", data=pred.scores, chunks=True)
        h5.create_dataset("labels", data=pred.labels, chunks=True, compression="gzip")
        h5.create_dataset("target_names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        h5.attrs["split"] = split
        h5.attrs["strand_averaged"] = True
        h5.attrs["description"] = ("scores: mean of the forward (row i) and reverse-complement "
                                   "(row i + N/2) predictions; labels: of the forward rows")

    with run.stage() as staged:
        staged.hdf5(run.predictions_name(split), predictions)
        staged.text(run.metrics_name(split), json_text(summary, sort_keys=False))
        staged.text(run.per_target_name(split), reports.per_target_tsv(names, per_target))
    run.remove(run.compare_files(split))
    return staged.targets


def evaluate_run(run_dir: str | Path, store, split: str, *, batch_size: int = 512, progress: bool = True,
                 force: bool = False, data_dir: str | Path | None = None) -> tuple[dict, dict]:
    """Evaluate a trained run's best model on ``split`` of ``store`` into the run directory."""
    with RunDir.open(run_dir).lock() as run:
        model = run.load_model()
        fingerprint = rundir.data_fingerprint(store)
        _refuse_other_data(run, split, fingerprint, force)
        summary, per_target, pred = evaluate(model, store, split, sequence_length=run.sequence_length,
                                             batch_size=batch_size, progress=progress, data_dir=data_dir)
        summary.update(model=run.name, run_dir=str(run.path), model_sha256=run.model_sha256())
        write_evaluation(run, split, pred, summary, per_target)
    return summary, per_target


def evaluate_published(name: str, weights: str | Path, store, out: str | Path, split: str, *,
                       backward: str = "reverse", scale_dropout: bool = True, save_model: bool = False,
                       batch_size: int = 512, progress: bool = True, force: bool = False,
                       argv: Sequence[str] | None = None) -> tuple[dict, dict]:
    """Load published weights, evaluate them on ``split`` and record everything in the run ``out``.

    An existing published-weights directory made with other weights or settings is brought up to
    date: outputs of the earlier weights that no longer apply are removed.
    """
    run = RunDir(out)
    if run.path.exists():
        run = RunDir.open(out)
        if run.kind != "published":
            raise RunDirError(f"{run.path}: is a trained run, not a published-weights directory; choose "
                              "another --out")
        run.lock()
    try:
        return _evaluate_published(run, name, weights, store, split, backward=backward,
                                   scale_dropout=scale_dropout, save_model=save_model, batch_size=batch_size,
                                   progress=progress, force=force, argv=argv)
    finally:
        run.unlock()


def _evaluate_published(run: RunDir, name: str, weights, store, split: str, *, backward: str,
                        scale_dropout: bool, save_model: bool, batch_size: int, progress: bool, force: bool,
                        argv) -> tuple[dict, dict]:
    from models.published import load_published

    exists = run.path.exists()
    weights = Path(weights)
    if not weights.is_file():
        raise UserError(f"{weights}: weights file not found")
    settings = {"model": name, "weights": str(weights.resolve()), "weights_sha256": rundir.file_sha256(weights),
                "backward": backward, "dropout_scaling": scale_dropout,
                "source": "published weights, converted by models/published.py"}
    length = store.sequence_length
    model = load_published(name, weights, backward=backward, sequence_length=length, scale_dropout=scale_dropout)
    fingerprint = rundir.data_fingerprint(store)
    same_weights = exists and {k: run.config["published"].get(k) for k in settings if k != "weights"} == \
        {k: v for k, v in settings.items() if k != "weights"} and run.sequence_length == length
    if same_weights:
        _refuse_other_data(run, split, fingerprint, force)
    summary, per_target, pred = evaluate(model, store, split, sequence_length=length, batch_size=batch_size,
                                         progress=progress)
    summary.update(model=f"{PUBLISHED_NAMES[name]} (published weights)", published=name,
                   weights=settings["weights"], backward=backward, model_sha256=settings["weights_sha256"])
    config = {"kind": "published", "name": f"{PUBLISHED_NAMES[name]} (published weights)",
              "preset": f"published-{name}",
              "model": {"family": name, "sequence_length": length, "num_targets": store.num_targets},
              "params": model.count_params(),
              "data": {"path": str(Path(store.path).resolve()), "store": str(Path(store.path).resolve()),
                       "sequence_length": store.sequence_length, "num_targets": store.num_targets,
                       "fingerprint": fingerprint},
              "published": settings, "provenance": rundir.provenance(argv)}
    if not exists:
        run.create(config)
    else:
        if not same_weights:  # nothing computed with the earlier weights applies any more
            run.remove(run.evaluation_files() + ([rundir.BEST_MODEL] if run.best_model_path.exists() else []))
        run.write_config(config)
    if save_model:
        run.save_best(model)
    write_evaluation(run, split, pred, summary, per_target)
    return summary, per_target


def compare(run_dir: str | Path, published: str | None, published_metrics: str | Path | None = None,
            patterns: Sequence[str] | None = None) -> tuple[str, dict]:
    """Per-target test metrics of a run minus a published model's; written into the run directory."""
    run = RunDir.open(run_dir)
    name = published or (run.config.get("published") or {}).get("model")
    if name not in PUBLISHED_NAMES:
        raise UserError(f"{run.path}: not a published-weights directory; say which published model to "
                        "compare with: --compare-model {deepsea,danq,danq-jaspar}")
    table, summary = reports.compare_published(run.per_target_path("test"), name,
                                               published_metrics or reports.PUBLISHED_METRICS, patterns)
    tsv, js = run.compare_names(name, "test")
    with run.lock(), run.stage() as staged:
        staged.text(tsv, table)
        staged.text(js, json_text(summary, sort_keys=False))
    return table, summary


def predict_file(model_path: str | Path, in_path: str | Path, out_path: str | Path, *, batch_size: int = 512,
                 progress: bool = True, force: bool = False, channel_order: str = "auto") -> tuple[int, int, str | None]:
    """DeepSEA/DanQ-compatible prediction: ``testxdata`` of ``in_path`` -> ``pred`` (N, T) in ``out_path``.

    Every row is predicted as given (no strand averaging), like DanQ_test.py. Inputs longer than
    the model's input are centre-cropped (offset (L - length) // 2). Returns (N, T, crop note).
    """
    from data.encoding import center_crop, one_hot
    from data.mat import iter_sequences

    rundir.check_output_path(out_path, inputs=[in_path, model_path], force=force)
    model = rundir.load_model(model_path)
    predictor = as_predictor(model)
    length = predictor.sequence_length
    note = None
    chunks = iter_sequences(in_path, "testxdata", channel_order=channel_order)
    first = next(chunks, None)  # opens and checks the file before any progress output
    if first is None:
        raise UserError(f"{in_path}: testxdata holds no sequences")
    if first.shape[1] < length:
        raise UserError(f"{in_path}: sequences are {first.shape[1]} bp but the model needs {length}")
    if first.shape[1] > length:
        note = (f"{in_path}: sequences are {first.shape[1]} bp; the central {length} bp (offset "
                f"{(first.shape[1] - length) // 2}) are predicted")

    def batches():
        for codes in itertools.chain([first], chunks):
            codes = center_crop(codes, length)
            for start in range(0, len(codes), batch_size):
                yield one_hot(codes[start:start + batch_size])

    preds = []
    with Progress(None, desc="predict", enabled=progress) as bar:
        for x in prefetched(batches()):
            preds.append(predictor.single(x))
            bar.update(len(x))
    pred = np.concatenate(preds)
    write_hdf5(out_path, lambda h5: h5.create_dataset("pred", data=pred))
    return pred.shape[0], pred.shape[1], note
