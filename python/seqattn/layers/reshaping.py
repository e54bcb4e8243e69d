"""Shape layers (Keras 3 names): Reshape, Permute, RepeatVector. Copies in C++
(cpp/reshape.*); the batch axis always stays first. Like Keras 3 they do not support masking:
a padding mask reaching them is dropped with Keras's warning (pool or keep the time axis
where padding matters)."""

from __future__ import annotations

import math
import numbers

from .base import Layer


def _int_tuple(value, arg, owner):
    """A tuple of Python ints from a list/tuple of integers, or a ValueError naming `arg`."""
    if not isinstance(value, (list, tuple)) or any(
            isinstance(d, bool) or not isinstance(d, numbers.Integral) for d in value):
        raise ValueError(f"{owner}: `{arg}` must be a tuple of integers. Received: "
                         f"{arg}={value!r}")
    return tuple(int(d) for d in value)


def check_target_shape(target, arg="target_shape", owner="Reshape"):
    """Keras's validate_reshape_shape, but sizes must be positive (seqattn has no empty axes)."""
    target = _int_tuple(target, arg, owner)
    if any(d < 1 and d != -1 for d in target):
        raise ValueError(f"{owner}: each dimension in `{arg}` must be a positive integer, or -1 "
                         f"for a single unknown dimension. Received: {arg}={target}.")
    if target.count(-1) > 1:
        raise ValueError(f"{owner}: there must be at most one unknown dimension (-1) in `{arg}`. "
                         f"Received: {arg}={target}.")
    return target


def reshape_output_shape(input_shape, target, owner, arg="target_shape"):
    """Keras's compute_reshape_output_shape over the non-batch axes (None = unknown)."""
    input_shape = tuple(input_shape)
    if None in input_shape:
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(input_shape)
    known = math.prod(d for d in target if d != -1)
    if -1 not in target and size == known:
        return target
    if -1 in target and size % known == 0:
        return tuple(size // known if d == -1 else d for d in target)
    raise ValueError(f"{owner}: the total size of the tensor must be unchanged. Received: "
                     f"input_shape={input_shape}, {arg}={target}")


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (the batch axis excluded; one -1 allowed, the
    size that keeps the element count), in row-major order.

    Input shape: (B, ...). Output shape: (B, *target_shape).

    Example:
        h = seqattn.layers.Reshape((T, H, C // H))(x)   # (B, T, C) -> (B, T, H, D)
    """

    supports_masking = False
    _float_inputs = True

    def __init__(self, target_shape, name=None, **kwargs):
        self.target_shape = check_target_shape(target_shape)
        super().__init__(name=name, **kwargs)

    def _make_core(self, input_shapes):
        from .. import _core
        self.compute_output_shape(input_shapes)
        return _core.Reshape(list(self.target_shape))

    def compute_output_shape(self, input_shapes):
        shape = input_shapes[0]
        if shape is None or len(shape) < 1:
            raise ValueError(f"Input 0 of layer '{self.name}' (Reshape) is incompatible with the "
                             f"layer: expected shape (B, ...), received {shape}")
        return (None,) + reshape_output_shape(shape[1:], self.target_shape,
                                              f"Layer '{self.name}' (Reshape)")

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorders the non-batch axes: `dims` is 1-based, as in Keras (`Permute((2, 1))` swaps
    T and C of a (B, T, C) tensor).

    Input shape: (B, d_1, ..., d_n). Output shape: (B, d_dims[0], ..., d_dims[n-1]).
    """

    supports_masking = False
    _float_inputs = True

    def __init__(self, dims, name=None, **kwargs):
        dims = _int_tuple(dims, "dims", "Permute")
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of "
                             "indices in `dims` must be consecutive and start from 1. Received "
                             f"dims={dims}")
        self.dims = dims
        super().__init__(name=name, **kwargs)

    def _make_core(self, input_shapes):
        from .. import _core
        self.compute_output_shape(input_shapes)
        return _core.Permute([0] + list(self.dims))

    def compute_output_shape(self, input_shapes):
        shape = input_shapes[0]
        if shape is None or len(shape) != len(self.dims) + 1:
            raise ValueError(f"Input 0 of layer '{self.name}' (Permute) is incompatible with the "
                             f"layer: expected ndim={len(self.dims) + 1}, received input with "
                             f"shape {None if shape is None else tuple(shape)}")
        return (None,) + tuple(shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeats each sample's vector n times: (B, C) -> (B, n, C).

    Example:
        h = seqattn.layers.RepeatVector(T)(summary)   # a sentence vector at every step
    """

    supports_masking = False
    _float_inputs = True

    def __init__(self, n, name=None, **kwargs):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n!r}")
        self.n = int(n)
        super().__init__(name=name, **kwargs)

    def _make_core(self, input_shapes):
        from .. import _core
        self.compute_output_shape(input_shapes)
        return _core.RepeatVector(self.n)

    def compute_output_shape(self, input_shapes):
        shape = input_shapes[0]
        if shape is None or len(shape) != 2:
            raise ValueError(f"Input 0 of layer '{self.name}' (RepeatVector) is incompatible "
                             f"with the layer: expected ndim=2 (B, C), received input with "
                             f"shape {None if shape is None else tuple(shape)}")
        return (None, self.n, shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
