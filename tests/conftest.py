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


def assert_gradient_matches_loss(model, x, y, rng, eps=1e-2):
    """The model's analytic gradient along a random unit direction of all its weights equals
    the central difference of its loss (float32: rel 1e-2). The weights are restored."""
    _, grads = model._compute_gradients(x, y)
    weights = model.get_weights()
    assert len(grads) == len(weights)
    direction = [rng.standard_normal(w.shape) for w in weights]
    norm = np.sqrt(sum(float(np.sum(d * d)) for d in direction))
    direction = [(d / norm).astype(np.float32) for d in direction]
    analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, direction))

    def loss_at(t):
        model.set_weights([w + t * d for w, d in zip(weights, direction)])
        return model.evaluate(x, y, verbose=0)

    numeric = (loss_at(eps) - loss_at(-eps)) / (2 * eps)
    model.set_weights(weights)
    assert analytic == pytest.approx(numeric, rel=1e-2, abs=1e-4)
