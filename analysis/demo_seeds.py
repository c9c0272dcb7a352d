"""The demo's seed spread: test AUPRC/AUROC of each run against the synthetic data's oracle.

    python -m analysis.demo_seeds RUN_DIR... [-o seeds.md [--force]]

Each RUN_DIR must have been evaluated on the test split (``python evaluate.py RUN_DIR --data
DEMO_DATA``), which records the synthetic data's oracle with the test metrics. Prints one
Markdown row per run (model, seed, AUPRC, AUROC, AUPRC as a fraction of the oracle's), then per
model the mean and the spread (max - min) over seeds, and the per-seed difference between the
models when two are given. The oracle is the generator's P(y | planted
motifs) scored the same way (``data.synthetic.oracle_summary``); ``scripts/demo_seeds.sh`` runs it.
Runs evaluated on different data (different oracles) are refused.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from fileio import atomic_write_text


def collect(run_dirs: list[str]) -> list[dict]:
    """model, seed, test AUPRC and AUROC and the recorded oracle of each run; AnalysisError naming a
    run that lacks them."""
    from analysis import runs as rundirs
    from rundir import RunDir

    rows = []
    for run_dir in run_dirs:
        run = RunDir.open(run_dir)
        test = rundirs.read_metrics(run_dir, "test") if rundirs.has_metrics(run_dir, "test") else {}
        if not all(isinstance(test.get(k), (int, float)) for k in ("mean_auprc", "mean_auroc")):
            raise rundirs.AnalysisError(f"{run_dir}: not evaluated on the test split "
                                        f"(run: python evaluate.py {run_dir} --data DIR)")
        rows.append({"model": run.name, "seed": rundirs.run_seed(run.config), "oracle": test.get("oracle"),
                     "auprc": float(test["mean_auprc"]), "auroc": float(test["mean_auroc"]),
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
    """Command-line entry point; returns the exit status (refused I/O such as a full disk: 4)."""
    from cli import run_command

    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.demo_seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="evaluated run directories")
    parser.add_argument("-o", "--output", help="also write the report here (Markdown) [default: none]")
    parser.add_argument("--force", action="store_true", help="replace an existing --output file")
    args = parser.parse_args(argv)
    from cli import UserError
    from rundir import check_output_path

    if args.output:
        check_output_path(args.output, force=args.force)
    rows = collect(args.run_dirs)
    oracles = {json.dumps(r.pop("oracle"), sort_keys=True) for r in rows}
    if len(oracles) > 1:
        raise UserError("the runs were evaluated on different data (their oracles differ)")
    oracle = json.loads(oracles.pop())
    if oracle is None:
        print("note: the test data has no synthetic ground truth: no oracle column", file=sys.stderr)
    text = report(rows, oracle)
    print(text, end="")
    if args.output:
        atomic_write_text(Path(args.output), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
