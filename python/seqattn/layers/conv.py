"""Conv1D: a 1-D convolution over time, channels last: (B, T, C) -> (B, To, F)."""

from __future__ import annotations

import numbers

from .. import _validation as V
from .base import Layer
from .dense import check_activation
from .weight_options import WeightOption

PADDINGS = ("valid", "same", "causal")


def window_int(name, value, owner):
    """Keras takes a 1-D window argument as an int or a 1-tuple/list of one int."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (tuple, list)):
        raise ValueError(f"The `{name}` argument of layer '{owner}' must be an integer or a "
                         f"tuple of 1 integer. Received: {name}={value!r}")
    return V.positive_int(name, value, owner=owner)


def check_padding(value, allowed, owner):
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"Invalid value for argument `padding` of layer '{owner}': expected "
                         f"one of {', '.join(repr(a) for a in allowed)}. Received: "
                         f"padding={value!r}")
    return value.lower()


def check_data_format(value, owner):
    if value not in (None, "channels_last"):
        raise ValueError(f"Layer '{owner}' supports only data_format='channels_last' (inputs "
                         f"(B, T, C)). Received: data_format={value!r}")


class _Windowed1D(Layer):
    """Shared by the windowed layers: input (B, T, C) float features, no mask support."""

    supports_masking = False  # as Keras 3: a mask reaching these layers warns and is dropped
    _float_inputs = True      # ids must go through an Embedding first

    def _check_rank(self, shape):
        if shape is None or len(shape) != 3:
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                             f"incompatible with the layer: expected shape (B, T, C), received "
                             f"input with shape {shape}")

    def _min_steps(self):
        return 1

    def _too_short(self, shape):
        return f"at least {self._min_steps()} time steps"

    def compute_output_shape(self, input_shapes):
        shape = input_shapes[0] if input_shapes else None
        if (shape is not None and len(shape) == 3 and shape[1] is not None
                and getattr(self, "padding", "") == "valid" and shape[1] < self._min_steps()):
            # The C++ message would show the batch axis filled in; this one shows the caller's.
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): computed output "
                             f"size would be zero or negative: padding='valid' needs "
                             f"{self._too_short(shape)}, received input with shape "
                             f"{tuple(shape)}")
        if shape is not None and len(shape) == 3 and shape[1] is None:
            # An unknown T: stand in a length every padding accepts, and leave T unknown.
            out = super().compute_output_shape([(shape[0], self._min_steps(), shape[2])])
            return (None, None, out[2])
        return super().compute_output_shape(input_shapes)


class Conv1D(_Windowed1D):
    """1-D convolution over time (channels last), as keras.layers.Conv1D:

        y[b, o, f] = activation(Σ_k Σ_c x[b, o·s − pad + k·d, c] · kernel[k, c, f] + bias[f])

    Args:
        filters: output channels F.
        kernel_size: taps K (an int or a 1-tuple).
        strides: s, output step (an int or a 1-tuple).
        padding: "valid" (no padding: To = ⌊(T − d(K−1) − 1)/s⌋ + 1), "same" (To = ⌈T/s⌉,
            zeros split as TensorFlow does, the odd one on the right) or "causal" (d(K−1)
            zeros on the left: output t reads no later input). Case-insensitive.
        data_format: None or "channels_last" (the only layout).
        dilation_rate: d, spacing of the taps; as Keras, d > 1 with s > 1 is refused.
        groups: 1 (grouped convolution is not implemented).
        activation: None/"linear", "relu", "gelu", "tanh", "sigmoid", "softmax" (as Dense).
        use_bias: add a bias vector.

    Input shape: (B, T, C). Output shape: (B, To, F).
    Weights: `kernel` (K, C, F) glorot-uniform, `bias` (F,) zeros — Keras's shapes and order
    (kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer as Dense).
    Masks: as Keras 3, Conv1D does not support masking: a mask reaching it warns and is
    dropped (the output has none). A sequence shorter than the kernel's span with
    padding="valid" is a ValueError naming the layer.
    """

    _weight_options = (WeightOption("kernel", "glorot_uniform"), WeightOption("bias", "zeros"))

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.filters = V.positive_int("filters", filters, owner=self.name)
        self.kernel_size = window_int("kernel_size", kernel_size, self.name)
        self.strides = window_int("strides", strides, self.name)
        self.padding = check_padding(padding, PADDINGS, self.name)
        check_data_format(data_format, self.name)
        self.dilation_rate = window_int("dilation_rate", dilation_rate, self.name)
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(f"Layer '{self.name}': `strides > 1` not supported in conjunction "
                             f"with `dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups != 1:
            raise ValueError(f"Layer '{self.name}' supports only groups=1 (grouped convolution "
                             f"is not implemented). Received: groups={groups!r}")
        self.activation = check_activation(activation, self.name)
        self.use_bias = V.boolean("use_bias", use_bias, owner=self.name)

    def _min_steps(self):
        return self.dilation_rate * (self.kernel_size - 1) + 1

    def _too_short(self, shape):
        return (f"at least {self._min_steps()} time steps (kernel_size {self.kernel_size}, "
                f"dilation_rate {self.dilation_rate})")

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        self._check_rank(shape)
        if shape[-1] is None:
            raise ValueError(f"Layer '{self.name}': the channel dimension of the inputs to a "
                             f"Conv1D layer should be defined. Found None. Full input shape "
                             f"received: {tuple(shape)}")
        self.input_dim = int(shape[-1])
        return _core.Conv1D(self.input_dim, self.filters, self.kernel_size, self.strides,
                            self.padding, self.dilation_rate, self.activation, self.use_bias)

    def _initial_weights(self):
        w = [self._draw("kernel", (self.kernel_size, self.input_dim, self.filters))]
        if self.use_bias:
            w.append(self._draw("bias", (self.filters,)))
        return w

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "dilation_rate": self.dilation_rate,
                "activation": self.activation, "use_bias": self.use_bias}
