"""Merge layers: combine a list of tensors (Keras 3 names and functional forms).

Add, Subtract, Multiply, Average, Maximum, Minimum: k >= 2 tensors of one shape, element by
element (Subtract: exactly 2). Concatenate: joined along one non-batch axis. All run in C++
(cpp/merge.*).
"""

from __future__ import annotations

import numbers

from .base import Layer


class _Merge(Layer):
    """The element-wise merge layers: y[i] = x_0[i] op x_1[i] op ... (list order).

    The output mask is the logical AND of the inputs' masks that exist (so a padding mask from
    the embedding survives a residual branch); masks never change the values.

    Input shape: a list of (B, ...) tensors, all the same shape. Output shape: that shape.
    """

    _float_inputs = True
    _op = "add"
    _exactly = None  # Subtract: 2

    def _input_list(self, *args, **kwargs):
        kind = type(self).__name__
        if len(args) != 1 or kwargs or not isinstance(args[0], (list, tuple)):
            received = args[0] if len(args) == 1 else args
            raise ValueError(f"Layer '{self.name}' (a merge layer) should be called on a list of "
                             f"inputs, e.g. {kind}()([a, b]). Received: inputs={received!r}")
        inputs = list(args[0])
        if self._exactly is not None and len(inputs) != self._exactly:
            raise ValueError(f"Layer '{self.name}' ({kind}) should be called on exactly "
                             f"{self._exactly} inputs. Received: {len(inputs)} input(s)")
        if len(inputs) < 2 or any(x is None for x in inputs):
            raise ValueError(f"Layer '{self.name}' (a merge layer) should be called on a list of "
                             f"at least 2 inputs. Received: {len(inputs)} input(s)"
                             + (" including None" if any(x is None for x in inputs) else ""))
        return inputs, {}

    def _make_core(self, input_shapes):
        from .. import _core
        first = tuple(input_shapes[0])
        for i, s in enumerate(input_shapes):
            if tuple(s) != first or len(s) < 1:
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): inputs must all "
                                 f"have the same shape; received {first} (input 0) and "
                                 f"{tuple(s)} (input {i})")
        return _core.Add() if self._op == "add" else _core.Merge(self._op)

    def _output_has_mask(self, input_has_mask):
        return any(input_has_mask)


class Add(_Merge):
    """Element-wise sum of a list of tensors (a residual connection).

    y = x_0 + x_1 + ... + x_{k-1}

    Example:
        h = seqattn.layers.Add()([tokens, seqattn.layers.PositionEmbedding(200)(tokens)])
    """


class Subtract(_Merge):
    """y = x_0 - x_1, for exactly two tensors of one shape.

    Example:
        d = seqattn.layers.Subtract()([a, b])
    """

    _op = "subtract"
    _exactly = 2


class Multiply(_Merge):
    """Element-wise product y = x_0 · x_1 · ... · x_{k-1} (a gate: `Multiply()([h, g])`).
    The gradient of x_j is dy times the product of the others (exact at zeros)."""

    _op = "multiply"


class Average(_Merge):
    """Element-wise mean y = (x_0 + ... + x_{k-1}) / k (the sum in list order, then / k)."""

    _op = "average"


class Maximum(_Merge):
    """Element-wise maximum of k tensors. NaN propagates (a NaN input gives NaN). The gradient
    of a tie is split equally among the inputs that reach the maximum (as torch.maximum;
    TensorFlow gives all of it to the first)."""

    _op = "maximum"


class Minimum(_Merge):
    """Element-wise minimum of k tensors; NaN and ties as Maximum."""

    _op = "minimum"


class Concatenate(Layer):
    """Joins a list of tensors along `axis` (Keras default -1, the channels).

    Every axis but `axis` must match; the batch axis cannot be joined. Masks follow Keras 3:
    joined along T when axis is 1, otherwise the OR of the inputs' masks (an input without a
    mask counts as all ones).

    Input shape: a list of (B, ..., D_j, ...) tensors. Output shape: (B, ..., Σ D_j, ...).

    Example:
        h = seqattn.layers.Concatenate()([avg_pooled, max_pooled])   # (B, 2C)
    """

    _float_inputs = True

    def __init__(self, axis=-1, name=None, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Concatenate: `axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)
        super().__init__(name=name, **kwargs)
        self._rank = None

    _exactly = None
    _input_list = _Merge._input_list

    def _core_axis(self, shapes):
        rank = len(shapes[0])
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(f"Layer '{self.name}' (Concatenate): axis={self.axis} must name a "
                             f"non-batch axis of the inputs (rank {rank}: 1 to {rank - 1}, or "
                             f"negative). Received: input_shape={shapes}")
        return axis

    def _make_core(self, input_shapes):
        from .. import _core
        shapes = [tuple(s) for s in input_shapes]
        axis = self._core_axis(shapes)
        if any(len(s) != len(shapes[0]) or any(a != b and i != axis and None not in (a, b)
                                               for i, (a, b) in enumerate(zip(s, shapes[0])))
               for s in shapes):
            raise ValueError(f"Layer '{self.name}' (Concatenate) requires inputs with matching "
                             f"shapes except for the concatenation axis {axis}. Received: "
                             f"input_shape={shapes}")
        self._rank = len(shapes[0])
        return _core.Concatenate(self.axis)  # resolved per call, as in Keras

    def compute_output_shape(self, input_shapes):
        shapes = [tuple(s) for s in input_shapes]
        axis = self._core_axis(shapes)
        out = list(shapes[0])
        for i in range(1, len(out)):
            known = [s[i] for s in shapes if s[i] is not None]
            if i == axis:
                out[i] = sum(known) if len(known) == len(shapes) else None
            else:
                out[i] = known[0] if known else None
        return (None,) + tuple(out[1:])

    def _output_has_mask(self, input_has_mask):
        return any(input_has_mask) and (self._rank or 0) >= 3

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


# Keras's functional forms: `layers.add([a, b])` is `layers.Add()([a, b])`.
def add(inputs, **kwargs):
    """Functional interface to Add: the sum of the inputs."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional interface to Subtract: inputs[0] - inputs[1]."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional interface to Multiply: the element-wise product of the inputs."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional interface to Average: the element-wise mean of the inputs."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional interface to Maximum: the element-wise maximum of the inputs."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional interface to Minimum: the element-wise minimum of the inputs."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to Concatenate: the inputs joined along `axis`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
