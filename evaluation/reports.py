"""Reports of an evaluation: the summary (metrics JSON), per-target TSV, categories, Table 1, and the
comparison with the published per-target metrics.

Means are over the targets that have positives (the paper's 918 on the real test set); DeepSEA's
categories (DNase, TF binding, histone marks) get their own means; ``targets`` (indices from
:func:`data.features.select_targets`) restricts any report to a subset.
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from cli import UserError
from data.features import CATEGORIES, NUM_TARGETS, category, name_fields, select_targets
from evaluation import metrics
from rundir import PUBLISHED_NAMES, RunDir, same_data

PUBLISHED_METRICS = Path(__file__).resolve().parents[1] / "data" / "reference" / "published_test_metrics.tsv"
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
PER_TARGET_FIELDS = ("index", "target", "cell_type", "assay", "treatment", "category", "positives",
                     "auprc", "ap", "auroc")
DEFINITIONS = {
    "auprc": "PRROC pr.curve(scores.class0=score, weights.class0=label)$auc.davis.goadrich on "
             "strand-averaged scores, mean over targets with positives",
    "ap": "sklearn average_precision_score on strand-averaged scores",
    "auroc": "sklearn roc_auc_score on strand-averaged scores",
    "loss": "binary cross-entropy (p clipped to [1e-7, 1-1e-7]), mean over targets and rows, both "
            "strands counted independently",
    "categories": "DeepSEA's target blocks: 0-124 DNase, 125-814 TF binding, 815-918 histone marks",
    "mean_positive_rate": "positives / pairs, mean over targets with positives: the AUPRC of a random "
                          "ranking (chance)",
}


def _nanmean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


def means(per_target: dict, indices: Sequence[int] | None = None) -> dict[str, Any]:
    """Mean AUPRC / AP / AUROC over the scored targets among ``indices`` (all when None)."""
    idx = np.arange(len(per_target["positives"])) if indices is None else np.asarray(indices, dtype=int)
    scored = idx[np.asarray(per_target["positives"])[idx] > 0]
    return {"targets": int(len(scored)),
            "mean_auprc": _nanmean(np.asarray(per_target["auprc"])[scored]),
            "mean_ap": _nanmean(np.asarray(per_target["ap"])[scored]),
            "mean_auroc": _nanmean(np.asarray(per_target["auroc"])[scored])}


def category_means(per_target: dict, indices: Sequence[int] | None = None) -> dict[str, dict]:
    """:func:`means` per DeepSEA category (empty when the targets are not DeepSEA's 919)."""
    count = len(per_target["positives"])
    if count != NUM_TARGETS:
        return {}
    chosen = set(range(count) if indices is None else indices)
    out = {}
    for name, start, end in CATEGORIES:
        block = [i for i in range(start, end) if i in chosen]
        if block:
            out[name] = means(per_target, block)
    return out


def summarize(pred, names: Sequence[str], *, split: str) -> tuple[dict, dict]:
    """Per-target metrics and the summary that goes into ``metrics_<split>.json``."""
    per_target = metrics.per_target_metrics(pred.labels, pred.scores)
    overall = means(per_target)
    summary = {
        "split": split, "strand_averaged": True,
        "num_sequences": 2 * len(pred.labels), "num_pairs": len(pred.labels), "num_targets": len(names),
        "targets_scored": overall["targets"], "targets_skipped": per_target["num_skipped"],
        "skipped_targets": [names[i] for i in per_target["skipped"]],
        "mean_auprc": overall["mean_auprc"], "mean_ap": overall["mean_ap"], "mean_auroc": overall["mean_auroc"],
        "categories": category_means(per_target),
        "mean_positive_rate": _nanmean(per_target["positives"][per_target["positives"] > 0] / len(pred.labels)),
        "loss": pred.loss, "loss_forward": pred.loss_forward, "loss_reverse": pred.loss_reverse,
        "predict_seconds": round(pred.seconds, 3),
        "definitions": DEFINITIONS,
    }
    return summary, per_target


def _fmt(value: float) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.10g}"


def per_target_tsv(names: Sequence[str], per_target: dict) -> str:
    """``per_target_<split>.tsv``: index, target, cell_type, assay, treatment, category, positives, metrics."""
    out = io.StringIO()
    out.write("\t".join(PER_TARGET_FIELDS) + "\n")
    for i, name in enumerate(names):
        fields = name_fields(name)
        out.write("\t".join([str(i), name, fields["cell_type"], fields["assay"], fields["treatment"],
                             category(i, len(names)), str(int(per_target["positives"][i])),
                             _fmt(per_target["auprc"][i]), _fmt(per_target["ap"][i]),
                             _fmt(per_target["auroc"][i])]) + "\n")
    return out.getvalue()


def read_per_target(path: str | Path) -> dict:
    """A ``per_target_<split>.tsv`` back as the arrays of :func:`per_target_metrics` plus ``names``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: not found (evaluate the run first)")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"index", "target", "positives", "auprc", "ap", "auroc"} - set(reader.fieldnames or ())
        if missing:
            raise UserError(f"{path}: missing columns {sorted(missing)}")
        rows = list(reader)
    try:
        return {"names": [r["target"] for r in rows],
                "positives": np.array([int(r["positives"]) for r in rows]),
                **{k: np.array([float(r[k]) for r in rows]) for k in ("auprc", "ap", "auroc")}}
    except ValueError as err:
        raise UserError(f"{path}: {err}") from None


def summary_line(label: str, summary: dict, selection: dict | None = None) -> str:
    """One line: AUPRC, AP, AUROC, loss, per-category AUPRC, skipped targets, and the oracle if known."""
    line = (f"{label} [{summary['split']}]: AUPRC {summary['mean_auprc']:.4f}  AP {summary['mean_ap']:.4f}  "
            f"AUROC {summary['mean_auroc']:.4f}  loss {summary['loss']:.5f}")
    oracle = summary.get("oracle")
    if oracle:
        line += (f"  (oracle AUPRC {oracle['mean_auprc']:.4f}: {summary['mean_auprc'] / oracle['mean_auprc']:.0%};"
                 f" oracle AUROC {oracle['mean_auroc']:.4f})")
    if summary.get("categories"):
        line += "  [" + ", ".join(f"{name} {c['mean_auprc']:.4f}" for name, c in summary["categories"].items()) + "]"
    line += (f"  ({summary['targets_scored']} targets scored, {summary['targets_skipped']} skipped: "
             f"{', '.join(summary['skipped_targets']) or 'none'})")
    if selection:
        line += (f"\n  --targets {' '.join(selection['patterns'])}: {selection['targets']} targets, AUPRC "
                 f"{selection['mean_auprc']:.4f}  AP {selection['mean_ap']:.4f}  AUROC {selection['mean_auroc']:.4f}")
    return line


def selection_report(per_target: dict, names: Sequence[str], patterns: Sequence[str] | None) -> dict | None:
    """Means over the targets ``patterns`` select (None without patterns)."""
    if not patterns:
        return None
    indices = select_targets(patterns, names)
    return {"patterns": list(patterns), **means(per_target, indices),
            "categories": category_means(per_target, indices)}


# --- published comparison -------------------------------------------------------------------------

def read_published_metrics(path: str | Path, name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Published per-target (AUPRC, AUROC, target names) of ``name``; NA -> NaN."""
    if name not in PUBLISHED_NAMES:
        raise UserError(f"unknown published model {name!r}; expected one of {', '.join(PUBLISHED_NAMES)}")
    path = Path(path)
    key = name.replace("-", "_")
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            need = {f"{key}_auprc", f"{key}_auroc", "cell_type", "assay", "treatment"}
            if not need <= set(reader.fieldnames or ()):
                raise UserError(f"{path}: missing columns {sorted(need - set(reader.fieldnames or ()))}")
            rows = list(reader)
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from None

    def num(text: str) -> float:
        return float("nan") if text in ("", "NA", "NaN", "nan") else float(text)

    try:
        auprc = np.array([num(r[f"{key}_auprc"]) for r in rows])
        auroc = np.array([num(r[f"{key}_auroc"]) for r in rows])
    except ValueError as err:
        raise UserError(f"{path}: {err}") from None
    return auprc, auroc, [f"{r['cell_type']}|{r['assay']}|{r['treatment']}" for r in rows]


def compare_published(per_target_path: str | Path, name: str, published_path: str | Path = PUBLISHED_METRICS,
                      patterns: Sequence[str] | None = None) -> tuple[str, dict]:
    """Per-target differences ours - published (AUPRC, AUROC) as TSV text, and a summary dict."""
    ours = read_per_target(per_target_path)
    pub_auprc, pub_auroc, pub_names = read_published_metrics(published_path, name)
    if len(ours["names"]) != len(pub_names):
        raise UserError(f"{per_target_path}: {len(ours['names'])} targets, but {published_path} has "
                        f"{len(pub_names)}")
    for i, (mine, theirs) in enumerate(zip(ours["names"], pub_names)):
        if mine != theirs:
            raise UserError(f"{per_target_path}: target {i} is {mine!r} but {published_path} has {theirs!r}")
    chosen = select_targets(patterns, pub_names) if patterns else list(range(len(pub_names)))
    d_auprc, d_auroc = ours["auprc"] - pub_auprc, ours["auroc"] - pub_auroc
    out = io.StringIO()
    out.write("index\ttarget\tcell_type\tassay\ttreatment\tcategory\tauprc\tpublished_auprc\tdiff_auprc\t"
              "auroc\tpublished_auroc\tdiff_auroc\n")
    for i in chosen:
        fields = name_fields(pub_names[i])
        out.write("\t".join([str(i), pub_names[i], fields["cell_type"], fields["assay"], fields["treatment"],
                             category(i, len(pub_names)), _fmt(ours["auprc"][i]), _fmt(pub_auprc[i]),
                             _fmt(d_auprc[i]), _fmt(ours["auroc"][i]), _fmt(pub_auroc[i]),
                             _fmt(d_auroc[i])]) + "\n")
    summary: dict[str, Any] = {"published_model": name, "targets_selected": patterns or None}
    sel = np.asarray(chosen)
    for metric, ours_v, pub_v, diff in (("auprc", ours["auprc"], pub_auprc, d_auprc),
                                        ("auroc", ours["auroc"], pub_auroc, d_auroc)):
        o, p, d = ours_v[sel], pub_v[sel], diff[sel]
        both = ~np.isnan(d)
        summary[metric] = {
            "targets": int(both.sum()), "mean_ours": _nanmean(o[both]), "mean_published": _nanmean(p[both]),
            "mean_diff": _nanmean(d[both]),
            "max_abs_diff": float(np.abs(d[both]).max()) if both.any() else float("nan"),
            "pearson_r": (float(np.corrcoef(o[both], p[both])[0, 1])
                          if both.sum() > 1 and np.std(o[both]) > 0 and np.std(p[both]) > 0 else float("nan")),
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
    return f"vs published {PUBLISHED_NAMES[summary['published_model']]}: " + "; ".join(parts)


# --- Table 1 -------------------------------------------------------------------------------------

def table_row(run_dir: str | Path, patterns: Sequence[str] | None = None) -> dict:
    """Table 1 values of one run directory, with the reasons its figures may not belong together.

    The valid loss comes from metrics_valid.json when it describes the current model, else from
    history.csv (the best epoch's val_loss). ``problems`` lists what makes the row unreliable: test
    metrics of an older model (the run was resumed or retrained after evaluation), or valid and
    test figures computed on different data.
    """
    run = RunDir.open(run_dir)
    test, valid = run.read_metrics("test") or {}, run.read_metrics("valid")
    current = run.model_sha256()
    problems = []
    if test and current and test.get("model_sha256") and test["model_sha256"] != current:
        problems.append("test metrics are from an older model (re-evaluate the run)")
    if valid and current and valid.get("model_sha256") and valid["model_sha256"] != current:
        valid = None  # stale: fall back to the training history, which describes the current model
    if valid:
        valid_loss, valid_source, valid_data = valid.get("loss"), "metrics_valid", valid.get("data_fingerprint")
    else:
        losses = [row["val_loss"] for row in run.history() if row.get("val_loss") is not None]
        valid_loss, valid_source, valid_data = (min(losses) if losses else None), "history", run.data_fingerprint
    test_data = test.get("data_fingerprint")
    if test and valid_loss is not None and valid_data and test_data and not same_data(valid_data, test_data):
        problems.append("valid and test figures come from different data")
    row = {"model": run.name, "params": run.params, "valid_loss": valid_loss,
           "valid_loss_source": valid_source if valid_loss is not None else None,
           "test_loss": test.get("loss"), "test_auprc": test.get("mean_auprc"), "test_ap": test.get("mean_ap"),
           "test_auroc": test.get("mean_auroc"), "categories": test.get("categories") or {},
           "oracle_auprc": (test.get("oracle") or {}).get("mean_auprc"), "run_dir": str(run.path),
           "problems": problems}
    if patterns and test:
        per_target = read_per_target(run.per_target_path("test"))
        chosen = select_targets(patterns, per_target["names"])
        sub = means(per_target, chosen)
        row.update(test_auprc=sub["mean_auprc"], test_ap=sub["mean_ap"], test_auroc=sub["mean_auroc"],
                   categories=category_means(per_target, chosen), oracle_auprc=None)
    return row


def markdown_table(run_dirs: Iterable[str | Path], patterns: Sequence[str] | None = None) -> tuple[str, list[str]]:
    """Table 1 in the paper's format for ``run_dirs`` followed by the paper's own rows, and warnings."""
    def f(v, digits):
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"

    rows = [table_row(d, patterns) for d in run_dirs]
    categories = [name for name, _, _ in CATEGORIES if any(name in r["categories"] for r in rows)]
    oracle = any(r["oracle_auprc"] for r in rows)
    header = ["model", "source", "params", "valid loss", "test loss", "test AUPRC", "test AP", "test AUROC",
              *[f"{c} AUPRC" for c in categories], *(["oracle AUPRC", "of oracle"] if oracle else [])]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    notes, warnings = [], []
    for r in rows:
        params = "—" if r["params"] is None else f"{int(r['params']):,}"
        mark = " ‡" if r["problems"] else ""
        valid = f(r["valid_loss"], 4) + (" †" if r["valid_loss_source"] == "history" else "")
        cells = [r["model"] + mark, f"this project: `{r['run_dir']}`", params, valid, f(r["test_loss"], 4),
                 f(r["test_auprc"], 3), f(r["test_ap"], 3), f(r["test_auroc"], 3),
                 *[f(r["categories"].get(c, {}).get("mean_auprc"), 3) for c in categories]]
        if oracle:
            frac = r["test_auprc"] / r["oracle_auprc"] if r["oracle_auprc"] and r["test_auprc"] else None
            cells += [f(r["oracle_auprc"], 3), "—" if frac is None else f"{frac:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
        if r["valid_loss_source"] == "history":
            notes.append("† valid loss: lowest val_loss in history.csv (no metrics_valid.json for this model).")
        for problem in r["problems"]:
            warnings.append(f"{r['run_dir']}: {problem}")
            notes.append(f"‡ {r['model']}: {problem}.")
    pad = [""] * (len(header) - 8)
    for model, params, valid, test, auprc in PAPER_TABLE1:
        cells = [model, "paper (Table 1)", params, f"{valid:.4f}", f"{test:.4f}", f"{auprc:.3f}", "—", "—",
                 *["—" for _ in pad]]
        lines.append("| " + " | ".join(cells) + " |")
    if patterns:
        notes.append(f"Test metrics of this project's rows are over the targets selected by --targets "
                     f"{' '.join(patterns)}; the paper's rows are over all 918.")
    notes.append("Paper rows are the published Table 1 of Hawkins-Hooker et al. (2018). * The DeepSEA "
                 "architecture as published has 52,843,119 parameters; the paper's count cannot be "
                 "derived from it. Test AUPRC: PRROC Davis-Goadrich on strand-averaged scores, mean over "
                 "targets with positives; losses count both strands.")
    return "\n".join(lines) + "\n\n" + "\n".join(dict.fromkeys(notes)) + "\n", warnings
