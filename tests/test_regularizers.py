"""seqattn.regularizers: the penalty and its gradient, computed in C++ in the training step,
checked against float64 NumPy, finite differences, Keras 3 and a save/load round trip."""

import os

import numpy as np
import pytest
import reference as ref

import seqattn
from seqattn import layers
from seqattn import regularizers as R


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


V, T, C = 40, 6, 8
REGS = dict(embedding=R.L1(0.003), kernel=R.L1L2(l1=0.01, l2=0.02), bias=R.L2(0.1),
            gamma=R.L2(0.05), attention=R.L2(0.01))


def _model(regularized, seed=0):
    """Every regularizable layer kind; `regularized` False gives the same weights, no penalty."""
    seqattn.utils.set_random_seed(seed)
    r = REGS if regularized else dict.fromkeys(REGS)
    x = seqattn.Input(shape=(T,), dtype="int32")
    h = layers.Embedding(V, C, mask_zero=True, embeddings_regularizer=r["embedding"])(x)
    a = layers.MultiHeadAttention(2, 4, kernel_regularizer=r["attention"],
                                  bias_regularizer=r["attention"])(h, h)
    h = layers.LayerNormalization(gamma_regularizer=r["gamma"])(layers.Add()([h, a]))
    p = layers.GlobalAveragePooling1D()(h)
    y = layers.Dense(3, activation="softmax", kernel_regularizer=r["kernel"],
                     bias_regularizer=r["bias"])(p)
    model = seqattn.Model(x, y)
    model.compile(optimizer=seqattn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def _numpy_penalty(model):
    """float64 penalty and gradient per weight (tests/reference.py), from the layers'
    regularizer arguments."""
    penalty, grads = 0.0, []
    for layer in model.layers:
        roles = getattr(layer, "_drawn_roles", [])
        for role, w in zip(roles, layer.get_weights()):
            reg = layer._regularizers.get(role)
            p, g = ref.weight_penalty(w, *(reg.coefficients() if reg else (0.0, 0.0)))
            penalty += p
            grads.append(g)
    return penalty, grads


def _data(rng, n=10):
    ids = rng.integers(1, V, (n, T))
    ids[:3, 4:] = 0
    return ids, rng.integers(0, 3, n)


def test_penalty_and_gradient_match_float64_numpy(rng):
    ids, y = _data(rng)
    reg, plain = _model(True), _model(False)
    for a, b in zip(reg.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    loss_r, grads_r = reg._compute_gradients(ids, y, training=True)
    loss_p, grads_p = plain._compute_gradients(ids, y, training=True)
    penalty, grads_n = _numpy_penalty(reg)
    assert penalty > 0.01
    assert loss_r - loss_p == pytest.approx(penalty, rel=1e-5)
    assert len(grads_r) == len(grads_n)
    for gr, gp, gn in zip(grads_r, grads_p, grads_n):
        np.testing.assert_allclose(gr.astype(np.float64) - gp, gn, atol=2e-6)


def test_gradient_matches_finite_differences_of_the_penalized_loss(rng):
    # Weights kept away from 0 (|w|'s kink), so central differences see a smooth loss.
    seqattn.utils.set_random_seed(1)
    x = seqattn.Input(shape=(5,))
    y = layers.Dense(2, activation="sigmoid", bias_initializer="ones",
                     kernel_initializer=seqattn.initializers.RandomUniform(0.2, 0.6, seed=0),
                     kernel_regularizer=R.L1L2(0.05, 0.3), bias_regularizer=R.L2(0.2))(x)
    model = seqattn.Model(x, y)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    xs = rng.standard_normal((8, 5)).astype(np.float32)
    ys = (rng.random((8, 2)) < 0.5).astype(np.float32)
    _, grads = model._compute_gradients(xs, ys, training=True)
    weights = model.get_weights()
    eps = 1e-2
    for k, w in enumerate(weights):
        for idx in list(np.ndindex(w.shape))[:4]:
            moved = []
            for step in (eps, -eps):
                ws = [v.copy() for v in weights]
                ws[k][idx] += step
                model.set_weights(ws)
                moved.append(model.evaluate(xs, ys, batch_size=8, verbose=0))
            model.set_weights(weights)
            assert grads[k][idx] == pytest.approx((moved[0] - moved[1]) / (2 * eps), abs=2e-3)


def test_fit_and_evaluate_report_the_penalty(rng):
    ids, y = _data(rng)
    reg, plain = _model(True), _model(False)
    penalty, _ = _numpy_penalty(reg)
    assert reg.evaluate(ids, y, verbose=0) == pytest.approx(
        plain.evaluate(ids, y, verbose=0) + penalty, rel=1e-5)
    h_r = reg.fit(ids, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    h_p = plain.fit(ids, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    assert h_r.history["loss"][0] == pytest.approx(h_p.history["loss"][0] + penalty, rel=1e-5)


def test_bit_identical_across_thread_counts(rng, threads):
    # a table of 3 · 16384 floats: several fixed chunks of the parallel penalty sum
    ids = rng.integers(1, 2000, (16, T))
    y = rng.integers(0, 3, 16)
    results = []
    for threads in (1, 2, 3):
        seqattn.set_num_threads(threads)
        seqattn.utils.set_random_seed(3)
        x = seqattn.Input(shape=(T,), dtype="int32")
        h = layers.Embedding(2000, 24, embeddings_regularizer=R.L1L2(1e-3, 1e-2))(x)
        out = layers.Dense(3, activation="softmax", kernel_regularizer="l2")(
            layers.GlobalAveragePooling1D()(h))
        model = seqattn.Model(x, out)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        hist = model.fit(ids, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((hist.history["loss"], model.get_weights()))
    for loss, weights in results[1:]:
        assert loss == results[0][0]
        for a, b in zip(weights, results[0][1]):
            np.testing.assert_array_equal(a, b)


def test_shared_layer_is_penalized_once(rng):
    seqattn.utils.set_random_seed(2)
    x = seqattn.Input(shape=(4,))
    d = layers.Dense(4, kernel_regularizer=R.L2(0.5))
    model = seqattn.Model(x, layers.Activation("sigmoid")(d(d(x))))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    xs = rng.standard_normal((6, 4)).astype(np.float32)
    ys = np.zeros((6, 4), np.float32)
    plain = layers.Dense(4)
    ref = seqattn.Model(x, layers.Activation("sigmoid")(plain(plain(x))))
    ref.compile(optimizer="sgd", loss="binary_crossentropy")
    ref.set_weights(model.get_weights())
    penalty = 0.5 * float(np.square(model.get_weights()[0].astype(np.float64)).sum())
    assert model.evaluate(xs, ys, verbose=0) == pytest.approx(
        ref.evaluate(xs, ys, verbose=0) + penalty, rel=1e-5)


def test_save_and_load_keep_the_regularizers(tmp_path, rng):
    ids, y = _data(rng)
    model = _model(True)
    model.save(tmp_path / "m.seqattn")
    loaded = seqattn.load_model(tmp_path / "m.seqattn")
    assert loaded.evaluate(ids, y, verbose=0) == pytest.approx(
        model.evaluate(ids, y, verbose=0), rel=1e-6)
    dense = loaded.layers[-1]
    assert dense.kernel_regularizer == REGS["kernel"] and dense.bias_regularizer == REGS["bias"]
    assert dense._core.get_regularization() == [pytest.approx((0.01, 0.02)),
                                                 pytest.approx((0.0, 0.1))]
    config = dense.get_config()
    assert config["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L1L2",
                                            "config": {"l1": 0.01, "l2": 0.02},
                                            "registered_name": None}
    assert layers.Dense.from_config(config).kernel_regularizer == REGS["kernel"]


def test_regularizer_objects():
    assert R.get("l2") == R.L2(0.01) and R.get("l1") == R.L1(0.01)
    assert R.get("l1_l2") == R.L1L2(0.0, 0.0) and R.l1_l2 is R.L1L2  # Keras 3: the class
    assert R.get(R.serialize(R.L1L2(0.1, 0.2))) == R.L1L2(0.1, 0.2)
    assert R.L1L2(0.1, 0.2)(np.array([-1.0, 2.0])) == pytest.approx(0.3 + 0.2 * 5.0)
    with pytest.raises(ValueError, match="l2"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="callables"):
        R.get(lambda w: 0.0)
    with pytest.raises(ValueError, match="Could not interpret"):
        R.get("l3")
    with pytest.raises(ValueError, match="'d'.*kernel_regularizer"):
        layers.Dense(2, kernel_regularizer="l3", name="d")


def test_keras_configs_read_and_agree(keras):
    for ours, theirs in ((R.L1(0.2), keras.regularizers.L1(0.2)),
                         (R.L2(0.3), keras.regularizers.L2(0.3)),
                         (R.L1L2(0.1, 0.4), keras.regularizers.L1L2(0.1, 0.4))):
        config = keras.regularizers.serialize(theirs)
        assert R.get(config).coefficients() == pytest.approx(ours.coefficients())
        assert R.serialize(ours)["config"] == pytest.approx(config["config"])
        w = np.linspace(-1, 1, 7).astype(np.float32)
        assert ours(w) == pytest.approx(float(theirs(keras.ops.convert_to_tensor(w))), rel=1e-6)


def test_sgd_steps_match_keras(keras, rng):
    """Dense layers with kernel/bias regularizers, SGD: the same weights and the same
    reported loss (Keras adds the penalties to the loss it reports) after a few steps."""
    xs = rng.standard_normal((16, 6)).astype(np.float32)
    ys = (rng.random((16, 2)) < 0.5).astype(np.float32)
    seqattn.utils.set_random_seed(5)
    x = seqattn.Input(shape=(6,))
    h = layers.Dense(5, activation="tanh", kernel_regularizer=R.l2(1e-2),
                     bias_regularizer=R.L1(1e-3))(x)
    out = layers.Dense(2, activation="sigmoid", kernel_regularizer=R.L1L2(1e-3, 1e-2))(h)
    ours = seqattn.Model(x, out)
    ours.compile(optimizer=seqattn.optimizers.SGD(0.1), loss="binary_crossentropy")
    kx = keras.Input(shape=(6,))
    kh = keras.layers.Dense(5, activation="tanh", kernel_regularizer=keras.regularizers.l2(1e-2),
                            bias_regularizer=keras.regularizers.L1(1e-3))(kx)
    kout = keras.layers.Dense(2, activation="sigmoid",
                              kernel_regularizer=keras.regularizers.L1L2(1e-3, 1e-2))(kh)
    theirs = keras.Model(kx, kout)
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    w0 = ours.get_weights()
    w0[1] = rng.standard_normal(5).astype(np.float32) * 0.1  # nonzero biases: L1 in play
    ours.set_weights(w0)
    theirs.set_weights(w0)
    h_ours = ours.fit(xs, ys, batch_size=4, epochs=3, shuffle=False, verbose=0)
    h_theirs = theirs.fit(xs, ys, batch_size=4, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(ours.evaluate(xs, ys, verbose=0),
                               theirs.evaluate(xs, ys, verbose=0), rtol=1e-5)


def test_embedding_attention_layer_norm_penalties_match_keras(keras, rng):
    """Every other regularizer argument (embeddings, attention kernels and biases, LayerNorm
    gamma and beta) trained with SGD: the same weights and losses as Keras 3."""
    ids = rng.integers(1, V, (8, T))
    ys = (rng.random((8, 1)) < 0.5).astype(np.float32)

    def build(lib, regs, inp):
        h = lib.layers.Embedding(V, C, embeddings_regularizer=regs.L1(1e-3))(inp)
        a = lib.layers.MultiHeadAttention(2, 4, kernel_regularizer=regs.L2(1e-2),
                                          bias_regularizer=regs.L1L2(1e-3, 1e-2))(h, h)
        h = lib.layers.LayerNormalization(gamma_regularizer=regs.L2(1e-2),
                                          beta_regularizer=regs.L1(1e-3))(
            lib.layers.Add()([h, a]))
        out = lib.layers.Dense(1, activation="sigmoid")(lib.layers.GlobalAveragePooling1D()(h))
        model = lib.Model(inp, out)
        model.compile(optimizer=lib.optimizers.SGD(0.5), loss="binary_crossentropy")
        return model

    seqattn.utils.set_random_seed(8)
    ours = build(seqattn, R, seqattn.Input(shape=(T,), dtype="int32"))
    theirs = build(keras, keras.regularizers, keras.Input(shape=(T,), dtype="int32"))
    w0 = ours.get_weights()
    for k in range(len(w0)):  # nonzero biases and betas: the L1 terms in play
        if not w0[k].any():
            w0[k] = (rng.standard_normal(w0[k].shape) * 0.05).astype(np.float32)
    ours.set_weights(w0)
    theirs.set_weights(w0)
    h_ours = ours.fit(ids, ys, batch_size=4, epochs=2, shuffle=False, verbose=0)
    h_theirs = theirs.fit(ids, ys, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(h_ours.history["loss"], h_theirs.history["loss"], rtol=1e-5)
