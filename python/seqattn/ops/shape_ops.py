"""The shape ops of `seqattn.ops`: reshape, expand_dims, squeeze (one Reshape node), transpose
(a Permute node) and concatenate (a Concatenate node). On symbolic tensors the batch axis stays
first, since every sample is computed alone; on arrays they are NumPy's."""

from __future__ import annotations

import numbers

import numpy as np

from ..layers.base import is_symbolic


def numeric_array(x, op):
    """x as a NumPy array of numbers (the eager path of every op), checked."""
    try:
        a = np.asarray(x)
    except ValueError as e:
        raise ValueError(f"ops.{op}: expected a tensor or an array, received ragged nested "
                         f"sequences ({e})") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"ops.{op} expects numbers; received a {a.dtype} array.")
    return a


def _array(x, op):
    a = numeric_array(x, op)
    return a.astype(np.float32) if a.dtype.kind == "f" else a


def _constant(a):
    from ..layers.math_ops import Constant
    return Constant(a)()


def _int(v, arg, op):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"ops.{op}: `{arg}` must be an integer. Received: {arg}={v!r}")
    return int(v)


def _axis(axis, rank, op, shape):
    """A non-batch axis in [1, rank) from an int in [-rank, rank), or a ValueError."""
    a = _int(axis, "axis", op)
    if not -rank <= a < rank:
        raise ValueError(f"ops.{op}: axis={axis} is out of range for a tensor of shape {shape}")
    a %= rank
    if a == 0:
        raise ValueError(f"ops.{op}: seqattn keeps the batch axis first; received axis={axis} "
                         f"for a symbolic tensor of shape {shape} (use an axis from 1 to "
                         f"{rank - 1}, or a negative one).")
    return a


def _reshape_node(x, shape, op):
    """One Reshape node from x to `shape` (batch first, None = unknown size)."""
    from ..layers.reshaping import Reshape
    target = tuple(-1 if d is None else d for d in shape[1:])
    if target.count(-1) > 1:
        raise ValueError(f"ops.{op}: the result {tuple(shape)} would have more than one unknown "
                         f"axis after the batch axis; give the sizes (e.g. Input((T, C)) with T "
                         f"known) or use ops.reshape with one -1.")
    return Reshape(target)(x)


def reshape(x, newshape):
    """x with a new shape (NumPy's order). On a symbolic tensor `newshape[0]` is the batch:
    -1 or None; one other axis may be -1."""
    if not is_symbolic(x):
        return np.reshape(_array(x, "reshape"), newshape)
    if x.constant is not None:
        return _constant(np.reshape(x.constant, newshape))
    if isinstance(newshape, numbers.Integral) or not isinstance(newshape, (list, tuple)) \
            or not newshape:
        raise ValueError(f"ops.reshape of a symbolic tensor of shape {x.shape} needs newshape as "
                         f"a tuple starting with the batch axis (-1 or None). Received: "
                         f"newshape={newshape!r}")
    if newshape[0] not in (-1, None) or isinstance(newshape[0], bool):
        raise ValueError(f"ops.reshape: seqattn keeps the batch axis; newshape[0] must be -1 or "
                         f"None (the batch, unknown while the model is defined). Received: "
                         f"newshape={tuple(newshape)} for a tensor of shape {x.shape}")
    from ..layers.reshaping import Reshape, check_target_shape
    rest = tuple(-1 if d is None else d for d in newshape[1:])
    return Reshape(check_target_shape(rest, "newshape[1:]", "ops.reshape"))(x)


def expand_dims(x, axis):
    """x with a new axis of size 1 at `axis` (after the batch axis on a symbolic tensor)."""
    if not is_symbolic(x):
        return np.expand_dims(_array(x, "expand_dims"), axis)
    if x.constant is not None:
        return _constant(np.expand_dims(x.constant, axis))
    rank = len(x.shape) + 1
    a = _axis(axis, rank, "expand_dims", x.shape)
    return _reshape_node(x, x.shape[:a] + (1,) + x.shape[a:], "expand_dims")


def squeeze(x, axis=None):
    """x without its axes of size 1 (`axis`: only that one; it must have size 1)."""
    if not is_symbolic(x):
        return np.squeeze(_array(x, "squeeze"), axis)
    if x.constant is not None:
        return _constant(np.squeeze(x.constant, axis))
    rank = len(x.shape)
    if axis is None:
        drop = [i for i in range(1, rank) if x.shape[i] == 1]
    else:
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        drop = sorted({_axis(a, rank, "squeeze", x.shape) for a in axes})
        for i in drop:
            if x.shape[i] != 1:
                raise ValueError(f"ops.squeeze: cannot squeeze axis {i} of shape {x.shape}: its "
                                 f"size is {x.shape[i]}, not 1")
    if not drop:
        return x
    return _reshape_node(x, tuple(d for i, d in enumerate(x.shape) if i not in drop), "squeeze")


def transpose(x, axes=None):
    """x with its axes reordered (NumPy's `axes`; None reverses them). On a symbolic tensor
    axes[0] must be 0: the batch stays first, e.g. ops.transpose(k, (0, 2, 1))."""
    if not is_symbolic(x):
        return np.transpose(_array(x, "transpose"), axes)
    if x.constant is not None:
        return _constant(np.transpose(x.constant, axes))
    rank = len(x.shape)
    if axes is None:
        axes = tuple(reversed(range(rank)))
    if not isinstance(axes, (list, tuple)) or len(axes) != rank:
        raise ValueError(f"ops.transpose: `axes` must list all {rank} axes of a tensor of shape "
                         f"{x.shape}. Received: axes={axes!r}")
    perm = [_int(a, "axes", "transpose") for a in axes]
    if sorted(p % rank if -rank <= p < rank else -1 for p in perm) != list(range(rank)):
        raise ValueError(f"ops.transpose: `axes` must be a permutation of the {rank} axes of a "
                         f"tensor of shape {x.shape}. Received: axes={tuple(axes)}")
    perm = [p % rank for p in perm]
    if perm[0] != 0:
        raise ValueError(f"ops.transpose: seqattn keeps the batch axis first; axes[0] must be 0 "
                         f"for a symbolic tensor of shape {x.shape}. Received: "
                         f"axes={tuple(axes)}")
    if perm == list(range(rank)):
        return x
    from ..layers.reshaping import Permute
    return Permute(tuple(perm[1:]))(x)


def concatenate(xs, axis=0):
    """The tensors joined along `axis` (Keras's default 0; a symbolic tensor's axis 0 is the
    batch, so pass an axis >= 1 or a negative one)."""
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError(f"ops.concatenate expects a non-empty list of tensors. Received: "
                         f"{xs!r}")
    symbolic = [is_symbolic(x) for x in xs]
    if not any(symbolic):
        return np.concatenate([_array(x, "concatenate") for x in xs], axis=axis)
    if all(symbolic) and all(x.constant is not None for x in xs):
        return _constant(np.concatenate([x.constant for x in xs], axis=axis))
    if not all(symbolic) or any(x.constant is not None or not x.batched for x in xs):
        raise ValueError("ops.concatenate on symbolic tensors joins tensors that all have the "
                         "batch axis; received a mix with arrays or constants (broadcast them "
                         "to the batch first, e.g. with ops.add).")
    _axis(axis, len(xs[0].shape), "concatenate", xs[0].shape)
    if len(xs) == 1:
        return xs[0]
    from ..layers.merge import Concatenate
    return Concatenate(axis=axis)(list(xs))
