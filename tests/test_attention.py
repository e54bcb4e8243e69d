"""MultiHeadAttention against the float64 reference: outputs and every gradient."""

import numpy as np
import pytest

import reference as ref
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers

# (B, T, S, C, H, Dk, Dv, Cout): B=1, T=1, H=1, odd sizes, key_dim != C/H, Cout != C
SHAPES = [
    (1, 1, 1, 4, 1, 4, None, None),
    (2, 5, 5, 6, 2, 3, None, None),
    (3, 7, 4, 5, 3, 4, 2, 9),
    (2, 8, 8, 8, 2, 16, 5, None),
    (1, 3, 6, 7, 1, 5, None, 3),
]


def _build(B, T, S, C, H, Dk, Dv, Cout, use_bias=True, cross=False, rng=None):
    layer = layers.MultiHeadAttention(H, Dk, value_dim=Dv, use_bias=use_bias, output_shape=Cout)
    q = rng.standard_normal((B, T, C)).astype(np.float32)
    if cross:
        v = rng.standard_normal((B, S, C + 1)).astype(np.float32)
        k = rng.standard_normal((B, S, C + 2)).astype(np.float32)
    else:
        v, k = (q, None) if S == T else (rng.standard_normal((B, S, C)).astype(np.float32), None)
    layer(q, v, k)
    w = layer.get_weights()
    if use_bias:  # give the biases values so their gradients matter
        w = [a if i % 2 == 0 else rng.standard_normal(a.shape).astype(np.float32) * 0.3
             for i, a in enumerate(w)]
        layer.set_weights(w)
    return layer, q, v, k, w


def _compare(layer, q, v, k, w, H, rng, masks=(None, None, None), attention_mask=None,
             causal=False):
    qm, vm, km = masks
    layer._core.use_causal_mask = causal
    B, T = q.shape[:2]
    Cout = w[-1].shape[0] if len(w) == 8 else w[-1].shape[-1]
    dy = rng.standard_normal((B, T, Cout)).astype(np.float32)
    inputs = [q, v, k, None if attention_mask is None else attention_mask.astype(np.float32)]
    r = run_layer(layer, inputs, [qm, vm, km], dy=dy)
    kw = dict(query_mask=qm, value_mask=vm, key_mask=km, attention_mask=attention_mask,
              use_causal_mask=causal)
    out, probs = ref.mha_forward(q, v, k, w, H, **kw)
    assert_close(r["y"], out, "output")
    assert_close(layer._core.attention_scores(), probs, "attention scores")
    dq, dv, dk, dparams = ref.mha_backward(q, v, k, w, H, dy, **kw)
    self_attention = v is q
    if self_attention:
        assert_close(r["dx"][0], dq + dv, "dquery (= dvalue, self-attention)")
    else:
        assert_close(r["dx"][0], dq, "dquery")
        assert_close(r["dx"][1], dv, "dvalue")
    if k is not None:
        assert_close(r["dx"][2], dk, "dkey")
    for got, want, name in zip(r["grads"], ref.mha_grads_as_list(dparams),
                               layer._core.param_names()):
        assert_close(got, want, name)
    return r


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("use_bias", [True, False])
def test_mha_matches_reference(rng, shape, use_bias):
    layer, q, v, k, w = _build(*shape, use_bias=use_bias, rng=rng)
    _compare(layer, q, v, k, w, shape[4], rng)


@pytest.mark.parametrize("shape", SHAPES[1:])
def test_mha_cross_attention_with_distinct_key(rng, shape):
    layer, q, v, k, w = _build(*shape, cross=True, rng=rng)
    _compare(layer, q, v, k, w, shape[4], rng)


@pytest.mark.parametrize("shape", SHAPES)
def test_mha_padding_masks_with_fully_masked_rows(rng, shape):
    B, T, S = shape[:3]
    layer, q, v, k, w = _build(*shape, rng=rng)
    qm = rng.random((B, T)) < 0.7
    vm = rng.random((B, S)) < 0.7
    qm[0, 0] = False  # this query row attends to nothing
    if B > 1:
        vm[1] = False  # every key of sample 1 is padding: all its rows are fully masked
    _compare(layer, q, v, k, w, shape[4], rng, masks=(qm, vm if v is not q else qm, None))
    scores = layer._core.attention_scores()
    assert np.all(np.isfinite(scores)) and not scores[0, :, 0].any(), "zero row, never NaN"


@pytest.mark.parametrize("shape", SHAPES)
def test_mha_causal_and_explicit_attention_mask(rng, shape):
    B, T, S = shape[:3]
    layer, q, v, k, w = _build(*shape, rng=rng)
    am = rng.random((B, T, S)) < 0.8
    _compare(layer, q, v, k, w, shape[4], rng, attention_mask=am)
    _compare(layer, q, v, k, w, shape[4], rng, causal=True)
    _compare(layer, q, v, k, w, shape[4], rng, attention_mask=am, causal=True)
    scores = layer._core.attention_scores()
    tri = np.triu(np.ones((T, S), bool), k=1)
    assert not scores[:, :, tri].any(), "no attention to the future"


def test_mha_all_rows_masked_gives_bias_and_finite_grads(rng):
    layer, q, v, k, w = _build(2, 4, 4, 6, 2, 3, None, None, rng=rng)
    mask = np.zeros((2, 4), bool)
    r = _compare(layer, q, v, k, w, 2, rng, masks=(mask, mask, None))
    np.testing.assert_allclose(r["y"], np.broadcast_to(w[-1], r["y"].shape), atol=1e-6)


def test_mha_weight_shapes_follow_keras():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=32)
    x = np.zeros((1, 200, 32), np.float32)
    layer(x)
    shapes = [a.shape for a in layer.get_weights()]
    assert shapes == [(32, 2, 32), (2, 32), (32, 2, 32), (2, 32), (32, 2, 32), (2, 32),
                      (2, 32, 32), (32,)]
    assert layer.count_params() == 8416  # the keras.io reference model's attention block


def test_mha_eager_call_returns_scores_before_dropout(rng):
    layer = layers.MultiHeadAttention(num_heads=3, key_dim=4, dropout=0.5)
    x = rng.standard_normal((2, 5, 6)).astype(np.float32)
    out, scores = layer(x, x, return_attention_scores=True)
    assert out.shape == (2, 5, 6) and scores.shape == (2, 3, 5, 5)
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-5)
    _, probs = ref.mha_forward(x, x, None, layer.get_weights(), 3)
    assert_close(scores, probs, "scores")


def test_mha_dropout_is_seeded_and_thread_independent(rng, threads):
    B, T, C, H = 4, 9, 8, 2
    layer = layers.MultiHeadAttention(H, 4, dropout=0.3)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    layer(x)
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    first = run_with_each_thread_count(layer, [x, x, None, None], dy=dy, training=True, step=3)
    other_step = run_layer(layer, [x, x, None, None], training=True, step=4)
    assert not np.array_equal(other_step["y"], first["y"]), "a new step draws new dropout"
    inference = run_layer(layer, [x, x, None, None], training=False)
    assert_close(inference["y"], ref.mha_forward(x, x, None, layer.get_weights(), H)[0], "y")


def test_mha_dropout_gradient_matches_finite_differences(rng):
    """The same step draws the same keep mask, so the training-mode output is a fixed
    function of x whose gradient the backward pass must give."""
    B, T, C, H, Dk = 2, 5, 4, 2, 3
    layer = layers.MultiHeadAttention(H, Dk, dropout=0.4)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    layer(x)
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    r = run_layer(layer, [x, x, None, None], dy=dy, training=True, step=7)

    def f(xv):
        out = run_layer(layer, [xv.astype(np.float32)] * 2 + [None, None], training=True, step=7)
        return float(np.sum(out["y"].astype(np.float64) * dy))

    xd = x.astype(np.float64)
    num = ref.numerical_grad(f, xd, eps=1e-2)
    assert_close(r["dx"][0], num, "dx under dropout (finite differences)", rtol=5e-3, atol=5e-3)
