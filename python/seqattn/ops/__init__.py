"""`seqattn.ops`: Keras's `keras.ops` for the math a model or a custom layer writes inline.

On symbolic tensors (inside a model definition or a custom layer's `call`) each op adds a node
with a C++ forward and backward to the graph, so training stays one C++ step. On arrays it
computes with NumPy in float32 and returns an array, as Keras ops return tensors.

    class TokenAndPositionEmbedding(seqattn.layers.Layer):
        def call(self, x):
            positions = ops.arange(0, ops.shape(x)[-1])   # (T,), a graph constant
            return self.token_emb(x) + self.pos_emb(positions)   # (B, T, C) + (T, C)

Not here yet (each raises an error saying what to use): `einsum`; reductions over the batch
axis of a symbolic tensor.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..layers.base import is_symbolic
from ..layers.tracing import _stack as _open_traces
from .shape_ops import concatenate, expand_dims, reshape, squeeze, transpose
from .shape_ops import numeric_array as _numeric_array

__all__ = ["abs", "add", "arange", "cast", "divide", "exp", "gelu", "log", "matmul", "max",
           "mean", "multiply", "negative", "power", "relu", "shape", "sigmoid", "softmax",
           "sqrt", "square", "subtract", "sum", "tanh", "where"]
# Shape ops (shape_ops.py): reshape, expand_dims, squeeze, transpose, concatenate.
__all__ += ["concatenate", "expand_dims", "reshape", "squeeze", "transpose"]



def _is_scalar(v) -> bool:
    return (isinstance(v, numbers.Real) and not isinstance(v, bool)) or (
        isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iuf")


def _unary_layer(op, scale=1.0, shift=0.0):
    from ..layers.math_ops import UnaryOp
    return UnaryOp(op, scale, shift)


def _constant(a):
    from ..layers.math_ops import Constant
    return Constant(a)()


def _binary(op, x, y, numpy_fn):
    sx, sy = is_symbolic(x), is_symbolic(y)
    if not sx and not sy:
        return numpy_fn(_numeric_array(x, op), _numeric_array(y, op)).astype(np.float32) \
            if np.result_type(np.asarray(x), np.asarray(y)).kind == "f" else \
            numpy_fn(np.asarray(x), np.asarray(y))
    if sx and sy and x.constant is not None and y.constant is not None:
        return _constant(numpy_fn(x.constant, y.constant))
    scalar = y if sx and _is_scalar(y) else x if sy and _is_scalar(x) else None
    if scalar is not None:
        c = float(scalar)
        t = x if sx else y
        if op == "add":
            return _unary_layer("affine", 1.0, c)(t)
        if op == "subtract":
            return _unary_layer("affine", 1.0, -c)(t) if sx else _unary_layer("affine", -1.0, c)(t)
        if op == "multiply":
            return _unary_layer("affine", c, 0.0)(t)
        if sx:  # x / c
            if c == 0.0:
                raise ZeroDivisionError(f"ops.divide: {t.name} / 0")
            return _unary_layer("affine", 1.0 / c, 0.0)(t)
        return _unary_layer("reciprocal", c)(t)  # c / y
    from ..layers.math_ops import BinaryOp
    if not sx:
        x = _constant(_numeric_array(x, op).astype(np.float32))
    if not sy:
        y = _constant(_numeric_array(y, op).astype(np.float32))
    return BinaryOp(op)(x, y)


def add(x1, x2):
    """x1 + x2 with broadcasting (the `+` of symbolic tensors)."""
    return _binary("add", x1, x2, np.add)


def subtract(x1, x2):
    return _binary("subtract", x1, x2, np.subtract)


def multiply(x1, x2):
    return _binary("multiply", x1, x2, np.multiply)


def divide(x1, x2):
    return _binary("divide", x1, x2, np.true_divide)


def _unary(op, x, numpy_fn, scale=1.0):
    if is_symbolic(x):
        if x.constant is not None:
            return _constant(numpy_fn(x.constant.astype(np.float32)))
        return _unary_layer(op, scale)(x)
    return numpy_fn(_numeric_array(x, op).astype(np.float32))


def negative(x):
    return _unary("negative", x, np.negative)


def exp(x):
    return _unary("exp", x, np.exp)


def log(x):
    return _unary("log", x, np.log)


def sqrt(x):
    return _unary("sqrt", x, np.sqrt)


def square(x):
    return _unary("square", x, np.square)


def abs(x):  # noqa: A001 - Keras's name
    return _unary("abs", x, np.abs)


def power(x1, x2):
    """x1 ** x2 for a number x2 (a tensor exponent is not supported symbolically)."""
    if is_symbolic(x2):
        raise ValueError("ops.power: the exponent must be a number when the base is a "
                         "symbolic tensor (x ** 2, not x ** y).")
    if is_symbolic(x1):
        if not _is_scalar(x2):
            raise ValueError(f"ops.power: the exponent must be a number; received {x2!r}")
        return _unary("power", x1, lambda a: np.power(a, float(x2)), float(x2))
    return np.power(_numeric_array(x1, "power").astype(np.float32), x2)


def _activation(name, x, numpy_fn):
    if is_symbolic(x):
        from ..layers.activation_layer import Activation
        return Activation(name)(x)
    return numpy_fn(_numeric_array(x, name).astype(np.float32)).astype(np.float32)


def _np_gelu(a):
    from math import erf, sqrt as msqrt
    return a * 0.5 * (1.0 + np.vectorize(erf, otypes=[np.float64])(a / msqrt(2.0)))


def _np_softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def relu(x):
    return _activation("relu", x, lambda a: np.maximum(a, 0.0))


def gelu(x, approximate=False):
    if approximate:
        raise ValueError("ops.gelu: seqattn computes the exact gelu (approximate=False, "
                         "Keras's default for layers).")
    return _activation("gelu", x, _np_gelu)


def tanh(x):
    return _activation("tanh", x, np.tanh)


def sigmoid(x):
    return _activation("sigmoid", x, lambda a: 1.0 / (1.0 + np.exp(-a)))


def softmax(x, axis=-1):
    if is_symbolic(x):
        if axis not in (-1, len(x.shape) - 1):
            raise ValueError(f"ops.softmax on a symbolic tensor works over the last axis "
                             f"(axis=-1); received axis={axis}.")
        return _activation("softmax", x, _np_softmax)
    return _np_softmax(_numeric_array(x, "softmax").astype(np.float32), axis)


def arange(start, stop=None, step=1, dtype="int32"):
    """[start, stop) in steps, as Keras: inside a custom layer's `call` it is a graph
    constant (no batch axis), so `Embedding(maxlen, C)(ops.arange(T))` is a trainable
    (T, C) position table."""
    if stop is None:
        start, stop = 0, start
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if is_symbolic(v) or not _is_scalar(v):
            raise TypeError(f"ops.arange: `{name}` must be a number (ops.shape(x)[-1] gives the "
                            f"known length of a symbolic tensor); received {v!r}")
    if dtype not in ("int32", "int64", "float32"):
        raise ValueError(f"ops.arange: dtype must be 'int32' or 'float32'; received {dtype!r}")
    values = np.arange(start, stop, step, dtype=np.float32 if dtype == "float32" else np.int64)
    values = values.astype(np.float32 if dtype == "float32" else np.int32)
    return _constant(values) if _open_traces() else values


def shape(x):
    """The shape as a tuple: a symbolic tensor gives None for the batch axis."""
    return tuple(x.shape) if is_symbolic(x) else tuple(np.shape(x))


def cast(x, dtype):
    """To float32 (token ids or features); seqattn tensors are float32 or int32 ids."""
    if not is_symbolic(x):
        return np.asarray(x).astype(dtype)
    if dtype not in ("float32", "float", "float64"):
        raise ValueError(f"ops.cast of a symbolic tensor supports dtype='float32' (seqattn "
                         f"computes in float32); received dtype={dtype!r}")
    if x.dtype == "float32":
        return x
    if x.constant is not None:
        return _constant(x.constant.astype(np.float32))
    layer = _unary_layer("affine", 1.0, 0.0)
    layer._float_inputs = False  # it reads ids as numbers (the boundary converts them)
    return layer(x)


def _reduce(name, x, axis, keepdims, numpy_fn):
    if not is_symbolic(x):
        return numpy_fn(_numeric_array(x, name).astype(np.float32), axis=axis,
                        keepdims=keepdims)
    rank = len(x.shape)
    if x.constant is not None:
        return _constant(numpy_fn(x.constant.astype(np.float32), axis=axis, keepdims=keepdims))
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if axis is None or not all(isinstance(a, int) and -rank <= a < rank for a in axes):
        raise ValueError(f"ops.{name} on a symbolic tensor of shape {x.shape} needs an axis "
                         f"other than the batch axis (1 to {rank - 1}, or negative); received "
                         f"axis={axis!r}. Reducing over the whole batch would mix samples.")
    axes = sorted({a % rank for a in axes}, reverse=True)  # innermost first: indices stay valid
    if 0 in axes:
        raise ValueError(f"ops.{name}: seqattn keeps the batch axis; received axis={axis!r} "
                         f"for shape {x.shape}.")
    from ..layers.math_ops import Reduce
    for a in axes:
        x = Reduce(name, a, keepdims)(x)
    return x


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _reduce("sum", x, axis, keepdims, np.sum)


def mean(x, axis=None, keepdims=False):
    return _reduce("mean", x, axis, keepdims, np.mean)


def max(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return _reduce("max", x, axis, keepdims, np.max)


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from .._keras_names import missing as _missing
    raise _missing("ops", name, globals())


def _symbolic_operand(v, op):
    """A symbolic tensor as is; an array or number as a float32 graph constant."""
    if is_symbolic(v):
        return v
    a = _numeric_array(v, op).astype(np.float32)
    return _constant(a if a.ndim else a.reshape(1))


def matmul(x1, x2):
    """x1 · x2 over the last two axes, (..., M, K) · (..., K, N); on symbolic tensors the
    batch axes must match or one side be a matrix (x · W, a (T, T) table)."""
    if not is_symbolic(x1) and not is_symbolic(x2):
        return np.matmul(_numeric_array(x1, "matmul").astype(np.float32),
                         _numeric_array(x2, "matmul").astype(np.float32))
    from ..layers.math_ops import MatMul
    return MatMul()(_symbolic_operand(x1, "matmul"), _symbolic_operand(x2, "matmul"))


def where(condition, x1, x2):
    """x1 where condition holds (non-zero), else x2, with broadcasting. The branch not taken
    never reaches the output or takes a gradient."""
    if not any(is_symbolic(v) for v in (condition, x1, x2)):
        return np.where(np.asarray(condition) != 0, x1, x2).astype(np.float32)
    from ..layers.math_ops import Where
    return Where()(*(_symbolic_operand(v, "where") for v in (condition, x1, x2)))
