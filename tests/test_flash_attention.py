"""The tiled (flash) attention kernel against the materialising reference kernel and the float64
NumPy reference: outputs, every gradient, masks, causal, dropout, threads, memory.

`layer._core.use_reference_kernel = True` runs the reference kernel (P (B, H, T, S) stored);
the default is the tiled kernel (tiles of 64 queries x 64 keys, forward key blocks of 256), so
shapes below use T and S that are not multiples of 64 and span several tiles."""

import numpy as np
import pytest

import reference as ref
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers

TILE = 64

# (B, T, S, C, H, Dk, Dv): several tiles with ragged ends, T != S (cross), Dk = 64 and 32 (the
# register-blocked widths), 48 and 5 (other widths), T or S = 1. The forward takes keys in
# blocks of 256 (kFlashForwardKeys; the backward in 64s): S = 256 is one block, S = 257 and 300
# run the online softmax over two (causal too).
SHAPES = [
    (2, 70, 70, 16, 2, 32, None),
    (1, 130, 75, 12, 2, 64, 32),
    (2, 65, 129, 8, 3, 16, 48),
    (3, 1, 67, 6, 1, 5, None),
    (2, 67, 1, 6, 2, 8, 4),
    (1, 200, 200, 32, 2, 32, None),
    (1, 300, 300, 8, 2, 32, None),
    (1, 33, 256, 8, 1, 32, None),
    (2, 40, 257, 8, 2, 16, None),
]

MASK_KINDS = ["none", "query", "value", "key", "attention", "causal",
              "query+value+key", "attention+causal", "all"]


def _layer(B, T, S, C, H, Dk, Dv, rng, dropout=0.0, cross_key=True):
    layer = layers.MultiHeadAttention(H, Dk, value_dim=Dv, dropout=dropout)
    q = rng.standard_normal((B, T, C)).astype(np.float32)
    v = q if S == T and not cross_key else rng.standard_normal((B, S, C + 1)).astype(np.float32)
    k = rng.standard_normal((B, S, C + 2)).astype(np.float32) if cross_key else None
    layer(q, v, k)
    # biases with values, and larger weights for peaked (not near-uniform) softmax rows
    w = [a * 2.0 if i % 2 == 0 else rng.standard_normal(a.shape).astype(np.float32) * 0.3
         for i, a in enumerate(layer.get_weights())]
    layer.set_weights(w)
    return layer, q, v, k, w


def _masks(kind, B, T, S, rng):
    """(query, value, key) padding masks, attention_mask (B, T, S) or None, causal."""
    parts = set(kind.split("+")) if kind != "all" else {"query", "value", "key", "attention",
                                                        "causal"}
    qm = rng.random((B, T)) > 0.2 if "query" in parts else None
    vm = rng.random((B, S)) > 0.3 if "value" in parts else None
    km = rng.random((B, S)) > 0.3 if "key" in parts else None
    am = (rng.random((B, T, S)) > 0.4).astype(np.float32) if "attention" in parts else None
    if vm is not None:
        vm[:, 0] = True  # keep most rows alive; fully masked rows have their own test
    return (qm, vm, km), am, "causal" in parts


def _run(layer, inputs, masks, dy, reference, causal=False, training=False, step=0):
    layer._core.use_reference_kernel = reference
    layer._core.use_causal_mask = causal
    return run_layer(layer, inputs, list(masks), dy=dy, training=training, step=step)


def _assert_same(flash, refk, layer, what, rtol=1e-5):
    """Tiled vs reference kernel: the same float32 math summed in another order."""
    assert_close(flash["y"], refk["y"], f"{what}: output", rtol=rtol, atol=rtol)
    for i, (a, b) in enumerate(zip(flash["dx"], refk["dx"])):
        if b is None:
            assert a is None
            continue
        assert_close(a, b, f"{what}: dx[{i}]", rtol=rtol, atol=rtol)
    for a, b, name in zip(flash["grads"], refk["grads"], layer._core.param_names()):
        assert_close(a, b, f"{what}: {name}", rtol=rtol, atol=rtol)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", MASK_KINDS)
def test_flash_matches_reference_kernel(rng, shape, kind):
    B, T, S = shape[:3]
    layer, q, v, k, w = _layer(*shape, rng=rng)
    masks, am, causal = _masks(kind, B, T, S, rng)
    dy = rng.standard_normal((B, T, w[-1].shape[0])).astype(np.float32)
    inputs = [q, v, k, am]
    flash = _run(layer, inputs, masks, dy, reference=False, causal=causal)
    refk = _run(layer, inputs, masks, dy, reference=True, causal=causal)
    _assert_same(flash, refk, layer, f"{shape} {kind}")


@pytest.mark.parametrize("shape", [SHAPES[0], SHAPES[1], SHAPES[2], SHAPES[6]])
@pytest.mark.parametrize("kind", ["none", "all", "attention+causal"])
def test_flash_dropout_matches_reference_kernel(rng, shape, kind):
    """Backward regenerates the keep decisions from the counter-based RNG: the same stream as
    the reference kernel's stored keep bytes, so the same outputs and gradients."""
    B, T, S = shape[:3]
    layer, q, v, k, w = _layer(*shape, rng=rng, dropout=0.3)
    masks, am, causal = _masks(kind, B, T, S, rng)
    dy = rng.standard_normal((B, T, w[-1].shape[0])).astype(np.float32)
    inputs = [q, v, k, am]
    flash = _run(layer, inputs, masks, dy, False, causal, training=True, step=5)
    refk = _run(layer, inputs, masks, dy, True, causal, training=True, step=5)
    _assert_same(flash, refk, layer, f"dropout {shape} {kind}")
    other = _run(layer, inputs, masks, None, False, causal, training=True, step=6)
    assert not np.array_equal(other["y"], flash["y"]), "another step draws another dropout"


def test_flash_self_attention_matches_float64_reference(rng):
    """The tiled kernel against the float64 NumPy oracle (tests/reference.py): self-attention
    (dquery = dvalue), several tiles, every mask kind at once, causal."""
    B, T, C, H, Dk = 2, 131, 8, 2, 16
    layer, q, v, k, w = _layer(B, T, T, C, H, Dk, None, rng, cross_key=False)
    (qm, vm, _), am, _ = _masks("all", B, T, T, rng)
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    r = _run(layer, [q, q, None, am], (qm, vm, None), dy, reference=False, causal=True)
    kw = dict(query_mask=qm, value_mask=vm, attention_mask=am, use_causal_mask=True)
    out, probs = ref.mha_forward(q, q, None, w, H, **kw)
    assert_close(r["y"], out, "output")
    assert_close(layer._core.attention_scores(), probs, "attention scores (computed lazily)")
    dq, dv, _, dparams = ref.mha_backward(q, q, None, w, H, dy, **kw)
    assert_close(r["dx"][0], dq + dv, "dquery (= dvalue)")
    for got, want, name in zip(r["grads"], ref.mha_grads_as_list(dparams),
                               layer._core.param_names()):
        assert_close(got, want, name)


def test_flash_cross_attention_matches_float64_reference(rng):
    B, T, S, C, H, Dk, Dv = 2, 66, 97, 6, 2, 32, 8
    layer, q, v, k, w = _layer(B, T, S, C, H, Dk, Dv, rng)
    (qm, vm, km), am, _ = _masks("query+value+key", B, T, S, rng)
    dy = rng.standard_normal((B, T, w[-1].shape[0])).astype(np.float32)
    r = _run(layer, [q, v, k, None], (qm, vm, km), dy, reference=False)
    kw = dict(query_mask=qm, value_mask=vm, key_mask=km)
    out, _ = ref.mha_forward(q, v, k, w, H, **kw)
    assert_close(r["y"], out, "output")
    dq, dv, dk, dparams = ref.mha_backward(q, v, k, w, H, dy, **kw)
    assert_close(r["dx"][0], dq, "dquery")
    assert_close(r["dx"][1], dv, "dvalue")
    assert_close(r["dx"][2], dk, "dkey")
    for got, want, name in zip(r["grads"], ref.mha_grads_as_list(dparams),
                               layer._core.param_names()):
        assert_close(got, want, name)


def test_flash_fully_masked_rows_give_bias_and_zero_gradient(rng):
    """Rows with no allowed entry (query mask 0, or an all-zero attention_mask row, or every
    key masked for one batch entry) output exactly the output bias, never NaN."""
    B, T, S, C, H, Dk = 2, 70, 70, 8, 2, 32
    layer, q, v, k, w = _layer(B, T, S, C, H, Dk, None, rng)
    qm = np.ones((B, T), bool)
    qm[0, 3] = False
    am = np.ones((B, T, S), np.float32)
    am[0, 66, :] = 0.0          # a row of the second query tile
    vm = np.ones((B, S), bool)
    vm[1, :] = False            # batch entry 1: nothing to attend to
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    for training in (False, True):
        layer._core.use_reference_kernel = False
        r = _run(layer, [q, v, k, am], (qm, vm, None), dy, reference=False,
                 training=training, step=1)
        for a in [r["y"], *r["dx"][:3], *r["grads"]]:
            assert np.all(np.isfinite(a))
        bias = w[-1]
        for b, t in [(0, 3), (0, 66)]:
            np.testing.assert_array_equal(r["y"][b, t], bias)
        np.testing.assert_array_equal(r["y"][1], np.broadcast_to(bias, (T, C)))
        # no gradient reaches the queries of dead rows through attention (only via Wq·0 = 0)
        np.testing.assert_array_equal(r["dx"][0][0, 3], 0.0)
        np.testing.assert_array_equal(r["dx"][0][1], 0.0)
        refk = _run(layer, [q, v, k, am], (qm, vm, None), dy, reference=True,
                    training=training, step=1)
        _assert_same(r, refk, layer, f"fully masked rows, training={training}")
        scores = layer._core.attention_scores()
        assert not scores[1].any() and not scores[0, :, 3].any() and not scores[0, :, 66].any()


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_flash_is_bit_identical_for_each_thread_count(rng, threads, dropout):
    # B·H = 3 (b, h) tasks in backward and 3·3 (b, h, query block) tasks in forward: uneven
    # splits over 2 and 3 threads.
    B, T, S, C, H, Dk = 1, 150, 150, 12, 3, 32
    layer, q, v, k, w = _layer(B, T, S, C, H, Dk, None, rng, dropout=dropout)
    (qm, vm, km), am, _ = _masks("all", B, T, S, rng)
    dy = rng.standard_normal((B, T, w[-1].shape[0])).astype(np.float32)
    layer._core.use_reference_kernel = False
    layer._core.use_causal_mask = True
    run_with_each_thread_count(layer, [q, v, k, am], [qm, vm, km], dy=dy, training=True, step=2)


def test_flash_scores_are_computed_on_request_and_match_reference_kernel(rng):
    B, T, S, C, H, Dk = 2, 70, 90, 8, 2, 16
    layer, q, v, k, w = _layer(B, T, S, C, H, Dk, None, rng, dropout=0.2)
    masks, am, causal = _masks("all", B, T, S, rng)
    inputs = [q, v, k, am]
    _run(layer, inputs, masks, None, reference=True, causal=causal, training=True, step=3)
    want = layer._core.attention_scores()
    _run(layer, inputs, masks, None, reference=False, causal=causal, training=True, step=3)
    before = layer._core.cache_bytes()
    got = layer._core.attention_scores()
    assert got.shape == (B, H, T, S)
    assert_close(got, want, "scores", rtol=1e-6, atol=1e-7)
    assert layer._core.cache_bytes() >= before + got.nbytes  # kept until the next forward
    np.testing.assert_array_equal(layer._core.attention_scores(), got)
    # the eager API: (output, scores) with the tiled kernel gives the same scores
    eager = layers.MultiHeadAttention(H, Dk)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    out, scores = eager(x, x, return_attention_scores=True)
    _, probs = ref.mha_forward(x, x, None, eager.get_weights(), H)
    assert_close(scores, probs, "eager scores")


def _cache_after_training_step(T, reference):
    B, C, H, Dk = 1, 32, 2, 16
    rng = np.random.default_rng(0)
    layer = layers.MultiHeadAttention(H, Dk, dropout=0.1)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    layer(x[:, :8])
    dy = rng.standard_normal((B, T, C)).astype(np.float32)
    layer._core.use_reference_kernel = reference
    run_layer(layer, [x, x, None, None], dy=dy, training=True, step=1)
    return layer._core.cache_bytes()


def test_flash_buffers_are_linear_in_sequence_length():
    """After a training step at T = 4096 the layer holds O(T) bytes: no (T, S) matrix is kept
    between forward and backward (the reference kernel holds P and the keep bytes)."""
    small, large = _cache_after_training_step(1024, False), _cache_after_training_step(4096, False)
    assert large <= 4.5 * small, (small, large)
    B, H, T = 1, 2, 4096
    assert large < B * H * T * T // 4, large  # below a quarter byte per (b, h, t, s)
    reference = _cache_after_training_step(1024, True)
    assert reference > B * H * 1024 * 1024 * 5, reference  # P (4 bytes) + keep (1 byte)
