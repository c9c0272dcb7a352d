"""Table: train.py's real step rate (input pipeline and callbacks included) against bare train_on_batch.

``python train.py`` trains crnn-320-projection on a synthetic 1000 bp store
(``python -m data.synthetic``) for a few short epochs; its per-epoch wall time is history.csv's
``seconds`` (from the start of the epoch to the end of its validation). Epoch 1 is left out (it
traces the train and validation steps), and validation is kept to one strand pair
(``--max-valid-samples 2``); its cost, measured in the bare process, is subtracted (both figures
are shown). The bare rate is ``train_on_batch`` of the same build, compiled as train.py compiles it,
on one fixed batch of the same size, in a separate process (``python -m bench.train_loop``), run
before and after train.py so a change of machine load shows. Target: train.py within 10%.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from bench import timing

TITLE = "train.py against bare train_on_batch"
TARGET = 1.10
ROOT = Path(__file__).resolve().parent.parent

FULL = {"model": "crnn-320-projection", "batch": 256, "steps": 12, "epochs": 4, "n_train": 4096, "overrides": {}}
QUICK = {"model": "crnn-320-projection", "batch": 4, "steps": 2, "epochs": 2, "n_train": 64,
         "overrides": {"filters": 8, "projection_dim": 4, "lstm_units": 4, "hidden_units": 8,
                       "sequence_length": 200}}


def override_flags(overrides: dict) -> list[str]:
    """train.py flags for model overrides, e.g. {"lstm_units": 4} -> ["--lstm-units", "4"]."""
    return [arg for key, value in overrides.items() for arg in (f"--{key.replace('_', '-')}", str(value))]


def run_train_py(data: Path, out: Path, settings: dict) -> list[dict]:
    """``python train.py`` for ``settings["epochs"]`` epochs; its history rows (rundir.RunDir)."""
    import rundir

    command = [sys.executable, "train.py", "--model", settings["model"], "--data", str(data), "--out", str(out),
               "--epochs", str(settings["epochs"]), "--steps-per-epoch", str(settings["steps"]),
               "--batch-size", str(settings["batch"]), "--max-valid-samples", "2", "--verbose", "2",
               *override_flags(settings["overrides"])]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"train.py failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return rundir.RunDir(out).history()


def run_bare(settings: dict) -> dict:
    """``python -m bench.train_loop`` (bare train_on_batch) in a child process; its JSON."""
    command = [sys.executable, "-m", "bench.train_loop", "--model", settings["model"],
               "--batch-size", str(settings["batch"]), "--steps", str(settings["steps"] * settings["epochs"]),
               "--json-overrides", json.dumps(settings["overrides"])]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.train_loop failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bare_epochs(bare: dict, steps: int) -> list[float]:
    """The bare steps grouped into epochs of ``steps``, the first (tracing) epoch left out."""
    walls = bare["steps"]
    return [sum(walls[i:i + steps]) for i in range(steps, len(walls) - steps + 1, steps)]


def measure(settings: dict) -> dict[str, Any]:
    from data.synthetic import main as synthetic

    with tempfile.TemporaryDirectory(prefix="bench_train_loop_") as tmp:
        data = Path(tmp) / "data"
        if synthetic([str(data), "--n-train", str(settings["n_train"]), "--n-valid", "2", "--n-test", "2"]) != 0:
            raise RuntimeError("python -m data.synthetic failed")
        timing.log("train loop: bare train_on_batch")
        before = run_bare(settings)
        timing.log("train loop: python train.py")
        load = timing.load_average()
        start = time.perf_counter()
        history = run_train_py(data, Path(tmp) / "run", settings)
        train_wall = time.perf_counter() - start
        timing.log("train loop: bare train_on_batch again")
        after = run_bare(settings)
    epochs = [row["seconds"] for row in history[1:]]
    validation = statistics.median([before["evaluate_s"], after["evaluate_s"]])
    bare = bare_epochs(before, settings["steps"]) + bare_epochs(after, settings["steps"])
    train_net = statistics.median(epochs) - validation
    return {"epochs": epochs, "validation_s": validation, "train_net_s": train_net, "train_wall_s": train_wall,
            "bare_before": bare_epochs(before, settings["steps"]), "bare_after": bare_epochs(after, settings["steps"]),
            "bare_s": statistics.median(bare), "load": load, "ratio": train_net / statistics.median(bare),
            "passed": train_net / statistics.median(bare) <= TARGET}


def markdown(result: dict, settings: dict) -> list[str]:
    s, b = settings["steps"], settings["batch"]
    flags = " ".join(override_flags(settings["overrides"]))
    out = [f"`python train.py --model {settings['model']} --data SYNTHETIC --out RUN --epochs {settings['epochs']} "
           f"--steps-per-epoch {s} --batch-size {b} --max-valid-samples 2 --verbose 2{' ' + flags if flags else ''}` "
           f"on `python -m data.synthetic SYNTHETIC --n-train {settings['n_train']} --n-valid 2 --n-test 2` "
           f"(1000 bp; train.py converts it to a store first), epochs 2-{settings['epochs']}; against "
           f"`python -m bench.train_loop --model {settings['model']} --batch-size {b} --steps "
           f"{s * settings['epochs']}` (bare `train_on_batch`, one fixed batch; steps {s + 1}-"
           f"{s * settings['epochs']} in epochs of {s}) before and after it. Load average when train.py "
           f"started: {result['load']}.", ""]

    def row(name, epochs, net):
        median = statistics.median(epochs)
        return [name, len(epochs), ", ".join(f"{e:.2f}" for e in epochs), f"{median:.2f}", f"{net:.2f}",
                f"{s * b / net:,.1f}"]

    rows = [row("bare `train_on_batch`, before", result["bare_before"], statistics.median(result["bare_before"])),
            row("`python train.py` (history.csv `seconds`)", result["epochs"], result["train_net_s"]),
            row("bare `train_on_batch`, after", result["bare_after"], statistics.median(result["bare_after"]))]
    out += timing.table(["run", "epochs", f"seconds per {s}-step epoch", "median (s)",
                         "minus validation (s)", "train seq/s"], rows)
    out += ["", f"Validation of one strand pair (`Model.evaluate`, measured in the bare processes): "
            f"{result['validation_s']:.3f} s per epoch. train.py / bare (medians, validation subtracted): "
            f"**{result['ratio']:.3f}** (target <= {TARGET:.2f}: {timing.verdict(result['passed'])})."]
    return out


def checks(result: dict) -> list[dict]:
    return [{"check": "train.py's epoch time within 10% of bare train_on_batch",
             "measured": f"{result['ratio']:.3f}x", "passed": result["passed"]}]


def main(argv: Sequence[str] | None = None) -> int:
    """The bare loop: ``train_on_batch`` of a preset on one fixed batch, per-step wall seconds, and the
    cost of validating one strand pair with ``Model.evaluate``, as one JSON line on stdout."""
    parser = argparse.ArgumentParser(prog="python -m bench.train_loop", description=main.__doc__.split(",")[0])
    parser.add_argument("--model", default="crnn-320-projection", help="preset [default: %(default)s]")
    parser.add_argument("--batch-size", type=int, default=256, help="[default: %(default)s]")
    parser.add_argument("--steps", type=int, default=48, help="timed steps [default: %(default)s]")
    parser.add_argument("--json-overrides", default="{}", help="model overrides as JSON [default: %(default)s]")
    args = parser.parse_args(argv)
    import cli

    cli.quiet_tensorflow()
    model = timing.build_model(args.model, json.loads(args.json_overrides))
    step = timing.train_step(model, args.batch_size)
    walls = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        walls.append(time.perf_counter() - start)
    x, y = timing.random_batch(2, model.input_shape[1], model.output_shape[-1], seed=1)
    evaluate = timing.interleaved({"evaluate": lambda: model.evaluate(x, y, batch_size=args.batch_size, verbose=0)},
                                  warmup=1, repeats=3)["evaluate"]
    print(json.dumps({"steps": walls, "evaluate_s": evaluate.median()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
