"""Fig. 1: the first-layer-size sweep -- run the grid, then plot test AUPRC against first-layer size.

    python -m analysis.sweep run --data DIR --root RUNS_ROOT [--families cnn danq]
        [--sizes 300 500 750 1000] [--seeds 0 1 2] [--shard K/N] [--epochs N --steps-per-epoch N ...]
    python -m analysis.sweep plot RUNS_ROOT -o FIG

Each grid cell is the registered preset ``{family}-{size}[-projection][-dropout]``
(``models.presets``; other sizes use the 300-filter preset with ``--filters``), trained by
``train.py`` once per seed into ``RUNS_ROOT/<cell>/seed<k>`` and scored by ``evaluate.py``.
The runner is resumable: an evaluated run is skipped, a finished but unevaluated one is only
evaluated, an interrupted one is continued with ``train.py --resume``. ``--shard K/N``
(K = 1..N) takes every N-th run of the fixed grid order, for array jobs.

The plot has the paper's layout: CNNs left, DanQ-style networks right, the four variants
(plain, dropout, projection, projection + dropout) in each; one small point per seed, the mean
over seeds with its standard deviation, DanQ points jittered along x as in the paper, the
chance line (AUPRC of a random ranking = the mean positive rate) and, when the metrics record
it (the metrics' ``oracle``, synthetic data), the AUPRC of the true label probabilities.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from analysis import runs as rundirs
from analysis.plotting import VARIANT_COLOURS, VARIANTS, VARIANT_LABELS, check_figure_path, new_axes, save_figure
from analysis.runs import AnalysisError

REPO = Path(__file__).resolve().parent.parent
FAMILIES = ("cnn", "danq")
FAMILY_TITLES = {"cnn": "CNN", "danq": "DanQ-style (CNN + BiLSTM)"}
SIZES = (300, 500, 750, 1000)
VARIANT_SUFFIX = {"plain": "", "dropout": "-dropout", "projection": "-projection",
                  "projection+dropout": "-projection-dropout"}
# train.py flags the runner passes through to shrink a cell for a CPU or a quick look.
SHRINK_FLAGS = ("epochs", "steps_per_epoch", "max_train_samples", "max_valid_samples", "batch_size",
                "lr")


def preset_name(family: str, size: int, variant: str) -> str:
    """Registered preset of a grid cell, e.g. ``cnn-500-projection-dropout``."""
    return f"{family}-{size}{VARIANT_SUFFIX[variant]}"


def grid(families=FAMILIES, sizes=SIZES, variants=VARIANTS) -> list[str]:
    """Cell names of the grid, ``{family}-{size}[-projection][-dropout]``, in a fixed order.

    A cell is its registered preset when one exists; other sizes (e.g. small ones for a CPU
    run) use the family's 300-filter preset of the same variant with ``--filters SIZE``.
    """
    from models.presets import PRESETS

    for size in sizes:
        if size < 1:
            raise AnalysisError(f"--sizes: first-layer sizes must be >= 1, got {size}")
    missing = [preset_name(f, 300, v) for f in families for v in variants if preset_name(f, 300, v) not in PRESETS]
    if missing:
        raise AnalysisError(f"no registered preset {', '.join(missing)} (python train.py --list-models lists them)")
    return [preset_name(f, s, v) for f in families for s in sizes for v in variants]


def cell_preset(cell: str) -> tuple[str, int | None]:
    """(preset, filters override or None) that train a grid cell."""
    from models.presets import PRESETS

    if cell in PRESETS:
        return cell, None
    family, size, *rest = cell.split("-")
    return "-".join([family, "300", *rest]), int(size)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise AnalysisError(f"--shard {text!r}: expected K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise AnalysisError(f"--shard {text!r}: need 1 <= K <= N")
    return k, n


def shard(cells: list[str], k: int, n: int) -> list[str]:
    """Cells of shard K of N: every N-th cell starting at K-1 (so shards interleave sizes)."""
    return cells[k - 1::n]


def run_dir_of(root: Path, cell: str, seed: int) -> Path:
    """Run directory of one seed of a grid cell."""
    return Path(root) / cell / f"seed{seed}"


def cell_state(run_dir: Path) -> str:
    """``done`` (evaluated), ``trained`` (finished training), ``partial`` (started) or ``new``."""
    if rundirs.has_metrics(run_dir, "test"):
        return "done"
    return rundirs.training_state(run_dir)


def cell_commands(preset: str, run_dir: Path, data: str, state: str, shrink: dict,
                  python: str = sys.executable, seed: int | None = None) -> list[list[str]]:
    """The train.py / evaluate.py command lines that bring one cell to ``done``."""
    train, evaluate = str(REPO / "train.py"), str(REPO / "evaluate.py")
    commands = []
    if state == "new":
        preset, filters = cell_preset(preset)
        cmd = [python, train, "--model", preset, "--data", data, "--out", str(run_dir), "--verbose", "2"]
        if filters is not None:
            cmd += ["--filters", str(filters)]
        for key in SHRINK_FLAGS:
            if shrink.get(key) is not None:
                cmd += [f"--{key.replace('_', '-')}", str(shrink[key])]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        commands.append(cmd)
    elif state == "partial":
        commands.append([python, train, "--out", str(run_dir), "--resume", "--data", data, "--verbose", "2"])
    if state != "done":
        commands.append([python, evaluate, str(run_dir), "--data", data, "--no-progress"])
    return commands


def plan(cells: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """(cell, seed) pairs in the fixed grid order (seeds innermost)."""
    return [(cell, seed) for cell in cells for seed in seeds]


def run_grid(jobs: list[tuple[str, int]], root: Path, data: str, shrink: dict,
             dry_run: bool = False) -> list[str]:
    """Bring every (cell, seed) to ``done``; returns the runs whose commands failed (others still run)."""
    failed = []
    for i, (cell, seed) in enumerate(jobs, start=1):
        run_dir = run_dir_of(root, cell, seed)
        state = cell_state(run_dir)
        commands = cell_commands(cell, run_dir, data, state, shrink, seed=seed)
        name = f"{cell} seed {seed}"
        print(f"[{i}/{len(jobs)}] {name}: {state}" + ("" if commands else " (skipped)"), flush=True)
        for cmd in commands:
            print("  $ " + " ".join(cmd[1:]), flush=True)
            if not dry_run and subprocess.run(cmd, cwd=REPO).returncode != 0:
                print(f"  {name}: command failed; continuing with the next run", flush=True)
                failed.append(name)
                break
    return failed


# ----------------------------------------------------------------------------- plot

def collect_results(root: str | Path) -> list[dict]:
    """One record per evaluated run under ``root`` (``RUNS_ROOT/<cell>/seed<k>`` or ``RUNS_ROOT/<run>``).

    Keys: family, filters, variant, seed, auprc, chance, oracle (None if not recorded),
    synthetic, run_dir.
    """
    root = Path(root)
    if not root.is_dir():
        raise AnalysisError(f"{root}: runs folder not found")
    results = []
    for run_dir in rundirs.evaluated_runs(root, "test"):
        config = rundirs.load_config(run_dir)
        cfg = rundirs.model_config(config, str(rundirs.config_path(run_dir)))
        results.append({"family": str(cfg["family"]), "filters": int(cfg["filters"]),
                        "variant": rundirs.variant_of(cfg), "seed": rundirs.run_seed(config),
                        "run_dir": str(run_dir), "auprc": rundirs.mean_auprc(run_dir, "test"),
                        "chance": rundirs.chance_auprc(run_dir, "test"),
                        "oracle": rundirs.oracle_auprc(run_dir, "test"),
                        "synthetic": rundirs.is_synthetic(config)})
    if not results:
        raise AnalysisError(f"{root}: no evaluated runs (no test metrics under it)")
    return results


def summarise(results: list[dict]) -> list[dict]:
    """Per (family, variant, filters): mean and standard deviation over seeds, and the seed values."""
    groups: dict[tuple, list[float]] = {}
    for r in results:
        groups.setdefault((r["family"], r["variant"], r["filters"]), []).append(r["auprc"])
    return [{"family": f, "variant": v, "filters": n, "values": vals, "mean": float(np.mean(vals)),
             "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, "n": len(vals)}
            for (f, v, n), vals in sorted(groups.items())]


def reference_line(values: list[float | None]) -> float | None:
    """The mean of the recorded values (the runs of one panel share a test set), None if none."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def plot_sweep(results: list[dict], ax=None, title: str | None = None, jitter: float = 0.0):
    """Test AUPRC against first-layer size for one family: the four variants, seeds and mean +- s.d.

    Per variant and size, one small dot per seed and the mean over seeds with a one-s.d. bar.

    ``jitter``: offset between variants along x as a fraction of the spacing of the sizes (the
    paper jitters its DanQ panel); multiplicative on a log axis (sizes spanning over 4x). Draws
    the chance line and, when recorded, the oracle line. Returns the figure.
    """
    fig, ax = new_axes(ax)
    sizes = sorted({r["filters"] for r in results})
    log_axis = len(sizes) > 1 and sizes[-1] / sizes[0] > 4
    step = min(np.diff(sizes)) if len(sizes) > 1 else max(sizes[0] / 3, 1)
    for k, variant in enumerate(VARIANTS):
        stats = [s for s in summarise(results) if s["variant"] == variant]
        if not stats:
            continue
        x = np.array([s["filters"] for s in stats], dtype=float)
        x = x * (1 + 0.5 * jitter * (k - 1.5)) if log_axis else x + jitter * step * (k - 1.5)
        colour = VARIANT_COLOURS[variant]
        for xi, s in zip(x, stats):
            ax.scatter(np.full(s["n"], xi), s["values"], s=10, color=colour, alpha=0.45, linewidths=0,
                       zorder=2)
        label = VARIANT_LABELS[variant]
        ax.errorbar(x, [s["mean"] for s in stats], yerr=[s["std"] for s in stats], fmt="o-", color=colour,
                    markersize=5, capsize=3, linewidth=1.2, label=label, zorder=3)
    chance = reference_line([r["chance"] for r in results])
    if chance is not None:
        ax.axhline(chance, color="0.4", linestyle="--", linewidth=1,
                   label=f"chance (positive rate) {chance:.3f}", zorder=1)
    oracle = reference_line([r["oracle"] for r in results])
    if oracle is not None:
        ax.axhline(oracle, color="black", linestyle=":", linewidth=1.2,
                   label=f"oracle (true probabilities) {oracle:.3f}", zorder=1)
    ax.set_xlabel("first-layer filters")
    ax.set_ylabel("test AUPRC (mean over targets)")
    if log_axis:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return fig


def plot_families(results: list[dict], axes=None):
    """Fig. 1: CNNs left, DanQ-style networks right (DanQ points jittered), one panel per family.

    The title says "synthetic data" when any run was trained on a synthetic bundle.
    """
    import matplotlib.pyplot as plt

    families = sorted({r["family"] for r in results}, key=lambda f: (f not in FAMILIES, f))
    if axes is None:
        fig, grid = plt.subplots(1, len(families), figsize=(5.6 * len(families), 4.4), squeeze=False,
                                 sharey=True)
        axes = list(grid[0])
    fig = axes[0].figure
    for ax, family in zip(axes, families):
        subset = [r for r in results if r["family"] == family]
        plot_sweep(subset, ax=ax, title=FAMILY_TITLES.get(family, family),
                   jitter=0.04 if family == "danq" else 0.0)
    for ax in axes[1:]:
        ax.set_ylabel("")
    counts = sorted({s["n"] for s in summarise(results)})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    suptitle = "Test AUPRC against first-layer size"
    if any(r["synthetic"] for r in results):
        suptitle += " (synthetic data)"
    fig.suptitle(suptitle + f": mean \u00b1 s.d. over {seeds} seed(s), small dots = single seeds", fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (refused I/O such as a full disk: 4)."""
    from cli import run_command

    return run_command(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.sweep", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and evaluate the grid (resumable)")
    run.add_argument("--data", required=True, help="data directory (store or DeepSEA .mat files)")
    run.add_argument("--root", required=True, help="folder that receives one run directory per cell")
    run.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES,
                     help="[default: %(default)s]")
    run.add_argument("--sizes", nargs="+", type=int, default=list(SIZES),
                     help="first-layer sizes (the paper's: 300 500 750 1000; others use --filters on "
                          "the 300 preset) [default: %(default)s]")
    run.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS,
                     help="[default: %(default)s]")
    run.add_argument("--shard", default="1/1", help="run shard K of N (K = 1..N) [default: %(default)s]")
    run.add_argument("--dry-run", action="store_true", help="print the plan and commands, run nothing")
    shrink = run.add_argument_group("shrink each cell (passed to train.py; default: the paper's protocol)")
    shrink.add_argument("--epochs", type=int, help="maximum epochs [default: train.py's]")
    shrink.add_argument("--steps-per-epoch", type=int, help="batches per epoch [default: train.py's]")
    shrink.add_argument("--max-train-samples", type=int, help="training subset [default: all]")
    shrink.add_argument("--max-valid-samples", type=int, help="validation subset [default: all]")
    shrink.add_argument("--batch-size", type=int, help="[default: train.py's]")
    shrink.add_argument("--lr", type=float, help="Adam learning rate (a short run may need a larger one) "
                                                 "[default: train.py's]")
    run.add_argument("--seeds", nargs="+", type=int, default=[0],
                     help="training seeds; each cell is trained once per seed into CELL/seed<k> "
                          "[default: %(default)s]")
    plot = sub.add_parser("plot", help="plot test AUPRC against first-layer size (Fig. 1)")
    plot.add_argument("root", metavar="RUNS_ROOT", help="folder of evaluated run directories")
    plot.add_argument("-o", "--out", required=True, help="output figure path (FIG.png and FIG.pdf)")
    plot.add_argument("--force", action="store_true", help="replace existing figure files [default: %(default)s]")
    args = parser.parse_args(argv)
    try:
        if args.command == "plot":
            check_figure_path(args.out, args.force)
            for path in save_figure(plot_families(collect_results(args.root)), args.out):
                print(f"wrote {path}")
            return 0
        k, n = parse_shard(args.shard)
        jobs = shard(plan(grid(args.families, args.sizes, args.variants), args.seeds), k, n)
        data = str(Path(args.data))
        if not Path(data).exists():
            raise AnalysisError(f"{data}: data directory not found")
        shrink_values = {key: getattr(args, key) for key in SHRINK_FLAGS}
        failed = run_grid(jobs, Path(args.root), data, shrink_values, args.dry_run)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if failed:
        print(f"error: {len(failed)} run(s) failed: {', '.join(failed)} (rerun to resume them)", file=sys.stderr)
        return 1
    print(f"shard {k}/{n}: {len(jobs)} run(s) " + ("planned" if args.dry_run else "done"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
