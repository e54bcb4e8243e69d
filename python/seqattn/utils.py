"""Random seeds, small data helpers and the machine's FMA peak."""

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


def to_categorical(x, num_classes=None):
    """One-hot encodes integer class labels, as `keras.utils.to_categorical`.

    Args:
        x: array-like of class ids in [0, num_classes), any shape (...). A trailing axis of
            length 1 is dropped first, as Keras does: (B, 1) gives (B, K), not (B, 1, K).
        num_classes: K, a positive int; default max(x) + 1.

    Returns:
        float32 array of shape (..., K), 1.0 at each label and 0.0 elsewhere.

    Differences from Keras (why): the result is float32, the dtype seqattn computes in (Keras's
    NumPy path gives float64). Labels that are negative, not whole numbers, or >= num_classes
    raise ValueError (Keras wraps -1 to the last class, truncates 1.5 to 1 and raises an
    IndexError for labels out of range), since each of these is a bug in the labels.
    """
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"to_categorical expects an array of integer class ids. Received: "
                        f"x of type {type(x).__name__} ({e})") from None
    if a.dtype == bool:
        a = a.astype(np.int64)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"to_categorical expects integer class ids. Received: x with dtype "
                        f"{a.dtype}")
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.floor(a))
        if bad.any():
            raise ValueError(f"to_categorical expects integer class ids. Received: x with the "
                             f"non-integer value {a[bad].flat[0]!r}")
    if (a < 0).any():
        raise ValueError(f"to_categorical expects class ids >= 0. Received: x with the "
                         f"negative value {a[a < 0].flat[0]!r}")
    labels = a.astype(np.int64)
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical cannot infer `num_classes` from an empty `x`; "
                             "pass num_classes.")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"Received an invalid value for `num_classes`, expected a positive "
                         f"integer or None. Received: num_classes={num_classes!r}")
    num_classes = int(num_classes)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: class id {int(labels.max())} is out of range for "
                         f"num_classes={num_classes} (ids must be in [0, {num_classes})).")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    out = np.zeros((flat.size, num_classes), np.float32)
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape(shape + (num_classes,))


# Keras keeps these in keras.utils; they live in their own modules here (no import cycles:
# neither module imports the rest of seqattn).
def fma_peak(threads=None, seconds=0.2) -> float:
    """This machine's fused multiply-add peak in GFLOP/s, on `threads` threads.

    Each thread runs 12 independent chains of vector FMAs (AVX-512 where the CPU has it, else
    AVX2 + FMA, else the build's baseline vectors; `build_info()["fma_peak_kernel"]` names it)
    for about `seconds`, counting 2 FLOPs per lane per FMA. No real kernel can exceed it, so
    a workload's GFLOP/s divided by it is the share of the cores it uses, comparable across
    hosts (benchmarks/compare.py's "% FMA peak" column). `threads=None` means the library's
    thread count (`seqattn.get_num_threads()`); a build without OpenMP measures one thread.
    """
    from . import _core
    from ._validation import number, positive_int
    threads = _core.get_num_threads() if threads is None else positive_int("threads", threads)
    seconds = number("seconds", seconds, low=0.0, low_open=True, high=60.0)
    return float(_core.fma_peak_gflops(threads, seconds))


from .datasets._download import get_file  # noqa: E402
from .preprocessing import pad_sequences  # noqa: E402

__all__ = ["fma_peak", "get_file", "pad_sequences", "set_random_seed", "to_categorical"]
