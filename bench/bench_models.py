"""Model throughput benchmarks: training and inference sequences/s for every paper model.

Sections (``--sections``):

* ``throughput`` -- a compiled train step (``train_on_batch``) and a prediction (``predict_on_batch``)
  on random one-hot batches of each preset's sequence length. A model and its ``-projection``
  twin are timed interleaved (a, b, a, b, ...) in one process, so machine noise hits both alike and
  their per-epoch cost ratio is fair.
* ``strand`` -- strand-averaged inference (forward and reverse complement in one batch, as
  evaluate.py does) against single-strand inference of the same sequences, interleaved.
* ``variants`` -- fast paths of one model against its faithful build: XLA (``jit_compile``),
  ``--fast-lstm`` (sigmoid gate, no recurrent dropout: cuDNN-eligible on a GPU) and mixed precision
  (GPU only: TensorFlow's float16 CPU kernels are slower than float32, so it is skipped there, not faked).

Usage: ``python -m bench.bench_models --json results.json [--quick] [--models crnn-320,...]``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench.common import (
    command_string,
    full_epoch_hours,
    interleaved_times,
    machine_info,
    random_batch,
    reverse_complement,
    round_ratios,
    summarize,
    write_json,
)

TABLE1_MODELS = (
    "deepsea",
    "danq-original",
    "danq-jaspar",
    "crnn-320-projection",
    "crnn-320",
    "crnn-700-projection",
    "crnn-700",
)
CNN_GRID_MODELS = tuple(f"cnn-{n}{s}" for n in (300, 500, 750, 1000) for s in ("", "-projection"))
GROUPS = {"table1": TABLE1_MODELS, "cnn": CNN_GRID_MODELS, "all": TABLE1_MODELS + CNN_GRID_MODELS}

#: The pairs whose per-epoch cost ratio the issue asks for; the first is a must-show (>= 1.3x).
RATIO_PAIRS = (("crnn-320", "crnn-320-projection"), ("crnn-700", "crnn-700-projection"),
               ("cnn-1000", "cnn-1000-projection"))
PROJECTION_SPEEDUP_TARGET = 1.3
STRAND_RATIO_TARGET = 2.1

#: Models above this many parameters get ``--large-batch-size`` on CPU (DeepSEA, DanQ, DanQ-JASPAR).
LARGE_MODEL_PARAMS = 20_000_000

#: Fast-path variants: config overrides, XLA, dtype policy, whether a GPU is needed to be meaningful.
VARIANTS: dict[str, dict[str, Any]] = {
    "faithful": {"overrides": {}, "jit_compile": False, "policy": "float32", "gpu_only": False},
    "xla": {"overrides": {}, "jit_compile": True, "policy": "float32", "gpu_only": False},
    "fast-lstm": {"overrides": {"gate": "sigmoid", "recurrent_dropout": 0.0}, "jit_compile": False,
                  "policy": "float32", "gpu_only": False, "lstm_only": True},
    "mixed": {"overrides": {}, "jit_compile": False, "policy": "mixed_float16", "gpu_only": True},
    "fast-lstm+mixed": {"overrides": {"gate": "sigmoid", "recurrent_dropout": 0.0}, "jit_compile": False,
                        "policy": "mixed_float16", "gpu_only": True, "lstm_only": True},
    "xla+mixed": {"overrides": {}, "jit_compile": True, "policy": "mixed_float16", "gpu_only": True},
}

QUICK = {"batch_size": 16, "large_batch_size": 8, "warmup": 1, "repeats": 2, "check_repeats": 2,
         "models": "crnn-320,crnn-320-projection"}
FULL = {"batch_size": 256, "large_batch_size": 64, "warmup": 1, "repeats": 3, "check_repeats": 5,
        "models": "all"}


def _log(msg: str) -> None:
    print(f"[bench_models] {msg}", file=sys.stderr, flush=True)


def expand_models(spec: str) -> list[str]:
    """Expand a comma list of model names and group names (table1, cnn, all), keeping order."""
    names: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        for name in GROUPS.get(item, (item,)):
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError(f"no models selected from {spec!r}")
    return names


def pair_groups(names: Sequence[str]) -> list[list[str]]:
    """Group each model with its ``-projection`` twin when both are selected; others stand alone."""
    groups: list[list[str]] = []
    done: set[str] = set()
    for name in names:
        if name in done:
            continue
        twin = name[: -len("-projection")] if name.endswith("-projection") else f"{name}-projection"
        if twin in names and twin not in done:
            plain, proj = (twin, name) if name.endswith("-projection") else (name, twin)
            groups.append([plain, proj])
            done.update((plain, proj))
        else:
            groups.append([name])
            done.add(name)
    return groups


def _gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


@dataclass
class Prepared:
    """A compiled model with its fixed random batch, ready to time."""

    name: str
    label: str
    config: dict
    model: Any
    batch_size: int
    x: Any  # device tensor (B, L, 4)
    y: Any
    x_host: np.ndarray
    params: int
    jit_compile: bool
    policy: str
    first_train_s: float | None = None
    first_predict_s: float | None = None
    extra: dict = field(default_factory=dict)

    def train_step(self) -> Any:
        return self.model.train_on_batch(self.x, self.y)

    def predict(self) -> Any:
        return self.model.predict_on_batch(self.x)


def prepare(
    name: str,
    *,
    batch_size: int,
    large_batch_size: int,
    overrides: dict | None = None,
    jit_compile: bool = False,
    policy: str = "float32",
    label: str | None = None,
    seed: int = 0,
) -> Prepared:
    """Resolve the preset, build and compile the model (Adam 3e-4, binary cross-entropy) and make a batch.

    ``jit_compile`` is always explicit: Keras' "auto" turns XLA on whenever a GPU is present, which
    would silently change what the faithful row measures.
    """
    import keras
    import tensorflow as tf

    from models.presets import get_preset, resolve_config

    preset = get_preset(name)
    # A suite-wide override (e.g. lstm_units=8 in tests) applies to the models whose builder takes it.
    overrides = {k: v for k, v in (overrides or {}).items() if k in preset}
    if preset.get("jaspar_init"):
        # Motif initialisation changes weights, not cost: skip loading JASPAR for a timing run.
        overrides.setdefault("jaspar_init", False)
    config = resolve_config(name, **overrides)
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(policy)
    try:
        # train.build is what train.py runs: under mixed precision it keeps the output layer float32.
        model = _train_build(config, policy)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=3e-4),
            loss="binary_crossentropy",
            jit_compile=jit_compile,
        )
    finally:
        keras.config.set_dtype_policy(previous)
    params = int(model.count_params())
    batch = large_batch_size if params > LARGE_MODEL_PARAMS else batch_size
    x_host, y_host = random_batch(batch, int(config["sequence_length"]), int(config["num_targets"]), seed=seed)
    return Prepared(
        name=name,
        label=label or name,
        config=config,
        model=model,
        batch_size=batch,
        x=tf.convert_to_tensor(x_host),
        y=tf.convert_to_tensor(y_host),
        x_host=x_host,
        params=params,
        jit_compile=bool(model.jit_compile),  # Keras may refuse XLA (e.g. cuDNN LSTM); record what ran
        policy=policy,
    )


def build_source() -> str:
    """Which builder the benchmark uses: the training package's (train.py's) own."""
    return "training.settings.build"


def _train_build(config: dict, policy: str) -> Any:
    """The model exactly as train.py builds it."""
    from training.settings import build

    return build(config, policy)


def _uses_cudnn(model: Any, config: dict, gpu: bool) -> bool | None:
    """Whether Keras runs this model's LSTMs on cuDNN (None: no LSTM), by train.py's own rule."""
    from training.devices import lstm_cudnn_report

    report = lstm_cudnn_report(model, gpu)
    return report["uses_cudnn"] if report["has_lstm"] else None


def _release() -> None:
    import keras

    keras.backend.clear_session()
    gc.collect()


def _first_call(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    out = fn()
    if hasattr(out, "numpy"):
        out.numpy()
    return time.perf_counter() - start


def _model_record(p: Prepared, timed: dict[str, list[float]], gpu: bool) -> dict:
    train = summarize(timed["train"], p.batch_size)
    predict = summarize(timed["predict"], p.batch_size)
    cfg = p.config
    return {
        "name": p.name,
        "label": p.label,
        "family": cfg.get("family"),
        "sequence_length": cfg.get("sequence_length"),
        "params": p.params,
        "expected_params": cfg.get("expected_params"),
        "batch_size": p.batch_size,
        "jit_compile": p.jit_compile,
        "policy": p.policy,
        "gate": cfg.get("gate"),
        "recurrent_dropout": cfg.get("recurrent_dropout"),
        "cudnn": _uses_cudnn(p.model, cfg, gpu),
        "first_train_step_s": p.first_train_s,
        "first_predict_s": p.first_predict_s,
        "train": train,
        "predict": predict,
        "train_cpu_s": [round(t, 6) for t in timed["train_cpu"]],
        "train_seq_per_cpu_s": p.batch_size / statistics.median(timed["train_cpu"]),
        "train_seq_per_s": train["items_per_s"],
        "predict_seq_per_s": predict["items_per_s"],
        "full_epoch_hours": full_epoch_hours(train["items_per_s"]),
    }


def _time_group(preps: list[Prepared], warmup: int, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Interleaved train steps, then interleaved predictions, for the models of one group.

    Returns per label the wall and process-CPU seconds of each timed call: train, predict,
    train_cpu, predict_cpu.
    """
    for p in preps:
        p.first_train_s = _first_call(p.train_step)
        p.first_predict_s = _first_call(p.predict)
    extra_warmup = max(warmup - 1, 0)  # the first calls above were the first warm-up round
    train_cpu: dict[str, list[float]] = {}
    predict_cpu: dict[str, list[float]] = {}
    train = interleaved_times({p.label: p.train_step for p in preps}, warmup=extra_warmup, repeats=repeats,
                              cpu_times=train_cpu)
    predict = interleaved_times({p.label: p.predict for p in preps}, warmup=extra_warmup, repeats=repeats,
                                cpu_times=predict_cpu)
    return {p.label: {"train": train[p.label], "predict": predict[p.label], "train_cpu": train_cpu[p.label],
                      "predict_cpu": predict_cpu[p.label]} for p in preps}


def _guarded(errors: list[dict], what: str, fn: Callable[[], Any]) -> Any:
    """Run one benchmark item; on failure (e.g. out of memory) record it and go on with the rest.

    A long run should not lose every figure to one model; the failure is reported in the results
    (and the page) and makes the command exit non-zero.
    """
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 -- recorded, reported and turned into the exit status
        message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
        _log(f"  FAILED {what}: {message}")
        errors.append({"what": what, "error": message})
        _release()
        return None


def _pair_record(plain: dict, proj: dict, *, variant: str, requested: bool, must_show: bool) -> dict:
    # speedup_i = (B_proj / t_proj_i) / (B_plain / t_plain_i), rounds run back to back
    per_round = [r * proj["batch_size"] / plain["batch_size"]
                 for r in round_ratios(plain["train"]["times_s"], proj["train"]["times_s"])]
    speedup = statistics.median(per_round)
    return {
        "plain": plain["name"],
        "projection": proj["name"],
        "variant": variant,
        "plain_train_seq_per_s": plain["train_seq_per_s"],
        "projection_train_seq_per_s": proj["train_seq_per_s"],
        "train_speedup": speedup,  # median over rounds of the per-round speedup
        "train_speedup_per_round": per_round,
        "train_speedup_of_medians": proj["train_seq_per_s"] / plain["train_seq_per_s"],
        # The ratio of process CPU seconds (all threads): a diagnostic only, not the per-epoch cost,
        # since spinning and serial phases count differently from wall-clock time.
        "train_speedup_cpu_time": proj["train_seq_per_cpu_s"] / plain["train_seq_per_cpu_s"],
        "predict_speedup": proj["predict_seq_per_s"] / plain["predict_seq_per_s"],
        "requested": requested,
        "must_show": must_show,
        "target": PROJECTION_SPEEDUP_TARGET if must_show else None,
        "passed": (speedup >= PROJECTION_SPEEDUP_TARGET) if must_show else None,
    }


def _time_models(group: Sequence[str], *, variant: str, reps: int, warmup: int, batch_size: int,
                 large_batch_size: int, overrides: dict, gpu: bool) -> list[dict]:
    """Build the models of one group, time them interleaved, free them; return their records."""
    spec = VARIANTS[variant]
    _log(f"timing {' vs '.join(group)} [{variant}] ({reps} timed steps each)")
    preps = [prepare(n, batch_size=batch_size, large_batch_size=large_batch_size,
                     overrides={**overrides, **spec["overrides"]}, jit_compile=spec["jit_compile"],
                     policy=spec["policy"], label=f"{n}[{variant}]") for n in group]
    timed = _time_group(preps, warmup, reps)
    records = [_model_record(p, timed[p.label], gpu) for p in preps]
    for r in records:
        r["variant"] = variant
        _log(f"  {r['name']}: train {r['train_seq_per_s']:.1f} seq/s, predict {r['predict_seq_per_s']:.1f} seq/s "
             f"(batch {r['batch_size']}, {r['params']:,} params)")
    del preps
    _release()
    return records


def bench_throughput(names: Sequence[str], *, batch_size: int, large_batch_size: int, warmup: int,
                     repeats: int, check_repeats: int, overrides: dict, gpu: bool,
                     fast_lstm_pairs: Sequence[str] = (), errors: list[dict] | None = None
                     ) -> tuple[list[dict], list[dict]]:
    """Train/predict throughput of each model (faithful build); plain/projection twins timed interleaved.

    ``fast_lstm_pairs`` names plain models whose pair is timed once more under ``--fast-lstm``, to
    show how the projection's saving depends on the LSTM's share of the step. Returns (model
    records, projection-pair records).
    """
    records: list[dict] = []
    pairs: list[dict] = []
    errors = [] if errors is None else errors
    requested = {tuple(p) for p in RATIO_PAIRS}
    common = dict(warmup=warmup, batch_size=batch_size, large_batch_size=large_batch_size,
                  overrides=overrides, gpu=gpu)
    for group in pair_groups(names):
        key_pair = tuple(group) in requested
        reps = max(repeats, check_repeats) if key_pair else repeats
        group_records = _guarded(errors, " vs ".join(group),
                                 lambda: _time_models(group, variant="faithful", reps=reps, **common))
        if group_records is None:
            continue
        records.extend(group_records)
        if len(group) == 2:
            pairs.append(_pair_record(*group_records, variant="faithful", requested=key_pair,
                                      must_show=tuple(group) == RATIO_PAIRS[0]))
            _log(f"  projection speedup per epoch: {pairs[-1]['train_speedup']:.2f}x")
    for plain in fast_lstm_pairs:
        group = [plain, f"{plain}-projection"]
        group_records = _guarded(errors, f"{plain} pair [fast-lstm]", lambda: _time_models(
            group, variant="fast-lstm", reps=max(repeats, check_repeats), **common))
        if group_records is None:
            continue
        pairs.append(_pair_record(*group_records, variant="fast-lstm", requested=False, must_show=False))
        _log(f"  projection speedup per epoch under --fast-lstm: {pairs[-1]['train_speedup']:.2f}x")
    return records, pairs


def strand_averaged_predict(model: Any, x: np.ndarray) -> np.ndarray:
    """Mean of forward and reverse-complement predictions, both strands in one batch (one pass)."""
    n = x.shape[0]
    both = model.predict_on_batch(np.concatenate([x, reverse_complement(x)], axis=0))
    both = np.asarray(both)
    return 0.5 * (both[:n] + both[n:])


def _strand_steps(model: Any) -> tuple[Callable, Callable, str]:
    """(single-strand step, strand-averaged step, name of the code timed); both take (x, y).

    Both arms run evaluate.py's own compiled paired step (``StrandPredictor.paired``: one model
    call, the per-row losses and the mean of the two halves), so the two arms differ only in the
    rows they get: B forward rows, or those B rows plus their B reverse complements in one batch.
    """
    from evaluation.predict import StrandPredictor

    predictor = StrandPredictor(model)
    step = (lambda x, y: predictor.paired(x, y)[0])
    return step, step, "evaluation.predict.StrandPredictor.paired (evaluate.py)"


def bench_strand(name: str, *, batch_size: int, large_batch_size: int, warmup: int, repeats: int,
                 overrides: dict) -> dict:
    """Cost per scored sequence of strand-averaged vs single-strand inference, timed interleaved.

    Both arms make the same model calls of B rows, as evaluate.py's ``--batch-size`` counts rows:
    single-strand scores B sequences per call; strand-averaged scores B/2 sequences per call, each
    from its forward row and its reverse-complement row in the same batch (one pass). The ratio is
    (averaged seconds per sequence) / (single seconds per sequence); 2.0 is the floor, anything
    above it is the overhead of pairing and averaging.
    """
    import tensorflow as tf

    _log(f"strand averaging on {name} ({repeats} timed calls each)")
    p = prepare(name, batch_size=batch_size, large_batch_size=large_batch_size, overrides=overrides)
    if p.batch_size < 2:
        raise ValueError(f"strand averaging needs a batch of at least 2 rows, got {p.batch_size}")
    single_step, averaged_step, source = _strand_steps(p.model)
    pairs = p.batch_size // 2
    x = p.x_host[:pairs]
    # Both strands in one batch, as a paired DeepSEA split is read: forward rows, then their RCs.
    x_both = tf.convert_to_tensor(np.concatenate([x, reverse_complement(x)], axis=0))
    y_both = tf.concat([p.y[:pairs], p.y[:pairs]], axis=0)
    out = averaged_step(x_both, y_both)
    if tuple(out.shape) != (pairs, p.config["num_targets"]):
        raise RuntimeError(f"strand-averaged prediction has shape {tuple(out.shape)}, "
                           f"expected {(pairs, p.config['num_targets'])}")
    x_fwd, y_fwd = p.x[: 2 * pairs], p.y[: 2 * pairs]
    fns = {"single": lambda: single_step(x_fwd, y_fwd), "averaged": lambda: averaged_step(x_both, y_both)}
    times = interleaved_times(fns, warmup=warmup, repeats=repeats)
    single_s = summarize(times["single"], 2 * pairs)
    averaged_s = summarize(times["averaged"], pairs)
    # per sequence: averaged calls score `pairs` sequences, single calls 2 * pairs
    per_round = [2.0 * r for r in round_ratios(times["averaged"], times["single"])]
    ratio = statistics.median(per_round)
    _log(f"  strand-averaged / single-strand cost per sequence: {ratio:.2f}x")
    record = {
        "model": name,
        "rows_per_call": 2 * pairs,
        "implementation": source,
        "single": single_s,
        "averaged": averaged_s,
        "ratio": ratio,  # median over rounds of the per-round cost ratio
        "ratio_per_round": per_round,
        "ratio_of_medians": single_s["items_per_s"] / averaged_s["items_per_s"],
        "target": STRAND_RATIO_TARGET,
        "passed": ratio <= STRAND_RATIO_TARGET,
    }
    del p
    _release()
    return record


def bench_variants(names: Sequence[str], variants: Sequence[str], *, batch_size: int, large_batch_size: int,
                   warmup: int, repeats: int, overrides: dict, gpu: bool,
                   errors: list[dict] | None = None) -> list[dict]:
    """Each model under each fast-path variant, the variants of one model timed interleaved."""
    out: list[dict] = []
    errors = [] if errors is None else errors
    for name in names:
        rows = _guarded(errors, f"{name} variants", lambda: _variant_rows(
            name, variants, batch_size=batch_size, large_batch_size=large_batch_size, warmup=warmup,
            repeats=repeats, overrides=overrides, gpu=gpu))
        if rows is not None:
            out.extend(rows)
    return out


def _variant_rows(name: str, variants: Sequence[str], *, batch_size: int, large_batch_size: int, warmup: int,
                  repeats: int, overrides: dict, gpu: bool) -> list[dict]:
    """One model's variant rows, in the order asked for (skipped ones say why)."""
    preps: list[Prepared] = []
    rows: dict[str, dict] = {}
    for v in variants:
        spec = VARIANTS[v]
        skip = None
        if spec["gpu_only"] and not gpu:
            skip = ("GPU only: mixed precision pays off on float16 tensor units; TensorFlow's float16 CPU "
                    "kernels are slower than float32, so a CPU figure would mislead")
        if spec.get("lstm_only"):
            from models.presets import resolve_config

            if "gate" not in resolve_config(name):
                skip = "model has no LSTM"
        if skip:
            rows[v] = {"name": name, "variant": v, "skipped": skip}
            continue
        p = prepare(name, batch_size=batch_size, large_batch_size=large_batch_size,
                    overrides={**overrides, **spec["overrides"]}, jit_compile=spec["jit_compile"],
                    policy=spec["policy"], label=f"{name}[{v}]")
        p.extra["variant"] = v
        p.extra["xla_requested"] = spec["jit_compile"]
        preps.append(p)
    if preps:
        _log(f"variants of {name}: {', '.join(p.extra['variant'] for p in preps)}")
        timed = _time_group(preps, warmup, repeats)
        for p in preps:
            rec = _model_record(p, timed[p.label], gpu)
            rec.update(variant=p.extra["variant"], xla_requested=p.extra["xla_requested"])
            rows[rec["variant"]] = rec
            _log(f"  {p.label}: train {rec['train_seq_per_s']:.1f} seq/s, first step {rec['first_train_step_s']:.1f} s")
        base = rows.get("faithful")
        if base is not None and "train_seq_per_s" in base:
            for rec in rows.values():
                if "train_seq_per_s" in rec:  # median of per-round ratios, as for the projection pairs
                    per_round = round_ratios(base["train"]["times_s"], rec["train"]["times_s"])
                    rec["train_speedup_vs_faithful"] = statistics.median(
                        r * rec["batch_size"] / base["batch_size"] for r in per_round)
    del preps
    _release()
    return [rows[v] for v in variants]


def _parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"override must be KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.bench_models",
        description="Training and inference throughput of the paper's models (median of repeats).",
    )
    p.add_argument("--json", required=True, help="where to write the results (JSON)")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test settings (batch 16, 2 timed steps, CRNN-320 pair) unless given explicitly")
    p.add_argument("--models", default=None,
                   help="comma list of presets or groups (table1, cnn, all) [default: all; quick: CRNN-320 pair]")
    p.add_argument("--sections", default="throughput,strand,variants",
                   help="comma list of throughput, strand, variants [default: %(default)s]")
    p.add_argument("--batch-size", type=int, default=None, help="batch size [default: 256; quick: 16]")
    p.add_argument("--large-batch-size", type=int, default=None,
                   help=f"batch for models over {LARGE_MODEL_PARAMS:,} params, to bound memory and time on CPU "
                        "[default: 64; quick: 8]")
    p.add_argument("--warmup", type=int, default=None,
                   help="untimed calls before timing; the first (tracing) call always happens [default: 1]")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per model [default: 3; quick: 2]")
    p.add_argument("--check-repeats", type=int, default=None,
                   help="timed calls for the must-show ratios (projection pairs, strand) [default: 5; quick: 2]")
    p.add_argument("--strand-model", default="crnn-320-projection",
                   help="model for strand-averaged vs single-strand inference [default: %(default)s]")
    p.add_argument("--variant-models", default="crnn-320-projection",
                   help="models for the fast-path variants (comma list or group) [default: %(default)s]")
    p.add_argument("--fast-lstm-pairs", default="crnn-320",
                   help="plain models whose plain/projection pair is also timed under --fast-lstm "
                        "(comma list, '' for none) [default: %(default)s]")
    p.add_argument("--variants", default="faithful,xla,fast-lstm,mixed",
                   help=f"comma list from {', '.join(VARIANTS)}; GPU-only ones are skipped on CPU "
                        "[default: %(default)s]")
    p.add_argument("--override", action="append", type=_parse_override, default=[], metavar="KEY=VALUE",
                   help="config override (JSON value) for every model whose config has KEY, e.g. "
                        "filters=16; for tests, the figures then no longer describe the paper's models")
    return p


def _settings(args: argparse.Namespace) -> dict:
    base = QUICK if args.quick else FULL
    s = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in base.items()}
    for key in ("batch_size", "large_batch_size", "repeats", "check_repeats"):
        if s[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1, got {s[key]}")
    if s["warmup"] < 0:
        raise ValueError(f"--warmup must be >= 0, got {s['warmup']}")
    return s


def run(args: argparse.Namespace, argv: Sequence[str] | None) -> dict:
    """Run the selected sections and return the results document."""
    settings = _settings(args)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - {"throughput", "strand", "variants"})
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; choose from throughput, strand, variants")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = sorted(set(variants) - set(VARIANTS))
    if bad:
        raise ValueError(f"unknown variant(s) {bad}; choose from {', '.join(VARIANTS)}")
    overrides = dict(args.override)
    names = expand_models(settings["models"])
    from models.presets import resolve_config

    fast_pairs = [n.strip() for n in args.fast_lstm_pairs.split(",") if n.strip()]
    for name in fast_pairs:
        if name.endswith("-projection") or "gate" not in resolve_config(name):
            raise ValueError(f"--fast-lstm-pairs takes plain LSTM models with a -projection twin, got {name!r}")
    every = names + [args.strand_model] + expand_models(args.variant_models) + fast_pairs + \
        [f"{n}-projection" for n in fast_pairs]
    for name in every:
        resolve_config(name)  # fail fast, before any timing, on an unknown preset name
    unused = sorted(k for k in overrides if not any(k in resolve_config(n) for n in every))
    if unused:
        raise ValueError(f"--override key(s) {unused} match no selected model's config")

    gpu = _gpu_available()
    doc: dict[str, Any] = {
        "benchmark": "models",
        "command": command_string("bench.bench_models", argv),
        "machine": machine_info(),
        "device": "GPU" if gpu else "CPU",
        "settings": {**settings, "models": names, "sections": sections, "overrides": overrides,
                     "fast_lstm_pairs": fast_pairs, "build": build_source(),
                     "optimizer": "Adam(3e-4)", "loss": "binary_crossentropy",
                     "timed": "Model.train_on_batch / Model.predict_on_batch on one fixed random batch"},
    }
    start = time.perf_counter()
    common = dict(batch_size=settings["batch_size"], large_batch_size=settings["large_batch_size"],
                  overrides=overrides)
    errors: list[dict] = []
    if "throughput" in sections:
        doc["models"], doc["projection_pairs"] = bench_throughput(
            names, warmup=settings["warmup"], repeats=settings["repeats"],
            check_repeats=settings["check_repeats"], gpu=gpu, fast_lstm_pairs=fast_pairs, errors=errors, **common)
    if "strand" in sections:
        doc["strand"] = _guarded(errors, f"strand averaging on {args.strand_model}", lambda: bench_strand(
            args.strand_model, warmup=max(settings["warmup"], 1), repeats=settings["check_repeats"], **common))
    if "variants" in sections:
        doc["variants"] = bench_variants(expand_models(args.variant_models), variants, warmup=settings["warmup"],
                                         repeats=settings["repeats"], gpu=gpu, errors=errors, **common)
    doc["errors"] = errors
    doc["elapsed_s"] = time.perf_counter() - start
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        doc = run(args, argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_json(args.json, doc)
    _log(f"wrote {args.json} ({doc['elapsed_s']:.0f} s)")
    if doc["errors"]:
        print(f"error: {len(doc['errors'])} benchmark item(s) failed: "
              + "; ".join(f"{e['what']}: {e['error']}" for e in doc["errors"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
