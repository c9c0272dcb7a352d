"""A faster ``keras.layers.LSTM`` for recurrent dropout: same variables, masks and maths.

With ``recurrent_dropout > 0`` Keras 3's ``LSTMCell`` runs its ``implementation=1`` step
(eight small matmuls per time step, the recurrent kernel sliced inside the loop). On a CPU
the gradient of those slices (``StridedSliceGrad`` of the whole ``(units, 4 units)`` kernel,
four per step) dominates a CRNN training step. This layer computes the same function with
the loop-invariant work hoisted out of the time loop:

- the input projection ``x_t @ W + b`` for all time steps in one matmul before the loop
  (per gate, on the gate's input-dropout mask, if ``dropout > 0``);
- the four per-gate recurrent products ``(h * m_g) @ R_g`` as one batched matmul against the
  kernel split once, outside the loop, into a ``(4, units, units)`` stack;
- the gates stored in the order i, f, o, c so the recurrent activation runs once per step
  on the three sigmoid-like gates, with the affine part of Keras 2's hard sigmoid folded
  into the weights (``clip(0.2 z + 0.5, 0, 1) == relu6(1.2 z + 3) / 6``).

The loop is a ``tf.while_loop`` (this layer needs the TensorFlow backend, the project's);
its gradient is TensorFlow's autodiff. docs/ROOFLINE.md has the profiles.

The masks are the stock cell's own (``LSTMCell.get_dropout_mask`` /
``get_recurrent_dropout_mask``: four masks per kind, drawn in gate order i, f, c, o from the
cell's seed generator, created by ``RNN.call`` before the loop), so a seeded layer draws
exactly what the stock layer draws. The class is named ``LSTM`` on purpose: Keras names a
layer's weights in saved files after its class, so weight files stay interchangeable with
``keras.layers.LSTM``. Masked inputs, ``unroll=True`` and ``recurrent_dropout == 0``
(cuDNN-eligible on a GPU) run the stock code.
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from models.blocks import PACKAGE, keras2_hard_sigmoid

# Internal gate order (i, f, o, c) as indices into Keras' kernel order (i, f, c, o).
_GATE_ORDER = (0, 1, 3, 2)


def _relu6_over_6(x):
    return ops.relu6(x) * (1.0 / 6.0)


def _gate_form(activation):
    """``(scale, offset, fn)`` with ``activation(z) == fn(scale * z + offset)``.

    Keras 2's hard sigmoid ``clip(0.2 z + 0.5, 0, 1)`` is ``relu6(1.2 z + 3) / 6``: with the
    affine part folded into the weights outside the loop, each step runs one Relu6 (one
    cheap gradient op) instead of clip's four ops and their select-based gradients.
    """
    if activation is keras2_hard_sigmoid:
        return 1.2, 3.0, _relu6_over_6
    return 1.0, 0.0, activation


@keras.saving.register_keras_serializable(package=PACKAGE)
class LSTM(keras.layers.LSTM):
    """``keras.layers.LSTM`` with the input projection and the masked recurrent products
    batched outside / across the time loop when ``recurrent_dropout > 0``.

    Takes exactly the arguments of ``keras.layers.LSTM``; variables, config and outputs are
    the stock layer's (to float rounding).
    """

    def uses_fast_loop(self, mask=None) -> bool:
        """Whether a call with this ``mask`` runs the hoisted loop (else the stock code)."""
        return (mask is None and not self.unroll and self.cell.recurrent_dropout > 0
                and keras.backend.backend() == "tensorflow")

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # Keras' RNN.call calls this after creating the dropout masks; see module docstring.
        if not self.uses_fast_loop(mask):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        cell = self.cell
        units, features = cell.units, sequences.shape[-1]
        h0, c0 = initial_state[0], initial_state[1]
        if self.go_backwards:
            sequences = tf.reverse(sequences, [1])
        time, batch = tf.shape(sequences)[1], tf.shape(sequences)[0]
        flat = tf.reshape(tf.transpose(sequences, (1, 0, 2)), (-1, features))  # (time*batch, features)
        scale, offset, gate_fn = _gate_form(cell.recurrent_activation)

        # Weights split per gate, in gate order (i, f, o, c), with the affine part of the
        # gate activation folded in (z' = scale * z + offset for i, f, o; c unchanged).
        scales, offsets = (scale,) * 3 + (1.0,), (offset,) * 3 + (0.0,)
        kernel = tf.split(cell.kernel, 4, axis=1)
        kernel = [kernel[g] * s for g, s in zip(_GATE_ORDER, scales)]
        recurrent = tf.split(cell.recurrent_kernel, 4, axis=1)
        recurrent = tf.stack([recurrent[g] * s for g, s in zip(_GATE_ORDER, scales)])
        bias = tf.split(cell.bias, 4) if cell.use_bias else [0.0] * 4
        bias = [bias[g] * s + o for g, s, o in zip(_GATE_ORDER, scales, offsets)]
        bias = [tf.broadcast_to(tf.cast(b, flat.dtype), (units,)) for b in bias]

        # Input projection of all steps at once, laid out (time, 4, batch, units).
        if training and 0.0 < cell.dropout < 1.0:
            masks = cell.get_dropout_mask(sequences[:, 0, :])  # 4 masks, gate order i, f, c, o
            masks = [tf.reshape(tf.tile(masks[g][None], (time, 1, 1)), (-1, features))
                     for g in _GATE_ORDER]
            projected = tf.stack([tf.nn.bias_add(tf.matmul(flat * m, k), b)
                                  for m, k, b in zip(masks, kernel, bias)])
            projected = tf.transpose(tf.reshape(projected, (4, time, batch, units)), (1, 0, 2, 3))
        else:
            projected = tf.nn.bias_add(tf.matmul(flat, tf.concat(kernel, 1)), tf.concat(bias, 0))
            projected = tf.transpose(tf.reshape(projected, (time, batch, 4, units)), (0, 2, 1, 3))

        if training and 0.0 < cell.recurrent_dropout < 1.0:
            rec_masks = cell.get_recurrent_dropout_mask(h0)  # 4 masks, gate order i, f, c, o
            rec_masks = tf.stack([rec_masks[g] for g in _GATE_ORDER])  # (4, batch, units)

            def recurrent_term(h):  # the four (h * m_g) @ R_g as one batched matmul
                return tf.matmul(h[None] * rec_masks, recurrent)
        else:
            def recurrent_term(h):
                return tf.matmul(h[None], recurrent)

        activation = cell.activation
        inputs = tf.TensorArray(projected.dtype, size=time, element_shape=projected.shape[1:])
        inputs = inputs.unstack(projected)
        outputs = tf.TensorArray(h0.dtype, size=time if self.return_sequences else 1,
                                 element_shape=h0.shape)

        def step(t, h, c, outputs):
            z = inputs.read(t) + recurrent_term(h)  # (4, batch, units)
            ifo, z_c = tf.split(z, [3, 1])
            i, f, o = tf.unstack(gate_fn(ifo))
            c = f * c + i * activation(z_c[0])
            h = o * activation(c)
            outputs = outputs.write(t if self.return_sequences else 0, h)
            return t + 1, h, c, outputs

        _, h, c, outputs = tf.while_loop(lambda t, *_: t < time, step, (0, h0, c0, outputs),
                                         maximum_iterations=time)
        # (batch, time, units) in processing order, as the stock loop returns them.
        return h, tf.transpose(outputs.stack(), (1, 0, 2)), [h, c]


def to_stock_lstm(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with every ``models.lstm.LSTM`` replaced by ``keras.layers.LSTM``
    (same config, same weights): for comparing against, or exporting to, plain Keras."""
    def stock(layer):
        return keras.layers.LSTM.from_config(layer.get_config())

    def clone(layer):
        if isinstance(layer, keras.layers.Bidirectional) and isinstance(layer.forward_layer, LSTM):
            return keras.layers.Bidirectional(stock(layer.forward_layer), merge_mode=layer.merge_mode,
                                              backward_layer=stock(layer.backward_layer),
                                              name=layer.name)
        if isinstance(layer, LSTM):
            return stock(layer)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
