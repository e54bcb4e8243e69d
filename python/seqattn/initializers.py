"""Keras 3 default initializers, drawn from the seeded global generator."""

from __future__ import annotations

import numpy as np

from .utils import global_rng


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


def glorot_uniform(shape):
    fan_in, fan_out = compute_fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return global_rng().uniform(-limit, limit, size=shape).astype(np.float32)


def embedding_uniform(shape):
    """Keras Embedding default: RandomUniform(-0.05, 0.05)."""
    return global_rng().uniform(-0.05, 0.05, size=shape).astype(np.float32)


def zeros(shape):
    return np.zeros(shape, np.float32)


def ones(shape):
    return np.ones(shape, np.float32)
