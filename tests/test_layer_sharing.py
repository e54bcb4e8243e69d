"""Layer sharing: one layer called several times in a model runs each later call on a C++
copy tied to its weights (graph.hpp); the gradients of all calls add up. Checked against
finite differences, against Keras 3 with the same weights, for determinism across thread
counts, and through save/load."""

import os

import numpy as np
import pytest

import seqattn
from seqattn import layers


def _siamese(seed=0):
    seqattn.utils.set_random_seed(seed)
    shared = layers.Dense(3, activation="tanh", name="shared")
    a, b = seqattn.Input((4,), name="a"), seqattn.Input((4,), name="b")
    merged = layers.Add()([shared(a), shared(b)])
    return seqattn.Model([a, b], layers.Dense(1, activation="sigmoid", name="head")(merged))


def _data(rng, n=8):
    return ([rng.normal(size=(n, 4)).astype(np.float32) for _ in range(2)],
            rng.integers(0, 2, (n, 1)).astype(np.float32))


def test_gradients_of_both_calls_add_up(rng):
    model = _siamese()
    x, y = _data(rng)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    _, grads = model._compute_gradients(x, y)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 3), (3,), (3, 1), (1,)]  # the layer once
    eps = 1e-2
    for wi, idx in [(0, (0, 0)), (0, (3, 2)), (1, (1,)), (2, (0, 0))]:
        plus, minus = [w.copy() for w in weights], [w.copy() for w in weights]
        plus[wi][idx] += eps
        minus[wi][idx] -= eps
        model.set_weights(plus)
        lp = model.evaluate(x, y, verbose=0)
        model.set_weights(minus)
        lm = model.evaluate(x, y, verbose=0)
        model.set_weights(weights)
        assert abs((lp - lm) / (2 * eps) - grads[wi][idx]) < 1e-3


def test_training_a_shared_layer_is_the_same_on_any_thread_count(rng, threads):
    x, y = _data(rng, 64)
    results = []
    for n in (1, 2):
        seqattn.set_num_threads(n)
        model = _siamese(seed=5)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_shared_dropout_draws_its_own_stream_per_call(rng):
    drop = layers.Dropout(0.5)
    inp = seqattn.Input((64,))
    model = seqattn.Model(inp, layers.Concatenate()([drop(inp), drop(inp)])
                          if hasattr(layers, "Concatenate") else layers.Add()([drop(inp),
                                                                                 drop(inp) * 2.0]))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.ones((2, 64), np.float32)
    model.train_on_batch(x, np.zeros((2, 128 if hasattr(layers, "Concatenate") else 64)))
    # inference: no dropout, both calls are the identity
    out = model.predict(x, verbose=0)
    assert np.allclose(out, 1.0 if hasattr(layers, "Concatenate") else 3.0)


def test_a_custom_block_used_twice(rng):
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(4, activation="relu")

        def call(self, x):
            return x + self.inner(x)

    block = Block()
    inp = seqattn.Input((5, 4))
    model = seqattn.Model(inp, block(block(inp)))
    assert [type(l).__name__ for l in model.layers] == ["Block"]
    x = rng.normal(size=(3, 5, 4)).astype(np.float32)
    once = block(x)
    np.testing.assert_allclose(model.predict(x, verbose=0), block(once), rtol=1e-5, atol=1e-6)


def test_shared_layers_save_and_load(tmp_path, rng):
    model = _siamese()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = _data(rng, 32)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "s.seqattn")
    loaded = seqattn.load_model(tmp_path / "s.seqattn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert loaded.layers[0].name == "shared"
    # both continue identically (optimizer state and the tie included)
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_same_predictions_and_sgd_step_as_keras(rng):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    shared = keras.layers.Dense(3, activation="tanh")
    a, b = keras.Input((4,)), keras.Input((4,))
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Add()([shared(a), shared(b)]))
    theirs = keras.Model([a, b], out)
    ours = _siamese()
    ours.set_weights(theirs.get_weights())
    x, y = _data(rng, 16)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    ours.compile(optimizer=seqattn.optimizers.SGD(0.1), loss="binary_crossentropy")
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    for m in (ours, theirs):
        m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for w_ours, w_theirs in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(w_ours, w_theirs, rtol=1e-5, atol=1e-6)
