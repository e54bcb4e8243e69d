"""Making, training and dropping many small models in one process does not grow it.

The quick in-suite form of benchmarks/leak_check.py (issue 13). Each model is built, compiled,
fitted for one tiny epoch and used to predict, then dropped. A model lives in reference cycles
(layer <-> node, model <-> its usage tracker and History), so it is freed by the cycle
collector, not when the last name goes: the test calls gc.collect() every 10 models and
before each measurement; left to Python's own collections, memory rises and falls in a
sawtooth with a period of thousands of models (see benchmarks/README.md).

Measured after a warm-up, over a window that starts once one-off growth (caches, arenas) has
happened: the bytes live in malloc (glibc mallinfo2: every C++ buffer, NumPy data), RSS, and
what tracemalloc sees of Python objects and NumPy arrays.
"""

from __future__ import annotations

import ctypes
import gc
import os
import tracemalloc
import weakref

import numpy as np
import pytest

import seqattn
from seqattn import layers

WARMUP = 30
WINDOW = 150  # models per measured window


def _model(rng, T=8, V=50):
    model = seqattn.Sequential([
        seqattn.Input(shape=(T,), dtype="int32"),
        layers.TokenAndPositionEmbedding(V, T, 8, mask_zero=True),
        layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1),
        layers.LayerNormalization(),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.1),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = rng.integers(0, V, (32, T))
    y = rng.integers(0, 2, 32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model.predict(x[:8], verbose=0).shape == (8, 2)
    return model


def _models(rng, n):
    for i in range(n):
        _model(rng)
        if i % 10 == 9:  # at most 10 dropped models wait for the collector
            gc.collect()
    gc.collect()


def _under_asan():
    with open("/proc/self/maps") as f:
        return "libasan" in f.read()


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _malloc_in_use():
    """Bytes allocated and not freed, all glibc arenas plus mmapped chunks; None off glibc."""
    try:
        f = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        return None
    f.restype = _Mallinfo2
    m = f()
    return m.uordblks + m.hblkhd


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_dropped_model_is_freed():
    """Nothing global (name counters, registries, caches) keeps a used model alive."""
    model = _model(np.random.default_rng(0))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


@pytest.mark.skipif(_under_asan(), reason="ASan's allocator (quarantine) replaces malloc")
def test_many_models_do_not_grow_the_process():
    rng = np.random.default_rng(0)
    _models(rng, WARMUP + WINDOW)  # the first window absorbs one-off growth
    malloc0, rss0 = _malloc_in_use(), _rss()
    _models(rng, WINDOW)
    malloc1, rss1 = _malloc_in_use(), _rss()
    # A leaked C++ graph or a layer's buffers would be kilobytes per model; today ~0 B.
    if malloc0 is not None:
        per_model = (malloc1 - malloc0) / WINDOW
        assert per_model < 512, f"malloc in use grew {per_model:.0f} B per model"
    per_model = (rss1 - rss0) / WINDOW
    assert per_model < 20 * 1024, f"RSS grew {per_model:.0f} B per model"


def test_many_models_hold_no_python_memory():
    rng = np.random.default_rng(1)
    _models(rng, WARMUP)
    tracemalloc.start()
    try:
        _models(rng, WINDOW)  # one-off growth: lazy imports, caches filling
        gc.collect()
        before = tracemalloc.take_snapshot()
        _models(rng, WINDOW)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    stats = after.compare_to(before, "lineno")
    grown = sum(s.size_diff for s in stats)
    top = "\n".join(str(s) for s in stats[:5])
    # Caches (re, NumPy) fluctuate by a few KB; anything kept per model (an array, a dict,
    # a layer) is 100 B or more per model. Today the window grows 0-20 B per model.
    assert grown / WINDOW < 50, f"Python memory grew {grown / WINDOW:.0f} B per model:\n{top}"
