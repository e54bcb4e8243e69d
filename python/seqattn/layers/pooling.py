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


# ------------------------------------------------------------ windowed pooling
from .conv import _Windowed1D, check_data_format, check_padding, window_int  # noqa: E402


class _Pooling1D(_Windowed1D):
    _core_name = ""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = window_int("pool_size", pool_size, self.name)
        self.strides = self.pool_size if strides is None else window_int("strides", strides,
                                                                         self.name)
        self.padding = check_padding(padding, ("valid", "same"), self.name)
        check_data_format(data_format, self.name)

    def _min_steps(self):
        return self.pool_size

    def _too_short(self, shape):
        return f"at least pool_size = {self.pool_size} time steps"

    def _make_core(self, input_shapes):
        from .. import _core
        self._check_rank(input_shapes[0])
        return getattr(_core, self._core_name)(self.pool_size, self.strides, self.padding)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


class MaxPooling1D(_Pooling1D):
    """Max over windows of `pool_size` steps, every `strides` (default: pool_size) steps.

    padding "valid": To = ⌊(T − pool_size)/strides⌋ + 1 (T < pool_size is a ValueError naming
    the layer); "same": To = ⌈T/strides⌉, padded positions never win. NaN in a window
    propagates. Ties: the first maximum in the window gets the whole gradient (as TensorFlow
    and PyTorch); a step in overlapping windows gets the sum from each window it wins.
    Masks: as Keras 3, not supported (a mask warns and is dropped).

    Input shape: (B, T, C). Output shape: (B, To, C).
    """

    _core_name = "MaxPooling1D"


class AveragePooling1D(_Pooling1D):
    """Mean over windows of `pool_size` steps, every `strides` (default: pool_size) steps.

    Output lengths as MaxPooling1D. With padding "same", a window that overlaps the padding
    averages only its real positions (as TensorFlow/Keras: padding is not counted).
    Masks: as Keras 3, not supported (a mask warns and is dropped).

    Input shape: (B, T, C). Output shape: (B, To, C).
    """

    _core_name = "AveragePooling1D"
