"""Does Keras ``Model.fit`` train under MultiWorkerMirroredStrategy? Two CPU workers on localhost.

    python scripts/check_keras_fit_multiworker.py      # about a minute per variant on 2 idle cores

Variants (each against the same model trained without a strategy):

- ``stock``: model built and compiled under ``strategy.scope()``, then ``fit`` (what the
  TensorFlow tutorial does).
- ``model-outside-scope``: layers built under the scope, the ``keras.Model`` object created
  outside it, ``fit`` called under it (fit then skips its first ``strategy.reduce`` of a batch).
- ``rank-1-logs``: as above, and ``train_step`` / ``test_step`` return rank-1 logs (fit's
  ``reduce_per_replica`` takes a mean over axis 0, which a scalar lacks).

The result for Keras 3.15.1 / TensorFlow 2.21 is in docs/DISTRIBUTED.md; rerun after an upgrade.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

VARIANTS = ("stock", "model-outside-scope", "rank-1-logs")


def worker(variant: str, index: int, ports: list[int]) -> None:
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                                          "task": {"type": "worker", "index": index}})
    import numpy as np
    import keras
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 8), dtype=np.float32), (rng.random((64, 3)) < 0.5).astype(np.float32)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat().with_options(options)

    class RankOneLogs(keras.Model):
        def train_step(self, data):
            return {k: tf.reshape(v, [1]) for k, v in super().train_step(data).items()}

        def test_step(self, data):
            return {k: tf.reshape(v, [1]) for k, v in super().test_step(data).items()}

    def layers():
        keras.utils.set_random_seed(1)
        inputs = keras.Input((8,))
        hidden = keras.layers.Dense(4, activation="relu")(inputs)
        return inputs, keras.layers.Dense(3, activation="sigmoid")(hidden)

    def train(model):
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
        history = model.fit(dataset, epochs=3, steps_per_epoch=4, verbose=0, validation_data=(x, y),
                            validation_batch_size=16, shuffle=False)
        return {k: [float(np.squeeze(v)) for v in values] for k, values in history.history.items()}

    result: dict = {"variant": variant, "worker": index}
    try:
        with strategy.scope():
            if variant == "stock":
                model = keras.Model(*layers())
                result["history"] = train(model)
            else:
                built = layers()
        if variant != "stock":
            model = (RankOneLogs if variant == "rank-1-logs" else keras.Model)(*built)
            with strategy.scope():
                result["history"] = train(model)
    except Exception as err:  # the point is to see which error: report it, whatever it is
        result["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    if index == 0:
        result["single_worker"] = train(keras.Model(*layers()))
    print("RESULT " + json.dumps(result), flush=True)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def main() -> int:
    if len(sys.argv) == 4:
        worker(sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3].split(",")])
        return 0
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
    for variant in VARIANTS:
        ports = free_ports(2)
        procs = [subprocess.Popen([sys.executable, __file__, variant, str(i), ",".join(map(str, ports))],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
                 for i in range(2)]
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            results += [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
        chief = next((r for r in results if r["worker"] == 0), {"error": "worker 0 printed no result"})
        if "error" in chief:
            print(f"{variant:20s} fails: {chief['error']}")
        else:
            diff = max(abs(a - b) for key in ("loss", "val_loss")
                       for a, b in zip(chief["history"][key], chief["single_worker"][key]))
            print(f"{variant:20s} trains; max |loss difference| vs one worker over 3 epochs: {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
