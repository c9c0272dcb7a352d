"""Conventions shared by every command (train.py, evaluate.py, predict.py, python -m ...).

* One user-error type, :class:`UserError`: every library error a user can fix subclasses it
  (``data.mat.DataError``, ``rundir.RunDirError``, ``models.published.WeightsError``, ...), and its
  message names the file and the problem.
* One exit-code convention: :data:`EXIT_USAGE` for bad input or flags (argparse's own code),
  :data:`EXIT_DIVERGED` when training produced NaN, :data:`EXIT_IO` when the system refused a read
  or write (disk full, permission), :data:`EXIT_CLUSTER` when a multi-worker run's cluster cannot
  form or loses a worker (``training.distributed.ClusterError``; a worker whose peers never join
  is killed by its start-up watchdog after its ``error:`` line, status 137), :data:`EXIT_INTERRUPTED`
  for Ctrl-C.
* :func:`quiet_tensorflow` imports TensorFlow with its start-up chatter (absl's pre-init warning,
  oneDNN and CUDA notices, cuInit errors) kept off the terminal, so a bad input prints one line.
* :func:`run_command` wraps a command's ``main`` so that each of those errors becomes one line.
"""
from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
from typing import Callable, Sequence

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_IO = 4
EXIT_CLUSTER = 5
EXIT_INTERRUPTED = 130

#: errno values meaning "no room to write" (ENOSPC; EDQUOT for quotas; EFBIG for a file-size limit).
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

# Lines TensorFlow's C++ runtime writes to fd 2 while it starts, before Python logging exists.
_TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|To enable the following instructions:"
    r"|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cuda_platform|cpu_feature_guard|cuda_dnn|cuda_fft"
    r"|cuda_blas|cuda_executor|gpu_device|computation_placer|service|xla_bridge)\.cc:\d+\])")


class UserError(Exception):
    """A problem the user can fix: reported as one line (``error: <message>``), exit status 2."""

    exit_code = EXIT_USAGE


def quiet_tensorflow() -> None:
    """Import TensorFlow (and find its devices) with its start-up lines filtered out of stderr.

    TensorFlow prints these from C++ before ``TF_CPP_MIN_LOG_LEVEL`` takes effect, so they are
    caught at the file-descriptor level; any other line written meanwhile is passed on.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # runs cuInit and its error line, if any
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True):
                if line.strip() and not _TF_NOISE.match(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def error_line(err: BaseException) -> tuple[str, int]:
    """The one line and the exit code for an exception a command lets through."""
    if isinstance(err, UserError):
        return " ".join(str(err).split()), err.exit_code
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        code = err.errno if err.errno in NO_SPACE else next(
            (c for c in NO_SPACE if f"errno = {c}," in str(err)), None)  # h5py keeps errno in its text
        if code is not None:
            return (f"{where}no space left to write ({os.strerror(code)}); nothing was replaced, free "
                    "some space and run the command again"), EXIT_IO
        return where + " ".join(str(err.strerror or err).split()), EXIT_IO
    raise err


def _quiet_unraisable(unraisable) -> None:
    """After a failed write, h5py objects collected during unwinding try to flush again and fail:
    Python would print each as 'Exception ignored in ...'. The error itself is reported once."""
    if isinstance(unraisable.exc_value, (OSError, RuntimeError)) and "h5py" in repr(unraisable.object):
        return
    sys.__unraisablehook__(unraisable)


def run_command(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)``; user errors and refused I/O become ``error: ...`` lines and exit codes."""
    sys.unraisablehook = _quiet_unraisable
    try:
        return main(argv)
    except (UserError, OSError) as err:
        message, code = error_line(err)
        print(f"error: {message}", file=sys.stderr)
        return code
    except MemoryError:
        print("error: out of memory; use a smaller --batch-size", file=sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
