"""Per-token outputs (B, T, K): the output's padding mask weights the loss and the metrics as
in Keras (padded steps count for nothing; the mean is over the unmasked steps), checked
against the float64 formula, by gradients, and against Keras 3 when installed."""

import os

import numpy as np
import pytest

from conftest import assert_gradient_matches_loss
import seqattn
from seqattn import layers

V, T, C, K = 20, 6, 8, 3


@pytest.fixture(autouse=True)
def _seeded():
    seqattn.utils.set_random_seed(2)


def _tagger(activation="softmax", units=K):
    x = seqattn.Input(shape=(T,), dtype="int32")
    h = layers.Embedding(V, C, mask_zero=True)(x)
    h = layers.MultiHeadAttention(2, 4)(h, h)
    return seqattn.Model(x, layers.Dense(units, activation=activation)(h))


def _data(rng, B=5):
    ids = rng.integers(1, V, (B, T))
    ids[0, 3:] = 0
    ids[1, 1:] = 0
    y = rng.integers(0, K, (B, T))
    return ids, y


def _masked_ce(p, y, mask, w=None):
    """Keras: per-step -log p[y], weighted by sample weight and mask, mean over unmasked."""
    p = p.astype(np.float64)
    steps = -np.log(np.clip(np.take_along_axis(p, y[..., None], -1)[..., 0], 1e-7, 1 - 1e-7))
    weights = mask * (1.0 if w is None else w[:, None])
    return float(np.sum(steps * weights) / np.sum(mask))


@pytest.mark.parametrize("from_logits", [False, True])
def test_loss_is_the_mean_over_unmasked_steps(rng, from_logits):
    model = _tagger(activation=None if from_logits else "softmax")
    model.compile(loss=seqattn.losses.SparseCategoricalCrossentropy(from_logits=from_logits))
    ids, y = _data(rng)
    p = model.predict(ids, verbose=0)
    if from_logits:
        p = np.exp(p - p.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
    mask = (ids != 0).astype(np.float64)
    assert model.evaluate(ids, y, verbose=0) == pytest.approx(_masked_ce(p, y, mask), rel=1e-5)
    w = rng.uniform(0.5, 2.0, len(ids)).astype(np.float32)
    assert model.evaluate(ids, y, sample_weight=w, verbose=0) == pytest.approx(
        _masked_ce(p, y, mask, w), rel=1e-5)


def test_labels_of_padded_steps_change_nothing(rng):
    model = _tagger()
    model.compile(loss="sparse_categorical_crossentropy")
    ids, y = _data(rng)
    other = y.copy()
    other[ids == 0] = (other[ids == 0] + 1) % K
    loss_a, grads_a = model._compute_gradients(ids, y)
    loss_b, grads_b = model._compute_gradients(ids, other)
    assert loss_a == loss_b
    for a, b in zip(grads_a, grads_b):
        np.testing.assert_array_equal(a, b)


def test_gradient_is_the_finite_difference_of_the_masked_loss(rng):
    model = _tagger()
    model.compile(loss="sparse_categorical_crossentropy")
    ids, y = _data(rng)
    assert_gradient_matches_loss(model, ids, y, rng)


def test_a_fully_padded_batch_has_zero_loss_and_gradient():
    model = _tagger()
    model.compile(loss="sparse_categorical_crossentropy")
    ids = np.zeros((2, T), np.int32)
    loss, grads = model._compute_gradients(ids, np.ones((2, T), np.int32))
    assert loss == 0.0 and all(not np.any(g) for g in grads)


def test_binary_per_token_loss_and_accuracy_honour_the_mask(rng):
    model = _tagger(activation="sigmoid", units=1)
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    ids, _ = _data(rng)
    y = rng.integers(0, 2, (len(ids), T))
    p = model.predict(ids, verbose=0)[..., 0].astype(np.float64)
    mask = ids != 0
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    steps = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    loss, acc = model.evaluate(ids, y, verbose=0)
    assert loss == pytest.approx(float(steps[mask].mean()), rel=1e-5)
    assert acc == pytest.approx(float(((p > 0.5) == y)[mask].mean()), rel=1e-6)


def test_metrics_count_only_unmasked_steps(rng):
    model = _tagger()
    model.compile(loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", seqattn.metrics.F1Score(average="macro")])
    ids, y = _data(rng, B=8)
    p = model.predict(ids, verbose=0)
    mask = ids != 0
    _, acc, f1 = model.evaluate(ids, y, verbose=0)
    pred = p.argmax(-1)
    assert acc == pytest.approx(float((pred == y)[mask].mean()), rel=1e-6)
    scores = []
    for k in range(K):  # macro F1 over the unmasked steps, worked out by hand
        tp = np.sum((pred == k) & (y == k) & mask)
        fp = np.sum((pred == k) & (y != k) & mask)
        fn = np.sum((pred != k) & (y == k) & mask)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    assert f1 == pytest.approx(float(np.mean(scores)), rel=1e-5)
    history = model.fit(ids, y, epochs=1, verbose=0)
    assert 0.0 <= history.history["accuracy"][0] <= 1.0


def test_matches_keras_masked_loss_and_accuracy(rng):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    model = _tagger()
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = keras.Input(shape=(T,), dtype="int32")
    h = keras.layers.Embedding(V, C, mask_zero=True)(x)
    h = keras.layers.MultiHeadAttention(2, 4)(h, h)
    kmodel = keras.Model(x, keras.layers.Dense(K, activation="softmax")(h))
    kmodel.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kmodel.set_weights(model.get_weights())
    ids, y = _data(rng, B=8)
    ours = model.evaluate(ids, y, verbose=0)
    theirs = kmodel.evaluate(ids, y, verbose=0, batch_size=len(ids))
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-6)
    # Keras takes per-step weights (B, T) here; seqattn's (B,) weight a whole sequence, which
    # equals Keras given that weight repeated over the steps.
    w = rng.uniform(0.5, 2.0, len(ids)).astype(np.float32)
    theirs = kmodel.evaluate(ids, y, sample_weight=np.repeat(w[:, None], T, 1), verbose=0,
                             batch_size=len(ids))
    assert model.evaluate(ids, y, sample_weight=w, verbose=0)[0] == pytest.approx(theirs[0],
                                                                                  rel=1e-5)
