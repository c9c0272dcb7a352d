"""How close training runs to the machine: counted FLOPs, measured rate, share of a big matmul.

For every Table 1 model and the CNN grid pairs: training FLOPs per sequence counted from the
layers (``models.flops``: multiply-adds of conv, dense and LSTM layers; 2 FLOPs each; a
training step = 3 x forward by convention, and the count TensorFlow actually executes, which
skips the first layer's input gradient), the measured ``train_on_batch`` rate, the FLOP rate
that makes, and that as a fraction of the float32 rate of a 4096 x 4096 matmul timed in the
same rounds of the same process. Each model is timed round-robin with the matmul (and with
its projection twin), so machine load hits all alike; figures are medians over rounds and
ratios are medians of per-round ratios.

Sections: ``models`` (rates, fractions, the projection speedup against the FLOP ratio:
target >= 90%), ``lstm`` (faithful crnn-320-projection with the fast LSTM, the stock Keras
LSTM and a plain Keras build with sigmoid gates, batch 64 and 256) and ``bf16``
(``mixed_bfloat16`` against float32 at batch 128, on CPUs with bfloat16 units).

    python -m bench.roofline -o scratch/ROOFLINE.md
    python -m bench.roofline --sections lstm,bf16 -o scratch/lstm.md
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any, Callable, Sequence

TABLE1 = ("deepsea", "danq-original", "danq-jaspar", "crnn-320", "crnn-320-projection",
          "crnn-700", "crnn-700-projection")
CNN_SIZES = (300, 500, 750, 1000)
PAIRS = (("crnn-320", "crnn-320-projection"), ("crnn-700", "crnn-700-projection"),
         *((f"cnn-{n}", f"cnn-{n}-projection") for n in CNN_SIZES))
SINGLES = ("deepsea", "danq-original", "danq-jaspar")
SECTIONS = ("models", "lstm", "bf16")
MATMUL_SIZE = 4096
LARGE_MODEL_PARAMS = 20_000_000  # these train at --large-batch-size (memory and time)
SPEEDUP_TARGET = 0.90            # projection speedup / FLOP ratio
FRACTION_TARGET = 0.55           # faithful crnn-320-projection, batch 256, of the matmul rate
BF16_TARGETS = {"crnn-320-projection": 1.3, "cnn-1000-projection": 1.6}
LSTM_MODEL = "crnn-320-projection"

FULL = {"matmul_size": MATMUL_SIZE, "batch_size": 256, "large_batch_size": 64,
        "lstm_batches": (64, 256), "bf16_batch": 128, "warmup": 1, "repeats": 3}
QUICK = {"matmul_size": 256, "batch_size": 8, "large_batch_size": 4, "lstm_batches": (4,),
         "bf16_batch": 4, "warmup": 1, "repeats": 2}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def matmul_call(size: int = MATMUL_SIZE, dtype: str = "float32") -> tuple[Callable[[], Any], float]:
    """A compiled ``size x size`` matmul and its FLOPs (2 n^3)."""
    import tensorflow as tf

    a = tf.random.stateless_normal((size, size), seed=(1, 2), dtype=tf.float32)
    b = tf.random.stateless_normal((size, size), seed=(3, 4), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)
    matmul = tf.function(lambda: tf.matmul(a, b))
    return matmul, 2.0 * size ** 3


def train_call(model, batch_size: int) -> Callable[[], Any]:
    """``train_on_batch`` of ``model`` (compiled with Adam, binary cross-entropy) on a fixed batch."""
    import keras

    from bench.common import random_batch

    x, y = random_batch(batch_size, model.input_shape[1], model.output_shape[-1])
    model.compile(keras.optimizers.Adam(3e-4), "binary_crossentropy")
    return lambda: model.train_on_batch(x, y)


def _release() -> None:
    import keras

    keras.backend.clear_session()
    gc.collect()


def time_round_robin(calls: dict[str, Callable[[], Any]], settings: dict) -> dict[str, dict]:
    """Wall and process-CPU seconds per call of each entry, timed interleaved
    (bench.common.interleaved_times): ``{name: {"wall": [...], "cpu": [...]}}``.

    CPU seconds (all threads of this process) count the work done and not the time spent
    waiting for cores that other users hold, so they are the steadier measure on a shared
    machine; wall seconds are what a user waits.
    """
    from bench.common import interleaved_times

    cpu: dict[str, list[float]] = {}
    wall = interleaved_times(calls, warmup=settings["warmup"], repeats=settings["repeats"],
                             cpu_times=cpu)
    return {name: {"wall": wall[name], "cpu": cpu[name]} for name in calls}


def model_entry(name: str, model, batch_size: int) -> dict:
    """Name, parameters, batch and counted FLOPs of a model."""
    from models import flops

    return {"name": name, "params": model.count_params(), "batch": batch_size,
            "flops": flops.training_flops(model), "executed_flops": flops.executed_training_flops(model),
            "forward_macs": sum(flops.forward_macs(model).values())}


def rates(entry: dict, times: dict, matmul_times: dict, matmul_flops: float) -> dict:
    """seq/s, GFLOP/s and fraction of the matmul rate, by wall and by CPU time (medians;
    fractions per round: model rate / matmul rate of the same round)."""
    def fraction(kind):
        return statistics.median((entry["flops"] * entry["batch"] / t) / (matmul_flops / m)
                                 for t, m in zip(times[kind], matmul_times[kind]))

    wall, cpu = statistics.median(times["wall"]), statistics.median(times["cpu"])
    return {"seq_per_s": entry["batch"] / wall, "gflops": entry["flops"] * entry["batch"] / wall / 1e9,
            "cpu_s_per_seq": cpu / entry["batch"], "fraction": fraction("wall"),
            "cpu_fraction": fraction("cpu"), "times": times}


def matmul_rates(times: dict, matmul_flops: float) -> dict:
    """The matmul's GFLOP/s (wall) and GFLOP per CPU second (medians)."""
    return {"gflops": matmul_flops / statistics.median(times["wall"]) / 1e9,
            "gflop_per_cpu_s": matmul_flops / statistics.median(times["cpu"]) / 1e9}


def ratio(slow: dict, fast: dict, kind: str, per: tuple[int, int] = (1, 1)) -> float:
    """Median over rounds of slow/fast seconds (per sequence when ``per`` gives batches)."""
    from bench.common import round_ratios

    return statistics.median(round_ratios([t / per[0] for t in slow[kind]],
                                          [t / per[1] for t in fast[kind]]))


def run_models(names: Sequence[str], settings: dict) -> dict:
    """Time every requested model with the matmul, projection pairs together."""
    from bench.variants import build_variant

    groups = [pair for pair in PAIRS if any(n in names for n in pair)]
    groups = [[n for n in pair if n in names] for pair in groups]
    groups += [[n] for n in SINGLES if n in names]
    rows, pairs = {}, []
    for group in groups:
        _log(f"models: {', '.join(group)}")
        matmul, matmul_flops = matmul_call(settings["matmul_size"])
        calls, entries = {"matmul": matmul}, {}
        for name in group:
            model = build_variant(name)
            batch = settings["large_batch_size"] if model.count_params() > LARGE_MODEL_PARAMS \
                else settings["batch_size"]
            entries[name] = model_entry(name, model, batch)
            calls[name] = train_call(model, batch)
        times = time_round_robin(calls, settings)
        matmul = matmul_rates(times["matmul"], matmul_flops)
        for name in group:
            rows[name] = {**entries[name], **rates(entries[name], times[name], times["matmul"],
                                                   matmul_flops), "matmul": matmul}
        if len(group) == 2:
            plain, proj = group
            per = (rows[plain]["batch"], rows[proj]["batch"])
            speedup = ratio(times[plain], times[proj], "wall", per)
            cpu_speedup = ratio(times[plain], times[proj], "cpu", per)
            flop_ratio = rows[plain]["flops"] / rows[proj]["flops"]
            executed = rows[plain]["executed_flops"] / rows[proj]["executed_flops"]
            pairs.append({"plain": plain, "projection": proj, "speedup": speedup,
                          "cpu_speedup": cpu_speedup, "flop_ratio": flop_ratio,
                          "executed_ratio": executed, "of_executed": speedup / executed,
                          "cpu_of_executed": cpu_speedup / executed})
        del calls, entries
        _release()
    return {"rows": rows, "pairs": pairs}


def run_lstm(settings: dict) -> list[dict]:
    """Faithful crnn-320-projection: fast / stock / plain LSTM builds, interleaved with the matmul."""
    from bench.variants import LSTM_BUILDS, build_variant

    results = []
    for batch in settings["lstm_batches"]:
        _log(f"lstm: {LSTM_MODEL} builds {', '.join(LSTM_BUILDS)}, batch {batch}")
        matmul, matmul_flops = matmul_call(settings["matmul_size"])
        calls, entries = {"matmul": matmul}, {}
        for build in LSTM_BUILDS:
            model = build_variant(LSTM_MODEL, build)
            entries[build] = model_entry(LSTM_MODEL, model, batch)
            calls[build] = train_call(model, batch)
        times = time_round_robin(calls, settings)
        row = {"batch": batch, "matmul": matmul_rates(times["matmul"], matmul_flops)}
        for build in LSTM_BUILDS:
            row[build] = rates(entries[build], times[build], times["matmul"], matmul_flops)
        for other in ("stock", "plain"):
            row[f"fast_vs_{other}"] = ratio(times[other], times["fast"], "wall")
            row[f"cpu_fast_vs_{other}"] = ratio(times[other], times["fast"], "cpu")
        results.append(row)
        del calls
        _release()
    return results


def run_bf16(settings: dict) -> list[dict]:
    """mixed_bfloat16 against float32 at one batch size, interleaved."""
    from bench.variants import build_variant
    from training.precision import cpu_bf16_units

    units = cpu_bf16_units()
    results = []
    for name, target in BF16_TARGETS.items():
        batch = settings["bf16_batch"]
        _log(f"bf16: {name}, batch {batch}")
        calls = {policy: train_call(build_variant(name, policy=policy), batch)
                 for policy in ("float32", "mixed_bfloat16")}
        times = time_round_robin(calls, settings)
        results.append({
            "name": name, "batch": batch, "target": target, "bf16_units": units,
            "float32": batch / statistics.median(times["float32"]["wall"]),
            "bf16": batch / statistics.median(times["mixed_bfloat16"]["wall"]),
            "speedup": ratio(times["float32"], times["mixed_bfloat16"], "wall"),
            "cpu_speedup": ratio(times["float32"], times["mixed_bfloat16"], "cpu")})
        del calls
        _release()
    return results


def _pass(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def _load() -> str:
    try:
        with open("/proc/loadavg", encoding="utf-8") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "n/a"


def markdown(result: dict) -> str:
    """The report as Markdown."""
    info, settings, lines = result["machine"], result["settings"], []
    lines += ["# Training roofline (CPU)", "",
              f"Command: `{result['command']}` ({result['elapsed_s']:.0f} s)", "",
              f"- CPU: {info['cpu']} ({info['cores']} usable cores), RAM {info['ram_gib']} GiB; "
              f"TensorFlow {info.get('tensorflow')}, Keras {info.get('keras')}; {info['date_utc']}; "
              f"load average (1, 5, 15 min) {result['load_start']} at the start, "
              f"{result['load_end']} at the end.",
              "- The machine is shared: every model is timed round-robin with a "
              f"{settings['matmul_size']} x {settings['matmul_size']} float32 matmul (and with its "
              "projection twin) in one process; figures are medians over rounds, fractions and ratios "
              "medians of per-round values. Each is given by wall time and by CPU time (all threads of "
              "the process): CPU seconds count the work done, not the time other users held the cores, "
              "so they are the steadier measure when the load average exceeds the core count; the "
              "PASS/FAIL column judges the CPU-time figure.",
              "- FLOPs: multiply-adds of conv, dense and LSTM layers counted from the layers "
              "(`models.flops`), 2 FLOPs each; training = 3 x forward (convention); 'executed' drops "
              "the first layer's input gradient, which TensorFlow does not compute.",
              f"- Train step: `train_on_batch`, Adam, binary cross-entropy, float32; batch "
              f"{settings['batch_size']} (models over {LARGE_MODEL_PARAMS // 10**6}M parameters: "
              f"{settings['large_batch_size']}); {settings['repeats']} timed rounds after "
              f"{settings['warmup']} warm-up.", ""]
    if "models" in result:
        rows = result["models"]["rows"]
        lines += ["## Models", "",
                  "| model | params | batch | train GFLOP/seq (3x) | executed GFLOP/seq | train seq/s "
                  "| GFLOP/s (3x) | matmul GFLOP/s | of matmul rate (wall) | of matmul rate (CPU) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name in [n for n in (*TABLE1, *(p for pair in PAIRS[2:] for p in pair)) if n in rows]:
            r = rows[name]
            lines.append(f"| {name} | {r['params']:,} | {r['batch']} | {r['flops'] / 1e9:.3f} | "
                         f"{r['executed_flops'] / 1e9:.3f} | {r['seq_per_s']:,.1f} | {r['gflops']:,.1f} | "
                         f"{r['matmul']['gflops']:,.1f} | {100 * r['fraction']:.0f}% | "
                         f"{100 * r['cpu_fraction']:.0f}% |")
        if result["models"]["pairs"]:
            lines += ["", "### Projection speedup against the FLOP ratio", "",
                      "Speedup = median over rounds of (plain s/seq) / (projection s/seq), the pair timed "
                      "back to back in each round. Target: speedup >= "
                      f"{100 * SPEEDUP_TARGET:.0f}% of the executed FLOP ratio (CPU time).", "",
                      "| pair | FLOP ratio (3x) | executed FLOP ratio | speedup (wall) | of executed ratio "
                      "| speedup (CPU) | of executed ratio | result |",
                      "|---|---:|---:|---:|---:|---:|---:|---|"]
            for p in result["models"]["pairs"]:
                lines.append(f"| {p['plain']} / {p['projection']} | {p['flop_ratio']:.2f}x | "
                             f"{p['executed_ratio']:.2f}x | {p['speedup']:.2f}x | "
                             f"{100 * p['of_executed']:.0f}% | {p['cpu_speedup']:.2f}x | "
                             f"{100 * p['cpu_of_executed']:.0f}% | "
                             f"{_pass(p['cpu_of_executed'] >= SPEEDUP_TARGET)} |")
        lines.append("")
    if "lstm" in result:
        lines += ["## LSTM builds: faithful crnn-320-projection", "",
                  "fast = `models.lstm.LSTM` (the default build); stock = `keras.layers.LSTM`, same "
                  "maths (hard-sigmoid gates, recurrent dropout 0.2); plain = stock LSTM with Keras' "
                  "sigmoid gates. Targets: fast at least as fast as plain at each batch; at batch 256 "
                  f"fast >= {100 * FRACTION_TARGET:.0f}% of the matmul rate.", "",
                  "| batch | fast seq/s | stock seq/s | plain seq/s | fast / stock (wall, CPU) "
                  "| fast / plain (wall, CPU) | fast GFLOP/s | matmul GFLOP/s "
                  "| fast of matmul rate (wall, CPU) | result |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in result["lstm"]:
            fast = r["fast"]
            ok = r["cpu_fast_vs_plain"] >= 1.0 and (
                r["batch"] != 256 or fast["cpu_fraction"] >= FRACTION_TARGET)
            lines.append(f"| {r['batch']} | {fast['seq_per_s']:,.1f} | {r['stock']['seq_per_s']:,.1f} | "
                         f"{r['plain']['seq_per_s']:,.1f} | {r['fast_vs_stock']:.2f}x, "
                         f"{r['cpu_fast_vs_stock']:.2f}x | {r['fast_vs_plain']:.2f}x, "
                         f"{r['cpu_fast_vs_plain']:.2f}x | {fast['gflops']:,.1f} | "
                         f"{r['matmul']['gflops']:,.1f} | {100 * fast['fraction']:.0f}%, "
                         f"{100 * fast['cpu_fraction']:.0f}% | {_pass(ok)} |")
        lines.append("")
    if "bf16" in result:
        units = ", ".join(result["bf16"][0]["bf16_units"]) if result["bf16"] else ""
        lines += ["## bfloat16 mixed precision", "",
                  "`mixed_bfloat16` (output layer float32) against float32, interleaved. CPU bfloat16 "
                  f"units: {units or 'none'}.", "",
                  "| model | batch | float32 seq/s | bf16 seq/s | speedup (wall) | speedup (CPU) "
                  "| target | result |", "|---|---:|---:|---:|---:|---:|---:|---|"]
        for r in result["bf16"]:
            lines.append(f"| {r['name']} | {r['batch']} | {r['float32']:,.1f} | {r['bf16']:,.1f} | "
                         f"{r['speedup']:.2f}x | {r['cpu_speedup']:.2f}x | >= {r['target']}x | "
                         f"{_pass(r['cpu_speedup'] >= r['target'])} |")
        lines.append("")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.roofline", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", help="Markdown report path, written atomically [default: stdout]")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="comma-separated subset of " + ", ".join(SECTIONS) + " [default: %(default)s]")
    parser.add_argument("--models", default="all",
                        help="comma-separated presets for the models section [default: %(default)s]")
    parser.add_argument("--repeats", type=int, help="timed rounds [default: 3]")
    parser.add_argument("--quick", action="store_true",
                        help="tiny batches and 2 rounds: a smoke test, not a measurement "
                             "[default: %(default)s]")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    known = list(TABLE1) + [p for pair in PAIRS[2:] for p in pair]
    names = known if args.models == "all" else [m for m in args.models.split(",") if m]
    bad = [s for s in sections if s not in SECTIONS] + [m for m in names if m not in known]
    if bad or not sections or (args.repeats is not None and args.repeats < 1):
        print(f"error: unknown section or model {', '.join(bad) or '(none given)'} or --repeats < 1; "
              f"sections: {', '.join(SECTIONS)}; models: {', '.join(known)}", file=sys.stderr)
        return 2
    if args.output and not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        print(f"error: the directory of --output {args.output} does not exist", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from bench.common import command_string, machine_info, write_text_atomic

    settings = dict(QUICK if args.quick else FULL)
    if args.repeats:
        settings["repeats"] = args.repeats
    start = time.perf_counter()
    result: dict[str, Any] = {"machine": machine_info(), "settings": settings,
                              "command": command_string("bench.roofline", argv), "load_start": _load()}
    if "models" in sections:
        result["models"] = run_models(names, settings)
    if "lstm" in sections:
        result["lstm"] = run_lstm(settings)
    if "bf16" in sections:
        result["bf16"] = run_bf16(settings)
    result["elapsed_s"] = time.perf_counter() - start
    result["load_end"] = _load()
    text = markdown(result)
    if args.output:
        write_text_atomic(args.output, text)
        _log(f"wrote {args.output}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
