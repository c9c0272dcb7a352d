"""The named presets as plain data: what each one is, where it comes from, how many parameters it has.

Pure Python (no Keras), so ``train.py --list-models`` answers at once. ``models/presets.py`` turns
each entry into a complete config by filling in its builder's defaults; the tests build every
preset and hold its parameter count to ``expected_params``.

Each entry: ``family``, ``description``, ``source``, ``expected_params`` and ``settings`` (the
builder keywords that differ from the builder's defaults).
"""
from __future__ import annotations

#: Fig. 1's grids: first-layer sizes, and (family, display name, parameter counts by
#: (filters, projection)). Dropout does not change a count.
GRID_SIZES = (300, 500, 750, 1000)
_GRID_COUNTS = {
    "cnn": {(300, False): 9_900_371, (300, True): 9_587_283, (500, False): 10_197_371,
            (500, True): 9_615_483, (750, False): 10_568_621, (750, True): 9_650_733,
            (1000, False): 10_939_871, (1000, True): 9_685_983},
    "danq": {(300, False): 7_864_219, (300, True): 7_694_619, (500, False): 8_045_219,
             (500, True): 7_728_419, (750, False): 8_271_469, (750, True): 7_770_669,
             (1000, False): 8_497_719, (1000, True): 7_812_919},
}
_GRID_NAMES = {"cnn": "CNN", "danq": "DanQ (LSTM 100/direction)"}


def _entry(family: str, description: str, source: str, expected_params: int, **settings) -> dict:
    return {"family": family, "description": description, "source": source,
            "expected_params": expected_params, "settings": settings}


def _reduced_grid() -> dict[str, dict]:
    """CNN and DanQ at 500 bp, 4 first-layer sizes x {projection} x {dropout} (Fig. 1)."""
    grid = {}
    for family, name in _GRID_NAMES.items():
        for filters in GRID_SIZES:
            for projection in (False, True):
                for dropout in (False, True):
                    key = f"{family}-{filters}" + ("-projection" if projection else "") + (
                        "-dropout" if dropout else "")
                    extras = [s for s, on in (("projection 64", projection), ("dropout 0.2", dropout)) if on]
                    grid[key] = _entry(
                        family, f"reduced-data {name}, {filters} first-layer filters, 500 bp"
                        + (", " + " + ".join(extras) if extras else ", no projection, no dropout"),
                        "Fig. 1", _GRID_COUNTS[family][(filters, projection)], sequence_length=500,
                        filters=filters, projection_dim=64 if projection else 0,
                        dropout=0.2 if dropout else 0.0)
    return grid


CATALOG: dict[str, dict] = {
    "deepsea": _entry(
        "deepsea", "DeepSEA as published (Threshold activations), for its Torch weights",
        "Table 1 (paper prints 155,159,839; this architecture has 52,843,119)", 52_843_119),
    "danq-original": _entry(
        "danq-original", "DanQ as published: conv 320x26, BiLSTM 320, Theano hard-sigmoid gates",
        "Table 1", 46_926_479),
    "danq-jaspar": _entry(
        "danq-jaspar", "DanQ-JASPAR as published: conv 1024x30 (JASPAR 2016-initialised), BiLSTM 512",
        "Table 1", 67_892_175, jaspar_init=True, jaspar_seed=0),
    "crnn-320": _entry("crnn", "CRNN, 320 first-layer filters, no projection", "Table 1",
                       2_727_335, filters=320, projection_dim=0),
    "crnn-320-projection": _entry("crnn", "CRNN, 320 first-layer filters, projection 64",
                                  "Table 1", 2_477_479, filters=320, projection_dim=64),
    "crnn-700": _entry("crnn", "CRNN, 700 first-layer filters, no projection", "Table 1",
                       3_174_595, filters=700, projection_dim=0),
    "crnn-700-projection": _entry("crnn", "CRNN, 700 first-layer filters, projection 64",
                                  "Table 1", 2_547_779, filters=700, projection_dim=64),
    **_reduced_grid(),
}


def listing() -> str:
    """One line per preset: name, parameter count, description (source)."""
    return "\n".join(f"{name:28s} {entry['expected_params']:>12,}  {entry['description']} ({entry['source']})"
                     for name, entry in CATALOG.items())
