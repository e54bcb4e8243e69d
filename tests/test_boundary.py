"""The C++ boundary (cpp/check.cpp): one rule per kind of array, the same message whether a
layer is called eagerly or inside a model. Each test here is a case that crashed the
interpreter, wrapped silently or swallowed a NaN before the boundary existed (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

import seqattn
from seqattn import layers
from tests import reference as ref


def _keras_io_model(T=8, V=20, dtype=None):
    """keras.io's text classifier as written there: `Input(shape=(maxlen,))`, no dtype, so
    float32, feeding the embedding."""
    seqattn.utils.set_random_seed(0)
    x = seqattn.Input(shape=(T,)) if dtype is None else seqattn.Input(shape=(T,), dtype=dtype)
    h = layers.TokenAndPositionEmbedding(V, T, 8, name="tokens")(x)
    h = layers.MultiHeadAttention(2, 4)(h, h)
    y = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(x, y)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def test_float_input_feeding_embeddings_trains_and_predicts_like_int_ids():
    ids = np.random.default_rng(0).integers(0, 20, (12, 8))
    labels = np.arange(12) % 2
    as_floats, as_ints = _keras_io_model(), _keras_io_model(dtype="int32")
    as_floats.fit(ids.astype(np.float32), labels, epochs=2, verbose=0, shuffle=False)
    as_ints.fit(ids, labels, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(as_floats.get_weights(), as_ints.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(as_floats.predict(ids.astype(np.float64), verbose=0),
                                  as_ints.predict(ids, verbose=0))
    # Sequential built from float data (no Input) does the same.
    seqattn.utils.set_random_seed(0)
    seq = seqattn.Sequential([layers.Embedding(20, 4), layers.GlobalAveragePooling1D(),
                              layers.Dense(2, activation="softmax")])
    assert seq.predict(ids.astype(np.float32), verbose=0).shape == (12, 2)


@pytest.mark.parametrize("bad, kind, words", [
    (np.array([[1.0, np.nan]]), ValueError, "token id nan at position (0, 1), which is NaN"),
    (np.array([[np.inf, 1.0]]), ValueError, "token id inf at position (0, 0), which is infinite"),
    (np.array([[1.0, 2.5]]), ValueError, "token id 2.5 at position (0, 1), which is not a whole"),
    (np.array([[2 ** 32 + 3, 1]]), ValueError, "token id 4294967299 at position (0, 0), outside"),
    (np.array([[1, -1]], np.int8), ValueError, "token id -1 at position (0, 1), outside"),
    (np.array([[2 ** 63 + 1]], np.uint64), ValueError, "token id 9223372036854775809"),
    (np.array([[True, False]]), TypeError, "expects integer token ids; received an array of "
                                           "dtype bool"),
    (np.array([["a", "b"]]), TypeError, "dtype <U1"),
    (np.array([[1, 2]], object), TypeError, "dtype object"),
    (np.array([[1 + 0j, 2]]), TypeError, "dtype complex128"),
])
def test_bad_ids_get_one_message_eagerly_and_in_a_model(bad, kind, words):
    eager = layers.Embedding(20, 4, name="tokens")
    with pytest.raises(kind) as eager_error:
        eager(bad)
    assert "Layer 'tokens'" in str(eager_error.value) and words in str(eager_error.value)
    model = _keras_io_model(T=bad.shape[1])
    for call in (lambda: model.predict(bad, verbose=0),
                 lambda: model.fit(bad, np.zeros(len(bad)), verbose=0)):
        with pytest.raises(kind) as model_error:
            call()
        assert str(model_error.value) == str(eager_error.value)
    assert model.predict(np.ones((1, bad.shape[1])), verbose=0).shape == (1, 2)  # still usable


def test_whole_number_floats_of_any_width_are_ids():
    layer = layers.Embedding(10, 3)
    want = layer(np.array([[1, 9, 0]]))
    for dtype in (np.float16, np.float32, np.float64, np.longdouble, np.int8, np.uint16,
                  np.int64, np.uint64):
        np.testing.assert_array_equal(layer(np.array([[1, 9, 0]], dtype)), want)
    np.testing.assert_array_equal(layer([[1, 9, 0]]), want)  # nested lists, as Keras takes


def test_features_accept_any_real_dtype_and_refuse_the_rest():
    dense = layers.Dense(2, name="d")
    x = np.array([[1, 0, 1]])  # bool-safe values
    want = dense(x.astype(np.float32))
    for dtype in (bool, np.int8, np.uint32, np.int64, np.float16, np.float64):
        np.testing.assert_array_equal(dense(x.astype(dtype)), want)
    with pytest.raises(TypeError, match="Layer 'd' expects a numeric array.*dtype <U1"):
        dense(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match=r"Layer 'd' received the value 1e\+300 at position "
                                         r"\(0, 2\).*does not fit in float32"):
        dense(np.array([[0.0, 1.0, 1e300]]))
    with pytest.raises(ValueError, match="Layer 'd' expects a rectangular array"):
        dense([[1.0, 2.0, 3.0], [1.0]])


def test_nan_features_propagate():
    dense = layers.Dense(2)
    y = dense(np.array([[np.nan, 0.0, 1.0], [0.0, 0.0, 1.0]]))
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()


def _attention(q, v, **kwargs):
    seqattn.utils.set_random_seed(3)
    layer = layers.MultiHeadAttention(2, 4)
    layer(q, v)
    # non-zero output bias: a swallowed NaN row would show as exactly this bias
    w = layer.get_weights()
    w[-1] = np.full_like(w[-1], 0.25)
    layer.set_weights(w)
    return layer(q, v, **kwargs), layer


@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf])
def test_attention_propagates_nan_and_inf_in_queries(poison):
    rng = np.random.default_rng(0)
    q = rng.random((2, 3, 8)).astype(np.float32)
    v = rng.random((2, 5, 8)).astype(np.float32)
    q[0, 1] = poison
    y, _ = _attention(q, v)
    assert np.isnan(y[0, 1]).all()  # Keras and PyTorch: NaN, never the bias
    assert np.isfinite(np.delete(y.reshape(6, -1), 1, axis=0)).all()


def test_attention_key_nan_reaches_the_rows_that_see_it_and_only_those():
    rng = np.random.default_rng(1)
    x = rng.random((1, 4, 8)).astype(np.float32)
    k = x.copy()
    k[0, 2] = np.nan  # a bad key (values finite: a NaN value reaches every row through
    #                   P·V, where a masked weight is exactly 0 and 0·NaN = NaN, as in PyTorch)
    for reference in (False, True):  # both kernels follow the same rule
        seqattn.utils.set_random_seed(3)
        layer = layers.MultiHeadAttention(2, 4)
        layer(x, x)
        layer._core.use_reference_kernel = reference
        y = layer(x, x, key=k, use_causal_mask=True)
        # Causal: rows 0 and 1 cannot see key 2; rows 2 and 3 can.
        assert np.isfinite(y[0, :2]).all() and np.isnan(y[0, 2:]).all(), reference


def test_fully_masked_attention_rows_stay_finite_with_nan_elsewhere():
    rng = np.random.default_rng(2)
    q = rng.random((1, 3, 8)).astype(np.float32)
    v = rng.random((1, 4, 8)).astype(np.float32)
    q[0, 0] = np.nan
    mask = np.ones((1, 3, 4), np.float32)
    mask[0, 0] = 0  # row 0 may attend to nothing: zero attention, output = bias
    y, layer = _attention(q, v, attention_mask=mask)
    np.testing.assert_array_equal(y[0, 0], np.full(8, 0.25, np.float32))
    assert np.isfinite(y).all()


def test_sizes_beyond_memory_are_refused_before_allocating():
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=r"Layer 'dense_huge' \(Dense\) cannot be built with "
                                         r"units=1000000000000: weight 'kernel' of shape "
                                         r"\(32, 1000000000000\)"):
        layers.Dense(10 ** 12, name="dense_huge")(np.zeros((1, 32), np.float32))
    with pytest.raises(ValueError, match="num_heads=1000000000"):
        layers.MultiHeadAttention(10 ** 9, 4)(np.zeros((1, 2, 8), np.float32),
                                               np.zeros((1, 2, 8), np.float32))
    with pytest.raises(ValueError, match=r"input_dim=1000000000000.*more than this machine"):
        layers.Embedding(10 ** 12, 8)(np.zeros((1, 2), np.int32))
    with pytest.raises(ValueError, match="vocabulary_size=4000000000000"):
        _ = seqattn.Model(seqattn.Input((4,), "int32"), layers.TokenAndPositionEmbedding(
            4 * 10 ** 12, 4, 8)(seqattn.Input((4,), "int32")))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_set_weights_refuses_non_numeric_and_non_finite_and_changes_nothing():
    layer = layers.Dense(2, name="dw")
    layer(np.zeros((1, 3), np.float32))
    before = layer.get_weights()
    for weights, kind, words in [
            ([np.array([[None] * 2] * 3, object), np.zeros(2)], TypeError, "dtype object"),
            ([np.full((3, 2), "x"), np.zeros(2)], TypeError, "dtype <U1"),
            ([np.zeros((3, 2)), np.array([0.0, np.nan])], ValueError,
             r"weight 1 \('bias'\) holds nan at position \(1,\)"),
            ([np.zeros((3, 2)), np.array([np.inf, 0.0])], ValueError, "weights must be finite"),
            ([np.zeros((2, 3)), np.zeros(2)], ValueError, r"must have shape \(3, 2\)"),
            ([np.zeros((3, 2))], ValueError, "expects 2 weight arrays, received 1")]:
        with pytest.raises(kind, match=words):
            layer.set_weights(weights)
        for a, b in zip(layer.get_weights(), before):
            np.testing.assert_array_equal(a, b)


def test_losses_check_their_arrays():
    loss = seqattn.losses.SparseCategoricalCrossentropy()
    with pytest.raises(ValueError, match="y_pred must hold at least one prediction"):
        loss(np.array(1.0), np.array(0.5))
    with pytest.raises(ValueError, match=r"one weight per sample \(2\), received 5"):
        loss(np.array([0, 1]), np.array([[0.5, 0.5], [0.2, 0.8]]), sample_weight=np.ones(5))
    with pytest.raises(TypeError, match="y_true expects a numeric array"):
        loss(np.array(["a", "b"]), np.array([[0.5, 0.5], [0.2, 0.8]]))
    value = loss(np.array([0, 1]), np.array([[0.5, 0.5], [0.2, 0.8]]))
    assert value == pytest.approx(-(np.log(0.5) + np.log(0.8)) / 2, rel=1e-6)


def test_one_input_read_as_ids_and_as_features_is_refused():
    x = seqattn.Input((4,))
    a = layers.GlobalAveragePooling1D()(layers.Embedding(10, 2)(x))
    b = layers.Dense(2)(x)
    model = seqattn.Model(x, [a, b])
    with pytest.raises(ValueError, match="read as token ids by layer 'embedding.*' and as float "
                                         "features by layer 'dense.*'; give each its own Input"):
        model.predict(np.ones((1, 4)), verbose=0)


def test_reference_oracle_still_agrees_for_cast_ids():
    layer = layers.TokenAndPositionEmbedding(10, 4, 3)
    ids = np.array([[1, 2, 3, 0]])
    wt, wp = layer(ids) is not None and layer.get_weights()
    np.testing.assert_allclose(layer(ids.astype(np.float64)),
                               ref.embedding_forward(ids, wt) + wp[None, :4], rtol=1e-6)
