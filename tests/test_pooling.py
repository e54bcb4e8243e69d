import numpy as np
import pytest

import reference as ref
from conftest import assert_close, run_layer
from seqattn import layers

CASES = {
    "avg": (layers.GlobalAveragePooling1D, ref.global_average_pooling_forward,
            ref.global_average_pooling_backward),
    "max": (layers.GlobalMaxPooling1D, ref.global_max_pooling_forward,
            ref.global_max_pooling_backward),
}


@pytest.mark.parametrize("kind", CASES)
@pytest.mark.parametrize("B,T,C", [(1, 1, 1), (3, 7, 5), (2, 16, 8)])
@pytest.mark.parametrize("masked", [False, True])
def test_pooling_matches_reference(rng, kind, B, T, C, masked):
    cls, fwd, bwd = CASES[kind]
    layer = cls()
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    mask = None
    if masked:
        mask = rng.random((B, T)) < 0.6
        mask[0] = False  # a fully masked row
    layer(x)
    dy = rng.standard_normal((B, C)).astype(np.float32)
    r = run_layer(layer, [x], [mask], dy=dy)
    assert_close(r["y"], fwd(x, mask), "y")
    assert_close(r["dx"][0], bwd(x, mask, dy), "dx")
    if masked:
        assert not r["y"][0].any(), "an all-masked row pools to 0"
        assert not r["dx"][0][0].any()


def test_average_pooling_hand_worked():
    layer = layers.GlobalAveragePooling1D()
    x = np.array([[[1.0], [3.0], [100.0]]], np.float32)
    layer(x)
    r = run_layer(layer, [x], [np.array([[1, 1, 0]], bool)])
    np.testing.assert_allclose(r["y"], [[2.0]])  # (1 + 3) / 2, the padded 100 ignored


def test_max_pooling_ignores_padding():
    layer = layers.GlobalMaxPooling1D()
    x = np.array([[[1.0], [-3.0], [100.0]]], np.float32)
    layer(x)
    r = run_layer(layer, [x], [np.array([[1, 1, 0]], bool)])
    np.testing.assert_allclose(r["y"], [[1.0]])
