"""Shared helpers: run one C++ layer alone and compare it with the float64 reference."""

import numpy as np
import pytest

from seqattn import _core

# float32 core vs float64 reference: relative error of a few ulps per accumulated term.
RTOL = 2e-4
ATOL = 2e-5


def assert_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: non-finite values"
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    err = float(np.abs(actual - expected).max(initial=0.0))
    assert err <= atol * scale + rtol * scale, f"{what}: max abs diff {err:.3e} (scale {scale:.3g})"


def run_layer(layer, inputs, masks=(), dy=None, training=False, step=0):
    """Forward (and backward when dy is given) of a built seqattn layer's C++ core."""
    return _core.run_layer(layer._core, list(inputs), list(masks), dy, training, step)


def run_with_each_thread_count(layer, inputs, masks=(), dy=None, training=False, step=0,
                               counts=(1, 2, 3)):
    """Runs one layer with each thread count, asserts bit-identical outputs, masks and
    gradients (work is split into fixed blocks, so the count never changes the arithmetic),
    and returns the first result. Use with the `threads` fixture, which restores the count."""
    results = []
    for n in counts:
        _core.set_num_threads(n)
        results.append(run_layer(layer, inputs, masks, dy, training, step))
    first = results[0]
    for r in results[1:]:
        np.testing.assert_array_equal(r["y"], first["y"])
        np.testing.assert_array_equal(r["mask"], first["mask"])
        for key in ("dx", "grads"):
            for a, b in zip(r.get(key, []), first.get(key, [])):
                np.testing.assert_array_equal(a, b)
    return first


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    before = _core.get_num_threads()
    yield
    _core.set_num_threads(before)
