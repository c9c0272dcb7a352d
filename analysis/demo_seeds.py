"""The demo's seed spread: test AUPRC/AUROC of each run against the synthetic data's oracle.

    python -m analysis.demo_seeds RUN_DIR... --data DEMO_DATA [-o seeds.md]

Each RUN_DIR must have been evaluated on the test split (``python evaluate.py RUN_DIR --data
DEMO_DATA``). Prints one Markdown row per run (model, seed, AUPRC, AUROC, AUPRC as a fraction of
the oracle's), then per model the mean and the spread (max - min) over seeds, and the per-seed
difference between the models when two are given. The oracle is the generator's P(y | planted
motifs) scored the same way (``data.synthetic.oracle_summary``); ``scripts/demo_seeds.sh`` runs it.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from runs import atomic_write_text


def collect(run_dirs: list[str]) -> list[dict]:
    """model, seed, test AUPRC and AUROC of each run; ValueError naming a run that lacks them."""
    import evaluation

    rows = []
    for run_dir in run_dirs:
        try:
            config = evaluation.read_config(run_dir)
            row = evaluation.table_row(run_dir)
        except evaluation.EvaluationError as err:
            raise ValueError(str(err)) from None
        if row["test_auprc"] is None or row["test_auroc"] is None:
            raise ValueError(f"{run_dir}: not evaluated on the test split "
                             f"(run: python evaluate.py {run_dir} --data DIR)")
        rows.append({"model": row["model"], "seed": evaluation.config_value(config, "seed"),
                     "auprc": float(row["test_auprc"]), "auroc": float(row["test_auroc"]),
                     "run_dir": str(run_dir)})
    return rows


def report(rows: list[dict], oracle: dict | None) -> str:
    """The Markdown table and the per-model spread lines."""
    def fraction(auprc: float) -> str:
        return f"{auprc / oracle['mean_auprc']:.3f}" if oracle else "—"

    lines = ["| model | seed | test AUPRC | test AUROC | AUPRC / oracle |", "|---|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (r["model"], str(r["seed"]))):
        lines.append(f"| {r['model']} | {r['seed']} | {r['auprc']:.4f} | {r['auroc']:.4f} | {fraction(r['auprc'])} |")
    if oracle:
        lines.append(f"| oracle (P(y \\| planted motifs)) | — | {oracle['mean_auprc']:.4f} | "
                     f"{oracle['mean_auroc']:.4f} | 1 |")
    lines.append("")
    by_model: dict[str, dict] = defaultdict(dict)
    for r in rows:
        by_model[r["model"]][r["seed"]] = r
    for model, runs in sorted(by_model.items()):
        auprc = [r["auprc"] for r in runs.values()]
        auroc = [r["auroc"] for r in runs.values()]
        low = min(auprc)
        if len(auprc) == 1:
            lines.append(f"{model}: test AUPRC {low:.4f}" + (f" = {fraction(low)} of the oracle's "
                                                              f"{oracle['mean_auprc']:.4f}" if oracle else ""))
            continue
        lines.append(f"{model}: {len(auprc)} seeds, test AUPRC mean {sum(auprc) / len(auprc):.4f}, spread "
                     f"(max - min) {max(auprc) - low:.4f}, lowest {low:.4f} ({fraction(low)} of the oracle); "
                     f"AUROC spread {max(auroc) - min(auroc):.4f}")
    if len(by_model) == 2:
        (a, runs_a), (b, runs_b) = sorted(by_model.items())
        shared = sorted(set(runs_a) & set(runs_b), key=str)
        if shared:
            diffs = [runs_b[s]["auprc"] - runs_a[s]["auprc"] for s in shared]
            per_seed = ", ".join(f"seed {s} {d:+.4f}" for s, d in zip(shared, diffs))
            lines.append(f"{b} - {a}: test AUPRC {per_seed}; mean {sum(diffs) / len(diffs):+.4f}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m analysis.demo_seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="evaluated run directories")
    parser.add_argument("--data", required=True, help="the synthetic bundle the runs were trained on (for the oracle)")
    parser.add_argument("-o", "--output", help="also write the report here (Markdown) [default: none]")
    args = parser.parse_args(argv)
    from data.synthetic import oracle_summary

    try:
        rows = collect(args.run_dirs)
        oracle = oracle_summary(args.data, "test")
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if oracle is None:
        print(f"note: {args.data} has no synthetic ground truth (truth.json + truth.npz): no oracle column",
              file=sys.stderr)
    text = report(rows, oracle)
    print(text, end="")
    if args.output:
        atomic_write_text(Path(args.output), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
