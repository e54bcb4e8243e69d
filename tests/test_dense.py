import numpy as np
import pytest

import reference as ref
from conftest import assert_close, run_layer
from seqattn import layers


@pytest.mark.parametrize("activation", ref.ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 5), (2, 7, 3), (1, 1, 6)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_matches_reference(rng, activation, shape, use_bias):
    units = 4
    layer = layers.Dense(units, activation=activation, use_bias=use_bias)
    x = rng.standard_normal(shape).astype(np.float32)
    layer(x)
    weights = layer.get_weights()
    kernel, bias = weights[0], (weights[1] if use_bias else None)
    if use_bias:  # non-zero bias so it is exercised
        bias = rng.standard_normal(units).astype(np.float32)
        layer.set_weights([kernel, bias])
    dy = rng.standard_normal(shape[:-1] + (units,)).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    assert_close(r["y"], ref.dense_forward(x, kernel, bias, activation), "y")
    dx, dk, db = ref.dense_backward(x, kernel, bias, activation, dy)
    assert_close(r["dx"][0], dx, "dx")
    assert_close(r["grads"][0], dk, "dkernel")
    if use_bias:
        assert_close(r["grads"][1], db, "dbias")
    else:
        assert len(r["grads"]) == 1


def test_dense_passes_a_3d_mask_through(rng):
    layer = layers.Dense(2)
    x = rng.standard_normal((1, 3, 4)).astype(np.float32)
    layer(x)
    mask = np.array([[1, 0, 1]], bool)
    r = run_layer(layer, [x], [mask])
    np.testing.assert_array_equal(r["mask"], mask)


def test_dense_glorot_uniform_limits():
    layer = layers.Dense(300)
    layer(np.zeros((1, 200), np.float32))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (200 + 300))
    assert kernel.shape == (200, 300) and np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit
    assert not bias.any()


def test_dense_hand_worked_values():
    layer = layers.Dense(2, activation="relu")
    layer(np.zeros((1, 2), np.float32))
    layer.set_weights([np.array([[1.0, -1.0], [2.0, 0.5]]), np.array([0.5, -3.0])])
    y = layer(np.array([[1.0, 2.0]], np.float32))
    # z = [1 + 4 + 0.5, -1 + 1 - 3] = [5.5, -3] -> relu [5.5, 0]
    np.testing.assert_allclose(y, [[5.5, 0.0]])
