"""MultiHeadAttention (and the scores output of a call) as ONNX nodes, masks included.

As cpp/attention.cpp: a query may attend to key s where the value/key masks, the
attention_mask (non-zero = may attend) and the causal rule (s <= t) all allow it; masked
scores become float32's lowest before the softmax, their probabilities 0, and a query row
with nothing allowed (or itself padding) gets an all-zero row, so its output is the output
bias. The output keeps the query's mask.
"""

from __future__ import annotations

import numpy as np

from .onnx_graph import LOWEST
from .registry import converter


def _project(call, x, i, heads, width, with_bias):
    """x (B, L, C) · W (C, H, D) + b (H, D) -> (B, H, L, D)."""
    g = call.g
    w = call.weight(i, "2d", lambda k: k.reshape(k.shape[0], -1))
    y = call.op("MatMul", [x, w], "proj")
    if with_bias:
        y = call.op("Add", [y, call.weight(i + 1, "1d", lambda b: b.reshape(-1))], "proj_bias")
    y = call.op("Reshape", [y, g.ints([0, 0, heads, width], "heads_shape")], "split_heads")
    return call.op("Transpose", [y], "heads", perm=[0, 2, 1, 3])


def _allowed(call, T, S):
    """The (B or 1, 1, T or 1, S) bool mask of allowed (query, key) pairs, or None."""
    g = call.g
    qm, vm, km, _ = (call.masks + [None] * 4)[:4]
    if call.x[2] is None:  # key absent: key = value, so the value's mask is the key's
        km = vm
    allow = None
    for m in (vm, km):
        if m is not None:
            allow = g.mask_and(allow, call.op("Unsqueeze", [m, g.ints([1, 2], "axes")],
                                              "kv_mask"), f"{call.base}/allow")
    if call.x[3] is not None:  # attention_mask (B, T, S), non-zero = may attend
        am = call.op("Not", [call.op("Equal", [call.x[3], g.scalar(0.0)], "am_zero")], "am")
        am = call.op("Unsqueeze", [am, g.ints([1], "axes")], "am4")
        allow = g.mask_and(allow, am, f"{call.base}/allow")
    if call.node.call_args.get("use_causal_mask"):
        one = g.const(np.int64(1), "one64", np.int64)
        zero = g.const(np.int64(0), "zero64", np.int64)
        t = call.op("Range", [zero, call.op("Squeeze", [T], "T"), one], "t")
        s = call.op("Range", [zero, call.op("Squeeze", [S], "S"), one], "s")
        causal = call.op("LessOrEqual", [call.op("Unsqueeze", [s, g.ints([0], "axes")], "s2"),
                                         call.op("Unsqueeze", [t, g.ints([1], "axes")], "t2")],
                         "causal")
        allow = g.mask_and(allow, causal, f"{call.base}/allow")
    return allow, qm


@converter("MultiHeadAttention")
def _attention(call):
    layer, g = call.layer, call.g
    H, Dk = layer.num_heads, layer.key_dim
    Dv = layer.value_dim or Dk
    q, v = call.x[0], call.x[1]
    k = call.x[2] if call.x[2] is not None else v
    bias = layer.use_bias
    step = 2 if bias else 1
    Q = _project(call, q, 0, H, Dk, bias)
    K = _project(call, k, step, H, Dk, bias)
    V = _project(call, v, 2 * step, H, Dv, bias)
    Kt = call.op("Transpose", [K], "keys_t", perm=[0, 1, 3, 2])
    scores = call.op("Mul", [call.op("MatMul", [Q, Kt], "qk"), g.scalar(1 / np.sqrt(Dk))],
                     "scores")  # (B, H, T, S)
    allow, qmask = _allowed(call, g.dim(q, 1), g.dim(v, 1))
    if allow is not None:
        scores = call.op("Where", [allow, scores, g.scalar(LOWEST)], "masked_scores")
    probs = call.op("Softmax", [scores], "probs", axis=-1)
    if allow is not None:  # masked entries 0; a row with nothing allowed all 0
        probs = call.op("Where", [allow, probs, g.scalar(0.0)], "probs_masked")
    if qmask is not None:  # a padding query attends to nothing
        rows = call.op("Unsqueeze", [qmask, g.ints([1, 3], "axes")], "query_rows")
        probs = call.op("Where", [rows, probs, g.scalar(0.0)], "probs_rows")
    call.exporter_note("attention_probs", probs)
    Z = call.op("MatMul", [probs, V], "context")  # (B, H, T, Dv)
    Z = call.op("Transpose", [Z], "merge_heads", perm=[0, 2, 1, 3])
    Z = call.op("Reshape", [Z, g.ints([0, 0, H * Dv], "merged_shape")], "merged")
    wo = call.weight(3 * step, "2d", lambda w: w.reshape(-1, w.shape[-1]))
    y = call.op("MatMul", [Z, wo], "output")
    if bias:
        y = call.op("Add", [y, call.weight(3 * step + 1)], "output_bias")
    return y, qmask


@converter("_AttentionScores")
def _attention_scores(call):
    # The probabilities of the attention call whose output this node reads.
    return call.exporter_lookup("attention_probs", call.node.inputs[0]), None
