"""Bad input gets a clear ValueError/TypeError naming what was wrong — never a crash."""

import numpy as np
import pytest

import seqattn
from seqattn import _core, layers

BAD_POSITIVE_INTS = [0, -1, 2.5, None, "64", True]


def _model(V=10, T=5):
    model = seqattn.Sequential([
        seqattn.Input(shape=(T,), dtype="int32"),
        layers.Embedding(V, 4, mask_zero=True, name="tokens"),
        layers.MultiHeadAttention(num_heads=2, key_dim=2),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.mark.parametrize("bad", BAD_POSITIVE_INTS)
@pytest.mark.parametrize("make", [
    lambda v: layers.Embedding(v, 4), lambda v: layers.Embedding(4, v),
    lambda v: layers.TokenAndPositionEmbedding(v, 4, 4),
    lambda v: layers.TokenAndPositionEmbedding(4, v, 4),
    lambda v: layers.TokenAndPositionEmbedding(4, 4, v),
    lambda v: layers.MultiHeadAttention(v, 4), lambda v: layers.MultiHeadAttention(2, v),
    lambda v: layers.Dense(v),
])
def test_constructor_rejects_non_positive_integers(make, bad):
    with pytest.raises(ValueError, match="expected a positive integer. Received"):
        make(bad)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "64", True])
def test_optional_sizes_reject_bad_values(bad):
    with pytest.raises(ValueError, match="value_dim"):
        layers.MultiHeadAttention(2, 4, value_dim=bad)
    with pytest.raises(ValueError, match="output_shape"):
        layers.MultiHeadAttention(2, 4, output_shape=bad)


@pytest.mark.parametrize("bad,exc", [(-0.1, ValueError), (1.0, ValueError), (2.5, ValueError),
                                     ("0.1", TypeError), (None, TypeError), (True, TypeError)])
def test_dropout_rate_must_be_in_unit_interval(bad, exc):
    with pytest.raises(exc, match="dropout"):
        layers.MultiHeadAttention(2, 4, dropout=bad)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_boolean_arguments(bad):
    with pytest.raises(TypeError, match="mask_zero"):
        layers.Embedding(4, 4, mask_zero=bad)
    with pytest.raises(TypeError, match="use_bias"):
        layers.Dense(4, use_bias=bad)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="Valid names: linear, relu, gelu, tanh, sigmoid, softmax"):
        layers.Dense(4, activation="swish")


def test_unknown_loss_optimizer_metric_names():
    model = _model()
    with pytest.raises(ValueError, match="Unknown loss 'kl_divergence'.*binary_crossentropy"):
        model.compile(loss="kl_divergence")
    with pytest.raises(ValueError, match="Unknown optimizer 'adadelta'.*adam, adamw, rmsprop, sgd"):
        model.compile(optimizer="adadelta", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="Unknown metric 'msle'"):
        model.compile(loss="binary_crossentropy", metrics=["msle"])
    with pytest.raises(ValueError, match="needs a `loss`"):
        model.compile(optimizer="adam")


def test_token_id_out_of_range_names_layer_id_and_position():
    model = _model(V=10)
    x = np.ones((3, 5), np.int32)
    x[2, 3] = 10
    for call in (lambda: model.predict(x, verbose=0),
                 lambda: model.fit(x, np.zeros(3), verbose=0)):
        with pytest.raises(ValueError, match=r"'tokens' received token id 10 at position "
                                             r"\(2, 3\), outside \[0, 10\)"):
            call()
    x[2, 3] = -4
    with pytest.raises(ValueError, match="token id -4"):
        model.predict(x, verbose=0)
    # The model is still usable afterwards.
    assert model.predict(np.ones((2, 5), np.int32), verbose=0).shape == (2, 3)


def test_eager_embedding_checks_ids_too():
    layer = layers.Embedding(5, 2, name="emb")
    with pytest.raises(ValueError, match="'emb' received token id 7"):
        layer(np.array([[1, 7]]))


def test_non_integer_ids():
    model = _model()
    with pytest.raises(ValueError, match=r"'tokens' received token id 1.5 at position \(0, 1\), "
                                         "which is not a whole number"):
        model.predict(np.array([[1.0, 1.5, 2, 3, 4]]), verbose=0)
    with pytest.raises(TypeError, match="'tokens' expects integer token ids; received an array "
                                        "of dtype <U1"):
        model.predict(np.array([["a"] * 5]), verbose=0)
    # Integral floats are accepted, as Keras casts them.
    assert model.predict(np.ones((1, 5), np.float64), verbose=0).shape == (1, 3)


def test_wrong_rank_or_length():
    model = _model(T=5)
    with pytest.raises(ValueError, match=r"expected shape \(None, 5\), received \(2, 6\)"):
        model.predict(np.ones((2, 6), np.int32), verbose=0)
    with pytest.raises(ValueError, match=r"expected shape \(None, 5\), received \(2, 5, 1\)"):
        model.predict(np.ones((2, 5, 1), np.int32), verbose=0)
    dense = layers.Dense(2, name="d")
    dense(np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        dense(np.ones((1, 3), np.float32))
    # Any rank of ids, as Keras; a padding mask needs (B, T)
    assert layers.Embedding(5, 2)(np.ones((2, 3, 4), np.int32)).shape == (2, 3, 4, 2)
    with pytest.raises(ValueError, match=r"mask_zero=True needs token ids of shape \(B, T\)"):
        layers.Embedding(5, 2, mask_zero=True)(np.ones((2, 3, 4), np.int32))


def test_labels_outside_classes_and_length_mismatch():
    model = _model()
    x = np.ones((4, 5), np.int32)
    with pytest.raises(ValueError, match=r"Label 3 at index 2 is not a class id in \[0, 3\)"):
        model.fit(x, np.array([0, 1, 3, 0]), verbose=0)
    with pytest.raises(ValueError, match="Label -1"):
        model.evaluate(x, np.array([0, 1, -1, 0]), verbose=0)
    with pytest.raises(ValueError, match="same number of samples; received 4 inputs"):
        model.fit(x, np.zeros(3), verbose=0)
    binary = seqattn.Sequential([seqattn.Input((5,), "int32"), layers.Embedding(10, 2),
                                 layers.GlobalAveragePooling1D(), layers.Dense(1, "sigmoid")])
    binary.compile(loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]; received 2 at index 1"):
        binary.fit(x, np.array([0, 2, 1, 0]), verbose=0)


def test_empty_input_and_missing_data():
    model = _model()
    with pytest.raises(ValueError, match="empty"):
        model.fit(np.zeros((0, 5), np.int32), np.zeros(0), verbose=0)
    with pytest.raises(ValueError, match="empty"):
        model.predict(np.zeros((0, 5), np.int32), verbose=0)
    with pytest.raises(TypeError, match="`x` is None"):
        model.predict(None)


def test_ragged_lists_ask_for_padding():
    with pytest.raises(ValueError, match="rectangular array of shape"):
        _model().predict([[1, 2, 3, 4, 5], [1, 2]], verbose=0)


def test_fit_before_compile():
    model = seqattn.Sequential([seqattn.Input((5,), "int32"), layers.Embedding(10, 2),
                                layers.GlobalAveragePooling1D(), layers.Dense(1)])
    for call in (lambda: model.fit(np.ones((2, 5)), np.ones(2)),
                 lambda: model.evaluate(np.ones((2, 5)), np.ones(2))):
        with pytest.raises(RuntimeError, match=r"must call compile\(\) before"):
            call()


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
    ({"epochs": 0}, "epochs"), ({"epochs": "3"}, "epochs"), ({"verbose": 3}, "verbose"),
    ({"initial_epoch": 5}, "initial_epoch"), ({"validation_data": (1,)}, "validation_data"),
])
def test_fit_arguments(kwargs, match):
    model = _model()
    with pytest.raises(ValueError, match=match):
        model.fit(np.ones((2, 5), np.int32), np.zeros(2), **kwargs)


def test_set_weights_shape_mismatch_names_the_weight():
    layer = layers.Dense(3, name="dd")
    layer(np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match=r"'dd': weight 0 \('kernel'\) must have shape \(2, 3\)"):
        layer.set_weights([np.ones((3, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match="expects 2 weight arrays, received 1"):
        layer.set_weights([np.ones((2, 3))])


def test_scores_of_a_shared_attentions_later_call_are_refused_clearly():
    mha = layers.MultiHeadAttention(2, 2)
    x = seqattn.Input((4, 3))
    h = mha(x, x)
    out, scores = mha(h, h, return_attention_scores=True)
    with pytest.raises(ValueError, match="called twice .* return_attention_scores=True"):
        seqattn.Model(x, [out, scores])


def test_one_layer_serves_two_models():
    seqattn.utils.set_random_seed(0)
    dense = layers.Dense(2)
    a, b = seqattn.Input((3,)), seqattn.Input((3,))
    m1 = seqattn.Model(a, dense(a))
    # tanh, not relu: a relu could zero both outputs before and after training
    m2 = seqattn.Model(b, layers.Activation("tanh")(dense(b)))
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    m1.compile(optimizer="sgd", loss="mse" if "mse" in seqattn.losses._BY_NAME
               else "binary_crossentropy")
    before = m2.predict(x, verbose=0)
    m1.fit(x, np.ones((4, 2), np.float32) * 0.5, epochs=1, verbose=0)
    after = m2.predict(x, verbose=0)
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(after, np.tanh(x @ kernel + bias), rtol=1e-5, atol=1e-6)
    assert not np.array_equal(before, after)  # m2 sees the weights m1 trained


@pytest.mark.parametrize("make", [lambda: layers.Dense(2), lambda: layers.GlobalAveragePooling1D(),
                                  lambda: layers.GlobalMaxPooling1D(),
                                  lambda: layers.MultiHeadAttention(2, 2)])
def test_integer_arrays_never_reach_float_kernels(make):
    x = np.arange(24).reshape(2, 3, 4) % 5
    # Eager calls cast integer features to float: the same result as float input.
    seqattn.utils.set_random_seed(5)
    from_ints = make()(x)
    seqattn.utils.set_random_seed(5)
    np.testing.assert_allclose(from_ints, make()(x.astype(np.float32)), rtol=1e-6)
    # The C++ boundary converts by the layer's rule (float features), whoever calls it.
    layer = make()
    want = layer(x.astype(np.float32))
    xi = x.astype(np.int32)
    inputs = [xi, xi, None, None] if isinstance(layer, layers.MultiHeadAttention) else [xi]
    np.testing.assert_array_equal(_core.run_layer(layer._core, inputs, [])["y"], want)
    # And token ids wired straight into a float layer raise at model definition.
    ids = seqattn.Input(shape=(3, 4), dtype="int32")
    with pytest.raises(ValueError, match="must hold float32 features"):
        make()(ids)
