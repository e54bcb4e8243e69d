"""LayerNormalization over the last axis (Keras semantics and weights)."""

from __future__ import annotations

import math
import numbers

from .. import _validation as V
from .base import Layer
from .weight_options import WeightOption


class LayerNormalization(Layer):
    """Normalises each row over its last axis, then scales and shifts it.

    mean = Σ_c x[c] / C,   var = Σ_c (x[c] - mean)² / C,
    y = (x - mean) / sqrt(var + epsilon) · gamma + beta

    Args:
        axis: the axis to normalise; only the last one (-1, the default) is supported.
        epsilon: added to the variance (Keras default 1e-3; PyTorch uses 1e-5, the keras.io
            Transformer example 1e-6).
        center: learn the offset `beta`.
        scale: learn the scale `gamma`.
        beta_initializer, gamma_initializer: default "zeros" and "ones", as Keras.
        beta_regularizer, gamma_regularizer: Keras L1/L2/L1L2 penalties.
        beta_constraint, gamma_constraint: None only (not implemented).

    Input shape: (B, C) or (B, T, C); a padding mask passes through (padded rows are
    normalised like any other row and stay masked downstream).
    Output shape: the input's.
    Weights (Keras order): `gamma` (C,) ones when scale, then `beta` (C,) zeros when center.

    Example:
        h = seqattn.layers.LayerNormalization(epsilon=1e-6)(seqattn.layers.Add()([x, attn]))
    """

    _float_inputs = True
    _weight_options = (WeightOption("beta", "zeros"), WeightOption("gamma", "ones"))

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Expected an integer for `axis` for layer '{self.name}'. "
                            f"Received: axis={axis!r}")
        self.axis = int(axis)
        self.epsilon = V.number("epsilon", epsilon, low=0.0, low_open=True, owner=self.name)
        if not math.isfinite(self.epsilon):
            raise ValueError(f"Received an invalid value for `epsilon` for layer '{self.name}', "
                             f"expected a positive finite number. Received: epsilon={epsilon!r}")
        self.center = V.boolean("center", center, owner=self.name)
        self.scale = V.boolean("scale", scale, owner=self.name)

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        if shape is None or len(shape) not in (2, 3) or shape[-1] is None:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected shape (B, C) or (B, T, C), received input with shape "
                             f"{shape}")
        if self.axis not in (-1, len(shape) - 1):
            raise ValueError(f"Layer '{self.name}': seqattn normalises over the last axis only "
                             f"(axis=-1); received axis={self.axis} for input shape {shape}")
        self.channels = int(shape[-1])
        return _core.LayerNormalization(self.channels, self.epsilon, self.center, self.scale)

    def _initial_weights(self):
        w = []
        if self.scale:
            w.append(self._draw("gamma", (self.channels,)))
        if self.center:
            w.append(self._draw("beta", (self.channels,)))
        return w

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
