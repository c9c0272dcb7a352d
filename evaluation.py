"""The paper's evaluation: strand-averaged prediction, losses, per-target metrics and reports.

The library behind ``evaluate.py``. A paired split (valid, test) holds each sequence twice: row ``i``
forward and row ``i + N/2`` its reverse complement. Each model call gets rows ``i .. i+b`` of the
first half together with the matching rows of the second half, so strand-averaged scores cost one
prediction per row, like single-strand inference. Scores are the mean of the two strands (Table 1's
AUPRC); losses count both strands independently (Table 1's losses).
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

import metrics
import runs

CONFIG_NAME = "config.json"
BEST_MODEL_NAME = "best_model.keras"
SPLITS = ("test", "valid")
#: Keras' (and Keras 2.0.8's) probability clip inside binary cross-entropy.
EPSILON = 1e-7
PUBLISHED = {"deepsea": "DeepSEA", "danq": "DanQ", "danq-jaspar": "DanQ-JASPAR"}
PUBLISHED_METRICS = Path(__file__).resolve().parent / "data" / "reference" / "published_test_metrics.tsv"
#: Table 1 of the paper (PAPER_FACTS.md): model, params, valid loss, test loss, test AUPRC.
PAPER_TABLE1 = (
    ("DeepSEA", "155,159,839 *", 0.0509, 0.0554, 0.343),
    ("DanQ", "46,926,479", 0.0491, 0.0538, 0.371),
    ("DanQ-JASPAR", "67,892,175", 0.0482, 0.0533, 0.379),
    ("CRNN-320-projection", "2,477,479", 0.0485, 0.0532, 0.383),
    ("CRNN-320", "2,727,335", 0.0489, 0.0540, 0.375),
    ("CRNN-700-projection", "2,547,779", 0.0475, 0.0526, 0.391),
    ("CRNN-700", "3,174,595", 0.0484, 0.0533, 0.385),
)
PER_TARGET_FIELDS = ("index", "target", "positives", "auprc", "ap", "auroc")


class EvaluationError(ValueError):
    """A problem the user can fix (missing model, bad data, NaN predictions); names the file."""


# ----------------------------------------------------------------------------- run directories

def read_config(run_dir: str | os.PathLike) -> dict:
    """``RUN_DIR/config.json`` as a dict; :class:`EvaluationError` if missing or unreadable."""
    path = Path(run_dir) / CONFIG_NAME
    if not path.is_file():
        raise EvaluationError(f"{path}: not found (is {run_dir} a run directory?)")
    try:
        return runs.read_json(path)
    except runs.RunDirError as err:
        raise EvaluationError(str(err)) from None


def config_value(config: dict, key: str) -> Any:
    """``key`` from a run config: top level, or inside ``model`` (train.py nests the model config)."""
    if key in config:
        return config[key]
    model = config.get("model")
    if isinstance(model, dict) and key in model:
        return model[key]
    return None


def sequence_length_of(config: dict, run_dir: str | os.PathLike) -> int:
    """The input length the run's model was built for (``sequence_length`` in config.json)."""
    value = config_value(config, "sequence_length")
    if not isinstance(value, int) or value < 1:
        raise EvaluationError(f"{Path(run_dir) / CONFIG_NAME}: no valid sequence_length (found {value!r})")
    return value


def load_run_model(run_dir: str | os.PathLike):
    """Load ``RUN_DIR/best_model.keras`` (custom layers registered by importing ``models``)."""
    path = Path(run_dir) / BEST_MODEL_NAME
    if not Path(run_dir).is_dir():
        raise EvaluationError(f"{run_dir}: run directory not found")
    if not path.is_file():
        raise EvaluationError(f"{path}: no trained model in this run directory (training not finished?)")
    import keras

    import models  # noqa: F401  (registers the custom activations used by saved models)

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a damaged or foreign file
        raise EvaluationError(f"{path}: cannot load the model ({type(err).__name__}: {err})") from None


def model_name(config: dict, run_dir: str | os.PathLike) -> str:
    """Display name of a run: its preset (or published model), else the directory name."""
    if config.get("published") in PUBLISHED:
        return f"{PUBLISHED[config['published']]} (published weights)"
    return str(config.get("preset") or config.get("name") or Path(run_dir).name)


# ----------------------------------------------------------------------------- prediction

@dataclass
class PairedPredictions:
    """Strand-averaged scores of a paired split and its losses (both strands counted)."""

    scores: np.ndarray  # float32 (N/2, T): mean of forward and reverse-complement predictions
    labels: np.ndarray  # uint8 (N/2, T)
    loss: float  # mean binary cross-entropy over all N rows and T targets
    loss_forward: float  # over the first half only
    loss_reverse: float  # over the second half only
    seconds: float


_STEPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _make_step(model):
    """A compiled function: one call on 2b rows -> strand mean (b, T), BCE sums per half, finiteness.

    Cached per model, so repeated evaluations (valid, then test) trace it only once.
    """
    import tensorflow as tf

    if model in _STEPS:
        return _STEPS[model]

    @tf.function(reduce_retracing=True)
    def step(x, y):
        p = tf.cast(model(x, training=False), tf.float32)
        half = tf.shape(p)[0] // 2
        clipped = tf.clip_by_value(p, EPSILON, 1.0 - EPSILON)
        bce = -(y * tf.math.log(clipped) + (1.0 - y) * tf.math.log(1.0 - clipped))
        bce = tf.reduce_sum(tf.cast(bce, tf.float64), axis=1)
        mean = (p[:half] + p[half:]) / 2.0
        return mean, tf.reduce_sum(bce[:half]), tf.reduce_sum(bce[half:]), tf.reduce_all(tf.math.is_finite(p))

    _STEPS[model] = step
    return step


def predict_paired(model, split, *, sequence_length: int | None = None, batch_size: int = 512,
                   progress: bool = True) -> PairedPredictions:
    """Predict a paired store split, averaging each forward/reverse-complement pair in one pass.

    ``split`` is a store split (``num_samples``, ``num_targets``, ``read(indices, sequence_length)``).
    ``batch_size`` counts rows per model call (both strands), so must be even.
    """
    from tqdm import tqdm

    n = split.num_samples
    name = getattr(split, "name", "split")
    if n % 2:
        raise EvaluationError(f"{name} split has an odd number of rows ({n}); strand pairs need "
                              "forward rows in the first half and their reverse complements in the second")
    if n == 0:
        raise EvaluationError(f"{name} split is empty")
    if batch_size < 2 or batch_size % 2:
        raise EvaluationError(f"--batch-size must be an even number >= 2 (both strands), got {batch_size}")
    half, pairs = n // 2, batch_size // 2
    scores = np.empty((half, split.num_targets), dtype=np.float32)
    labels = np.empty((half, split.num_targets), dtype=np.uint8)
    step = _make_step(model)

    def read(start: int):
        idx = np.arange(start, min(half, start + pairs))
        return split.read(np.concatenate([idx, idx + half]), sequence_length)

    sum_fwd = sum_rev = 0.0
    begin = time.perf_counter()
    starts = range(0, half, pairs)
    with ThreadPoolExecutor(max_workers=1) as reader, \
            tqdm(total=half, unit="pair", desc=f"predict {name}", disable=not progress) as bar:
        pending = reader.submit(read, 0)
        for k, start in enumerate(starts):
            x, y = pending.result()
            if k + 1 < len(starts):  # read the next batch while the model runs
                pending = reader.submit(read, starts[k + 1])
            b = len(y) // 2
            if not np.array_equal(y[:b], y[b:]):
                row = start + int(np.flatnonzero((y[:b] != y[b:]).any(axis=1))[0])
                raise EvaluationError(f"{name} split: labels of row {row} and its reverse-complement row "
                                      f"{row + half} differ; the split is not forward/reverse paired")
            mean, fwd, rev, finite = step(x, y)
            if not bool(finite):
                raise EvaluationError(f"model predictions contain NaN or infinity in rows "
                                      f"{start}..{start + b - 1} (or their reverse complements) of "
                                      f"the {name} split; nothing was written")
            scores[start:start + b] = mean.numpy()
            labels[start:start + b] = y[:b]
            sum_fwd += float(fwd)
            sum_rev += float(rev)
            bar.update(b)
    elements = half * split.num_targets
    return PairedPredictions(scores, labels, (sum_fwd + sum_rev) / (2 * elements), sum_fwd / elements,
                             sum_rev / elements, time.perf_counter() - begin)


def summarize(pred: PairedPredictions, names: Sequence[str], *, split: str) -> tuple[dict, dict]:
    """Per-target metrics and the summary that goes into ``metrics_<split>.json``."""
    per_target = metrics.per_target_metrics(pred.labels, pred.scores)
    scored = per_target["positives"] > 0
    summary = {
        "split": split,
        "strand_averaged": True,
        "num_sequences": 2 * len(pred.labels),
        "num_pairs": len(pred.labels),
        "num_targets": len(names),
        "targets_scored": int(scored.sum()),
        "targets_skipped": per_target["num_skipped"],
        "skipped_targets": [names[i] for i in per_target["skipped"]],
        "mean_auprc": _nanmean(per_target["auprc"][scored]),
        "mean_ap": _nanmean(per_target["ap"][scored]),
        "mean_auroc": _nanmean(per_target["auroc"][scored]),
        "loss": pred.loss,
        "loss_forward": pred.loss_forward,
        "loss_reverse": pred.loss_reverse,
        "predict_seconds": round(pred.seconds, 3),
        "definitions": {
            "auprc": "PRROC pr.curve(scores.class0=score, weights.class0=label)$auc.davis.goadrich "
                     "on strand-averaged scores, mean over targets with positives",
            "ap": "sklearn average_precision_score on strand-averaged scores",
            "auroc": "sklearn roc_auc_score on strand-averaged scores",
            "loss": "binary cross-entropy (p clipped to [1e-7, 1-1e-7]), mean over targets and "
                    "rows, both strands counted independently",
        },
    }
    return summary, per_target


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


# ----------------------------------------------------------------------------- atomic outputs

class StagedFiles:
    """Write several files under temporary names, then rename them all into place at once.

    Used as a context manager: on any error the temporaries are removed and existing outputs
    are left untouched; on success every file is moved into place with ``os.replace``.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.pending: list[tuple[str, Path]] = []

    def path(self, name: str) -> str:
        """A temporary path that becomes ``directory/name`` on commit."""
        tmp = runs.temp_sibling(self.directory / name)  # keeps the real suffix last (Keras insists)
        self.pending.append((tmp, self.directory / name))
        return tmp

    def text(self, name: str, text: str) -> None:
        with open(self.path(name), "w", encoding="utf-8") as handle:
            handle.write(text)

    def __enter__(self) -> "StagedFiles":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            for tmp, final in self.pending:
                os.replace(tmp, final)
        else:
            for tmp, _ in self.pending:
                if os.path.exists(tmp):
                    os.unlink(tmp)


def json_text(data: Any) -> str:
    """Indented JSON with NaN/inf as null and numpy scalars as numbers (keys in their given order)."""
    return runs.json_text(data, sort_keys=False)


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.10g}"


def per_target_tsv(names: Sequence[str], per_target: dict) -> str:
    """``per_target_<split>.tsv`` text: index, target, positives, auprc, ap, auroc (nan if skipped)."""
    out = io.StringIO()
    out.write("\t".join(PER_TARGET_FIELDS) + "\n")
    for i, name in enumerate(names):
        out.write(f"{i}\t{name}\t{int(per_target['positives'][i])}\t{_fmt(per_target['auprc'][i])}\t"
                  f"{_fmt(per_target['ap'][i])}\t{_fmt(per_target['auroc'][i])}\n")
    return out.getvalue()


def write_evaluation(out_dir: str | os.PathLike, split: str, pred: PairedPredictions,
                     names: Sequence[str], summary: dict, per_target: dict) -> list[Path]:
    """Write predictions_<split>.h5, metrics_<split>.json, per_target_<split>.tsv atomically."""
    import h5py

    out_dir = Path(out_dir)
    with StagedFiles(out_dir) as staged:
        with h5py.File(staged.path(f"predictions_{split}.h5"), "w") as h5:
            h5.create_dataset("scores", data=pred.scores, chunks=True)
            h5.create_dataset("labels", data=pred.labels, chunks=True, compression="gzip")
            h5.create_dataset("target_names", data=np.array(list(names), dtype=object),
                              dtype=h5py.string_dtype())
            h5.attrs["split"] = split
            h5.attrs["strand_averaged"] = True
            h5.attrs["description"] = ("scores: mean of the forward (row i) and reverse-complement "
                                       "(row i + N/2) predictions; labels: of the forward rows")
        staged.text(f"metrics_{split}.json", json_text(summary))
        staged.text(f"per_target_{split}.tsv", per_target_tsv(names, per_target))
    return [final for _, final in staged.pending]


def evaluate_model(model, store, split_name: str, out_dir: str | os.PathLike, *,
                   sequence_length: int, batch_size: int = 512, progress: bool = True,
                   extra: dict | None = None) -> dict:
    """Predict ``split_name`` of ``store`` strand-averaged, score it and write the three outputs.

    Returns the summary written to ``metrics_<split>.json`` (``extra`` keys are added to it).
    """
    from data.features import target_names

    if split_name not in SPLITS:
        raise EvaluationError(f"unknown split {split_name!r}; expected one of {', '.join(SPLITS)}")
    from data.mat import DataError

    try:
        split = store.split(split_name)
    except DataError as err:
        raise EvaluationError(str(err)) from None
    if sequence_length > split.sequence_length:
        raise EvaluationError(f"{store.path}: sequences are {split.sequence_length} bp but the model "
                              f"needs {sequence_length}")
    outputs = int(model.outputs[0].shape[-1])
    if outputs != split.num_targets:
        raise EvaluationError(f"{store.path}: the data has {split.num_targets} targets but the model "
                              f"predicts {outputs}")
    pred = predict_paired(model, split, sequence_length=sequence_length, batch_size=batch_size,
                          progress=progress)
    names = target_names(split.num_targets)
    summary, per_target = summarize(pred, names, split=split_name)
    summary.update(data=str(store.path), sequence_length=sequence_length, batch_size=batch_size,
                   **(extra or {}))
    write_evaluation(out_dir, split_name, pred, names, summary, per_target)
    return summary


# ----------------------------------------------------------------------------- published comparison

def read_per_target(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``per_target_<split>.tsv`` (floats parsed, 'nan' -> NaN)."""
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"{path}: not found (evaluate the run first)")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = set(PER_TARGET_FIELDS) - set(reader.fieldnames or ())
        if missing:
            raise EvaluationError(f"{path}: missing columns {sorted(missing)}")
        rows = []
        for row in reader:
            rows.append({"index": int(row["index"]), "target": row["target"],
                         "positives": int(row["positives"]),
                         **{k: float(row[k]) for k in ("auprc", "ap", "auroc")}})
    return rows


def read_published_metrics(path: str | os.PathLike, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Published per-target (AUPRC, AUROC, target names) of ``name``; NA -> NaN."""
    if name not in PUBLISHED:
        raise EvaluationError(f"unknown published model {name!r}; expected one of {', '.join(PUBLISHED)}")
    path = Path(path)
    key = name.replace("-", "_")
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            need = {f"{key}_auprc", f"{key}_auroc", "cell_type", "assay", "treatment"}
            if not need <= set(reader.fieldnames or ()):
                raise EvaluationError(f"{path}: missing columns {sorted(need - set(reader.fieldnames or ()))}")
            rows = list(reader)
    except OSError as err:
        raise EvaluationError(f"{path}: cannot read ({err})") from None

    def num(text: str) -> float:
        return float("nan") if text in ("", "NA", "NaN", "nan") else float(text)

    try:
        auprc = np.array([num(r[f"{key}_auprc"]) for r in rows])
        auroc = np.array([num(r[f"{key}_auroc"]) for r in rows])
    except ValueError as err:
        raise EvaluationError(f"{path}: {err}") from None
    names = [f"{r['cell_type']}|{r['assay']}|{r['treatment']}" for r in rows]
    return auprc, auroc, names


def compare_published(per_target_path: str | os.PathLike, name: str,
                      published_path: str | os.PathLike = PUBLISHED_METRICS) -> tuple[str, dict]:
    """Per-target differences ours - published (AUPRC, AUROC) as TSV text, and a summary dict."""
    ours = read_per_target(per_target_path)
    pub_auprc, pub_auroc, pub_names = read_published_metrics(published_path, name)
    if len(ours) != len(pub_names):
        raise EvaluationError(f"{per_target_path}: {len(ours)} targets, but {published_path} has "
                              f"{len(pub_names)}")
    for row, pub_name in zip(ours, pub_names):
        if row["target"] != pub_name:
            raise EvaluationError(f"{per_target_path}: target {row['index']} is {row['target']!r} but "
                                  f"{published_path} has {pub_name!r}")
    our_auprc = np.array([r["auprc"] for r in ours])
    our_auroc = np.array([r["auroc"] for r in ours])
    d_auprc, d_auroc = our_auprc - pub_auprc, our_auroc - pub_auroc
    out = io.StringIO()
    out.write("index\ttarget\tauprc\tpublished_auprc\tdiff_auprc\tauroc\tpublished_auroc\tdiff_auroc\n")
    for i, row in enumerate(ours):
        out.write(f"{i}\t{row['target']}\t{_fmt(our_auprc[i])}\t{_fmt(pub_auprc[i])}\t{_fmt(d_auprc[i])}\t"
                  f"{_fmt(our_auroc[i])}\t{_fmt(pub_auroc[i])}\t{_fmt(d_auroc[i])}\n")
    summary = {"published_model": name}
    for metric, ours_v, pub_v, diff in (("auprc", our_auprc, pub_auprc, d_auprc),
                                        ("auroc", our_auroc, pub_auroc, d_auroc)):
        both = ~np.isnan(diff)
        summary[metric] = {
            "targets": int(both.sum()),
            "mean_ours": _nanmean(ours_v[both]),
            "mean_published": _nanmean(pub_v[both]),
            "mean_diff": _nanmean(diff[both]),
            "max_abs_diff": float(np.abs(diff[both]).max()) if both.any() else float("nan"),
            "pearson_r": (float(np.corrcoef(ours_v[both], pub_v[both])[0, 1])
                          if both.sum() > 1 and np.std(ours_v[both]) > 0 and np.std(pub_v[both]) > 0
                          else float("nan")),
        }
    return out.getvalue(), summary


def comparison_line(summary: dict) -> str:
    """One human-readable summary line per metric of :func:`compare_published`."""
    parts = []
    for metric in ("auprc", "auroc"):
        s = summary[metric]
        parts.append(f"{metric.upper()} ours {s['mean_ours']:.4f} vs published {s['mean_published']:.4f}: "
                     f"mean diff {s['mean_diff']:+.5f}, max |diff| {s['max_abs_diff']:.5f}, "
                     f"r {s['pearson_r']:.5f} ({s['targets']} targets)")
    return f"vs published {PUBLISHED[summary['published_model']]}: " + "; ".join(parts)


# ----------------------------------------------------------------------------- Table 1

def _read_optional_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise EvaluationError(f"{path}: cannot read JSON ({err})") from None
    return data if isinstance(data, dict) else None


def _valid_loss_from_history(run_dir: Path) -> float | None:
    """Lowest val_loss in history.csv (the best model's), used when metrics_valid.json is absent."""
    path = run_dir / "history.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as handle:
        values = [float(r["val_loss"]) for r in csv.DictReader(handle) if r.get("val_loss") not in (None, "")]
    return min(values) if values else None


def table_row(run_dir: str | os.PathLike) -> dict:
    """Table 1 values of one run (or published-weights) directory; missing values are None."""
    run_dir = Path(run_dir)
    config = read_config(run_dir)
    params = config_value(config, "params")
    if params is None and (run_dir / BEST_MODEL_NAME).is_file():
        params = load_run_model(run_dir).count_params()
    test = _read_optional_json(run_dir / "metrics_test.json") or {}
    valid = _read_optional_json(run_dir / "metrics_valid.json")
    valid_loss, valid_source = (valid.get("loss"), "metrics_valid.json") if valid else (
        _valid_loss_from_history(run_dir), "history.csv")
    return {"model": model_name(config, run_dir), "params": params, "valid_loss": valid_loss,
            "valid_loss_source": valid_source if valid_loss is not None else None,
            "test_loss": test.get("loss"), "test_auprc": test.get("mean_auprc"),
            "test_ap": test.get("mean_ap"), "test_auroc": test.get("mean_auroc"), "run_dir": str(run_dir)}


def markdown_table(run_dirs: Iterable[str | os.PathLike]) -> str:
    """Table 1 in the paper's format for ``run_dirs``, followed by the paper's own rows."""
    def f(v, digits):
        return "—" if v is None else f"{v:.{digits}f}"

    lines = ["| model | source | params | valid loss | test loss | test AUPRC | test AP | test AUROC |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for run_dir in run_dirs:
        r = table_row(run_dir)
        params = "—" if r["params"] is None else f"{int(r['params']):,}"
        valid = f(r["valid_loss"], 4) + (" †" if r["valid_loss_source"] == "history.csv" else "")
        lines.append(f"| {r['model']} | this project: `{r['run_dir']}` | {params} | {valid} | "
                     f"{f(r['test_loss'], 4)} | {f(r['test_auprc'], 3)} | {f(r['test_ap'], 3)} | "
                     f"{f(r['test_auroc'], 3)} |")
        if r["valid_loss_source"] == "history.csv":
            notes.append("† valid loss: lowest val_loss in history.csv (no metrics_valid.json).")
    for model, params, valid, test, auprc in PAPER_TABLE1:
        lines.append(f"| {model} | paper (Table 1) | {params} | {valid:.4f} | {test:.4f} | {auprc:.3f} | — | — |")
    notes.append("Paper rows are the published Table 1 of Hawkins-Hooker et al. (2018). * The DeepSEA "
                 "architecture as published has 52,843,119 parameters; the paper's count cannot be "
                 "derived from it. Test AUPRC: PRROC Davis-Goadrich on strand-averaged scores, mean over "
                 "targets with positives; losses count both strands.")
    return "\n".join(lines) + "\n\n" + "\n".join(dict.fromkeys(notes)) + "\n"


# ----------------------------------------------------------------------------- DeepSEA-style predict

def read_testxdata(path: str | os.PathLike, chunk: int = 4096):
    """Yield ``x`` float32 (n, L, 4) chunks from ``testxdata`` in a DeepSEA-style file.

    Accepts plain HDF5 (h5py sees (N, 4, L), as DeepSEA's example.h5 and DanQ_test.py), MATLAB
    v7.3 (HDF5 seen column-major: (L, 4, N)) and MATLAB v5 (scipy: (N, 4, L)). Channels stay in the
    file's A, G, C, T order, which the models take.
    """
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"{path}: file not found")
    with open(path, "rb") as handle:
        head = handle.read(128)
    if head.startswith(b"MATLAB 7.3"):
        layout = "mat73"
    elif head.startswith(b"\x89HDF\r\n\x1a\n"):
        layout = "hdf5"
    elif head.startswith(b"MATLAB 5.0"):
        layout = "mat5"
    else:
        raise EvaluationError(f"{path}: neither HDF5 nor a MATLAB .mat file")
    if layout == "mat5":
        from scipy.io import loadmat

        try:
            data = loadmat(path, variable_names=["testxdata"])
        except Exception as err:
            raise EvaluationError(f"{path}: cannot read MATLAB file ({err})") from None
        if "testxdata" not in data:
            raise EvaluationError(f"{path}: no variable 'testxdata'")
        yield from _chunks(path, data["testxdata"], chunk, reverse=False)
        return
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise EvaluationError(f"{path}: cannot open as HDF5 ({err})") from None
    with handle:
        if "testxdata" not in handle:
            raise EvaluationError(f"{path}: no dataset 'testxdata' (has: {', '.join(handle.keys())})")
        yield from _chunks(path, handle["testxdata"], chunk, reverse=layout == "mat73")


def _chunks(path: Path, array, chunk: int, *, reverse: bool):
    shape = array.shape
    if len(shape) != 3 or shape[1] != 4:
        raise EvaluationError(f"{path}: testxdata has shape {shape}; expected (N, 4, L)"
                              + (" (MATLAB v7.3: (L, 4, N))" if reverse else ""))
    n = shape[2] if reverse else shape[0]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        x = np.asarray(array[:, :, start:stop]).transpose(2, 0, 1) if reverse else \
            np.asarray(array[start:stop]).transpose(0, 2, 1)
        if not np.isin(x, (0, 1)).all():
            raise EvaluationError(f"{path}: testxdata rows {start}..{stop - 1} hold values other than 0/1")
        yield x.astype(np.float32)


def predict_file(model, in_path: str | os.PathLike, out_path: str | os.PathLike, *, sequence_length: int,
                 batch_size: int = 512, progress: bool = True) -> int:
    """DeepSEA/DanQ-compatible prediction: ``testxdata`` of ``in_path`` -> ``pred`` (N, T) in ``out_path``.

    Every row is predicted as given (no strand averaging), like DanQ_test.py. Inputs longer than the
    model's ``sequence_length`` are centre-cropped (offset (L - length) // 2). Returns N.
    """
    import h5py
    from tqdm import tqdm

    preds = []
    chunks = read_testxdata(in_path)
    first = next(chunks, None)  # opens and checks the file before any progress output
    if first is None:
        raise EvaluationError(f"{in_path}: testxdata holds no sequences")
    with tqdm(unit="seq", desc="predict", disable=not progress) as bar:
        for x in itertools.chain([first], chunks):
            length = x.shape[1]
            if length < sequence_length:
                raise EvaluationError(f"{in_path}: sequences are {length} bp but the model needs "
                                      f"{sequence_length}")
            offset = (length - sequence_length) // 2
            x = x[:, offset:offset + sequence_length]
            for start in range(0, len(x), batch_size):
                p = np.asarray(model.predict_on_batch(x[start:start + batch_size]), dtype=np.float32)
                if not np.isfinite(p).all():
                    raise EvaluationError(f"model predictions for {in_path} contain NaN or infinity; "
                                          "nothing was written")
                preds.append(p)
                bar.update(len(p))
    out_path = Path(out_path)
    with StagedFiles(out_path.parent if str(out_path.parent) else ".") as staged:
        with h5py.File(staged.path(out_path.name), "w") as h5:
            h5.create_dataset("pred", data=np.concatenate(preds))
    return sum(len(p) for p in preds)
