"""Dense: y = activation(x · W + b)."""

from __future__ import annotations

from .. import _validation as V
from .base import Layer
from .weight_options import WeightOption

ACTIVATIONS = ("linear", "relu", "gelu", "tanh", "sigmoid", "softmax")


def check_activation(activation, owner):
    if activation is None:
        return "linear"
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r} for layer '{owner}'. Valid names: "
                         + ", ".join(ACTIVATIONS) + ".")
    return activation


class Dense(Layer):
    """Densely connected layer: y = activation(x · kernel + bias).

    Args:
        units: output size U.
        activation: None/"linear", "relu", "gelu" (exact, Keras's default), "tanh",
            "sigmoid" or "softmax" (over the last axis).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: Keras initializers (names, objects, configs or
            callables; seqattn.initializers), default "glorot_uniform" and "zeros".
        kernel_regularizer, bias_regularizer: Keras L1/L2/L1L2 penalties (seqattn.regularizers).
        kernel_constraint, bias_constraint: None only (not implemented).

    Input shape: (B, C) or (B, T, C); a padding mask on (B, T, C) input passes through.
    Output shape: (B, U) or (B, T, U).
    Weights: `kernel` (C, U) glorot-uniform, `bias` (U,) zeros — as Keras.
    """

    _float_inputs = True  # ids must go through an Embedding first
    _weight_options = (WeightOption("kernel", "glorot_uniform"), WeightOption("bias", "zeros"))

    def __init__(self, units, activation=None, use_bias=True, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.units = V.positive_int("units", units, owner=self.name)
        self.activation = check_activation(activation, self.name)
        self.use_bias = V.boolean("use_bias", use_bias, owner=self.name)

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        if shape is not None and len(shape) in (2, 3) and shape[-1] is None:
            raise ValueError(f"Layer '{self.name}': the last dimension of the inputs to a Dense "
                             f"layer should be defined. Found None. Full input shape received: "
                             f"{tuple(shape)}")
        if shape is None or len(shape) not in (2, 3):
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected shape (B, C) or (B, T, C), received input with shape {shape}")
        self.input_dim = int(shape[-1])
        return _core.Dense(self.input_dim, self.units, self.activation, self.use_bias)

    def _initial_weights(self):
        w = [self._draw("kernel", (self.input_dim, self.units))]
        if self.use_bias:
            w.append(self._draw("bias", (self.units,)))
        return w

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias}
