"""The layers behind `seqattn.ops` and `+ - * /` on symbolic tensors.

They are ordinary graph nodes with a C++ forward and backward (cpp/elementwise.*), so a model
written with ops still trains in one C++ step. Users rarely build them by name: `x + y`,
`ops.exp(x)` and `ops.arange(n)` inside a model or a custom layer's `call` make them.
"""

from __future__ import annotations

import numbers

import numpy as np

from .base import Layer

BINARY_OPS = ("add", "subtract", "multiply", "divide")
UNARY_OPS = ("negative", "exp", "log", "sqrt", "square", "abs", "affine", "reciprocal", "power")


def broadcast_shapes(a, b, owner):
    """NumPy broadcasting of two symbolic shapes (None = unknown size) or a ValueError naming
    both shapes."""
    out = []
    for i in range(max(len(a), len(b))):
        da = a[len(a) - 1 - i] if i < len(a) else 1
        db = b[len(b) - 1 - i] if i < len(b) else 1
        if da == 1:
            out.append(db)
        elif db == 1 or da == db:
            out.append(da)
        elif da is None or db is None:
            out.append(da if db is None else db)
        else:
            raise ValueError(f"Cannot broadcast shapes {tuple(a)} and {tuple(b)} in '{owner}': "
                             f"axis {-1 - i} has sizes {da} and {db} (they must be equal, or "
                             "one of them 1).")
    return tuple(reversed(out))


class BinaryOp(Layer):
    """y = a op b with NumPy broadcasting; op is "add", "subtract", "multiply" or "divide".

    Input shapes: two tensors that broadcast, e.g. (B, T, C) and (T, C). Output: the
    broadcast shape. The output mask is the AND of the inputs' masks (as the merge layers).
    """

    _float_inputs = True

    def __init__(self, op, name=None, **kwargs):
        if op not in BINARY_OPS:
            raise ValueError(f"Unknown op {op!r} for BinaryOp. Valid ops: "
                             + ", ".join(BINARY_OPS) + ".")
        self.op = op
        super().__init__(name=name or _unique(op), **kwargs)

    def _input_list(self, *args, **kwargs):
        if len(args) != 2 or kwargs:
            raise TypeError(f"Layer '{self.name}' ({self.op}) takes two tensors.")
        return list(args), {}

    def _make_core(self, input_shapes):
        from .. import _core
        a, b = input_shapes
        broadcast_shapes(a, b, self.name)
        return _core.BinaryOp(self.op)

    def compute_output_shape(self, input_shapes):
        a, b = input_shapes
        return broadcast_shapes(a, b, self.name)

    def _output_has_mask(self, input_has_mask):
        return any(input_has_mask)

    def get_config(self):
        return {**super().get_config(), "op": self.op}


class UnaryOp(Layer):
    """y = f(x) element by element: "negative", "exp", "log", "sqrt", "square", "abs",
    "affine" (scale·x + shift), "reciprocal" (scale / x), "power" (x ** scale).
    Any shape; the mask passes through."""

    _float_inputs = True

    def __init__(self, op, scale=1.0, shift=0.0, name=None, **kwargs):
        if op not in UNARY_OPS:
            raise ValueError(f"Unknown op {op!r} for UnaryOp. Valid ops: "
                             + ", ".join(UNARY_OPS) + ".")
        for arg, v in (("scale", scale), ("shift", shift)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise ValueError(f"UnaryOp `{arg}` must be a finite number; received {v!r}")
        self.op, self.scale, self.shift = op, float(scale), float(shift)
        super().__init__(name=name or _unique(op), **kwargs)

    def _make_core(self, input_shapes):
        from .. import _core
        return _core.UnaryOp(self.op, self.scale, self.shift)

    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes[0])

    def get_config(self):
        return {**super().get_config(), "op": self.op, "scale": self.scale,
                "shift": self.shift}


class Constant(Layer):
    """A fixed array inside the graph (no batch axis): what `ops.arange(T)` gives inside a
    traced `call`, e.g. the positions an Embedding turns into a (T, C) table."""

    def __init__(self, value, name=None, **kwargs):
        super().__init__(name=name or _unique("constant"), **kwargs)
        a = np.asarray(value)
        if a.dtype.kind in "iub":
            if a.size and (a.min() < -2**31 or a.max() >= 2**31):
                raise ValueError(f"Constant '{self.name}': integer values must fit int32.")
            a = a.astype(np.int32)
        elif a.dtype.kind == "f":
            a = a.astype(np.float32)
        else:
            raise TypeError(f"Constant '{self.name}' holds numbers; received {a.dtype} values.")
        if a.ndim < 1:
            raise ValueError(f"Constant '{self.name}' needs rank >= 1; received a scalar.")
        self.value = a

    def _input_list(self, *args, **kwargs):
        return [], {}

    def __call__(self):
        from .base import Node, SymbolicTensor
        if not self.built:
            self.build([])
        node = Node(self, [])
        dtype = "int32" if self.value.dtype == np.int32 else "float32"
        node.output = SymbolicTensor(self.value.shape, dtype, node=node, name=self.name)
        node.output.batched = False
        node.output.constant = self.value
        node.call_structure = ((), {})
        self._nodes.append(node)
        return node.output

    def _make_core(self, input_shapes):
        from .. import _core
        return _core.Constant(self.value)

    def get_config(self):
        return {**super().get_config(), "value": self.value.tolist()}


def _unique(base):
    from .base import unique_name
    return unique_name(base)


class Where(Layer):
    """y = x where cond else y (cond non-zero), broadcast; what `ops.where` adds to a graph.
    cond gets no gradient; the unselected branch never reaches the output."""

    _float_inputs = True

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name or _unique("where"), **kwargs)

    def _input_list(self, *args, **kwargs):
        if len(args) != 3 or kwargs:
            raise TypeError(f"Layer '{self.name}' takes cond, x and y.")
        return list(args), {}

    def _make_core(self, input_shapes):
        from .. import _core
        c, x, y = input_shapes
        broadcast_shapes(broadcast_shapes(c, x, self.name), y, self.name)
        return _core.Where()

    def compute_output_shape(self, input_shapes):
        c, x, y = input_shapes
        return broadcast_shapes(broadcast_shapes(c, x, self.name), y, self.name)

    def _output_has_mask(self, input_has_mask):
        return bool(input_has_mask[1])


class MatMul(Layer):
    """c = a · b over the last two axes: a (..., M, K), b (..., K, N) with equal batch axes,
    or one side a matrix shared by every batch item. What `ops.matmul` adds to a graph."""

    _float_inputs = True

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name or _unique("matmul"), **kwargs)

    def _input_list(self, *args, **kwargs):
        if len(args) != 2 or kwargs:
            raise TypeError(f"Layer '{self.name}' (matmul) takes two tensors.")
        return list(args), {}

    def _make_core(self, input_shapes):
        from .. import _core
        self.compute_output_shape(input_shapes)
        return _core.MatMul()

    def compute_output_shape(self, input_shapes):
        a, b = (tuple(s) for s in input_shapes)
        if len(a) < 2 or len(b) < 2:
            raise ValueError(f"ops.matmul ('{self.name}') needs tensors of rank >= 2; received "
                             f"shapes {a} and {b}")
        if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
            raise ValueError(f"ops.matmul ('{self.name}'): the last axis of {a} must equal the "
                             f"second-to-last axis of {b}")
        lead_a, lead_b = a[:-2], b[:-2]
        if lead_a and lead_b and len(lead_a) != len(lead_b) or any(
                x is not None and y is not None and x != y for x, y in zip(lead_a, lead_b)):
            raise ValueError(f"ops.matmul ('{self.name}'): the batch axes of {a} and {b} must "
                             "be equal (or one side a matrix)")
        lead = tuple(x if x is not None else y for x, y in zip(lead_a, lead_b)) \
            if lead_a and lead_b else (lead_a or lead_b)
        return lead + (a[-2], b[-1])

    def _output_has_mask(self, input_has_mask):
        return bool(input_has_mask[0])


class Reduce(Layer):
    """sum, mean or max over one non-batch axis (`ops.sum/mean/max(x, axis, keepdims)`).
    Plain reductions, as Keras ops: a padding mask does not change them (the pooling layers
    are the mask-aware reductions)."""

    _float_inputs = True

    def __init__(self, op, axis, keepdims=False, name=None, **kwargs):
        if op not in ("sum", "mean", "max"):
            raise ValueError(f"Unknown reduction {op!r}: 'sum', 'mean' or 'max'.")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or axis < 1:
            raise ValueError(f"Reduce: `axis` must be an integer >= 1 (the batch axis stays); "
                             f"received {axis!r}")
        self.op, self.axis, self.keepdims = op, int(axis), bool(keepdims)
        super().__init__(name=name or _unique(op), **kwargs)

    def _make_core(self, input_shapes):
        from .. import _core
        self.compute_output_shape(input_shapes)
        return _core.Reduce(self.op, self.axis, self.keepdims)

    def compute_output_shape(self, input_shapes):
        shape = tuple(input_shapes[0])
        if self.axis >= len(shape):
            raise ValueError(f"ops.{self.op}: axis {self.axis} is out of range for a tensor of "
                             f"shape {shape}")
        return shape[:self.axis] + ((1,) if self.keepdims else ()) + shape[self.axis + 1:]

    def _output_has_mask(self, input_has_mask):
        return bool(input_has_mask and input_has_mask[0]) and self.axis >= 2

    def get_config(self):
        return {**super().get_config(), "op": self.op, "axis": self.axis,
                "keepdims": self.keepdims}
