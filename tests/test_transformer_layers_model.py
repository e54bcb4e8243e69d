"""A Transformer block built from the new layers (Dropout, Add, LayerNormalization, position
encodings, Activation), checked as a whole: every gradient of the model against a float64
composition of reference functions, plus thread-count determinism of training."""

import numpy as np
import pytest

import reference as ref
from conftest import assert_close
import seqattn
from seqattn import _core, layers

T, V, C, H, DK, FF, K = 7, 15, 6, 2, 3, 5, 2
EPS = 1e-6
RATE = 0.2


def _block_model():
    """The keras.io Transformer block, functional, with a residual fan-out at each Add."""
    x = seqattn.Input((T,), "int32")
    emb = layers.TokenAndPositionEmbedding(V, T, C, mask_zero=True, name="emb")(x)
    attn = layers.MultiHeadAttention(H, DK, name="mha")(emb, emb)
    attn = layers.Dropout(RATE, name="drop1")(attn)
    out1 = layers.LayerNormalization(epsilon=EPS, name="ln1")(
        layers.Add(name="add1")([emb, attn]))
    ffn = layers.Dense(FF, activation="relu", name="ffn1")(out1)
    ffn = layers.Dense(C, name="ffn2")(ffn)
    ffn = layers.Dropout(RATE, name="drop2")(ffn)
    out2 = layers.LayerNormalization(epsilon=EPS, name="ln2")(
        layers.Add(name="add2")([out1, ffn]))
    pooled = layers.GlobalAveragePooling1D(name="pool")(out2)
    return seqattn.Model(x, layers.Dense(K, activation="softmax", name="head")(pooled))


def _perturbed(model, rng):
    """Every weight moved off its initial value, so every gradient is exercised (LayerNorm's
    gamma away from 1 and beta away from 0, biases away from 0)."""
    model.set_weights([w + 0.3 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])


def _keep(model, name, step, shape, training):
    if not training:
        return np.ones(shape, bool)
    return ref.dropout_keep(model.get_layer(name)._core.seed, step, shape, RATE)


def _reference(model, ids, y, training, step):
    """Loss and gradients by composing reference functions, in model.layers weight order."""
    w = {l.name: [a.astype(np.float64) for a in l.get_weights()] for l in model.layers}
    rate = RATE if training else 0.0
    mask = ids != 0
    kw = dict(query_mask=mask, value_mask=mask)
    # forward
    h0 = ref.token_and_position_forward(ids, *w["emb"])
    a, _ = ref.mha_forward(h0, h0, None, w["mha"], H, **kw)
    keep1 = _keep(model, "drop1", step, a.shape, training)
    ad = ref.dropout_forward(a, keep1, rate)
    s1 = ref.add_forward([h0, ad])
    l1 = ref.layer_norm_forward(s1, *w["ln1"], EPS)
    f1 = ref.dense_forward(l1, *w["ffn1"], "relu")
    f2 = ref.dense_forward(f1, *w["ffn2"], "linear")
    keep2 = _keep(model, "drop2", step, f2.shape, training)
    fd = ref.dropout_forward(f2, keep2, rate)
    s2 = ref.add_forward([l1, fd])
    l2 = ref.layer_norm_forward(s2, *w["ln2"], EPS)
    mask2 = ref.add_mask([mask, mask])  # every branch carries the embedding's mask
    p = ref.global_average_pooling_forward(l2, mask2)
    out = ref.dense_forward(p, *w["head"], "softmax")
    loss, dout = ref.sparse_categorical_crossentropy(y, out)
    # backward; a value read twice (h0 by MHA and add1, l1 by ffn1 and add2) sums its grads
    g = {}
    dp, *g["head"] = ref.dense_backward(p, *w["head"], "softmax", dout)
    dl2 = ref.global_average_pooling_backward(l2, mask2, dp)
    ds2, *g["ln2"] = ref.layer_norm_backward(s2, *w["ln2"], EPS, dl2)
    dl1_res, dfd = ref.add_backward([l1, fd], ds2)
    df2 = ref.dropout_backward(f2, keep2, rate, dfd)
    df1, *g["ffn2"] = ref.dense_backward(f1, *w["ffn2"], "linear", df2)
    dl1_ffn, *g["ffn1"] = ref.dense_backward(l1, *w["ffn1"], "relu", df1)
    ds1, *g["ln1"] = ref.layer_norm_backward(s1, *w["ln1"], EPS, dl1_res + dl1_ffn)
    dh0_res, dad = ref.add_backward([h0, ad], ds1)
    da = ref.dropout_backward(a, keep1, rate, dad)
    dq, dv, _, dmha = ref.mha_backward(h0, h0, None, w["mha"], H, da, **kw)
    g["mha"] = ref.mha_grads_as_list(dmha)
    g["emb"] = list(ref.token_and_position_backward(ids, w["emb"][0].shape, w["emb"][1].shape,
                                                    dh0_res + dq + dv))
    grads = [a for l in model.layers for a in g.get(l.name, [])]
    return loss, grads


def _data(rng, n=6):
    ids = rng.integers(1, V, (n, T))
    ids[0, 4:] = 0  # padding
    ids[1, :] = 0  # an all-padding sequence: fully masked rows everywhere
    ids[2, :2] = 0  # "pre" padding, as pad_sequences makes
    return ids.astype(np.int32), rng.integers(0, K, n)


@pytest.mark.parametrize("training", [False, True])
def test_transformer_block_gradients_match_reference(rng, training):
    seqattn.utils.set_random_seed(21)
    model = _block_model()
    model.compile(loss="sparse_categorical_crossentropy")
    assert [l.name for l in model.layers] == ["emb", "mha", "drop1", "add1", "ln1", "ffn1",
                                              "ffn2", "drop2", "add2", "ln2", "pool", "head"]
    _perturbed(model, rng)
    ids, y = _data(rng)
    graph = model._core_graph()
    graph.step = 3  # the dropout stream of training step 3
    value, grads = graph.compute_gradients([ids], y.astype(np.float32), training)
    want_value, want = _reference(model, ids, y, training, 3)
    assert value == pytest.approx(want_value, rel=1e-5)
    assert len(grads) == len(want) == len(model.get_weights())
    for i, (g, w) in enumerate(zip(grads, want)):
        assert_close(g, w, f"gradient {i}")
    if training:
        loss_off, _ = graph.compute_gradients([ids], y.astype(np.float32), False)
        assert loss_off != pytest.approx(value, rel=1e-6), "dropout was active"


def test_keras_io_model_parameter_count():
    """The keras.io reference classifier, built with seqattn layers: 657,758 parameters."""
    x = seqattn.Input((200,), "int32")
    emb = layers.TokenAndPositionEmbedding(20000, 200, 32)(x)
    attn = layers.Dropout(0.1)(layers.MultiHeadAttention(2, 32)(emb, emb))
    out1 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([emb, attn]))
    ffn = layers.Dropout(0.1)(layers.Dense(32)(layers.Dense(32, activation="relu")(out1)))
    out2 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([out1, ffn]))
    h = layers.Dropout(0.1)(layers.GlobalAveragePooling1D()(out2))
    h = layers.Dropout(0.1)(layers.Dense(20, activation="relu")(h))
    model = seqattn.Model(x, layers.Dense(2, activation="softmax")(h))
    assert model.count_params() == 657_758


def _fit_weights(seed, threads):
    _core.set_num_threads(threads)
    seqattn.utils.set_random_seed(seed)
    model = _block_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data = np.random.default_rng(0)
    x = data.integers(0, V, (300, T))
    y = data.integers(0, K, 300)
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    return model.get_weights()


def test_training_with_dropout_is_bit_identical_for_one_and_two_threads(threads):
    a, b = _fit_weights(5, 1), _fit_weights(5, 2)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    c = _fit_weights(6, 2)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a, c))


def _positions_model(kind):
    """Embedding + a position encoding joined by Add, then Activation and pooling."""
    x = seqattn.Input((T,), "int32")
    tok = layers.Embedding(V, C, mask_zero=True, name="tok")(x)
    if kind == "learned":
        pos = layers.PositionEmbedding(T + 2, name="pos")(tok)
    else:
        pos = layers.SinePositionEncoding(name="pos")(tok)
    h = layers.Add(name="sum")([tok, pos])
    h = layers.Activation("tanh", name="act")(h)
    pooled = layers.GlobalAveragePooling1D(name="pool")(h)
    return seqattn.Model(x, layers.Dense(K, activation="softmax", name="head")(pooled))


@pytest.mark.parametrize("kind", ["learned", "sine"])
def test_position_layers_in_a_model_match_reference(rng, kind):
    seqattn.utils.set_random_seed(4)
    model = _positions_model(kind)
    model.compile(loss="sparse_categorical_crossentropy")
    _perturbed(model, rng)
    ids, y = _data(rng)
    value, grads = model._core_graph().compute_gradients([ids], y.astype(np.float32))
    w = {l.name: [a.astype(np.float64) for a in l.get_weights()] for l in model.layers}
    mask = ids != 0
    tok = ref.embedding_forward(ids, *w["tok"])
    pos = (ref.position_embedding_forward(tok, *w["pos"]) if kind == "learned"
           else ref.sine_position_encoding(tok))
    s = ref.add_forward([tok, pos])
    a = ref.activation_forward(s, "tanh")
    p = ref.global_average_pooling_forward(a, mask)  # the mask survived pos and Add
    out = ref.dense_forward(p, *w["head"], "softmax")
    want_value, dout = ref.sparse_categorical_crossentropy(y, out)
    dp, dk, db = ref.dense_backward(p, *w["head"], "softmax", dout)
    ds = ref.activation_backward(s, "tanh", ref.global_average_pooling_backward(a, mask, dp))
    dtok, dpos = ref.add_backward([tok, pos], ds)
    want = [ref.embedding_backward(ids, w["tok"][0].shape, dtok)]  # pos adds nothing to dtok
    if kind == "learned":
        want.append(ref.position_embedding_backward(tok, *w["pos"], dpos)[1])
    want += [dk, db]
    assert value == pytest.approx(want_value, rel=1e-5)
    assert len(grads) == len(want)
    for i, (g, e) in enumerate(zip(grads, want)):
        assert_close(g, e, f"gradient {i}")


def test_sequential_stack_with_new_layers_trains():
    seqattn.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, V, (128, T))
    y = (x[:, 0] >= V // 2).astype(np.int32)
    model = seqattn.Sequential([
        seqattn.Input((T,), "int32"),
        layers.TokenAndPositionEmbedding(V, T, 16, mask_zero=True),
        layers.LayerNormalization(),
        layers.Dropout(0.1),
        layers.Activation("gelu"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(K, activation="softmax"),
    ])
    model.compile(optimizer=seqattn.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(x, y, batch_size=32, epochs=10, verbose=0).history
    assert h["loss"][-1] < h["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.75
