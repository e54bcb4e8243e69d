import numpy as np
import pytest

import reference as ref
from conftest import assert_close
from seqattn import losses


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("N,K", [(1, 2), (5, 3), (16, 7)])
def test_sparse_categorical_crossentropy_matches_reference(rng, from_logits, N, K):
    y = rng.integers(0, K, N)
    if from_logits:
        pred = rng.standard_normal((N, K)).astype(np.float32) * 3
    else:
        pred = rng.dirichlet(np.ones(K), N).astype(np.float32)
    core = losses.SparseCategoricalCrossentropy(from_logits=from_logits)._core()
    value, grad = core(y.astype(np.float32), pred)
    want, dwant = ref.sparse_categorical_crossentropy(y, pred, from_logits=from_logits)
    assert value == pytest.approx(want, rel=1e-5)
    assert_close(grad, dwant, "dpred")


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape", [(1,), (6,), (6, 1)])
def test_binary_crossentropy_matches_reference(rng, from_logits, shape):
    y = (rng.random(shape) < 0.5).astype(np.float32)
    pred = (rng.standard_normal(shape) * 3 if from_logits
            else rng.uniform(0.01, 0.99, shape)).astype(np.float32)
    value, grad = losses.BinaryCrossentropy(from_logits=from_logits)._core()(y, pred)
    want, dwant = ref.binary_crossentropy(y, pred, from_logits=from_logits)
    assert value == pytest.approx(want, rel=1e-5)
    assert_close(grad, dwant, "dpred")


def test_hand_worked_values():
    # -log(0.25) for a uniform 4-way prediction; ln 2 for a logit of 0.
    assert losses.SparseCategoricalCrossentropy()([1], [[0.25] * 4]) == pytest.approx(np.log(4))
    assert losses.BinaryCrossentropy(from_logits=True)([1.0], [0.0]) == pytest.approx(np.log(2))
    # Keras clipping: a confidently wrong probability costs -log(1e-7), not inf.
    assert losses.BinaryCrossentropy()([1.0], [0.0]) == pytest.approx(-np.log(1e-7), rel=1e-6)


def test_huge_logits_stay_finite_and_exact():
    z = np.array([[1000.0, -1000.0]], np.float32)
    value, grad = losses.SparseCategoricalCrossentropy(from_logits=True)._core()(
        np.array([1.0], np.float32), z)
    assert value == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0]])
    assert losses.BinaryCrossentropy(from_logits=True)([0.0], [500.0]) == pytest.approx(500.0)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="binary_crossentropy, categorical_crossentropy"):
        losses.get("kl_divergence")
