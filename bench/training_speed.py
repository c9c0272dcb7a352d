"""Table: training throughput of every paper model, against the machine and against its FLOPs.

Every Table 1 model and the CNN grid of Fig. 1, built as train.py builds them
(``training.settings.build``) and compiled as it compiles them, timed with ``train_on_batch`` on a
fixed batch. Each model is timed round-robin with its projection twin and a float32 matmul (the
machine's yardstick) in one process (``bench.timing.interleaved``). Reported: sequences/s, hours
per full-data epoch, the FLOP rate counted from the layers (``models.flops``) and its share of the
matmul's; for each pair, the projection's speedup against the FLOP ratio (target: >= 90%).
"""
from __future__ import annotations

from typing import Any

from bench import timing

TITLE = "Training throughput, every model (train_on_batch)"
TABLE1 = ("deepsea", "danq-original", "danq-jaspar", "crnn-320", "crnn-320-projection", "crnn-700",
          "crnn-700-projection")
CNN_GRID = tuple(f"cnn-{n}{s}" for n in (300, 500, 750, 1000) for s in ("", "-projection"))
#: Models over this many parameters train at ``large_batch`` (memory and time on a CPU).
LARGE_MODEL_PARAMS = 20_000_000
#: The projection speedup must reach this share of the executed FLOP ratio.
FLOP_RATIO_TARGET = 0.90

FULL = {"models": TABLE1 + CNN_GRID, "batch": 256, "large_batch": 64, "matmul": 2048, "warmup": 2,
        "repeats": 5, "overrides": {}}
#: bench/gpu.sh: every model at batch 256.
GPU = {**FULL, "large_batch": 256}
#: Smoke test: one shrunken pair, seconds.
QUICK = {"models": ("cnn-300", "cnn-300-projection"), "batch": 4, "large_batch": 2, "matmul": 128,
         "warmup": 1, "repeats": 2, "overrides": {"filters": 16, "hidden_units": 8, "num_targets": 8}}


def groups(names) -> list[list[str]]:
    """Each model with its ``-projection`` twin when both are asked for, in the order given."""
    out: list[list[str]] = []
    for name in names:
        if any(name in group for group in out):
            continue
        twin = name.removesuffix("-projection") if name.endswith("-projection") else f"{name}-projection"
        pair = sorted([name, twin], key=lambda n: n.endswith("-projection"))
        out.append(pair if twin in names else [name])
    return out


def measure(settings: dict) -> dict[str, Any]:
    """Time every model (grouped with its twin and the matmul); rows and pair ratios."""
    from models import flops

    rows, pairs = {}, []
    for group in groups(settings["models"]):
        timing.log(f"training: {' vs '.join(group)}")
        matmul, matmul_flops = timing.matmul_step(settings["matmul"])
        calls, info = {"matmul": matmul}, {}
        for name in group:
            model = timing.build_model(name, settings["overrides"])
            batch = settings["large_batch"] if model.count_params() > LARGE_MODEL_PARAMS else settings["batch"]
            info[name] = {"params": model.count_params(), "batch": batch, "length": model.input_shape[1],
                          "flops": flops.training_flops(model),
                          "executed_flops": flops.executed_training_flops(model)}
            calls[name] = timing.train_step(model, batch)
        times = timing.interleaved(calls, warmup=settings["warmup"], repeats=settings["repeats"])
        for name in group:
            r, t, m = info[name], times[name], times["matmul"]
            # per round: model FLOP rate / matmul FLOP rate, by wall and by CPU seconds
            r["matmul_share"] = timing.speedup(m, t, "wall", (matmul_flops, r["flops"] * r["batch"]))
            r["matmul_share_cpu"] = timing.speedup(m, t, "cpu", (matmul_flops, r["flops"] * r["batch"]))
            r.update(seq_per_s=t.rate(r["batch"]), gflops=r["flops"] * t.rate(r["batch"]) / 1e9,
                     matmul_gflops=matmul_flops / m.median() / 1e9, times=vars(t))
            rows[name] = r
        if len(group) == 2:
            plain, proj = group
            per = (info[plain]["batch"], info[proj]["batch"])
            ratio = info[plain]["executed_flops"] / info[proj]["executed_flops"]
            wall = timing.speedup(times[plain], times[proj], "wall", per)
            cpu = timing.speedup(times[plain], times[proj], "cpu", per)
            pairs.append({"plain": plain, "projection": proj, "speedup": wall, "speedup_cpu": cpu,
                          "flop_ratio": info[plain]["flops"] / info[proj]["flops"], "executed_ratio": ratio,
                          "share": wall / ratio, "share_cpu": cpu / ratio,
                          "passed": cpu / ratio >= FLOP_RATIO_TARGET})
        del calls
        timing.release()
    return {"rows": rows, "pairs": pairs}


def markdown(result: dict, settings: dict) -> list[str]:
    rows = result["rows"]
    out = [f"Batch {settings['batch']} (models over {LARGE_MODEL_PARAMS // 10**6}M parameters: "
           f"{settings['large_batch']}, a lower bound on their speed); {settings['repeats']} timed rounds "
           f"after {settings['warmup']} warm-up; float32. Full-data epoch = "
           f"{timing.FULL_TRAIN_SEQUENCES:,} sequences at the measured rate (the CNN grid trains on 500 bp "
           "crops). GFLOP/s counts training as 3 x the forward multiply-adds of the conv, dense and LSTM "
           f"layers (`models.flops`); 'of matmul' is that rate over a {settings['matmul']} x "
           f"{settings['matmul']} float32 matmul's in the same rounds (wall, CPU time).", ""]
    body = []
    for name in [n for n in settings["models"] if n in rows]:
        r = rows[name]
        body.append([name, f"{r['params']:,}", r["length"], r["batch"], f"{r['seq_per_s']:,.1f}",
                     f"{timing.full_epoch_hours(r['seq_per_s']):.1f}", f"{r['flops'] / 1e9:.3f}",
                     f"{r['gflops']:,.1f}", f"{r['matmul_gflops']:,.1f}",
                     f"{timing.percent(r['matmul_share'])}, {timing.percent(r['matmul_share_cpu'])}"])
    out += timing.table(["model", "params", "length", "batch", "train seq/s", "full-data epoch (h)",
                         "train GFLOP/seq", "GFLOP/s", "matmul GFLOP/s", "of matmul (wall, CPU)"], body)
    if result["pairs"]:
        out += ["", "#### Projection speedup against the FLOP ratio", "",
                "Speedup = median over rounds of (plain seconds per sequence) / (projection seconds per "
                "sequence), the two timed back to back in each round. FLOP ratio: counted from the layers; "
                "'executed' leaves out the first layer's input gradient, which TensorFlow does not compute "
                f"(docs/ROOFLINE.md). Target: speedup >= {timing.percent(FLOP_RATIO_TARGET)} of the "
                "executed FLOP ratio, judged on CPU time (the steadier measure on a shared machine).", ""]
        out += timing.table(
            ["pair", "FLOP ratio", "executed FLOP ratio", "speedup (wall)", "of executed", "speedup (CPU)",
             "of executed", "target >= 90%"],
            [[f"{p['plain']} / {p['projection']}", f"{p['flop_ratio']:.2f}x", f"{p['executed_ratio']:.2f}x",
              f"{p['speedup']:.2f}x", timing.percent(p["share"]), f"{p['speedup_cpu']:.2f}x",
              timing.percent(p["share_cpu"]), timing.verdict(p["passed"])] for p in result["pairs"]])
    return out


#: Issue 14: the faithful CRNN-320-projection's float32 training FLOP rate against the matmul's.
MATMUL_SHARE_TARGET = ("crnn-320-projection", 0.55)


def checks(result: dict) -> list[dict]:
    model, share = MATMUL_SHARE_TARGET
    out = []
    if model in result["rows"]:
        r = result["rows"][model]
        out.append({"check": f"{model} float32 training FLOP rate >= {timing.percent(share)} of the matmul's "
                             f"(batch {r['batch']}, CPU time)",
                    "measured": f"{timing.percent(r['matmul_share_cpu'])} (wall {timing.percent(r['matmul_share'])})",
                    "passed": r["matmul_share_cpu"] >= share})
    return out + [{"check": f"{p['projection']} speedup >= 90% of the executed FLOP ratio (CPU time)",
             "measured": f"{timing.percent(p['share_cpu'])} ({p['speedup_cpu']:.2f}x of "
                         f"{p['executed_ratio']:.2f}x)", "passed": p["passed"]} for p in result["pairs"]]


def fastest(result: dict) -> tuple[str, int, float]:
    """(model, sequence length, train seq/s) of the fastest model measured."""
    name, r = max(result["rows"].items(), key=lambda item: item[1]["seq_per_s"])
    return name, r["length"], r["seq_per_s"]
