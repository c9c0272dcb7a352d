"""Fig. 1: the first-layer-size sweep -- run the grid, then plot test AUPRC against first-layer size.

    python -m analysis.sweep run --data DIR --root RUNS_ROOT [--families cnn danq]
        [--sizes 300 500 750 1000] [--shard K/N] [--epochs N --steps-per-epoch N ...]
    python -m analysis.sweep plot RUNS_ROOT -o FIG

Each grid cell is the registered preset ``{family}-{size}[-projection][-dropout]``
(``models.presets``; other sizes use the 300-filter preset with ``--filters``), trained by
``train.py`` into ``RUNS_ROOT/<cell>`` and scored by
``evaluate.py`` (``metrics_test.json``). The runner is resumable: a cell with
``metrics_test.json`` is skipped, a finished but unevaluated one is only evaluated,
an interrupted one is continued with ``train.py --resume``. ``--shard K/N``
(K = 1..N) takes every N-th cell of the fixed grid order, for array jobs.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from analysis.plotting import VARIANT_COLOURS, VARIANTS, new_axes, save_figure
from analysis.runs import AnalysisError, load_config, model_config, read_json, variant_of

REPO = Path(__file__).resolve().parent.parent
FAMILIES = ("cnn", "danq")
SIZES = (300, 500, 750, 1000)
METRICS_FILE = "metrics_test.json"
VARIANT_SUFFIX = {"plain": "", "dropout": "-dropout", "projection": "-projection",
                  "projection+dropout": "-projection-dropout"}
# train.py flags the runner passes through to shrink a cell for a CPU or a quick look.
SHRINK_FLAGS = ("epochs", "steps_per_epoch", "max_train_samples", "max_valid_samples", "batch_size",
                "lr", "seed")


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


def cell_state(run_dir: Path) -> str:
    """``done`` (evaluated), ``trained`` (finished training), ``partial`` (started) or ``new``."""
    if (run_dir / METRICS_FILE).exists():
        return "done"
    state_file = run_dir / "checkpoint" / "state.json"
    if state_file.exists():
        try:
            finished = read_json(state_file).get("finished")
        except AnalysisError:
            finished = None
        return "trained" if finished else "partial"
    return "partial" if run_dir.exists() else "new"


def cell_commands(preset: str, run_dir: Path, data: str, state: str, shrink: dict,
                  python: str = sys.executable) -> list[list[str]]:
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
        commands.append(cmd)
    elif state == "partial":
        commands.append([python, train, "--out", str(run_dir), "--resume", "--data", data, "--verbose", "2"])
    if state != "done":
        commands.append([python, evaluate, str(run_dir), "--data", data, "--no-progress"])
    return commands


def run_grid(cells: list[str], root: Path, data: str, shrink: dict, dry_run: bool = False) -> list[str]:
    """Bring every cell to ``done``; returns the cells whose commands failed (others still run)."""
    failed = []
    for i, preset in enumerate(cells, start=1):
        run_dir = root / preset
        state = cell_state(run_dir)
        commands = cell_commands(preset, run_dir, data, state, shrink)
        print(f"[{i}/{len(cells)}] {preset}: {state}" + ("" if commands else " (skipped)"), flush=True)
        for cmd in commands:
            print("  $ " + " ".join(cmd[1:]), flush=True)
            if not dry_run and subprocess.run(cmd, cwd=REPO).returncode != 0:
                print(f"  {preset}: command failed; continuing with the next cell", flush=True)
                failed.append(preset)
                break
    return failed


# ----------------------------------------------------------------------------- plot

def mean_auprc(metrics: dict, source: str) -> float:
    """The mean test AUPRC of an ``evaluate.py`` metrics file."""
    value = metrics.get("mean_auprc")
    if not isinstance(value, (int, float)):
        raise AnalysisError(f"{source}: no numeric 'mean_auprc'")
    return float(value)


def collect_results(root: str | Path) -> list[dict]:
    """One record (family, filters, variant, auprc, run_dir) per evaluated run under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise AnalysisError(f"{root}: runs folder not found")
    results = []
    for metrics_path in sorted(root.glob(f"*/{METRICS_FILE}")):
        run_dir = metrics_path.parent
        cfg = model_config(load_config(run_dir), str(run_dir / "config.json"))
        results.append({"family": str(cfg["family"]), "filters": int(cfg["filters"]),
                        "variant": variant_of(cfg), "run_dir": str(run_dir),
                        "auprc": mean_auprc(read_json(metrics_path), str(metrics_path))})
    if not results:
        raise AnalysisError(f"{root}: no evaluated runs (*/{METRICS_FILE})")
    return results


def plot_sweep(results: list[dict], ax=None, title: str | None = None, jitter: float = 0.0):
    """Test AUPRC against first-layer size, one line per variant (one family per axes)."""
    fig, ax = new_axes(ax)
    for k, variant in enumerate(VARIANTS):
        points = sorted((r["filters"], r["auprc"]) for r in results if r["variant"] == variant)
        if not points:
            continue
        x = np.array([p[0] for p in points], dtype=float) + jitter * (k - 1.5)
        ax.plot(x, [p[1] for p in points], "o-", color=VARIANT_COLOURS[variant], label=variant)
    ax.set_xlabel("first-layer filters")
    ax.set_ylabel("test AUPRC (mean over targets)")
    ax.set_xticks(sorted({r["filters"] for r in results}))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_families(results: list[dict]):
    """Fig. 1: one panel per family (paper: CNN left, DanQ right; DanQ points jittered)."""
    import matplotlib.pyplot as plt

    families = sorted({r["family"] for r in results}, key=lambda f: (f not in FAMILIES, f))
    fig, axes = plt.subplots(1, len(families), figsize=(5.2 * len(families), 4.2), squeeze=False)
    for ax, family in zip(axes[0], families):
        subset = [r for r in results if r["family"] == family]
        sizes = sorted({r["filters"] for r in subset})
        step = min(np.diff(sizes)) if len(sizes) > 1 else 100
        plot_sweep(subset, ax=ax, title=family, jitter=0.03 * step if family == "danq" else 0.0)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
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
    shrink.add_argument("--seed", type=int, help="[default: train.py's]")
    plot = sub.add_parser("plot", help="plot test AUPRC against first-layer size (Fig. 1)")
    plot.add_argument("root", metavar="RUNS_ROOT", help="folder of evaluated run directories")
    plot.add_argument("-o", "--out", required=True, help="output figure path (FIG.png and FIG.pdf)")
    args = parser.parse_args(argv)
    try:
        if args.command == "plot":
            for path in save_figure(plot_families(collect_results(args.root)), args.out):
                print(f"wrote {path}")
            return 0
        k, n = parse_shard(args.shard)
        cells = shard(grid(args.families, args.sizes, args.variants), k, n)
        data = str(Path(args.data))
        if not Path(data).exists():
            raise AnalysisError(f"{data}: data directory not found")
        shrink_values = {key: getattr(args, key) for key in SHRINK_FLAGS}
        failed = run_grid(cells, Path(args.root), data, shrink_values, args.dry_run)
    except AnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if failed:
        print(f"error: {len(failed)} cell(s) failed: {', '.join(failed)} (rerun to resume them)", file=sys.stderr)
        return 1
    print(f"shard {k}/{n}: {len(cells)} cell(s) " + ("planned" if args.dry_run else "done"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
