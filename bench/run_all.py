"""Run every benchmark and write docs/BENCHMARKS.md (``make bench``).

Each benchmark module runs as its own process (``python -m bench.bench_X --json PATH``), so one
model's memory or threads never leak into the next measurement; this script gathers their JSON,
checks the issue's must-show ratios and renders one Markdown page in which every figure carries the
command that produced it and the machine it ran on.

    python -m bench.run_all                       # full run, about 20-25 min on 2 CPU cores
    python -m bench.run_all --quick --out scratch/BENCHMARKS.md   # smoke test
    python -m bench.run_all --from-json DIR       # re-render from saved results, no timing
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from bench.common import FULL_TRAIN_SEQUENCES, command_string, machine_info, write_text_atomic

SUITES = ("models", "data", "metrics")
MODULES = {"models": "bench.bench_models", "data": "bench.bench_data", "metrics": "bench.bench_metrics"}
#: Extra arguments per suite in --quick mode (smoke-test sizes; the numbers are not meaningful).
QUICK_ARGS = {
    "models": ["--quick"],
    "data": ["--n-train", "4000", "--n-eval", "200", "--batches", "5", "--model-batch", "16", "--repeats", "1"],
    "metrics": ["--rows", "20000", "--repeats", "1"],
}
#: bench_models settings for --gpu (bench/gpu.sh): batch 256 for every model, more repeats, and every
#: fast-path variant of every Table 1 model.
GPU_MODELS_ARGS = ["--models", "all", "--batch-size", "256", "--large-batch-size", "256", "--warmup", "2",
                   "--repeats", "10", "--check-repeats", "10", "--variant-models", "table1",
                   "--variants", "faithful,xla,fast-lstm,mixed,fast-lstm+mixed,xla+mixed"]
GPU_QUICK_MODELS_ARGS = ["--quick", "--variant-models", "crnn-320-projection",
                         "--variants", "faithful,xla,fast-lstm,mixed,fast-lstm+mixed"]
PIPELINE_TARGET = 5.0
METRICS_TARGET = 2.0
GPU_DOC = "BENCHMARKS_GPU.md"
ROOT = Path(__file__).resolve().parent.parent


def _log(msg: str) -> None:
    print(f"[run_all] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- running


def run_suite(suite: str, json_path: Path, extra: Sequence[str]) -> dict[str, Any]:
    """Run one benchmark module in a subprocess; return its status (its output streams through)."""
    cmd = [sys.executable, "-m", MODULES[suite], "--json", str(json_path), *extra]
    _log(f"running {' '.join(cmd[1:])}")
    start = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    elapsed = time.perf_counter() - start
    ok = proc.returncode == 0 and json_path.exists()
    if not ok:
        _log(f"{MODULES[suite]} failed (exit {proc.returncode}) after {elapsed:.0f} s")
    return {"suite": suite, "returncode": proc.returncode, "elapsed_s": elapsed, "ok": ok}


def load_results(json_dir: Path) -> dict[str, dict | None]:
    """The saved results ``{suite}.json`` of each suite, or None where a suite has none."""
    out: dict[str, dict | None] = {}
    for suite in SUITES:
        path = json_dir / f"{suite}.json"
        if not path.exists():
            out[suite] = None
            continue
        try:
            out[suite] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    return out


# ----------------------------------------------------------------------------- checks


def _check(name: str, measured: float | None, target: str, passed: bool | None, command: str | None,
           detail: str) -> dict[str, Any]:
    return {"check": name, "measured": measured, "target": target, "passed": passed,
            "command": command, "detail": detail}


def evaluate_checks(results: dict[str, dict | None]) -> list[dict[str, Any]]:
    """The issue's four must-show ratios, each PASS, FAIL or not measured (passed None)."""
    models, data, metrics = results.get("models"), results.get("data"), results.get("metrics")
    checks = []

    pair = next((p for p in (models or {}).get("projection_pairs", []) if p.get("must_show")), None)
    if pair:
        s = pair["train_speedup"]
        checks.append(_check("CRNN-320-projection trains faster per epoch than CRNN-320", s, ">= 1.3x",
                             s >= 1.3, models["command"],
                             f"{pair['projection_train_seq_per_s']:.1f} vs {pair['plain_train_seq_per_s']:.1f} "
                             "train seq/s (medians); ratio = median of per-round ratios, interleaved in one process"))
    else:
        checks.append(_check("CRNN-320-projection trains faster per epoch than CRNN-320", None, ">= 1.3x",
                             None, None, "not measured (models benchmark missing or pair not selected)"))

    name = "input pipeline vs fastest model's training consumption"
    # Every measured build counts, fast paths included: the pipeline must keep up with the fastest.
    model_rows = [m for m in (models or {}).get("models", []) + (models or {}).get("variants", [])
                  if m.get("train_seq_per_s")]
    pipelines = (data or {}).get("pipeline") or {}
    if pipelines and model_rows:
        fastest = max(model_rows, key=lambda m: m["train_seq_per_s"])
        length = str(fastest.get("sequence_length"))
        length = length if length in pipelines else max(pipelines, key=int)
        feed = pipelines[length]["seq_per_s"]
        ratio = feed / fastest["train_seq_per_s"]
        checks.append(_check(name, ratio, f">= {PIPELINE_TARGET:g}x", ratio >= PIPELINE_TARGET, data.get("command"),
                             f"train_dataset at {length} bp: {feed:,.0f} seq/s vs the fastest model, "
                             f"{fastest.get('label', fastest['name'])} ({fastest.get('sequence_length')} bp): "
                             f"{fastest['train_seq_per_s']:,.1f} train seq/s"))
    elif data and data.get("feed_ratio") is not None:
        ratio = data["feed_ratio"]
        checks.append(_check(name, ratio, f">= {PIPELINE_TARGET:g}x", ratio >= PIPELINE_TARGET, data.get("command"),
                             "bench_data's own CRNN-320-projection step (models benchmark not run)"))
    else:
        checks.append(_check(name, None, f">= {PIPELINE_TARGET:g}x", None, (data or {}).get("command"),
                             "not measured (data or models benchmark missing)"))

    strand = (models or {}).get("strand")
    if strand:
        r = strand["ratio"]
        checks.append(_check("strand-averaged vs single-strand inference, cost per sequence", r, "<= 2.1x", r <= 2.1,
                             models["command"],
                             f"{strand['model']}, cost per scored sequence, {strand['rows_per_call']} rows "
                             "per model call in both arms"))
    else:
        checks.append(_check("strand-averaged vs single-strand inference, cost per sequence", None, "<= 2.1x",
                             None, None, "not measured"))

    ratio = (metrics or {}).get("ratio")
    if isinstance(ratio, (int, float)):
        checks.append(_check("metrics (AUPRC+AP+AUROC) vs one argsort", ratio, f"<= {METRICS_TARGET:g}x",
                             ratio <= METRICS_TARGET, metrics.get("command"),
                             f"{_num(metrics.get('targets'))} targets x {_num(metrics.get('rows'))} sequences"))
    else:
        checks.append(_check("metrics (AUPRC+AP+AUROC) vs one argsort", None, f"<= {METRICS_TARGET:g}x", None,
                             None, "not measured"))
    return checks


# ----------------------------------------------------------------------------- rendering


def _num(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return str(x)


def _result(passed: bool | None) -> str:
    return "not measured" if passed is None else ("**PASS**" if passed else "**FAIL**")


def _machine_lines(m: dict) -> list[str]:
    gpus = ", ".join(m.get("gpus") or []) or "none"
    libs = f"TensorFlow {m['tensorflow']}, Keras {m.get('keras')}, " if m.get("tensorflow") else ""
    return [
        f"- CPU: {m.get('cpu')} ({m.get('cores')} usable cores), RAM {m.get('ram_gib')} GiB, GPU: {gpus}",
        f"- {libs}NumPy {m.get('numpy')}, Python {m.get('python')}; {m.get('platform')}",
        f"- date: {m.get('date_utc')}",
    ]


def _model_table(rows: list[dict], epoch: bool) -> list[str]:
    head = "| model | params | length | batch | train seq/s | predict seq/s |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if epoch:
        head += " full-data epoch (h) |"
        sep += "---:|"
    head += " first step (s) |"
    sep += "---:|"
    lines = [head, sep]
    for r in rows:
        line = (f"| {r['name']} | {_num(r['params'])} | {_num(r['sequence_length'])} | {r['batch_size']} | "
                f"{_num(r['train_seq_per_s'])} | {_num(r['predict_seq_per_s'])} |")
        if epoch:
            line += f" {_num(r['full_epoch_hours'])} |"
        line += f" {_num(r['first_train_step_s'])} |"
        lines.append(line)
    return lines


def render_models(doc: dict) -> list[str]:
    """Markdown for a bench_models result: throughput tables, projection ratios, strand, variants."""
    from bench.bench_models import CNN_GRID_MODELS, TABLE1_MODELS

    s = doc["settings"]
    out = [f"Command: `{doc['command']}` ({doc['device']}, {_num(doc.get('elapsed_s'), 0)} s)", ""]
    for err in doc.get("errors") or []:
        out.append(f"- **FAILED** {err['what']}: {err['error']}")
    if doc.get("errors"):
        out.append("")
    out += _machine_lines(doc["machine"]) + [""]
    out.append(
        f"Timed: {s['timed']}, {s['optimizer']}, {s['loss']}. Median of {s['repeats']} timed calls "
        f"({s['check_repeats']} for the projection pairs and strand check) after {s['warmup']} warm-up call(s). "
        f"Batch {s['batch_size']}; models over 20M parameters use batch {s['large_batch_size']} "
        "to bound memory and time; smaller batches usually run somewhat fewer sequences/s, so those rows are "
        "lower bounds. "
        "'first step' is the first train call: graph tracing plus one step."
        + (f" Config overrides: `{s['overrides']}`." if s.get("overrides") else ""))
    out.append("")
    rows = doc.get("models") or []
    table1 = [r for r in rows if r["name"] in TABLE1_MODELS]
    grid = [r for r in rows if r["name"] in CNN_GRID_MODELS]
    other = [r for r in rows if r not in table1 and r not in grid]
    if table1:
        out += ["#### Table 1 models (1000 bp)", "",
                f"Full-data epoch = {FULL_TRAIN_SEQUENCES:,} sequences / train seq/s.", ""]
        out += _model_table(table1, epoch=True) + [""]
    if grid:
        out += ["#### CNN grid (Fig. 1, reduced data: 500 bp)", ""]
        out += _model_table(grid, epoch=True) + [""]
    if other:
        out += ["#### Other models", ""] + _model_table(other, epoch=True) + [""]
    pairs = doc.get("projection_pairs") or []
    if pairs:
        out += ["#### Per-epoch cost with and without projection", "",
                "Each pair timed interleaved (plain, projection, plain, ...) in one process. "
                "Per-epoch speedup = median over rounds of (projection train seq/s) / (plain train seq/s), "
                "the two calls of a round running back to back so load changes between rounds cancel. "
                "LSTM build: faithful = the paper's "
                "(hard-sigmoid gate, recurrent dropout 0.2); fast-lstm = sigmoid gate, no recurrent dropout, "
                "a cheaper LSTM, so the convolutions the projection shrinks are a larger share of the step.",
                "",
                "| pair | LSTM build | plain train seq/s | projection train seq/s | per-epoch speedup | "
                "inference speedup | target | result |", "|---|---|---:|---:|---:|---:|---|---|"]
        for p in pairs:
            target = f">= {p['target']}x" if p.get("target") else "-"
            result = _result(p["passed"]) if p.get("must_show") else "-"
            build = p.get("variant", "faithful")
            if build == "faithful" and not p["plain"].startswith(("crnn", "danq")):
                build = "-"
            out.append(f"| {p['plain']} vs {p['projection']} | {build} | {_num(p['plain_train_seq_per_s'])} | "
                       f"{_num(p['projection_train_seq_per_s'])} | {p['train_speedup']:.2f}x | "
                       f"{p['predict_speedup']:.2f}x | {target} | {result} |")
        out.append("")
    st = doc.get("strand")
    if st:
        rows = st["rows_per_call"]
        out += ["#### Strand-averaged inference", "",
                f"{st['model']}, model calls of {rows} rows in both arms (evaluate.py's `--batch-size` counts "
                f"rows): single strand scores {rows} sequences per call; strand-averaged scores {rows // 2}, "
                f"each from its forward and reverse-complement rows in the same call, then the mean "
                f"({st['implementation']}). Interleaved. Ratio = cost per scored sequence, median over rounds "
                "of back-to-back calls; 2.0 is the floor.", "",
                "| single strand (s/call) | single seq/s | strand-averaged (s/call) | averaged seq/s | ratio | "
                "target | result |",
                "|---:|---:|---:|---:|---:|---|---|",
                f"| {st['single']['median_s']:.4f} | {_num(st['single']['items_per_s'])} | "
                f"{st['averaged']['median_s']:.4f} | {_num(st['averaged']['items_per_s'])} | {st['ratio']:.2f}x | "
                f"<= {st['target']}x | {_result(st['passed'])} |", ""]
    variants = doc.get("variants") or []
    if variants:
        out += ["#### Fast paths", "",
                "Variants of one model timed interleaved; 'vs faithful' is the median of per-round ratios. "
                "faithful = hard-sigmoid gate (Keras 2), recurrent "
                "dropout 0.2, no XLA, float32; fast-lstm = sigmoid gate, no recurrent dropout (cuDNN-eligible "
                "on a GPU; on a CPU only the cheaper cell); xla = `jit_compile=True` (the 'XLA' column says "
                "whether Keras kept it on); mixed = `mixed_float16` (GPU only).", "",
                "| model | variant | XLA | gate | rec. dropout | cuDNN | dtype policy | train seq/s | "
                "vs faithful | full-data epoch (h) | predict seq/s | first step (s) |",
                "|---|---|---|---|---:|---|---|---:|---:|---:|---:|---:|"]
        for v in variants:
            if v.get("skipped"):
                out.append(f"| {v['name']} | {v['variant']} | skipped: {v['skipped']} |" + "  |" * 9)
                continue
            speed = v.get("train_speedup_vs_faithful")
            out.append(f"| {v['name']} | {v['variant']} | {_num(v['jit_compile'])} | {_num(v['gate'])} | "
                       f"{_num(v['recurrent_dropout'])} | {_num(v['cudnn'])} | {v['policy']} | "
                       f"{_num(v['train_seq_per_s'])} | {'-' if speed is None else f'{speed:.2f}x'} | "
                       f"{_num(v['full_epoch_hours'], 2)} | {_num(v['predict_seq_per_s'])} | "
                       f"{_num(v['first_train_step_s'])} |")
        out.append("")
    return out


def _flat(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    skip = {"machine", "command", "times_s", "benchmark"}
    rows: list[tuple[str, Any]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in skip:
                continue
            rows += _flat(v, f"{prefix}{k}." if isinstance(v, (dict, list)) else f"{prefix}{k}")
    elif isinstance(doc, list):
        if all(not isinstance(v, (dict, list)) for v in doc):
            rows.append((prefix.rstrip("."), ", ".join(_num(v, 3) for v in doc)))
        else:
            for i, v in enumerate(doc):
                rows += _flat(v, f"{prefix}{i}.")
    else:
        rows.append((prefix, doc))
    return rows


def render_generic(doc: dict) -> list[str]:
    """Markdown for a result file whose layout this script does not know: its figures as key/value rows."""
    out = [f"Command: `{doc.get('command', '?')}`", ""]
    if isinstance(doc.get("machine"), dict):
        out += _machine_lines(doc["machine"]) + [""]
    if isinstance(doc.get("markdown"), str):  # a module may render its own table
        return out + [doc["markdown"].rstrip(), ""]
    out += ["| figure | value |", "|---|---:|"]
    out += [f"| {k} | {_num(v, 3)} |" for k, v in _flat(doc)]
    return out + [""]


def render(results: dict[str, dict | None], statuses: dict[str, dict], *, quick: bool, command: str,
           gpu_doc: Path | None, title: str = "Benchmarks", gpu: bool = False) -> str:
    """The whole BENCHMARKS.md page."""
    checks = evaluate_checks(results)
    lines = [f"# {title}", "",
             f"Generated by `{command}` (`make bench` runs `python -m bench.run_all`); do not edit by hand. "
             "Each section names the command that measured its figures; re-run it to reproduce them.", ""]
    if quick:
        lines += ["> **Quick mode**: smoke-test sizes (tiny batches, few repeats). These numbers only show "
                  "that the benchmarks run; they are not measurements.", ""]
    lines += ["## How to reproduce", "",
              "```bash",
              "make bench                                   # everything below, about 20-25 min on 2 CPU cores",
              "python -m bench.run_all --quick --out scratch/BENCHMARKS.md   # smoke test, a few minutes",
              "python -m bench.bench_models --json models.json --models crnn-320,crnn-320-projection "
              "--sections throughput",
              "bash bench/gpu.sh                            # on a CUDA machine: docs/BENCHMARKS_GPU.md",
              "```", "",
              "Timings on a shared machine are noisy: run when nothing else is using the CPU. Ratios come from "
              "interleaved timings in one process, so they are more robust than the absolute figures.", ""]
    measured_on = next((d["machine"] for d in results.values() if d and isinstance(d.get("machine"), dict)
                        and "tensorflow" in d["machine"]), None) or machine_info()
    lines += ["## Machine", ""] + _machine_lines(measured_on) + [""]
    lines += ["## Must-show ratios", "",
              "| check | measured | target | result | details |", "|---|---:|---|---|---|"]
    for c in checks:
        measured = "-" if c["measured"] is None else f"{c['measured']:.2f}x"
        lines.append(f"| {c['check']} | {measured} | {c['target']} | {_result(c['passed'])} | {c['detail']} |")
    lines.append("")
    device = (results.get("models") or {}).get("device", "GPU" if gpu else "CPU")
    for suite, heading in (("models", f"Models: training and inference throughput ({device})"),
                           ("data", "Data: conversion and input pipeline"),
                           ("metrics", "Metrics: AUPRC + AP + AUROC against one argsort")):
        lines += [f"## {heading}", ""]
        doc = results.get(suite)
        st = statuses.get(suite)
        if st and not st["ok"]:
            partial = " Figures below are the part that completed." if doc is not None else ""
            lines += [f"**`python -m {MODULES[suite]}` failed** (exit {st['returncode']}).{partial}", ""]
        if doc is None:
            if not st:
                lines += ["Not run in this invocation.", ""]
            continue
        lines += render_models(doc) if suite == "models" else render_generic(doc)
    if gpu:
        return "\n".join(lines)
    return "\n".join(lines + gpu_section(gpu_doc))


def gpu_section(gpu_doc: Path | None) -> list[str]:
    """The closing '## GPU' section of BENCHMARKS.md: a link to the GPU page, or 'unmeasured'."""
    lines = ["## GPU", ""]
    if gpu_doc is not None and gpu_doc.exists():
        lines += [f"GPU figures (faithful CRNN vs `--fast-lstm`, mixed precision, XLA, time per full-data "
                  f"epoch of each Table 1 model): see [{gpu_doc.name}]({gpu_doc.name}).", ""]
    else:
        lines += ["**GPU figures are unmeasured**: no CUDA machine has been available. On one, run "
                  "`bash bench/gpu.sh`; it records the same tables on the GPU (faithful CRNN with recurrent "
                  "dropout 0.2 and the hard-sigmoid gate, i.e. no cuDNN, against `--fast-lstm` on cuDNN, "
                  "mixed precision and XLA) in docs/BENCHMARKS_GPU.md, which this section then links.", ""]
    return lines


def link_gpu_page(cpu_page: Path, gpu_page: Path) -> bool:
    """Point an existing BENCHMARKS.md's GPU section at a freshly written GPU page (atomically).

    The CPU figures are left as they are; returns False when there is no page or no GPU section.
    """
    if not cpu_page.exists():
        return False
    text = cpu_page.read_text(encoding="utf-8")
    at = text.find("\n## GPU\n")
    if at < 0:
        return False
    write_text_atomic(cpu_page, text[: at + 1] + "\n".join(gpu_section(gpu_page)) + "\n")
    return True


# ----------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run_all",
                                description="Run the benchmarks and write docs/BENCHMARKS.md.")
    p.add_argument("--out", default=None,
                   help="Markdown file to write (atomically) [default: docs/BENCHMARKS.md; --gpu: docs/"
                        f"{GPU_DOC}]")
    p.add_argument("--only", default=None,
                   help="comma list of suites to run: models, data, metrics [default: all three; --gpu: models,data]")
    p.add_argument("--quick", action="store_true", help="smoke-test sizes; numbers are not meaningful")
    p.add_argument("--models", default=None,
                   help="passed to bench_models --models (presets or groups table1, cnn, all) [default: all]")
    p.add_argument("--models-args", default="",
                   help="more arguments for bench_models, one shell-quoted string, e.g. "
                        "\"--repeats 5 --override filters=16\" [default: none]")
    p.add_argument("--gpu", action="store_true",
                   help="GPU run (bench/gpu.sh): batch 256 everywhere, every fast-path variant of the Table 1 "
                        f"models, suites models and data, page {GPU_DOC}")
    p.add_argument("--json-dir", default=None,
                   help="keep each suite's raw JSON here (models.json, data.json, metrics.json) "
                        "[default: a temporary directory]")
    p.add_argument("--from-json", default=None, metavar="DIR",
                   help="render from the JSON files in DIR instead of running anything")
    p.add_argument("--strict", action="store_true",
                   help="exit with status 1 when a must-show check fails (it is always reported in the page)")
    p.add_argument("--title", default=None, help="page title [default: Benchmarks; --gpu: Benchmarks on GPU]")
    p.add_argument("--gpu-doc", default=str(ROOT / "docs" / GPU_DOC),
                   help="GPU results page to link when it exists [default: %(default)s]")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        models_extra = shlex.split(args.models_args)
    except ValueError as exc:
        print(f"error: --models-args: {exc}", file=sys.stderr)
        return 2
    if args.gpu:
        models_extra = (GPU_QUICK_MODELS_ARGS if args.quick else GPU_MODELS_ARGS) + models_extra
    elif args.quick:
        models_extra = QUICK_ARGS["models"] + models_extra
    out = args.out or str(ROOT / "docs" / (GPU_DOC if args.gpu else "BENCHMARKS.md"))
    title = args.title or ("Benchmarks on GPU" if args.gpu else "Benchmarks")
    gpu_doc = None if args.gpu or not args.gpu_doc else Path(args.gpu_doc)
    only = args.only or ("models,data" if args.gpu else ",".join(SUITES))
    suites = [s.strip() for s in only.split(",") if s.strip()]
    bad = sorted(set(suites) - set(SUITES))
    if bad:
        print(f"error: unknown suite(s) {bad}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    statuses: dict[str, dict] = {}
    start = time.perf_counter()
    try:
        if args.from_json:
            json_dir = Path(args.from_json)
            if not json_dir.is_dir():
                raise ValueError(f"{json_dir}: not a directory")
            results = load_results(json_dir)
            if not any(results.values()):
                raise ValueError(f"{json_dir}: holds none of {', '.join(s + '.json' for s in SUITES)}")
        else:
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                json_dir = Path(args.json_dir) if args.json_dir else Path(tmp)
                json_dir.mkdir(parents=True, exist_ok=True)
                for suite in suites:
                    extra = list(QUICK_ARGS[suite]) if args.quick else []
                    if suite == "models":
                        extra = models_extra + (["--models", args.models] if args.models else [])
                    if suite == "data" and "models" in suites:
                        extra.append("--skip-model")  # compared against the models suite instead
                    path = json_dir / f"{suite}.json"
                    if path.exists():
                        path.unlink()  # never report a stale result as this run's
                    statuses[suite] = run_suite(suite, path, extra)
                results = load_results(json_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    page = render(results, statuses, quick=args.quick, command=command_string("bench.run_all", argv),
                  gpu_doc=gpu_doc, title=title, gpu=args.gpu)
    write_text_atomic(out, page + "\n")
    _log(f"wrote {out} ({time.perf_counter() - start:.0f} s)")
    if args.gpu and args.out is None and link_gpu_page(ROOT / "docs" / "BENCHMARKS.md", Path(out)):
        _log("linked it from docs/BENCHMARKS.md")
    failed = [s for s, st in statuses.items() if not st["ok"]]
    if failed:
        print(f"error: benchmark suite(s) failed: {', '.join(failed)}; see {out}", file=sys.stderr)
        return 1
    missed = [c["check"] for c in evaluate_checks(results) if c["passed"] is False]
    if missed:
        print(f"{'error' if args.strict else 'warning'}: must-show check(s) FAIL: {'; '.join(missed)}; "
              f"see {out}", file=sys.stderr)
        if args.strict:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
