"""Random seeds and small data helpers."""

from __future__ import annotations

import numpy as np

_GLOBAL = {"rng": np.random.default_rng()}


def set_random_seed(seed: int) -> None:
    """Makes initialization, shuffling and dropout repeatable, like `keras.utils.set_random_seed`.

    Every layer built afterwards draws its initial weights and its dropout seed from one
    generator seeded here, and `fit` draws its shuffling order from it. Same seed and same
    thread count give bit-identical weights after `fit`.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"Expected a non-negative integer for `seed`. Received: seed={seed!r}")
    _GLOBAL["rng"] = np.random.default_rng(int(seed))


def global_rng() -> np.random.Generator:
    """The generator behind initializers, dropout seeds and shuffling."""
    return _GLOBAL["rng"]


def draw_seed() -> int:
    """A fresh 63-bit seed from the global generator (for a layer's dropout stream)."""
    return int(global_rng().integers(0, 2**63 - 1))


# Keras keeps these in keras.utils; they live in their own modules here (no import cycles:
# neither module imports the rest of seqattn).
from .datasets._download import get_file  # noqa: E402
from .preprocessing import pad_sequences  # noqa: E402

__all__ = ["get_file", "pad_sequences", "set_random_seed"]
