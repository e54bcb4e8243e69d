"""Activation: applies an activation function as a layer."""

from __future__ import annotations

from .base import Layer
from .dense import check_activation


class Activation(Layer):
    """Applies an activation function element-wise (softmax: over the last axis).

    y = activation(x)

    Args:
        activation: None/"linear", "relu", "gelu" (exact, Keras's default), "tanh",
            "sigmoid" or "softmax".

    Input shape: any (B, ..., C); a padding mask passes through. Output shape: the input's.

    Example:
        h = seqattn.layers.Activation("relu")(h)
    """

    _float_inputs = True

    def __init__(self, activation, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.activation = check_activation(activation, self.name)

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        if shape is None or len(shape) < 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected shape (B, ..., C), received input with shape {shape}")
        return _core.Activation(self.activation)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}
