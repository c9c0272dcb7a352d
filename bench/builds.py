"""Table: one model under the builds train.py offers (LSTM build, --fast-lstm, --jit, --precision).

All builds of one model at one batch size are timed round-robin in one process; 'vs default' is the
median of per-round ratios. On a CPU the table covers crnn-320-projection at batch 256 and 64 and
cnn-1000-projection, with the checks of issue 14: the default (faithful) build at least as fast as
an unmodified Keras build of the same shape, and bfloat16 at least 1.3x (crnn-320-projection) and
1.6x (cnn-1000-projection) float32, judged on wall time. On a GPU (bench/gpu.sh) every Table 1
model, where the point is the faithful LSTM (recurrent dropout, hard-sigmoid gate: no cuDNN)
against --fast-lstm on cuDNN, XLA and mixed float16.
"""
from __future__ import annotations

from typing import Any

from bench import timing

TITLE = "Builds: LSTM, --fast-lstm, --jit, --precision"

#: Build name -> (what it is, timing.build_model arguments). "mixed" is resolved per device.
BUILDS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("the paper's model as train.py builds it (models.lstm.LSTM where recurrent dropout is on)", {}),
    "stock-lstm": ("the same maths on keras.layers.LSTM (what the repository used before models/lstm.py)",
                   {"stock_lstm": True}),
    "keras-sigmoid": ("keras.layers.LSTM with Keras' sigmoid gate, recurrent dropout kept: an unmodified "
                      "Keras model of the same shape", {"stock_lstm": True, "gate": "sigmoid"}),
    "fast-lstm": ("--fast-lstm: sigmoid gate, no recurrent dropout (cuDNN on a GPU; a deviation)",
                  {"gate": "sigmoid", "recurrent_dropout": 0.0}),
    "jit": ("--jit: XLA-compiled train step", {"jit_compile": True}),
    "mixed": ("--mixed-precision: mixed_float16 on a GPU, mixed_bfloat16 on a CPU with bfloat16 units", {}),
    "fast-lstm+mixed": ("--fast-lstm --mixed-precision", {"gate": "sigmoid", "recurrent_dropout": 0.0}),
}
LSTM_ONLY = {"stock-lstm", "keras-sigmoid", "fast-lstm", "fast-lstm+mixed"}

#: (model, batch) -> the least speedup of bfloat16 over float32 on a CPU with bf16 units (issue 14).
BF16_TARGETS = {("crnn-320-projection", 256): 1.3, ("cnn-1000-projection", 256): 1.6}

FULL = {"models": ("crnn-320-projection", "cnn-1000-projection"), "batches": (256, 64),
        "builds": ("default", "stock-lstm", "keras-sigmoid", "fast-lstm", "jit", "mixed"),
        "warmup": 2, "repeats": 5, "overrides": {}}
GPU = {**FULL, "models": ("deepsea", "danq-original", "danq-jaspar", "crnn-320", "crnn-320-projection",
                          "crnn-700", "crnn-700-projection"), "batches": (256,),
       "builds": ("default", "fast-lstm", "mixed", "fast-lstm+mixed", "jit")}
QUICK = {"models": ("crnn-320-projection",), "batches": (2,), "builds": FULL["builds"], "warmup": 1, "repeats": 2,
         "overrides": {"filters": 8, "projection_dim": 4, "lstm_units": 4, "hidden_units": 8, "num_targets": 8,
                       "sequence_length": 200}}


def mixed_policy(gpu: bool) -> str | None:
    """The policy --mixed-precision picks here, or None where it refuses (a CPU without bf16 units)."""
    from training.precision import PrecisionError, choose_policy

    try:
        return choose_policy("auto", gpus=gpu)
    except PrecisionError:
        return None


def measure(settings: dict) -> dict[str, Any]:
    import tensorflow as tf

    from models import resolve_config

    gpu = bool(tf.config.list_physical_devices("GPU"))
    mixed = mixed_policy(gpu)
    rows = []
    for name, batch in [(m, b) for m in settings["models"] for b in settings["batches"]]:
        has_lstm = "gate" in resolve_config(name)
        if batch != settings["batches"][0] and not has_lstm:
            continue  # the other batch sizes are for the LSTM builds
        calls, info, skipped = {}, {}, {}
        for b in settings["builds"]:
            kwargs = dict(BUILDS[b][1])
            if b in LSTM_ONLY and not has_lstm:
                skipped[b] = "no LSTM"
                continue
            if "mixed" in b:
                if mixed is None:
                    skipped[b] = "this CPU has no bfloat16 units and there is no GPU: train.py refuses"
                    continue
                kwargs["policy"] = mixed
            model = timing.build_model(name, settings["overrides"], **kwargs)
            calls[b] = timing.train_step(model, batch)
            info[b] = {"policy": kwargs.get("policy", "float32"), "xla": bool(model.jit_compile),
                       "length": model.input_shape[1]}
        timing.log(f"builds of {name} at batch {batch}: {', '.join(calls)}")
        times = timing.interleaved(calls, warmup=settings["warmup"], repeats=settings["repeats"])
        for b in settings["builds"]:
            if b in skipped:
                rows.append({"model": name, "batch": batch, "build": b, "skipped": skipped[b]})
                continue
            t = times[b]
            rows.append({"model": name, "batch": batch, "build": b, **info[b], "seq_per_s": t.rate(batch),
                         "first_s": t.first, "times": vars(t),
                         "vs_default": timing.speedup(times["default"], t, "wall"),
                         "vs_default_cpu": timing.speedup(times["default"], t, "cpu")})
        del calls
        timing.release()
    return {"gpu": gpu, "rows": rows}


def markdown(result: dict, settings: dict) -> list[str]:
    used = list(dict.fromkeys(r["build"] for r in result["rows"]))
    out = [f"{settings['repeats']} timed rounds after {settings['warmup']} warm-up, "
           "the builds of one model at one batch size interleaved. 'vs default' = median over rounds of (default seconds) / "
           "(build seconds), by wall and by CPU time. 'first step' is the first call: tracing (and XLA "
           "compilation) included.", ""]
    out += [f"- `{b}`: {BUILDS[b][0]}" for b in used] + [""]
    body = []
    for r in result["rows"]:
        if "skipped" in r:
            body.append([r["model"], r["batch"], r["build"], f"skipped: {r['skipped']}", "", "", "", "", ""])
            continue
        body.append([r["model"], r["batch"], r["build"], r["policy"], "yes" if r["xla"] else "no", f"{r['seq_per_s']:,.1f}",
                     f"{r['vs_default']:.2f}x, {r['vs_default_cpu']:.2f}x",
                     f"{timing.full_epoch_hours(r['seq_per_s']):.2f}", f"{r['first_s']:.1f}"])
    return out + timing.table(["model", "batch", "build", "dtype policy", "XLA", "train seq/s", "vs default (wall, CPU)",
                               "full-data epoch (h)", "first step (s)"], body)


def fastest(result: dict) -> tuple[str, int, float]:
    """(model [build], sequence length, train seq/s) of the fastest build measured."""
    r = max((r for r in result["rows"] if "seq_per_s" in r), key=lambda r: r["seq_per_s"])
    return f"{r['model']} [{r['build']}]", r["length"], r["seq_per_s"]


def checks(result: dict) -> list[dict]:
    """Faithful build vs an unmodified Keras build (every batch), bfloat16 vs float32; wall time."""
    out = []
    rows = {(r["model"], r["batch"], r["build"]): r for r in result["rows"] if "seq_per_s" in r}
    for (model, batch, build), r in rows.items():
        if build == "keras-sigmoid":  # vs_default = default seconds / keras seconds: <= 1 when default is as fast
            out.append({"check": f"{model} default build at least as fast as unmodified Keras, batch {batch} (wall)",
                        "measured": f"{1 / r['vs_default']:.2f}x (CPU time {1 / r['vs_default_cpu']:.2f}x)",
                        "passed": r["vs_default"] <= 1.0})
        target = BF16_TARGETS.get((model, batch))
        if build == "mixed" and r["policy"] == "mixed_bfloat16" and target:
            out.append({"check": f"{model} bfloat16 >= {target}x float32, batch {batch} (wall)",
                        "measured": f"{r['vs_default']:.2f}x (CPU time {r['vs_default_cpu']:.2f}x)",
                        "passed": r["vs_default"] >= target})
    return out
