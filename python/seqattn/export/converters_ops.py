"""Converters of the op layers behind `seqattn.ops` and `x + y` (layers/math_ops.py):
BinaryOp, UnaryOp, Constant, Where, MatMul, Reduce. Masks as cpp/elementwise.cpp,
cpp/matmul.cpp and cpp/reduce.cpp hand them on."""

from __future__ import annotations


from .converters_core import float_input, reduce_max
from .registry import converter

_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div"}


def _aligned(call, i):
    """Input i's mask when its (B, T) axes are the output's (`and_aligned_masks`): a mask
    belongs to a batched input whose axis 1 is the output's axis 1."""
    t, m = call.node.inputs[i], call.masks[i]
    if m is None or not t.batched or len(t.shape) < 2 or len(call.out_shape) < 2:
        return None
    return m if t.shape[1] == call.out_shape[1] or None in (t.shape[1], call.out_shape[1]) \
        else None


@converter("BinaryOp")
def _binary(call):
    y = call.op(_BINARY[call.layer.op], [float_input(call, 0), float_input(call, 1)])
    return y, call.g.mask_and(_aligned(call, 0), _aligned(call, 1), f"{call.base}/mask")


@converter("UnaryOp")
def _unary(call):
    layer, g, x = call.layer, call.g, float_input(call, 0)
    op = layer.op
    simple = {"negative": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs"}
    if op in simple:
        y = call.op(simple[op], [x])
    elif op == "square":
        y = call.op("Mul", [x, x], "square")
    elif op == "affine":  # scale·x + shift
        y = call.op("Add", [call.op("Mul", [x, g.scalar(layer.scale)], "scale"),
                            g.scalar(layer.shift)], "shift")
    elif op == "reciprocal":  # scale / x
        y = call.op("Div", [g.scalar(layer.scale), x], "reciprocal")
    elif op == "power":
        y = call.op("Pow", [x, g.scalar(layer.scale)], "power")
    else:
        raise call.unsupported(f"unknown op {op!r}")
    return y, call.masks[0]


@converter("Constant")
def _constant(call):
    value = call.layer.value
    return call.g.const(value, f"{call.base}/value", value.dtype), None


@converter("Where")
def _where(call):
    g = call.g
    cond = call.op("Not", [call.op("Equal", [float_input(call, 0), g.scalar(0.0)], "is_zero")],
                   "cond")  # non-zero selects x, as cpp/elementwise.cpp
    y = call.op("Where", [cond, float_input(call, 1), float_input(call, 2)])
    return y, _aligned(call, 1)


@converter("MatMul")
def _matmul(call):
    y = call.op("MatMul", [float_input(call, 0), float_input(call, 1)])
    return y, call.masks[0] if len(call.shapes[0]) == 3 else None


@converter("Reduce")
def _reduce(call):
    layer, g, x = call.layer, call.g, float_input(call, 0)
    keep = int(layer.keepdims)
    if layer.op == "max":
        y = reduce_max(call, x, layer.axis, keep)
    elif layer.op == "sum":
        y = call.op("ReduceSum", [x, g.ints([layer.axis], "axes")], keepdims=keep)
    elif g.opset < 18:
        y = call.op("ReduceMean", [x], axes=[layer.axis], keepdims=keep)
    else:
        y = call.op("ReduceMean", [x, g.ints([layer.axis], "axes")], keepdims=keep)
    return y, call.masks[0] if layer.axis >= 2 else None


