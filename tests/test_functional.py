"""Functional models over any DAG: fan-out, several inputs, several outputs."""

import numpy as np
import pytest

from conftest import assert_close
import seqattn
from seqattn import layers


def _two_headed(T=7, V=15, C=8):
    x = seqattn.Input(shape=(T,), dtype="int32", name="ids")
    h = layers.TokenAndPositionEmbedding(V, T, C, mask_zero=True, name="emb")(x)
    h = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="att")(h, h)
    avg = layers.GlobalAveragePooling1D(name="avg")(h)   # h fans out to two poolings
    mx = layers.GlobalMaxPooling1D(name="max")(h)
    sentiment = layers.Dense(3, activation="softmax", name="sentiment")(avg)
    subjective = layers.Dense(1, activation="sigmoid", name="subjective")(mx)
    return x, sentiment, subjective


def _data(rng, n=12, T=7, V=15):
    ids = rng.integers(1, V, (n, T))
    ids[0, 4:] = 0
    return ids, rng.integers(0, 3, n), (rng.random(n) < 0.5).astype(np.float32)


def test_gradient_of_two_losses_is_the_weighted_sum(rng):
    x, s, j = _two_headed()
    both = seqattn.Model(x, [s, j])
    only_s, only_j = seqattn.Model(x, s), seqattn.Model(x, j)
    both.compile(loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
                 loss_weights=[0.3, 2.0])
    only_s.compile(loss="sparse_categorical_crossentropy")
    only_j.compile(loss="binary_crossentropy")
    ids, ys, yj = _data(rng)
    ids = ids.astype(np.int32)
    loss, grads = both._core_graph().compute_gradients([ids], [ys.astype(np.float32), yj])
    loss_s, grads_s = only_s._core_graph().compute_gradients([ids], [ys.astype(np.float32)])
    loss_j, grads_j = only_j._core_graph().compute_gradients([ids], [yj])
    assert loss == pytest.approx(0.3 * loss_s + 2.0 * loss_j, rel=1e-6)
    g, g_s, g_j = (_by_layer(m, gr) for m, gr in ((both, grads), (only_s, grads_s),
                                                   (only_j, grads_j)))
    for name, got in g.items():
        for k, value in enumerate(got):
            expect = (0.3 * g_s[name][k] if name in g_s else 0.0) + \
                     (2.0 * g_j[name][k] if name in g_j else 0.0)
            assert_close(value, expect + np.zeros_like(value), f"{name} weight {k}")


def _by_layer(model, grads):
    """Splits a model's flat gradient list (get_weights order) by layer name."""
    out, start = {}, 0
    for layer in model.layers:
        n = len(layer.get_weights())
        out[layer.name] = grads[start:start + n]
        start += n
    return out


def test_fit_evaluate_predict_with_two_outputs(rng):
    seqattn.utils.set_random_seed(0)
    x, s, j = _two_headed()
    model = seqattn.Model(x, [s, j])
    model.compile(optimizer=seqattn.optimizers.Adam(0.01),
                  loss={"sentiment": "sparse_categorical_crossentropy",
                        "subjective": "binary_crossentropy"},
                  metrics=["accuracy"])
    ids, ys, yj = _data(rng, n=64)
    history = model.fit(ids, {"sentiment": ys, "subjective": yj}, epochs=3, batch_size=16,
                        verbose=0)
    assert set(history.history) == {"loss", "sentiment_loss", "subjective_loss",
                                    "sentiment_accuracy", "subjective_accuracy"}
    logs = model.evaluate(ids, [ys, yj], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["sentiment_loss"] + logs["subjective_loss"],
                                         rel=1e-6)
    ps, pj = model.predict(ids, batch_size=10, verbose=0)
    assert ps.shape == (64, 3) and pj.shape == (64, 1)
    assert logs["sentiment_accuracy"] == pytest.approx(np.mean(ps.argmax(1) == ys))
    assert logs["subjective_accuracy"] == pytest.approx(np.mean((pj[:, 0] > 0.5) == (yj > 0.5)))


def test_two_inputs_and_cross_attention(rng):
    q_in = seqattn.Input(shape=(5,), dtype="int32", name="question")
    d_in = seqattn.Input(shape=(9,), dtype="int32", name="document")
    q = layers.Embedding(20, 8, mask_zero=True)(q_in)
    d = layers.Embedding(20, 6, mask_zero=True)(d_in)
    att = layers.MultiHeadAttention(num_heads=2, key_dim=4)(q, d)  # queries read the document
    out = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(att))
    model = seqattn.Model([q_in, d_in], out)
    model.compile(loss="sparse_categorical_crossentropy")
    qs, ds = rng.integers(0, 20, (6, 5)), rng.integers(0, 20, (6, 9))
    model.fit([qs, ds], rng.integers(0, 2, 6), verbose=0)
    assert model.predict([qs, ds], verbose=0).shape == (6, 2)
    with pytest.raises(ValueError, match="expects 2 input arrays, received 1"):
        model.predict(qs, verbose=0)


def test_targets_must_match_the_outputs(rng):
    x, s, j = _two_headed()
    model = seqattn.Model(x, [s, j])
    model.compile(loss=["sparse_categorical_crossentropy", "binary_crossentropy"])
    ids, ys, yj = _data(rng)
    with pytest.raises(ValueError, match="has 2 outputs"):
        model.fit(ids, ys, verbose=0)
    with pytest.raises(ValueError, match=r"no targets for outputs \['subjective'\]"):
        model.fit(ids, {"sentiment": ys}, verbose=0)
    with pytest.raises(ValueError, match="one entry per output"):
        model.compile(loss=["binary_crossentropy"])
    with pytest.raises(ValueError, match="unknown outputs"):
        model.compile(loss={"nope": "binary_crossentropy"})


def test_graph_errors_name_the_problem():
    a = seqattn.Input(shape=(4,), dtype="int32", name="a")
    b = seqattn.Input(shape=(4,), dtype="int32", name="b")
    ha = layers.GlobalAveragePooling1D()(layers.Embedding(10, 3)(a))
    with pytest.raises(ValueError, match="Input 'b' is not connected to the outputs"):
        seqattn.Model([a, b], ha)
    other = seqattn.Input(shape=(4,), dtype="int32", name="other")
    ho = layers.GlobalAveragePooling1D()(layers.Embedding(10, 3)(other))
    with pytest.raises(ValueError, match="depend on Input 'other', which is not among"):
        seqattn.Model(a, ho)  # a tensor from another graph
    with pytest.raises(ValueError, match="is an Input itself"):
        seqattn.Model(a, a)
    with pytest.raises(TypeError, match="must be symbolic"):
        seqattn.Model(a, np.zeros(3))
    x = seqattn.Input(shape=(4, 3))
    y = seqattn.Input(shape=(4, 5))
    with pytest.raises(ValueError, match="inputs must all have the same shape"):
        layers.Add()([x, y])


def test_a_model_can_output_attention_scores(rng):
    from reference import mha_forward, token_and_position_forward
    x = seqattn.Input(shape=(6,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(15, 6, 8, mask_zero=True)(x)
    att, scores = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="att")(
        h, h, return_attention_scores=True)
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalMaxPooling1D()(att))
    model = seqattn.Model(x, [out, scores])
    names = [layer.name for layer in model.layers]
    assert "att" in names and "att_scores" not in names  # the scores node is internal
    ids = rng.integers(0, 15, (4, 6))
    prob, a = model.predict(ids, batch_size=3, verbose=0)
    assert prob.shape == (4, 1) and a.shape == (4, 2, 6, 6)
    w = [v.astype(np.float64) for v in model.get_weights()]
    mask = ids != 0
    h0 = token_and_position_forward(ids, w[0], w[1])
    _, want = mha_forward(h0, h0, None, w[2:10], 2, query_mask=mask, value_mask=mask)
    assert_close(a, want, "scores output")
    np.testing.assert_allclose(a, model.attention_scores(ids)["att"], rtol=1e-6, atol=1e-7)
    # Train on the prediction only; the scores output takes no loss and no targets.
    model.compile(loss=["binary_crossentropy", None], metrics=[["accuracy"], []])
    history = model.fit(ids, (rng.random(4) < 0.5).astype(np.float32), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    with pytest.raises(ValueError, match="holds attention scores"):
        model.compile(loss=["binary_crossentropy", "binary_crossentropy"])
