"""Converters of the layers: embeddings, positions, Dense, Conv1D, normalisation, pooling,
merging and reshaping. Masks follow cpp/*.cpp: each returns the (B, T) bool mask the C++
layer sets as `out.mask` (None where it clears it)."""

from __future__ import annotations

import numpy as np

from .registry import converter


def activation(call, x, name):
    """The activations of cpp/activations.cpp (gelu exact, softmax over the last axis)."""
    if name == "linear":
        return x
    if name == "gelu":  # 0.5 z (1 + erf(z / sqrt 2)); Gelu is an op only from opset 20
        g = call.g
        erf = call.op("Erf", [call.op("Mul", [x, g.scalar(1 / np.sqrt(2))], "gelu_scale")])
        one_plus = call.op("Add", [erf, g.scalar(1.0)], "gelu_cdf")
        return call.op("Mul", [call.op("Mul", [x, g.scalar(0.5)], "gelu_half"), one_plus],
                       "gelu")
    ops = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
    if name in ops:
        return call.op(ops[name], [x])
    if name == "softmax":
        return call.op("Softmax", [x], axis=-1)
    raise call.unsupported(f"unknown activation {name!r}")


def float_input(call, i):
    """Input i as float32 (a Constant from ops.arange is int32)."""
    t = call.node.inputs[i]
    if t is not None and t.dtype != "float32":
        return call.op("Cast", [call.x[i]], "to_float", to=call.g.onnx.TensorProto.FLOAT)
    return call.x[i]


def ids_input(call):
    """Token ids as int64 (an Input may hold them as float32, as keras.io's models do)."""
    return call.op("Cast", [call.x[0]], "ids", to=call.g.onnx.TensorProto.INT64)


def padding_mask(call, ids):
    return call.op("Not", [call.op("Equal", [ids, call.g.ints([0], "zero")], "is_pad")],
                   "mask")


def time_slice(call, table, like):
    """table[:T] for T the length (axis 1) of `like`."""
    g = call.g
    return call.op("Slice", [table, g.ints([0]), g.dim(like, 1), g.ints([0], "axes")],
                   "positions")


# ------------------------------------------------------------------ embeddings, positions
@converter("Embedding")
def _embedding(call):
    ids = ids_input(call)
    y = call.op("Gather", [call.weight(0), ids], axis=0)
    return y, padding_mask(call, ids) if call.layer.mask_zero else None


@converter("TokenAndPositionEmbedding")
def _token_and_position(call):
    ids = ids_input(call)
    tokens = call.op("Gather", [call.weight(0), ids], axis=0)
    y = call.op("Add", [tokens, time_slice(call, call.weight(1), ids)])
    return y, padding_mask(call, ids) if call.layer.mask_zero else None


@converter("PositionEmbedding")
def _position_embedding(call):
    x = call.x[0]
    table = time_slice(call, call.weight(0), x)
    return call.op("Expand", [table, call.op("Shape", [x])]), call.masks[0]


@converter("SinePositionEncoding")
def _sine_position(call):
    # Computed in float64 and rounded once, as cpp/position.cpp does, for any T.
    g, x = call.g, call.x[0]
    C = int(call.shapes[0][-1])
    i = np.arange(C)
    w = np.power(float(call.layer.max_wavelength), -2.0 * (i // 2) / C)
    T = call.op("Squeeze", [g.dim(x, 1)], "T")
    t = call.op("Range", [g.const(np.int64(0), "zero64", np.int64), T,
                          g.const(np.int64(1), "one64", np.int64)], "t")
    t = call.op("Cast", [call.op("Unsqueeze", [t, g.ints([1], "axes")])], "t64",
                to=g.onnx.TensorProto.DOUBLE)
    angle = call.op("Mul", [t, g.const(w, "wavelengths", np.float64)], "angle")
    table = call.op("Where", [g.const(i % 2 == 0, "even", np.bool_),
                              call.op("Sin", [angle]), call.op("Cos", [angle])], "table")
    table = call.op("Cast", [table], "table32", to=g.onnx.TensorProto.FLOAT)
    return call.op("Expand", [table, call.op("Shape", [x])]), call.masks[0]


# ------------------------------------------------------------------ dense, conv, norm
@converter("Dense")
def _dense(call):
    layer = call.layer
    y = call.op("MatMul", [call.x[0], call.weight(0)])
    if layer.use_bias:
        y = call.op("Add", [y, call.weight(1)], "bias")
    y = activation(call, y, layer.activation)
    return y, call.masks[0] if len(call.shapes[0]) == 3 else None


@converter("Activation")
def _activation(call):
    return activation(call, call.x[0], call.layer.activation), call.masks[0]


@converter("Dropout")
def _dropout(call):
    return call.x[0], call.masks[0]  # inference: the identity


@converter("LayerNormalization")
def _layer_norm(call):
    layer, C = call.layer, int(call.shapes[0][-1])
    k = 0
    if layer.scale:
        gamma, k = call.weight(0), 1
    else:
        gamma = call.g.const(np.ones(C, np.float32), f"{call.base}/gamma")
    beta = call.weight(k) if layer.center else call.g.const(np.zeros(C, np.float32),
                                                            f"{call.base}/beta")
    y = call.op("LayerNormalization", [call.x[0], gamma, beta], "norm", axis=-1,
                epsilon=float(layer.epsilon))
    return y, call.masks[0]


def _channels_first(call, x):
    return call.op("Transpose", [x], "to_bct", perm=[0, 2, 1])


def _channels_last(call, x):
    return call.op("Transpose", [x], "to_btc", perm=[0, 2, 1])


def _window_padding(call, padding, size, stride, dilation=1):
    """ONNX padding attributes for Keras's padding, as cpp/window1d.hpp: "same" splits the
    zeros TensorFlow's way (the odd one at the end, ONNX's SAME_UPPER), "causal" puts them
    all on the left. Explicit pads when T is known (onnxruntime refuses SAME_UPPER with
    dilation)."""
    span = dilation * (size - 1) + 1
    if padding == "causal":
        return {"pads": [span - 1, 0]}
    if padding != "same":
        return {"pads": [0, 0]}
    T = call.shapes[0][1]
    if T is None:
        if dilation > 1:
            raise call.unsupported("padding='same' with dilation_rate > 1 needs a fixed "
                                   "sequence length (onnxruntime cannot pad it otherwise); "
                                   "give the Input a length")
        return {"auto_pad": "SAME_UPPER"}
    out = (T + stride - 1) // stride
    total = max((out - 1) * stride + span - T, 0)
    return {"pads": [total // 2, total - total // 2]}


@converter("Conv1D")
def _conv1d(call):
    layer = call.layer
    inputs = [_channels_first(call, call.x[0]),
              call.weight(0, "oik", lambda k: np.ascontiguousarray(k.transpose(2, 1, 0)))]
    if layer.use_bias:
        inputs.append(call.weight(1))
    y = call.op("Conv", inputs, kernel_shape=[layer.kernel_size], strides=[layer.strides],
                dilations=[layer.dilation_rate],
                **_window_padding(call, layer.padding, layer.kernel_size, layer.strides,
                                  layer.dilation_rate))
    return activation(call, _channels_last(call, y), layer.activation), None  # Keras drops it


def _pool1d(call, op_type, **extra):
    layer = call.layer
    y = call.op(op_type, [_channels_first(call, call.x[0])], kernel_shape=[layer.pool_size],
                strides=[layer.strides], **_window_padding(call, layer.padding, layer.pool_size, layer.strides),
                **extra)
    return _channels_last(call, y), None


@converter("MaxPooling1D")
def _max_pool(call):
    return _pool1d(call, "MaxPool")


@converter("AveragePooling1D")
def _average_pool(call):
    return _pool1d(call, "AveragePool", count_include_pad=0)  # padding is never counted


@converter("GlobalAveragePooling1D")
def _global_average(call):
    x, m = call.x[0], call.masks[0]
    g = call.g
    if m is None:
        return call.op("ReduceMean", [x], axes=[1], keepdims=0) if g.opset < 18 else \
            call.op("ReduceMean", [x, g.ints([1], "axes")], keepdims=0), None
    # Σ_t m x / count; an all-padding row pools to 0 (count 0 -> multiply by 1/1 of 0).
    m3 = call.op("Unsqueeze", [m, g.ints([2], "axes")], "mask3")
    kept = call.op("Where", [m3, x, g.scalar(0.0)], "kept")
    total = call.op("ReduceSum", [kept, g.ints([1], "axes")], "sum", keepdims=0)
    count = call.op("ReduceSum", [call.op("Cast", [m3], "maskf", to=g.onnx.TensorProto.FLOAT),
                                  g.ints([1], "axes")], "count", keepdims=0)
    inv = call.op("Reciprocal", [call.op("Max", [count, g.scalar(1.0)], "count1")], "inv")
    return call.op("Mul", [total, inv], "mean"), None


@converter("GlobalMaxPooling1D")
def _global_max(call):
    x, m, g = call.x[0], call.masks[0], call.g
    if m is None:
        return reduce_max(call, x, 1, keepdims=0), None
    m3 = call.op("Unsqueeze", [m, g.ints([2], "axes")], "mask3")
    kept = call.op("Where", [m3, x, g.scalar(-np.inf)], "kept")
    best = reduce_max(call, kept, 1, keepdims=0)
    any_real = reduce_max(call, call.op("Cast", [m3], "maskf", to=g.onnx.TensorProto.FLOAT),
                          1, keepdims=0)
    real = call.op("Greater", [any_real, g.scalar(0.0)], "any_real")
    return call.op("Where", [real, best, g.scalar(0.0)], "max"), None  # all padding -> 0


def reduce_max(call, x, axis, keepdims):
    if call.g.opset < 18:
        return call.op("ReduceMax", [x], axes=[axis], keepdims=keepdims)
    return call.op("ReduceMax", [x, call.g.ints([axis], "axes")], keepdims=keepdims)


# ------------------------------------------------------------------ merging
_MERGE_OPS = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "average": "Add",
              "maximum": "Max", "minimum": "Min"}


@converter("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
def _merge(call):
    kind = call.layer._op
    y = call.x[0]
    for x in call.x[1:]:  # in list order, as cpp/merge.cpp
        y = call.op(_MERGE_OPS[kind], [y, x], kind)
    if kind == "average":
        y = call.op("Div", [y, call.g.scalar(float(len(call.x)))], "average")
    mask = None
    for m in call.masks:  # the AND of the masks present
        mask = call.g.mask_and(mask, m, f"{call.base}/mask")
    return y, mask


@converter("Concatenate")
def _concatenate(call):
    g, rank = call.g, len(call.shapes[0])
    axis = call.layer.axis + rank if call.layer.axis < 0 else call.layer.axis
    y = call.op("Concat", call.x, axis=axis)
    if rank < 3 or all(m is None for m in call.masks):
        return y, None

    def ones(x):  # (B, T) true: an input without a mask
        bt = call.op("Shape", [x], "bt", start=0, end=2)
        return call.op("ConstantOfShape", [bt], "ones",
                       value=g.onnx.helper.make_tensor("one", g.onnx.TensorProto.BOOL, [1],
                                                       [True]))
    if axis == 1:  # masks joined along T
        parts = [m if m is not None else ones(x) for x, m in zip(call.x, call.masks)]
        return y, call.op("Concat", parts, "mask", axis=1)
    if any(m is None for m in call.masks):  # the OR includes an all-true mask
        return y, ones(call.x[0])
    mask = call.masks[0]
    for m in call.masks[1:]:
        mask = call.op("Or", [mask, m], "mask")
    return y, mask


# ------------------------------------------------------------------ reshaping (no masks)
@converter("Reshape")
def _reshape(call):
    shape = call.g.ints([0] + list(call.layer.target_shape), "target")  # 0: keep B
    return call.op("Reshape", [call.x[0], shape]), None


@converter("Permute")
def _permute(call):
    return call.op("Transpose", [call.x[0]], perm=[0] + list(call.layer.dims)), None


@converter("RepeatVector")
def _repeat_vector(call):
    x = call.op("Unsqueeze", [call.x[0], call.g.ints([1], "axes")])
    return call.op("Expand", [x, call.g.ints([1, call.layer.n, 1], "repeats")]), None


@converter("Flatten")
def _flatten(call):
    return call.op("Flatten", [call.x[0]], axis=1), None
