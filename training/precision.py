"""Which Keras dtype policy a run uses, and whether this machine can make mixed precision pay.

``--mixed-precision`` means ``choose_policy("auto", gpus)``: ``mixed_float16`` on a GPU (its
float16 tensor units), ``mixed_bfloat16`` on a CPU with bfloat16 units (``avx512_bf16`` or
``amx_bf16`` in /proc/cpuinfo, used by oneDNN's matmuls and convolutions), else an error that
says why: float16 and bfloat16 on a CPU without such units are emulated and slower than float32.
Under any mixed policy, build the model with ``output_dtype="float32"`` so the sigmoid outputs
and the loss stay float32 (``models.build_model(config, output_dtype=output_dtype(policy))``).
"""
from __future__ import annotations

from cli import UserError

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = "/proc/cpuinfo"


class PrecisionError(UserError, ValueError):
    """A precision request this machine cannot honour (or an unknown policy name)."""


def cpu_flags(cpuinfo_text: str) -> set[str]:
    """The CPU feature flags in /proc/cpuinfo text (``flags`` lines, x86)."""
    flags: set[str] = set()
    for line in cpuinfo_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    return flags


def cpu_bf16_units(cpuinfo_path: str = CPUINFO) -> list[str]:
    """The bfloat16 feature flags (``avx512_bf16``, ``amx_bf16``) this CPU reports; [] if none
    or if ``cpuinfo_path`` cannot be read (not Linux)."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as fh:
            flags = cpu_flags(fh.read())
    except OSError:
        return []
    return [flag for flag in BF16_FLAGS if flag in flags]


def choose_policy(requested: str, gpus: bool, *, cpuinfo_path: str = CPUINFO) -> str:
    """The Keras dtype policy for ``requested``: ``auto`` (what ``--mixed-precision`` means)
    or one of ``float32``, ``mixed_float16``, ``mixed_bfloat16`` (returned as given).

    ``auto`` is ``mixed_float16`` when ``gpus`` (TensorFlow sees a GPU), ``mixed_bfloat16`` on a
    CPU with bfloat16 units, and otherwise raises :class:`PrecisionError` saying why.
    """
    if requested in POLICIES:
        return requested
    if requested != "auto":
        raise PrecisionError(f"precision {requested!r} is not allowed; expected auto or one of "
                             f"{', '.join(POLICIES)}")
    if gpus:
        return "mixed_float16"
    if cpu_bf16_units(cpuinfo_path):
        return "mixed_bfloat16"
    raise PrecisionError(
        "--mixed-precision needs a GPU or a CPU with bfloat16 units (avx512_bf16 or amx_bf16 in "
        f"{cpuinfo_path}); TensorFlow sees no GPU and this CPU reports neither, so mixed precision "
        "would be emulated and slower than float32: train without it")


def output_dtype(policy: str) -> str | None:
    """The ``output_dtype`` to build a model with under ``policy``: float32 for a mixed policy."""
    return "float32" if policy.startswith("mixed_") else None
