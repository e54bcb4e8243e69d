"""Keras 3 initializers with no randomness, the base class and `compute_fans`."""

from __future__ import annotations

import numbers

import numpy as np

from .._config_object import ConfigObject


def compute_fans(shape):
    """Keras `compute_fans`: for rank > 2 the leading axes form the receptive field.

    E.g. a MultiHeadAttention query kernel (C, H, Dk) gets fan_in = C·H, fan_out = C·Dk, exactly
    as Keras's EinsumDense kernels do, so initial scales match Keras.
    """
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def check_shape(shape):
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"An initializer takes a shape (a tuple of non-negative integers); "
                        f"received shape={shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"An initializer takes a shape of non-negative integers; received "
                         f"shape={shape}")
    return shape


def check_dtype(dtype, owner):
    if dtype not in (None, "float32", np.float32) and np.dtype(dtype) != np.float32:
        raise ValueError(f"{owner}: seqattn weights are float32; received dtype={dtype!r}")


class Initializer(ConfigObject):
    """Base class, as Keras's: `initializer(shape, dtype=None)` returns a float32 array."""

    def __call__(self, shape, dtype=None):
        check_dtype(dtype, type(self).__name__)
        return self._draw(check_shape(shape)).astype(np.float32, copy=False)

    def _draw(self, shape):  # pragma: no cover - every initializer overrides it
        raise NotImplementedError


class Zeros(Initializer):
    """All zeros (Keras `Zeros`, alias "zeros")."""

    def _draw(self, shape):
        return np.zeros(shape, np.float32)


class Ones(Initializer):
    """All ones (Keras `Ones`, alias "ones")."""

    def _draw(self, shape):
        return np.ones(shape, np.float32)


class Constant(Initializer):
    """Every value `value`, a finite number (Keras `Constant`, alias "constant")."""

    def __init__(self, value=0.0):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not np.isfinite(value):
            raise ValueError(f"Constant: `value` must be a finite number; received "
                             f"value={value!r}")
        self.value = float(value)

    def _draw(self, shape):
        return np.full(shape, self.value, np.float32)

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """gain · the identity matrix, for 2D shapes only (Keras `Identity`, alias "identity")."""

    def __init__(self, gain=1.0):
        if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not np.isfinite(gain):
            raise ValueError(f"Identity: `gain` must be a finite number; received gain={gain!r}")
        self.gain = float(gain)

    def _draw(self, shape):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return self.gain * np.eye(*shape, dtype=np.float32)

    def get_config(self):
        return {"gain": self.gain}
