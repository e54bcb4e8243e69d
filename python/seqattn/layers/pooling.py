"""Global pooling over time that honours the padding mask: (B, T, C) -> (B, C)."""

from __future__ import annotations

from .base import Layer


class _GlobalPooling1D(Layer):
    _float_inputs = True  # ids must go through an Embedding first
    _core_name = ""

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        if shape is None or len(shape) != 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected shape (B, T, C), received input with shape {shape}")
        return getattr(_core, self._core_name)()

    def _output_has_mask(self, input_has_mask):
        return False  # the mask is used up: the time axis is gone


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Mean over the real (unmasked) time steps; an all-padding row pools to 0.

    y[b] = Σ_t m[b, t] · x[b, t] / Σ_t m[b, t]

    Input shape: (B, T, C). Output shape: (B, C).
    """

    _core_name = "GlobalAveragePooling1D"


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Max over the real time steps; an all-padding row pools to 0.

    Keras ignores the mask here; seqattn honours it, so padding never wins the max.

    Input shape: (B, T, C). Output shape: (B, C).
    """

    _core_name = "GlobalMaxPooling1D"
