import numpy as np
import pytest

import reference as ref
from conftest import assert_close, run_layer
from seqattn import layers


@pytest.mark.parametrize("B,T,V,C", [(1, 1, 3, 1), (2, 7, 11, 5), (4, 16, 50, 8)])
def test_embedding_matches_reference(rng, B, T, V, C):
    layer = layers.Embedding(V, C, mask_zero=True)
    ids = rng.integers(0, V, size=(B, T)).astype(np.int32)
    layer(ids)  # builds
    W = layer.get_weights()[0]
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    r = run_layer(layer, [ids], dy=dy)
    assert_close(r["y"], ref.embedding_forward(ids, W), "y")
    assert_close(r["grads"][0], ref.embedding_backward(ids, W.shape, dy), "dW")
    np.testing.assert_array_equal(r["mask"], ref.embedding_mask(ids, True))
    assert r["dx"] == [None]  # ids get no gradient


def test_embedding_without_mask_zero_makes_no_mask(rng):
    layer = layers.Embedding(5, 3)
    ids = np.array([[0, 1, 0]], np.int32)
    layer(ids)
    assert run_layer(layer, [ids])["mask"] is None


def test_embedding_weights_are_keras_shaped_and_initialised():
    layer = layers.Embedding(1000, 16)
    layer(np.zeros((1, 4), np.int32))
    (W,) = layer.get_weights()
    assert W.shape == (1000, 16) and W.dtype == np.float32
    assert np.abs(W).max() <= 0.05 and W.std() > 0.02  # uniform(-0.05, 0.05)


@pytest.mark.parametrize("B,T,Tmax,V,C", [(1, 1, 1, 2, 1), (3, 5, 9, 13, 7), (2, 16, 16, 30, 4)])
def test_token_and_position_embedding_matches_reference(rng, B, T, Tmax, V, C):
    layer = layers.TokenAndPositionEmbedding(V, Tmax, C, mask_zero=True)
    ids = rng.integers(0, V, size=(B, T)).astype(np.int32)
    layer(ids)
    W_tok, W_pos = layer.get_weights()
    assert W_tok.shape == (V, C) and W_pos.shape == (Tmax, C)
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    r = run_layer(layer, [ids], dy=dy)
    assert_close(r["y"], ref.token_and_position_forward(ids, W_tok, W_pos), "y")
    d_tok, d_pos = ref.token_and_position_backward(ids, W_tok.shape, W_pos.shape, dy)
    assert_close(r["grads"][0], d_tok, "dW_tok")
    assert_close(r["grads"][1], d_pos, "dW_pos")
    np.testing.assert_array_equal(r["mask"], ids != 0)


def test_position_embedding_never_masks_by_position():
    layer = layers.TokenAndPositionEmbedding(10, 4, 2, mask_zero=True)
    ids = np.array([[3, 0, 4, 0]], np.int32)
    layer(ids)
    np.testing.assert_array_equal(run_layer(layer, [ids])["mask"], [[True, False, True, False]])
