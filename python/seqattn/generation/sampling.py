"""Choosing the next token from a row of logits: greedy, temperature, top-k and top-p.

Every draw takes one uniform number u in [0, 1) per row, so a seeded generator gives the same
tokens every time, and a test can hand the same u to a reference sampler. Token 0 is padding
and is never chosen (prompts are right-padded with 0, and a 0 in the output means "nothing").
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_sampling(temperature, top_k, top_p):
    """ValueError/TypeError naming the argument, as Keras words its checks."""
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
                or not math.isfinite(temperature) or temperature < 0:
            raise ValueError("Received an invalid value for `temperature`, expected None, 0 "
                             "(greedy) or a positive number. "
                             f"Received: temperature={temperature!r}")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
            raise ValueError("Received an invalid value for `top_k`, expected None or a positive "
                             f"integer. Received: top_k={top_k!r}")
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) \
                or not 0 < top_p <= 1:
            raise ValueError("Received an invalid value for `top_p`, expected None or a number "
                             f"in (0, 1]. Received: top_p={top_p!r}")


def sample_tokens(logits, u, temperature=None, top_k=None, top_p=None):
    """Next token ids (B,) from logits (B, K) and uniform draws u (B,) in [0, 1).

    temperature None or 0: argmax (greedy; u unused). Otherwise, per row: p = softmax(z / T)
    over ids 1..K-1; top_k keeps the k most likely ids; top_p then keeps the most likely ids
    whose cumulative probability before them is below top_p (at least one); the kept
    probabilities are renormalised and the token is the first id, in order of decreasing
    probability (ties: lower id first), whose cumulative probability exceeds u.
    """
    z = np.array(logits, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"sample_tokens: expected logits (B, K) with K >= 2, received {z.shape}")
    z[:, 0] = -np.inf  # padding
    if not temperature:
        return np.argmax(z, axis=1).astype(np.int32)
    z /= float(temperature)
    order = np.argsort(-z, axis=1, kind="stable")
    zs = np.take_along_axis(z, order, axis=1)
    if top_k is not None:
        order, zs = order[:, :top_k], zs[:, :top_k]
    p = np.exp(zs - zs[:, :1])
    p /= p.sum(axis=1, keepdims=True)
    if top_p is not None and top_p < 1:
        before = np.cumsum(p, axis=1) - p
        p = np.where(before < top_p, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    c = np.cumsum(p, axis=1)
    u = np.asarray(u, dtype=np.float64).reshape(-1, 1)
    idx = np.minimum((c <= u * c[:, -1:]).sum(axis=1), order.shape[1] - 1)
    return order[np.arange(len(order)), idx].astype(np.int32)
