"""Where one ``train_on_batch`` step of a model spends its time, from the TensorFlow profiler.

Runs a few warm steps, profiles ``--steps`` more with ``tf.profiler.experimental``, reads the
host trace (XPlane protobuf) and adds up the duration of every TensorFlow op, grouped by
model layer and phase (forward / gradient / optimizer), by op type, and by op. With
``--inter-op-threads 1`` (the default) TensorFlow runs one op at a time, so op durations
add up to the step and each one is the op's own cost, not time spent sharing the cores
with a concurrent op; with more threads the totals exceed the wall time.

    python -m bench.profile_step --model crnn-320-projection --batch-size 64 -o scratch/profile.md
"""
from __future__ import annotations

import argparse
import collections
import glob
import os
import re
import statistics
import sys
import tempfile
from typing import Sequence

from bench import timing

#: --lstm: the default build (models.lstm.LSTM), the same maths on keras.layers.LSTM, and
#: keras.layers.LSTM with Keras' sigmoid gate (an unmodified Keras model of the same shape).
LSTM_BUILDS = {"fast": {}, "stock": {"stock_lstm": True}, "plain": {"stock_lstm": True, "gate": "sigmoid"}}


def op_events(xplane_path: str) -> list[tuple[str, str, float]]:
    """``(op name, op type, milliseconds)`` of every TensorFlow op executed on the host.

    The trace's schema, ``xplane_pb2``, is not public TensorFlow API (TensorBoard's profile plugin
    reads it): tests/test_roofline.py's end-to-end profile fails loudly if it moves.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as fh:
        space.ParseFromString(fh.read())
    events = []
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):  # the executor threads that run ops
                continue
            for event in line.events:
                label = plane.event_metadata[event.metadata_id].name
                if ":" not in label or "::" in label:  # executor and thread-pool regions
                    continue
                name, op_type = label.rsplit(":", 1)
                events.append((name, op_type, event.duration_ps / 1e9))
    return events


INNER_LAYERS = ("forward_lstm", "backward_lstm")  # inside Bidirectional


def _unnumbered(scope: str, names: Sequence[str]) -> str:
    """``crnn_1`` -> ``crnn`` when the unnumbered form is a known name (TF numbers repeat calls)."""
    base = re.sub(r"_\d+$", "", scope)
    return base if base in names or base in INNER_LAYERS else scope


def short_op_name(name: str, model_name: str, layer_names: Sequence[str]) -> str:
    """The op's name inside its function body, without the model and tape scopes."""
    inner = name.split("//")[-1]
    grad = "/gradients/" in inner
    inner = re.sub(r"^.*?/gradients/", "", inner)
    parts = [_unnumbered(p, [model_name, *layer_names]) for p in inner.split("/")]
    parts = [p for p in parts if p not in ("gradient_tape", model_name, "body")
             and not re.fullmatch(r"_\d+", p)]
    return ("grad of " if grad else "") + "/".join(parts)


def classify(name: str, model_name: str, layer_names: Sequence[str]) -> tuple[str, str]:
    """``(layer, phase)`` of an op from its name scope; phase is forward, gradient or optimizer."""
    parts = [_unnumbered(p, [model_name, *layer_names]) for p in name.replace("//", "/").split("/")]
    phase = "gradient" if parts[0] == "gradient_tape" else "forward"
    if re.sub(r"_\d+$", "", parts[0]) in ("adam", "sgd", "rmsprop") or parts[0].startswith(("Assign", "AddN")):
        phase = "optimizer"
    layer = next((p for p in parts if p in layer_names), None)
    if layer == "bilstm":
        sub = next((p for p in parts if p in INNER_LAYERS), "")
        layer = f"bilstm/{sub}" + (" (time loop)" if "while" in parts else "")
    elif layer is None:
        layer = "loss" if any("loss" in p for p in parts) else "(other)"
    return layer, phase


def profile(model, batch_size: int, *, steps: int, warmup: int) -> dict:
    """Profile ``steps`` ``train_on_batch`` calls of a compiled model on a fixed random batch;
    return timings and per-op totals (ms per step)."""
    import tensorflow as tf

    step = timing.train_step(model, batch_size)
    walls = timing.interleaved({"step": step}, warmup=warmup, repeats=steps)["step"].wall
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step()
        tf.profiler.experimental.stop()
        paths = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
        if not paths:
            raise RuntimeError("the TensorFlow profiler wrote no trace")
        events = op_events(paths[0])
    layer_names = [layer.name for layer in model.layers]
    by_layer, by_type, by_op = collections.Counter(), collections.Counter(), collections.Counter()
    for name, op_type, ms in events:
        layer, phase = classify(name, model.name, layer_names)
        by_layer[(layer, phase)] += ms / steps
        by_type[op_type] += ms / steps
        by_op[(layer, phase, short_op_name(name, model.name, layer_names), op_type)] += ms / steps
    return {"wall_s": statistics.median(walls), "by_layer": by_layer, "by_type": by_type,
            "by_op": by_op, "total_ms": sum(by_type.values())}


def markdown(result: dict, *, title: str, batch_size: int, top: int) -> str:
    """The profile as Markdown tables."""
    total = result["total_ms"]
    lines = [f"### {title}", "",
             f"Step {result['wall_s'] * 1e3:,.0f} ms wall ({batch_size / result['wall_s']:,.1f} seq/s, "
             f"median of unprofiled steps); ops add up to {total:,.0f} ms per step.", "",
             "| layer | phase | ms/step | share |", "|---|---|---:|---:|"]
    for (layer, phase), ms in result["by_layer"].most_common():
        if ms / total >= 0.005:
            lines.append(f"| {layer} | {phase} | {ms:,.1f} | {100 * ms / total:.1f}% |")
    lines += ["", "| op type | ms/step | share |", "|---|---:|---:|"]
    for op_type, ms in result["by_type"].most_common(top):
        lines.append(f"| {op_type} | {ms:,.1f} | {100 * ms / total:.1f}% |")
    lines += ["", "| layer | phase | op | type | ms/step | share |", "|---|---|---|---|---:|---:|"]
    for (layer, phase, op, op_type), ms in result["by_op"].most_common(top):
        lines.append(f"| {layer} | {phase} | `{op}` | {op_type} | {ms:,.1f} | {100 * ms / total:.1f}% |")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_step",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="crnn-320-projection", help="model preset [default: %(default)s]")
    parser.add_argument("--batch-size", type=int, default=64, help="[default: %(default)s]")
    parser.add_argument("--lstm", choices=list(LSTM_BUILDS), default="fast",
                        help="LSTM build: fast = models.lstm.LSTM (the default), stock = keras.layers.LSTM, "
                             "plain = keras.layers.LSTM with sigmoid gates [default: %(default)s]")
    parser.add_argument("--policy", default="float32",
                        help="Keras dtype policy, e.g. mixed_bfloat16 [default: %(default)s]")
    parser.add_argument("--steps", type=int, default=2, help="profiled steps [default: %(default)s]")
    parser.add_argument("--warmup", type=int, default=2,
                        help="unprofiled warm-up steps [default: %(default)s]")
    parser.add_argument("--inter-op-threads", type=int, default=1,
                        help="TensorFlow inter-op threads; 1 runs ops one at a time so their "
                             "durations add up [default: %(default)s]")
    parser.add_argument("--top", type=int, default=25, help="rows of the op tables [default: %(default)s]")
    parser.add_argument("-o", "--output", help="write Markdown here (atomically) instead of stdout")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.batch_size < 1 or args.steps < 1 or args.warmup < 0 or args.inter_op_threads < 0:
        print("error: --batch-size and --steps must be >= 1, --warmup and --inter-op-threads >= 0",
              file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    except RuntimeError:  # TensorFlow already started in this process (e.g. under pytest)
        print("warning: TensorFlow is already initialised; --inter-op-threads is ignored",
              file=sys.stderr)
    threads = tf.config.threading.get_inter_op_parallelism_threads() or "default"
    if args.output and not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        print(f"error: the directory of --output {args.output} does not exist", file=sys.stderr)
        return 2
    try:
        model = timing.build_model(args.model, policy=args.policy, **LSTM_BUILDS[args.lstm])
    except ValueError as err:  # unknown preset or dtype policy
        print(f"error: {err}", file=sys.stderr)
        return 2
    result = profile(model, args.batch_size, steps=args.steps, warmup=args.warmup)
    title = (f"{args.model}, LSTM build {args.lstm}, batch {args.batch_size}, {args.policy}, "
             f"inter-op threads {threads}")
    text = markdown(result, title=title, batch_size=args.batch_size, top=args.top)
    if args.output:
        from fileio import atomic_write_text

        atomic_write_text(args.output, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
