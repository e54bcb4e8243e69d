"""PositionEmbedding and SinePositionEncoding (keras-hub semantics) against the reference."""

import math

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers


# ------------------------------------------------------------------------ PositionEmbedding
@pytest.mark.parametrize("B,T,Tmax,C", [(1, 1, 1, 1), (2, 5, 7, 3), (3, 4, 4, 2),
                                        (4, 64, 100, 130)])
def test_position_embedding_matches_reference(rng, B, T, Tmax, C):
    layer = layers.PositionEmbedding(Tmax)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    layer(x)
    (W,) = layer.get_weights()
    assert W.shape == (Tmax, C)
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    assert_close(r["y"], ref.position_embedding_forward(x, W), "y")
    dx, dW = ref.position_embedding_backward(x, W, dy)
    assert not r["dx"][0].any(), "the output does not depend on x's values"
    assert_close(r["dx"][0], dx, "dx")
    assert_close(r["grads"][0], dW, "dW")


def test_position_embedding_passes_the_mask_and_is_thread_independent(rng, threads):
    layer = layers.PositionEmbedding(80)
    x = rng.standard_normal((8, 70, 64)).astype(np.float32)
    layer(x)
    mask = rng.random((8, 70)) < 0.5
    dy = rng.standard_normal(x.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], [mask], dy=dy)
    np.testing.assert_array_equal(r["mask"], mask)


def test_position_embedding_glorot_uniform_init():
    layer = layers.PositionEmbedding(200)
    layer(np.zeros((1, 200, 32), np.float32))
    (W,) = layer.get_weights()
    limit = math.sqrt(6 / (200 + 32))
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
    assert layer.count_params() == 6400  # the keras.io model's position table
    assert layer.get_config()["sequence_length"] == 200


def test_position_embedding_shape_errors():
    layer = layers.PositionEmbedding(4, name="pos_short")
    with pytest.raises(ValueError, match=r"pos_short.*length 5.*sequence_length=4"):
        layer(np.zeros((1, 5, 3), np.float32))
    layer(np.zeros((1, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"pos_short.*axis -1.*value 3.*\(1, 4, 2\)"):
        layer(np.zeros((1, 4, 2), np.float32))
    with pytest.raises(ValueError, match=r"pos_short.*length 6"):
        layer(np.zeros((1, 6, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(B, T, C\)"):
        layers.PositionEmbedding(4)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="float32 features"):
        layers.PositionEmbedding(4)(seqattn.Input((4,), "int32"))


@pytest.mark.parametrize("bad", [0, -1, 2.5, None, "64", True])
def test_position_embedding_rejects_bad_sequence_length(bad):
    with pytest.raises(ValueError, match="sequence_length.*expected a positive integer"):
        layers.PositionEmbedding(bad)


# --------------------------------------------------------------------- SinePositionEncoding
@pytest.mark.parametrize("B,T,C", [(1, 1, 1), (1, 1, 4), (2, 5, 3), (3, 7, 8), (2, 200, 33)])
@pytest.mark.parametrize("max_wavelength", [10000, 10.0, 1])
def test_sine_position_encoding_matches_reference(rng, B, T, C, max_wavelength):
    layer = layers.SinePositionEncoding(max_wavelength)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    layer(x)
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    want = ref.sine_position_encoding(x, max_wavelength)
    # Computed in float64 and rounded once: within float32 rounding even at t = 199.
    np.testing.assert_allclose(r["y"], want, rtol=0, atol=1e-7)
    assert not r["dx"][0].any() and r["grads"] == [] and layer.get_weights() == []


def test_sine_position_encoding_by_hand_and_shape_changes():
    layer = layers.SinePositionEncoding()
    y = layer(np.zeros((2, 3, 4), np.float32))
    np.testing.assert_allclose(y[1, 1], [math.sin(1), math.cos(1), math.sin(1e-2),
                                         math.cos(1e-2)], rtol=1e-6)
    np.testing.assert_array_equal(y[0], y[1])
    # the cached table follows the input's T and C
    for shape in [(1, 5, 4), (1, 2, 6), (1, 3, 4)]:
        assert_close(layer(np.zeros(shape, np.float32)),
                     ref.sine_position_encoding(np.zeros(shape)), f"y {shape}")


def test_sine_position_encoding_passes_the_mask_through(rng):
    layer = layers.SinePositionEncoding()
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer(x)
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    np.testing.assert_array_equal(run_layer(layer, [x], [mask])["mask"], mask)


def test_sine_position_encoding_config_and_errors():
    assert layers.SinePositionEncoding(500, name="sine_cfg").get_config() == {
        "name": "sine_cfg", "max_wavelength": 500}
    with pytest.raises(ValueError, match=r"\(B, T, C\)"):
        layers.SinePositionEncoding()(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="float32 features"):
        layers.SinePositionEncoding()(seqattn.Input((4,), "int32"))


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), None, "64", True])
def test_sine_position_encoding_rejects_bad_max_wavelength(bad):
    with pytest.raises(ValueError, match="max_wavelength"):
        layers.SinePositionEncoding(bad)
