"""Registry of named model presets (from models/catalog.py) and the config -> model entry point.

A config is a flat JSON-able dict: ``family``, every keyword of that family's builder,
``expected_params`` (the parameter count the config must build to, or None), and the
``description`` / ``source`` of the preset. ``preset_table()`` renders them as Markdown.
"""
from __future__ import annotations

import copy
import inspect

import keras

from models.catalog import CATALOG
from models.cnn import build_cnn
from models.crnn import build_crnn
from models.danq import build_danq, build_danq_jaspar, build_danq_original
from models.deepsea import build_deepsea

BUILDERS = {
    "cnn": build_cnn,
    "danq": build_danq,
    "crnn": build_crnn,
    "deepsea": build_deepsea,
    "danq-original": build_danq_original,
    "danq-jaspar": build_danq_jaspar,
}
# Keys an override may change without changing the parameter count (expected_params is kept).
COUNT_NEUTRAL_KEYS = frozenset({
    "dropout", "conv2_dropout", "conv3_dropout", "hidden_dropout", "lstm_dropout",
    "recurrent_dropout", "gate", "backward_in_reverse", "jaspar_init", "jaspar_seed",
})
INFO_KEYS = ("family", "expected_params", "description", "source")
# Builder keywords that say how to build, not what: passed to build_model, never config keys.
BUILD_OPTIONS = ("output_dtype",)
FIRST_LAYER_KERNEL = {"cnn": 19, "danq": 26, "crnn": 30, "deepsea": 8, "danq-original": 26,
                      "danq-jaspar": 30}


def builder_keys(family: str) -> list[str]:
    """The config keys a family takes (its builder's keywords but BUILD_OPTIONS), in order."""
    return [k for k in inspect.signature(BUILDERS[family]).parameters if k not in BUILD_OPTIONS]


def _preset(family: str, description: str, source: str, expected_params: int | None = None,
            **values) -> dict:
    """A complete preset: the builder's defaults overridden by ``values``, plus the info keys."""
    params = {k: p for k, p in inspect.signature(BUILDERS[family]).parameters.items()
              if k not in BUILD_OPTIONS}
    unknown = set(values) - set(params)
    if unknown:  # a typo in this file, not user input
        raise TypeError(f"preset for {family} has unknown keys {sorted(unknown)}")
    config = {"family": family}
    config.update({k: values.get(k, p.default) for k, p in params.items()})
    config.update(expected_params=expected_params, description=description, source=source)
    return config


PRESETS: dict[str, dict] = {
    name: _preset(entry["family"], entry["description"], entry["source"], entry["expected_params"],
                  **entry["settings"])
    for name, entry in CATALOG.items()
}


def list_presets() -> list[str]:
    """Names of all presets, in registry order."""
    return list(PRESETS)


def get_preset(name: str) -> dict:
    """A copy of preset ``name``; an unknown name raises ValueError listing the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def resolve_config(name: str, **overrides) -> dict:
    """Preset ``name`` with ``overrides`` applied (None values are ignored, so CLI flags that
    default to None can be passed straight through).

    An override key the family's builder does not take raises ValueError. When an override
    changes a value that can change the parameter count, ``expected_params`` becomes None.
    """
    config = get_preset(name)
    allowed = builder_keys(config["family"])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in allowed:
            raise ValueError(f"unknown setting {key!r} for preset {name!r} ({config['family']}); "
                             f"allowed: {', '.join(allowed)}")
        if value != config[key] or type(value) is not type(config[key]):
            if key not in COUNT_NEUTRAL_KEYS:
                config["expected_params"] = None
            config[key] = value
    return config


def build_model(config: dict, *, output_dtype: str | None = None) -> keras.Model:
    """Build the uncompiled model a config describes.

    ``output_dtype`` is the ``predictions`` layer's dtype policy (None: the global policy;
    ``"float32"`` under a mixed policy). Unknown keys raise ValueError; so does a built
    model whose parameter count differs from a non-None ``expected_params``.
    """
    family = config.get("family")
    if family not in BUILDERS:
        raise ValueError(f"config family={family!r} is not allowed; expected one of {', '.join(BUILDERS)}")
    allowed = builder_keys(family)
    unknown = sorted(set(config) - set(allowed) - set(INFO_KEYS))
    if unknown:
        raise ValueError(f"unknown config keys {unknown} for family {family!r}; "
                         f"allowed: {', '.join(allowed + list(INFO_KEYS))}")
    values = {k: config[k] for k in allowed if k in config}
    model = BUILDERS[family](**values, output_dtype=output_dtype)
    expected = config.get("expected_params")
    if expected is not None and model.count_params() != expected:
        raise ValueError(f"{family} model has {model.count_params():,} parameters but the config "
                         f"expects expected_params={expected:,}")
    return model


def preset_table(names: list[str] | None = None) -> str:
    """Markdown table of presets: preset, family, first layer, projection, params, source.

    Builds each model to count its parameters (without the JASPAR initialisation).
    """
    rows = ["| preset | family | first layer | projection | params | source |",
            "|---|---|---|---|---|---|"]
    for name in names or list_presets():
        config = get_preset(name)
        if config.get("jaspar_init"):
            config["jaspar_init"] = False  # counting parameters needs no motifs
        params = build_model(config).count_params()
        first = f"{config['filters']} x {FIRST_LAYER_KERNEL[config['family']]}"
        projection = str(config["projection_dim"]) if config["projection_dim"] else "-"
        rows.append(f"| {name} | {config['family']} | {first} | {projection} | {params:,} "
                    f"| {config['source']} |")
    return "\n".join(rows)
