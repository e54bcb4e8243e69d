"""Position encodings with keras-hub semantics: they RETURN the encoding, the caller adds it.

    tokens = seqattn.layers.Embedding(V, C, mask_zero=True)(ids)
    h = seqattn.layers.Add()([tokens, seqattn.layers.PositionEmbedding(T)(tokens)])

Unlike keras-hub, the input's padding mask passes through these layers, so it survives the
Add (Add ANDs the masks that exist; either way the tokens' mask reaches the attention).
"""

from __future__ import annotations

import math
import numbers

from .. import _validation as V
from .base import Layer
from .weight_options import WeightOption


def _check_btc(layer, input_shapes):
    shape = input_shapes[0]
    if shape is None or len(shape) != 3 or shape[-1] is None:
        raise ValueError(f"Input 0 of layer '{layer.name}' is incompatible with the layer: "
                         f"expected shape (B, T, C), received input with shape {shape}")
    return shape


class PositionEmbedding(Layer):
    """A learned position embedding, returned broadcast over the batch.

    y[b, t] = W[t]   for t < T, where x is (B, T, C) and T <= sequence_length

    Only the input's shape is read: its values get no gradient.

    Args:
        sequence_length: the longest T the table covers (Tmax).
        initializer: the table's initializer (keras-hub's argument name), default
            "glorot_uniform".

    Input shape: (B, T, C). Output shape: (B, T, C).
    Weights: `embeddings` (Tmax, C), glorot-uniform (keras-hub's default initializer).
    """

    _float_inputs = True
    _weight_options = (WeightOption("embeddings", "glorot_uniform", initializer="initializer",
                                    regularizer=None, constraint=None),)

    def __init__(self, sequence_length, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.sequence_length = V.positive_int("sequence_length", sequence_length, owner=self.name)

    def _make_core(self, input_shapes):
        from .. import _core
        shape = _check_btc(self, input_shapes)
        if shape[1] is not None and shape[1] > self.sequence_length:
            raise ValueError(f"Layer '{self.name}': sequences of length {shape[1]} are longer "
                             f"than sequence_length={self.sequence_length}; received input with "
                             f"shape {shape}")
        self.channels = int(shape[-1])
        return _core.PositionEmbedding(self.sequence_length, self.channels)

    def _initial_weights(self):
        return [self._draw("embeddings", (self.sequence_length, self.channels))]

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length}


class SinePositionEncoding(Layer):
    """The fixed sinusoidal position encoding of "Attention Is All You Need" (keras-hub).

    For position t and channel i of C:
        w_i = max_wavelength ** (-2 · (i // 2) / C)
        y[b, t, i] = sin(t · w_i) for even i,  cos(t · w_i) for odd i

    Computed in float64 and rounded to float32 once (keras-hub computes in float32, which
    differs by about 1e-5 at positions in the hundreds). No weights; the input's values get
    no gradient.

    Args:
        max_wavelength: the longest wavelength of the sinusoids, a positive number.

    Input shape: (B, T, C). Output shape: (B, T, C).
    """

    _float_inputs = True

    def __init__(self, max_wavelength=10000, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(max_wavelength, bool) or not isinstance(max_wavelength, numbers.Real) \
                or not math.isfinite(max_wavelength) or max_wavelength <= 0:
            raise ValueError(f"Received an invalid value for `max_wavelength` for layer "
                             f"'{self.name}', expected a positive number. "
                             f"Received: max_wavelength={max_wavelength!r}")
        self.max_wavelength = max_wavelength

    def _make_core(self, input_shapes):
        from .. import _core
        _check_btc(self, input_shapes)
        return _core.SinePositionEncoding(float(self.max_wavelength))

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}
