"""Whole models: gradients against the float64 reference, reproducibility, the API surface."""

import numpy as np
import pytest

import reference as ref
from conftest import assert_close
import seqattn
from seqattn import _core, layers


def _classifier(T=9, V=20, C=8, H=2, Dk=5, K=3, pooling="avg", head="softmax"):
    pool = layers.GlobalAveragePooling1D() if pooling == "avg" else layers.GlobalMaxPooling1D()
    return seqattn.Sequential([
        seqattn.Input(shape=(T,), dtype="int32"),
        layers.TokenAndPositionEmbedding(V, T, C, mask_zero=True, name="embed"),
        layers.MultiHeadAttention(num_heads=H, key_dim=Dk, name="mha"),
        layers.Dense(6, activation="gelu", name="ffn"),
        pool,
        layers.Dense(K, activation=head, name="head"),
    ])


def _reference_grads(model, ids, y, H, pooling, loss):
    w_tok, w_pos, *rest = [w.astype(np.float64) for w in model.get_weights()]
    w_mha, (k1, b1), (k2, b2) = rest[:8], rest[8:10], rest[10:12]
    head = model.get_layer("head").activation
    mask = ids != 0
    fwd, bwd = ((ref.global_average_pooling_forward, ref.global_average_pooling_backward)
                if pooling == "avg" else
                (ref.global_max_pooling_forward, ref.global_max_pooling_backward))
    h0 = ref.token_and_position_forward(ids, w_tok, w_pos)
    kw = dict(query_mask=mask, value_mask=mask)
    h1, _ = ref.mha_forward(h0, h0, None, w_mha, H, **kw)
    h2 = ref.dense_forward(h1, k1, b1, "gelu")
    p = fwd(h2, mask)
    out = ref.dense_forward(p, k2, b2, head)
    value, dout = loss(y, out)
    dp, dk2, db2 = ref.dense_backward(p, k2, b2, head, dout)
    dh1, dk1, db1 = ref.dense_backward(h1, k1, b1, "gelu", bwd(h2, mask, dp))
    dq, dv, _, dmha = ref.mha_backward(h0, h0, None, w_mha, H, dh1, **kw)
    d_tok, d_pos = ref.token_and_position_backward(ids, w_tok.shape, w_pos.shape, dq + dv)
    return value, [d_tok, d_pos, *ref.mha_grads_as_list(dmha), dk1, db1, dk2, db2]


@pytest.mark.parametrize("pooling", ["avg", "max"])
@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_whole_model_gradients_match_reference(rng, pooling, head):
    seqattn.utils.set_random_seed(7)
    K = 3 if head == "softmax" else 1
    model = _classifier(pooling=pooling, head=head, K=K)
    if head == "softmax":
        model.compile(loss="sparse_categorical_crossentropy")
        y = rng.integers(0, K, 6)
        loss = lambda yt, out: ref.sparse_categorical_crossentropy(yt, out)  # noqa: E731
    else:
        model.compile(loss="binary_crossentropy")
        y = (rng.random(6) < 0.5).astype(np.float32)
        loss = lambda yt, out: ref.binary_crossentropy(yt, out)  # noqa: E731
    ids = rng.integers(1, 20, (6, 9))
    ids[0, 5:] = 0  # padding
    ids[1, :] = 0  # an all-padding review: fully masked rows everywhere
    # Perturb weights away from zero biases so every gradient is exercised.
    model.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    value, grads = model._core_graph().compute_gradients([ids.astype(np.int32)],
                                                         y.astype(np.float32))
    want_value, want = _reference_grads(model, ids, y, 2, pooling, loss)
    assert value == pytest.approx(want_value, rel=1e-5)
    assert len(grads) == len(want) == len(model.get_weights())
    for i, (g, w) in enumerate(zip(grads, want)):
        assert_close(g, w, f"gradient {i}")
    assert np.all(np.isfinite(np.concatenate([g.ravel() for g in grads])))


def _fit_weights(seed, threads, epochs=2):
    _core.set_num_threads(threads)
    seqattn.utils.set_random_seed(seed)
    model = _classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data_rng = np.random.default_rng(0)
    x = data_rng.integers(0, 20, (70, 9))
    y = data_rng.integers(0, 3, 70)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0)
    return model.get_weights()


def test_same_seed_and_threads_give_bit_identical_weights(threads):
    a = _fit_weights(3, 2)
    b = _fit_weights(3, 2)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    c = _fit_weights(4, 2)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a, c))


def test_one_and_two_threads_give_bit_identical_weights(threads):
    # Work is split into fixed-size blocks and every sum has a fixed order, so the thread
    # count changes only who computes a block, never how.
    for w1, w2 in zip(_fit_weights(5, 1), _fit_weights(5, 2)):
        np.testing.assert_array_equal(w1, w2)


def test_fit_learns_and_returns_history():
    seqattn.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, (256, 9))
    y = (x[:, 0] >= 10).astype(np.int32)  # the first token decides
    model = _classifier(K=2)
    model.compile(optimizer=seqattn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0, validation_data=(x, y))
    h = history.history
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"} and len(h["loss"]) == 8
    assert h["loss"][-1] < 0.7 * h["loss"][0] and h["val_accuracy"][-1] > 0.8
    loss, acc = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(h["val_loss"][-1], rel=1e-6)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(acc)
    pred = model.predict(x, batch_size=50, verbose=0)
    assert pred.shape == (256, 2)
    assert acc == pytest.approx(np.mean(pred.argmax(1) == y))
    np.testing.assert_allclose(pred, model.predict(x, batch_size=7, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_sequential_without_input_builds_on_first_data():
    model = seqattn.Sequential([layers.Embedding(10, 4), layers.GlobalAveragePooling1D(),
                                layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(np.ones((4, 3), np.int32), np.ones(4), verbose=0)
    assert model.count_params() == 10 * 4 + 4 + 1
    assert [type(l).__name__ for l in model.layers] == ["Embedding", "GlobalAveragePooling1D",
                                                          "Dense"]


def test_summary_get_layer_and_weights_round_trip(capsys):
    model = _classifier()
    model.summary()
    text = capsys.readouterr().out
    for expected in ("embed (TokenAndPositionEmbedding)", "(None, 9, 8)", "Total params:",
                     f"{model.count_params():,}"):
        assert expected in text
    assert model.get_layer("mha") is model.layers[1]
    weights = model.get_weights()
    model.set_weights([w * 0 + 1 for w in weights])
    assert all((w == 1).all() for w in model.get_weights())
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")


def test_functional_model_matches_the_sequential_path(rng):
    seqattn.utils.set_random_seed(1)
    seq = _classifier()
    x = seqattn.Input(shape=(9,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(20, 9, 8, mask_zero=True)(x)
    h = layers.MultiHeadAttention(num_heads=2, key_dim=5)(h, h)
    h = layers.Dense(6, activation="gelu")(h)
    out = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling1D()(h))
    fun = seqattn.Model(x, out)
    fun.set_weights(seq.get_weights())
    ids = rng.integers(0, 20, (5, 9))
    np.testing.assert_allclose(fun.predict(ids, verbose=0), seq.predict(ids, verbose=0))


def test_version_and_build_info():
    assert seqattn.__version__ == "0.1.0"
    info = seqattn.build_info()
    for key in ("compiler", "flags", "simd", "openmp", "threads", "eigen"):
        assert key in info
    assert "SSE" in info["simd"] or "AVX" in info["simd"] or "NEON" in info["simd"]


def test_set_num_threads_round_trip(threads):
    seqattn.set_num_threads(1)
    assert seqattn.get_num_threads() == 1
    if seqattn.build_info()["openmp"]:
        seqattn.set_num_threads(2)
        assert seqattn.get_num_threads() == 2
    for bad in (0, -1, 2.5, "2", None, True):
        with pytest.raises(ValueError):
            seqattn.set_num_threads(bad)


def test_attention_scores_of_every_attention_layer(rng):
    model = _classifier()
    ids = rng.integers(1, 20, (5, 9))
    ids[0, 6:] = 0
    scores = model.attention_scores(ids, batch_size=2)
    assert list(scores) == ["mha"]
    a = scores["mha"]
    assert a.shape == (5, 2, 9, 9)
    w = [x.astype(np.float64) for x in model.get_weights()]
    h0 = ref.token_and_position_forward(ids, w[0], w[1])
    mask = ids != 0
    _, probs = ref.mha_forward(h0, h0, None, w[2:10], 2, query_mask=mask, value_mask=mask)
    assert_close(a, probs, "attention scores")
    assert not a[0, :, 6:].any() and not a[0, :, :, 6:].any()  # padding neither attends nor is attended


def test_functional_summary_shows_connections(capsys):
    x = seqattn.Input(shape=(9,), dtype="int32", name="ids")
    h = layers.TokenAndPositionEmbedding(20, 9, 8, name="emb")(x)
    h = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="att")(h, h)
    seqattn.Model(x, layers.Dense(1, name="out")(layers.GlobalMaxPooling1D(name="pool")(h))
                  ).summary()
    text = capsys.readouterr().out
    assert "Connected to" in text
    assert any(line.strip().startswith("att (MultiHeadAttention)") and line.endswith("  emb")
               for line in text.splitlines())


def test_openmp_threads_sleep_when_idle_unless_the_user_says_otherwise():
    import os
    import subprocess
    import sys
    code = "import seqattn, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "ACTIVE"


def test_rich_html_summary_for_jupyter():
    import html as html_mod
    x = seqattn.Input((6,), dtype="int32", name="ids")
    h = seqattn.layers.Embedding(10, 4, name="emb<1>")(x)
    model = seqattn.Model(x, seqattn.layers.Dense(1, name="out")(
        seqattn.layers.GlobalAveragePooling1D(name="pool")(h)), name="m&m")
    text = model._repr_html_()
    assert text.count("<tr>") == 1 + 4  # header + input + 3 layers
    assert "emb&lt;1&gt; (Embedding)" in text and "m&amp;m" in text  # escaped
    assert "<td style='text-align:right'>40</td>" in text  # Embedding 10 x 4
    assert f"Total params: {model.count_params():,}" in text
    model.compile(loss="binary_crossentropy")
    assert "optimizer Adam, loss binary_crossentropy" in model._repr_html_()
    assert "not built yet" in seqattn.Sequential([seqattn.layers.Dense(1)])._repr_html_()
    assert html_mod.unescape(text).count("Connected to") == 1
