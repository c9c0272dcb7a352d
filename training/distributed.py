"""Data-parallel training: the strategy for ``--distribute``, the cluster, the chief, and a loop
that trains under ``tf.distribute.MultiWorkerMirroredStrategy``.

Why a loop of our own: Keras 3.15's ``Model.fit`` cannot train under MultiWorkerMirroredStrategy
(keras-team/keras#20585; measured in docs/DISTRIBUTED.md). It first ``strategy.reduce``s a whole
``(x, y)`` batch, which the collective reduce cannot take, and every step's scalar logs then fail
in its ``reduce_per_replica`` (a mean over axis 0 of a scalar). Both can be dodged, but only by
leaning on undocumented behaviour (the strategy captured when the Model object is created) and a
``Model`` subclass that every saved ``.keras`` file would then need; and fit's per-replica mean of
means is not the global batch mean when a worker's share of a batch is smaller. :func:`fit` here
uses public APIs only: ``strategy.run``, the Keras optimizer's own gradient all-reduce, and
``keras.callbacks.CallbackList`` so the usual callbacks (learning-rate plateau, early stopping,
checkpointing) run unchanged.

Guarantees of :func:`fit`: the loss is the mean over the *global* batch whatever its split
(a worker may even get no rows of a small last batch), so with dropout off the history equals
a single worker's with the same global batch up to float summation order; every worker sees the
same logs, so callbacks decide alike; a lost worker ends every other one with
:class:`ClusterError` (TensorFlow's coordination service notices a silent peer within about 10 s)
instead of a hang.

Only the chief (:func:`is_chief`; known before the cluster forms from :func:`chief_task`) may
write the run directory; the others run the same callbacks with writing turned off.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import subprocess
import sys
from typing import Any, Callable, Mapping, Sequence

import numpy as np

import cli

cli.quiet_tensorflow()
import tensorflow as tf  # noqa: E402

DISTRIBUTE_CHOICES = ("none", "mirrored", "multi-worker")
# Ports of the workers on one node under SLURM: PORT_BASE, PORT_BASE + 1, ... (one per task).
DEFAULT_PORT_BASE = 8888
# How long the workers wait for each other at start-up before giving up.
DEFAULT_STARTUP_TIMEOUT = 600.0
# What a worker sees when a peer dies: the coordination service or gRPC aborts the collectives.
PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
               tf.errors.CancelledError)


class ClusterError(cli.UserError):
    """The workers cannot form a cluster, or one was lost: one line for the user, exit status
    :data:`cli.EXIT_CLUSTER`."""

    exit_code = cli.EXIT_CLUSTER


# --- the cluster ---------------------------------------------------------------------------------

def _slurm_step_tasks(environ: Mapping[str, str]) -> int | None:
    value = environ.get("SLURM_STEP_NUM_TASKS")
    return int(value) if value and value.isdigit() else None


def cluster_source(environ: Mapping[str, str] | None = None) -> str | None:
    """Where the cluster comes from: ``"TF_CONFIG"``, ``"SLURM"`` (inside ``srun``), or None."""
    environ = os.environ if environ is None else environ
    if environ.get("TF_CONFIG"):
        return "TF_CONFIG"
    if _slurm_step_tasks(environ):
        return "SLURM"
    return None


def cluster_resolver(port_base: int = DEFAULT_PORT_BASE, environ: Mapping[str, str] | None = None):
    """The cluster of a multi-worker run, from ``TF_CONFIG`` if set, else from the SLURM job step.

    Under SLURM every task of the step is a worker (rank = ``SLURM_PROCID``, task 0 the chief) on
    port ``port_base + local rank``. GPUs are not reassigned: each task trains on all the GPUs it
    sees (bind them with ``srun --gpus-per-task`` or run one task per node). Raises
    :class:`ClusterError` when neither is there or ``TF_CONFIG`` is malformed.
    """
    environ = os.environ if environ is None else environ
    resolvers = tf.distribute.cluster_resolver
    source = cluster_source(environ)
    if source == "TF_CONFIG":
        try:
            config = json.loads(environ["TF_CONFIG"])
        except json.JSONDecodeError as err:
            raise ClusterError(f"TF_CONFIG is not valid JSON ({err})") from None
        cluster, task = (config.get("cluster"), config.get("task")) if isinstance(config, dict) else (None, None)
        if not isinstance(cluster, dict) or not isinstance(task, dict):
            raise ClusterError('TF_CONFIG needs {"cluster": {"worker": ["host:port", ...]}, '
                               '"task": {"type": "worker", "index": I}}')
        kind, index = task.get("type"), task.get("index")
        members = cluster.get(kind) if kind in ("worker", "chief") else None
        if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
            raise ClusterError(f"TF_CONFIG task {task} is not one of its cluster's workers or chief "
                               f"({ {k: len(v) for k, v in cluster.items() if isinstance(v, list)} })")
        extra = sorted(set(cluster) - {"worker", "chief"})
        if extra:
            raise ClusterError(f"TF_CONFIG cluster has job(s) {extra}; multi-worker training takes only "
                               "'worker' (and optionally one 'chief')")
        return resolvers.TFConfigClusterResolver()
    if source == "SLURM":
        try:
            # Largest tasks-per-node entry, e.g. "2(x3),1" -> 2. The resolver lays out the ports by
            # its GPU bookkeeping (one "GPU" per task here; auto_set_gpu=False assigns none).
            per_node = max(int(part.split("(")[0]) for part in environ["SLURM_STEP_TASKS_PER_NODE"].split(","))
            return _SlurmResolver(port_base=port_base, gpus_per_node=per_node, gpus_per_task=1,
                                  auto_set_gpu=False)
        except (KeyError, ValueError, RuntimeError) as err:
            raise ClusterError(f"cannot read the SLURM job step ({err}); run under srun") from None
    raise ClusterError("--distribute multi-worker needs TF_CONFIG (see docs/DISTRIBUTED.md) or a SLURM "
                       "job step (srun); neither is set")


class _SlurmResolver(tf.distribute.cluster_resolver.SlurmClusterResolver):
    """The SLURM job step's cluster, reporting the GPUs this task sees (SLURM has bound them):
    ``num_accelerators()`` is what MultiWorkerMirroredStrategy replicates over, and the stock
    resolver would report its bookkeeping count instead."""

    def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
        return {"GPU": len(tf.config.list_physical_devices("GPU"))}


def _workers(spec: Mapping[str, Sequence[str]]) -> list[str]:
    return list(spec.get("chief", [])) + list(spec.get("worker", []))


def chief_task(resolver) -> bool:
    """Whether this task will be the chief, known before the cluster forms: task 0 of the
    ``chief`` job if there is one, else worker 0 (TensorFlow's rule; :func:`make_strategy` checks
    that its ``should_checkpoint`` agrees)."""
    jobs = resolver.cluster_spec().as_dict()
    chief_job = "chief" if jobs.get("chief") else "worker"
    return resolver.task_type == chief_job and int(resolver.task_id) == 0


# Run in a child process: forming the cluster blocks inside TensorFlow's C++ runtime while holding
# the GIL (no Python thread or signal handler of this process runs), and TensorFlow's coordination
# service takes over SIGTERM; so the watchdog is another process, and its last resort is SIGKILL.
_WATCHDOG = """
import os, select, signal, sys
parent, timeout, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
if not select.select([sys.stdin], [], [], timeout)[0]:  # the parent closes stdin once it is through
    sys.stderr.write(message + "\\n")
    sys.stderr.flush()
    os.kill(parent, signal.SIGKILL)
"""


@contextlib.contextmanager
def _startup_watchdog(timeout: float, what: str):
    """Kill this process, after one line on stderr, if the block has not finished within ``timeout`` s."""
    message = (f"error: {what} did not come up within {timeout:g} s; check that every worker was started "
               "with the same cluster and that its ports are reachable")
    watchdog = subprocess.Popen([sys.executable, "-S", "-c", _WATCHDOG, str(os.getpid()), str(timeout), message],
                                stdin=subprocess.PIPE)
    try:
        yield
    finally:
        watchdog.stdin.close()
        watchdog.wait()


def make_strategy(kind: str, *, port_base: int = DEFAULT_PORT_BASE,
                  startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
                  collective_timeout: float | None = None) -> tf.distribute.Strategy:
    """The strategy for ``--distribute``: ``none`` (TensorFlow's default), ``mirrored`` (every local
    GPU, else every logical CPU), ``multi-worker`` (:func:`cluster_resolver`; blocks until every
    worker has joined and one all-reduce went round; after ``startup_timeout`` s without that the
    process prints one ``error:`` line and is killed: exit status 137, -9 to Python).

    ``collective_timeout`` (seconds) makes every collective fail after that long
    (``CommunicationOptions.timeout_seconds``; TensorFlow starts a thread per collective for it, so
    it is off by default: a dead peer is caught by the coordination service's heartbeat anyway).
    """
    if kind not in DISTRIBUTE_CHOICES:
        raise ValueError(f"kind must be one of {', '.join(DISTRIBUTE_CHOICES)}, got {kind!r}")
    if kind == "none":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or \
                  [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    resolver = cluster_resolver(port_base)
    workers = _workers(resolver.cluster_spec().as_dict())
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
    own = resolver.cluster_spec().task_address(resolver.task_type, resolver.task_id)
    try:
        with _startup_watchdog(startup_timeout, f"the {len(workers)}-worker cluster ({', '.join(workers)})"):
            try:
                strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver,
                                                                     communication_options=options)
            except tf.errors.UnknownError as err:  # e.g. "Could not start gRPC server"
                raise ClusterError(f"this worker cannot listen on {own}, its address in the cluster "
                                   f"({_first_line(err)}); is the port in use?") from None
            all_workers_sum(strategy, 1.0)  # a first collective: every worker is really there
    except PEER_ERRORS as err:
        raise ClusterError(f"the {len(workers)}-worker cluster failed while starting: {_first_line(err)}") from None
    if is_chief(strategy) != chief_task(resolver):
        raise RuntimeError("TensorFlow's choice of the chief differs from distributed.chief_task")
    return strategy


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this worker may write the run directory (always, without a multi-worker cluster)."""
    return bool(strategy.extended.should_checkpoint)


def describe(strategy: tf.distribute.Strategy, kind: str) -> dict[str, Any]:
    """What config.json records about the distribution (written by the chief, so its task)."""
    info: dict[str, Any] = {"strategy": kind, "replicas": int(strategy.num_replicas_in_sync), "workers": 1,
                            "devices": list(_local_devices(strategy))}
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        resolver = strategy.cluster_resolver
        workers = _workers(resolver.cluster_spec().as_dict())
        info.update({"workers": len(workers), "cluster": workers, "cluster_source": cluster_source(),
                     "task": {"type": resolver.task_type, "index": int(resolver.task_id)}})
    return info


def _local_devices(strategy) -> Sequence[str]:
    try:
        return strategy.extended.worker_devices
    except RuntimeError:  # the default strategy has no device list
        return ()


def _first_line(err: Exception) -> str:
    text = getattr(err, "message", None) or str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # TensorFlow's messages start with "Graph execution error:" and the op's traceback.
    useful = [line for line in lines if "aborted" in line.lower() or "unhealthy" in line.lower()
              or "unavailable" in line.lower() or "connection" in line.lower()]
    return (useful or lines or [type(err).__name__])[0][:300]


# --- collectives ------------------------------------------------------------------------------------

def all_workers_sum(strategy: tf.distribute.Strategy, value: float) -> float:
    """``value`` summed over the workers (every local replica counts it once per worker)."""
    return float(_sum_function(strategy)(tf.constant(value, tf.float64)))


@functools.lru_cache(maxsize=8)
def _sum_function(strategy: tf.distribute.Strategy):
    """One traced all-reduce per strategy (a new tf.function per call would retrace every time)."""
    local = len(_local_devices(strategy)) or 1

    @tf.function
    def reduce(value):
        def replica_fn(v):
            return tf.distribute.get_replica_context().all_reduce("SUM", v / local)
        return strategy.experimental_local_results(strategy.run(replica_fn, args=(value,)))[0]

    return reduce


def barrier(strategy: tf.distribute.Strategy) -> None:
    """Wait until every worker gets here. Call it last, after the chief's final writes: workers that
    leave together do not see each other vanish (the coordination service logs a crash otherwise)."""
    try:
        all_workers_sum(strategy, 0.0)
    except PEER_ERRORS as err:
        raise ClusterError(f"a worker was lost at the end of training ({_first_line(err)})") from None


def digest(record: Mapping[str, Any]) -> str:
    """A short digest of a JSON-able record (what the workers must agree on)."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()[:24]


def same_on_every_worker(strategy: tf.distribute.Strategy, text: str) -> bool:
    """Whether every worker passed the same ``text`` (a :func:`digest`): all replicas gather
    its bytes, so the answer is the same on every worker."""
    chunks = np.frombuffer(text.encode().ljust(24)[:24], dtype=np.uint8).astype(np.float64)

    @tf.function
    def gather():
        def replica_fn():
            return tf.distribute.get_replica_context().all_gather(tf.constant(chunks[None, :]), axis=0)
        return strategy.experimental_local_results(strategy.run(replica_fn))[0]

    try:
        rows = gather().numpy()
    except PEER_ERRORS as err:
        raise ClusterError(f"a worker was lost while starting ({_first_line(err)})") from None
    return bool((rows == rows[0]).all())


# --- the loop -------------------------------------------------------------------------------------

DatasetFn = Callable[[int, Sequence[int]], tf.data.Dataset]


def _distribute(strategy, dataset_fn: DatasetFn):
    """A distributed dataset whose pipeline on each worker feeds that worker's replicas."""

    def per_pipeline(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
        local = ctx.num_replicas_in_sync // ctx.num_input_pipelines
        first = ctx.input_pipeline_id * local
        return dataset_fn(ctx.num_replicas_in_sync, range(first, first + local))

    return strategy.distribute_datasets_from_function(per_pipeline)


def array_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> DatasetFn:
    """In-memory arrays (validation data) in file order, each global batch of ``batch_size`` rows
    split over the replicas like the training batches (``data.pipeline.split_batch``)."""
    from data.pipeline import split_batch

    if len(x) != len(y) or len(x) < 1:
        raise ValueError(f"x and y must have the same, positive number of rows, got {len(x)} and {len(y)}")
    steps = math.ceil(len(x) / batch_size)

    def dataset_fn(num_replicas: int, replica_ids: Sequence[int]) -> tf.data.Dataset:
        width = math.ceil(batch_size / num_replicas)
        rows = np.full((steps, len(replica_ids), width), -1, dtype=np.int64)
        for step in range(steps):
            parts = split_batch(np.arange(step * batch_size, min(len(x), (step + 1) * batch_size)), num_replicas)
            for slot, replica in enumerate(replica_ids):
                rows[step, slot, :parts[replica].size] = parts[replica]

        def gather(index):
            return x[index], y[index]

        def load(r):
            dtypes = [tf.as_dtype(x.dtype), tf.as_dtype(y.dtype)]
            xs, ys = tf.numpy_function(gather, [tf.boolean_mask(r, r >= 0)], dtypes, stateful=False)
            return tf.ensure_shape(xs, (None, *x.shape[1:])), tf.ensure_shape(ys, (None, *y.shape[1:]))

        return tf.data.Dataset.from_tensor_slices(rows.reshape(-1, width)).map(load).prefetch(2)

    dataset_fn.steps = steps  # type: ignore[attr-defined]
    return dataset_fn


def _per_sample_loss(model):
    import keras

    loss = model.loss
    if isinstance(loss, str) or (callable(loss) and not isinstance(loss, keras.losses.Loss)):
        return keras.losses.get(loss)
    raise ValueError(f"distributed.fit needs a loss compiled as a name or function, got {loss!r}")


def _steps(model, strategy):
    """The distributed train and evaluation steps: per-replica sums of per-sample losses, all-reduced."""
    import keras

    loss_fn = _per_sample_loss(model)
    optimizer = model.optimizer
    num_replicas = strategy.num_replicas_in_sync
    scales_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def extra_losses():
        return tf.add_n([tf.cast(v, tf.float32) for v in model.losses]) if model.losses else tf.constant(0.0)

    def replica_train(x, y):
        variables = model.trainable_variables
        n_local = tf.cast(tf.shape(y)[0], tf.float32)
        n_global = tf.distribute.get_replica_context().all_reduce("SUM", n_local)

        def loss_and_gradients():
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss_sum = tf.reduce_sum(tf.cast(loss_fn(y, y_pred), tf.float32))
                extra = extra_losses()
                # Summed over replicas: the global-batch mean plus the regularisation losses once.
                loss = loss_sum / n_global + extra / num_replicas
                scaled = optimizer.scale_loss(loss) if scales_loss else loss
            gradients = tape.gradient(scaled, variables)
            return [loss_sum + extra * n_local] + [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                                                   for g, v in zip(gradients, variables)]

        def nothing():  # no rows of this batch here (an LSTM cannot take the gradient of 0 rows)
            return [tf.constant(0.0)] + [tf.zeros_like(v) for v in variables]

        total, *gradients = tf.cond(n_local > 0, loss_and_gradients, nothing)
        optimizer.apply_gradients(zip(gradients, variables))  # all-reduces the gradients (SUM)
        return total, n_local

    def replica_eval(x, y):
        n_local = tf.cast(tf.shape(y)[0], tf.float32)

        def loss_sum():
            y_pred = model(x, training=False)
            return tf.reduce_sum(tf.cast(loss_fn(y, y_pred), tf.float32)) + extra_losses() * n_local

        return tf.cond(n_local > 0, loss_sum, lambda: tf.constant(0.0)), n_local

    def run(replica_fn):
        @tf.function
        def step(iterator):
            x, y = next(iterator)
            total, count = strategy.run(replica_fn, args=(x, y))
            return strategy.reduce("SUM", total, axis=None), strategy.reduce("SUM", count, axis=None)
        return step

    return run(replica_train), run(replica_eval)


def fit(model, strategy: tf.distribute.Strategy, train_data: DatasetFn, *, epochs: int, steps_per_epoch: int,
        validation_data: tuple[np.ndarray, np.ndarray], validation_batch_size: int = 256,
        initial_epoch: int = 0, callbacks: Sequence = (), verbose: int = 1):
    """Train ``model`` (built and compiled under ``strategy.scope()``) like ``Model.fit`` would.

    ``train_data(num_replicas, replica_ids)`` returns the infinite stream of per-replica batches one
    worker feeds to ``replica_ids`` (``data.pipeline.train_dataset`` with those two arguments);
    ``steps_per_epoch`` global batches make an epoch. After each epoch the whole validation set is
    evaluated, split over all replicas. Callbacks see ``loss`` (running mean over the epoch's
    samples) after every batch and ``loss`` and ``val_loss`` after every epoch, may change
    ``model.optimizer.learning_rate`` and set ``model.stop_training``; a progress bar is shown on
    the chief only. Returns the ``keras.callbacks.History``. A lost worker raises :class:`ClusterError`.
    """
    import keras

    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
    with strategy.scope():
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    train_step, eval_step = _steps(model, strategy)
    x_valid, y_valid = validation_data
    valid = array_batches(x_valid, y_valid, validation_batch_size)
    valid_dataset, valid_steps = _distribute(strategy, valid), valid.steps  # type: ignore[attr-defined]
    chief = is_chief(strategy)
    callback_list = keras.callbacks.CallbackList(
        list(callbacks), add_history=True, add_progbar=bool(verbose) and chief, model=model,
        verbose=verbose if chief else 0, epochs=epochs, steps=steps_per_epoch)
    model.stop_training = False
    logs: dict[str, float] = {}
    where = "before the first batch"
    try:
        train_iterator = iter(_distribute(strategy, train_data))
        callback_list.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            total = count = 0.0
            for step in range(steps_per_epoch):
                where = f"during epoch {epoch + 1}, batch {step + 1}"
                callback_list.on_train_batch_begin(step)
                batch_total, batch_count = train_step(train_iterator)
                total, count = total + float(batch_total), count + float(batch_count)
                callback_list.on_train_batch_end(step, {"loss": total / count})
                if model.stop_training:
                    break
            where = f"while validating epoch {epoch + 1}"
            logs = {"loss": total / count, "val_loss": _evaluate(eval_step, valid_dataset, valid_steps)}
            where = f"at the end of epoch {epoch + 1}"
            callback_list.on_epoch_end(epoch, logs)
            # Every worker saw the same logs, so the callbacks agree; the sum makes sure of it.
            if all_workers_sum(strategy, float(bool(model.stop_training))) > 0:
                model.stop_training = True
                break
    except PEER_ERRORS as err:
        raise ClusterError(f"a worker was lost {where} ({_first_line(err)}); the last completed epoch's "
                           "checkpoint is kept: start every worker again with --resume") from None
    callback_list.on_train_end(logs)
    return model.history


def _evaluate(eval_step, dataset, steps: int) -> float:
    iterator = iter(dataset)
    total = count = 0.0
    for _ in range(steps):
        batch_total, batch_count = eval_step(iterator)
        total, count = total + float(batch_total), count + float(batch_count)
    return total / count
