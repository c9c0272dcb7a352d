"""DanQ-JASPAR's first-layer initialisation from JASPAR CORE 2016 vertebrate motifs.

Facts from uci-cbcl/DanQ ``DanQ-JASPAR_train.py`` (our own code, written from them):

- the motif list is JASPAR CORE 2016 vertebrates (519 matrices) plus the reverse
  complements of 6 of them, appended at the end (indices 19, 97, 98, 99, 100, 101 of its
  list); filter ``i`` gets motif ``i``, so 525 of the 1024 filters are initialised;
- each probability matrix minus 0.25 is written at a random offset
  ``start ~ randint(3, kernel_width - w - 3)`` (both ends inclusive) into that filter's
  kernel, over the layer's ordinary random initial values (the script's line that zeroed
  the kernel first is commented out), and the filter's bias is drawn from uniform(-1, 0);
- DanQ reversed each motif along its length because Theano convolution flips the kernel.
  TensorFlow/Keras 3 Conv1D is a cross-correlation, so here the motif is NOT reversed;
- the DeepSEA one-hot order is A, G, C, T, so the JASPAR A, C, G, T columns are reordered.

DanQ's list came from its own ``.npy`` file; we read the same release from ``pyjaspar``
sorted by matrix ID. Under that order the 6 extra indices are Gata1, REST, CTCF,
GATA1::TAL1, ESRRB and Pou5f1::Sox2 (asymmetric motifs, which is what one would pick to add
reverse complements of), but the ``.npy`` order itself could not be checked.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data.jaspar import acgt_to_agct, load_motifs, reverse_complement

DANQ_REVERSE_COMPLEMENT_INDICES = (19, 97, 98, 99, 100, 101)
MARGIN = 3  # DanQ kept motifs at least 3 positions away from either kernel edge


def jaspar_filters(release: str = "JASPAR2016",
                   reverse_complement_indices: Sequence[int] = DANQ_REVERSE_COMPLEMENT_INDICES
                   ) -> list[np.ndarray]:
    """Motif probability matrices (w, 4) in A,G,C,T order, in the order they fill filters.

    All CORE vertebrate motifs of ``release`` sorted by matrix ID, then the reverse
    complements of the motifs at ``reverse_complement_indices``.
    """
    motifs = [m.probabilities for m in load_motifs(release, "CORE", "vertebrates")]
    for i in reverse_complement_indices:
        if not 0 <= i < len(motifs):
            raise ValueError(f"reverse_complement_indices contains {i}; {release} has "
                             f"{len(motifs)} motifs (allowed 0..{len(motifs) - 1})")
    motifs += [reverse_complement(motifs[i]) for i in reverse_complement_indices]
    return [acgt_to_agct(m) for m in motifs]


def apply_jaspar_init(kernel: np.ndarray, bias: np.ndarray, motifs: Sequence[np.ndarray],
                      rng: np.random.Generator | int | None = None, *, zero_background: bool = False
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write ``motifs[i] - 0.25`` into filter ``i`` of a Keras Conv1D kernel at a random offset.

    Parameters
    ----------
    kernel : (width, 4, filters) Keras 3 Conv1D kernel; copied, not modified.
    bias : (filters,) bias; copied, and ``bias[i]`` ~ uniform(-1, 0) for every motif filter.
    motifs : (w, 4) matrices already in the model's channel order.
    rng : numpy Generator or seed; draws ``start`` then ``bias`` per motif, in motif order.
    zero_background : zero a motif filter's kernel before writing the motif. DanQ's script
        has this line commented out, so the default keeps the random initial values.

    Returns
    -------
    (kernel, bias, starts): the new arrays and each motif's start offset.
    """
    rng = np.random.default_rng(rng)
    kernel = np.array(kernel, dtype=np.float32, copy=True)
    bias = np.array(bias, dtype=np.float32, copy=True)
    width, channels, n_filters = kernel.shape
    if len(motifs) > n_filters:
        raise ValueError(f"{len(motifs)} motifs do not fit in a layer of {n_filters} filters")
    starts = np.zeros(len(motifs), dtype=np.int64)
    for i, motif in enumerate(motifs):
        w = motif.shape[0]
        if motif.shape[1] != channels or w > width:
            raise ValueError(f"motif {i} has shape {motif.shape}; the kernel is ({width}, {channels})")
        # DanQ: randint(3, width - w + 1 - 3), upper end exclusive; no margin if the motif is too wide
        margin = MARGIN if width - w >= 2 * MARGIN else 0
        starts[i] = rng.integers(margin, width - w - margin + 1)
        if zero_background:
            kernel[:, :, i] = 0.0
        kernel[starts[i]:starts[i] + w, :, i] = motif - 0.25
        bias[i] = rng.uniform(-1.0, 0.0)
    return kernel, bias, starts


def init_conv_from_jaspar(conv_layer, rng: np.random.Generator | int | None = None,
                          release: str = "JASPAR2016",
                          reverse_complement_indices: Sequence[int] = DANQ_REVERSE_COMPLEMENT_INDICES,
                          *, zero_background: bool = False) -> np.ndarray:
    """Initialise a built Conv1D layer (A,G,C,T input) from JASPAR; returns the start offsets."""
    kernel, bias = (np.asarray(w) for w in conv_layer.get_weights())
    motifs = jaspar_filters(release, reverse_complement_indices)
    kernel, bias, starts = apply_jaspar_init(kernel, bias, motifs, rng, zero_background=zero_background)
    conv_layer.set_weights([kernel, bias])
    return starts
