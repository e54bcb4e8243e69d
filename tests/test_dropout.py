"""Dropout: identity at inference; while training the keep decisions match the reference's
counter-based stream exactly, and outputs and gradients match the float64 reference."""

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers


def _layer(rate, shape, seed=None):
    layer = layers.Dropout(rate, seed=seed)
    layer(np.zeros(shape, np.float32))
    return layer


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 1), (4, 5), (2, 7, 3), (3, 9, 17)])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("step", [0, 5])
def test_dropout_matches_reference_while_training(rng, shape, rate, step):
    layer = _layer(rate, shape)
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    r = run_layer(layer, [x], dy=dy, training=True, step=step)
    keep = ref.dropout_keep(layer._core.seed, step, shape, rate)
    assert_close(r["y"], ref.dropout_forward(x, keep, rate), "y")
    assert_close(r["dx"][0], ref.dropout_backward(x, keep, rate, dy), "dx")
    assert r["grads"] == []


@pytest.mark.parametrize("shape", [(1, 1), (2, 7, 3)])
def test_dropout_is_the_identity_at_inference(rng, shape):
    layer = _layer(0.5, shape)
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    r = run_layer(layer, [x], dy=dy, training=False, step=3)
    np.testing.assert_array_equal(r["y"], x)
    np.testing.assert_array_equal(r["dx"][0], dy)
    np.testing.assert_array_equal(layer(x), x)  # eager calls run in inference mode


def test_dropout_rate_zero_is_the_identity_while_training(rng):
    layer = _layer(0.0, (2, 3, 4))
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(run_layer(layer, [x], training=True, step=1)["y"], x)


def test_dropout_keeps_about_one_minus_rate_and_preserves_the_mean(rng):
    layer = _layer(0.3, (64, 50, 40))
    x = np.ones((64, 50, 40), np.float32)
    y = run_layer(layer, [x], training=True, step=2)["y"]
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01


def test_dropout_stream_is_thread_independent_and_seeded(rng, threads):
    shape = (8, 64, 80)  # above the parallel threshold
    layer = _layer(0.4, shape, seed=123)
    assert layer._core.seed == 123
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    first = run_with_each_thread_count(layer, [x], dy=dy, training=True, step=9)
    keep = ref.dropout_keep(123, 9, shape, 0.4)
    np.testing.assert_array_equal(first["y"] != 0, keep & (x != 0))
    other_step = run_layer(layer, [x], training=True, step=10)["y"]
    assert not np.array_equal(other_step, first["y"]), "a new step draws a new mask"
    same_seed = _layer(0.4, shape, seed=123)
    np.testing.assert_array_equal(run_layer(same_seed, [x], training=True, step=9)["y"],
                                  first["y"])


def test_dropout_seed_none_comes_from_the_global_generator():
    seeds = []
    for _ in range(2):
        seqattn.utils.set_random_seed(11)
        seeds.append(_layer(0.5, (1, 2))._core.seed)
    assert seeds[0] == seeds[1]
    assert _layer(0.5, (1, 2))._core.seed != seeds[0]  # the next layer draws a new one


def test_dropout_passes_the_mask_through(rng):
    layer = _layer(0.5, (2, 3, 4))
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    mask = np.array([[1, 0, 1], [0, 0, 0]], bool)
    for training in (False, True):
        np.testing.assert_array_equal(run_layer(layer, [x], [mask], training=training)["mask"],
                                      mask)


def test_dropout_get_config():
    layer = layers.Dropout(0.25, seed=7, name="drop_cfg")
    assert layer.get_config() == {"name": "drop_cfg", "rate": 0.25, "seed": 7}
    assert layers.Dropout(0.1).get_config()["seed"] is None


# ------------------------------------------------------------------ bad arguments and inputs
@pytest.mark.parametrize("bad,exc", [(-0.1, ValueError), (-1, ValueError), (1.0, ValueError),
                                     (2.5, ValueError), ("0.1", TypeError), ("64", TypeError),
                                     (None, TypeError), (True, TypeError)])
def test_dropout_rate_must_be_in_unit_interval(bad, exc):
    with pytest.raises(exc, match="rate"):
        layers.Dropout(bad)


@pytest.mark.parametrize("bad", [-1, 2.5, "64", True, 2**64])
def test_dropout_seed_must_be_a_non_negative_integer(bad):
    with pytest.raises(ValueError, match="seed"):
        layers.Dropout(0.1, seed=bad)


def test_dropout_eager_calls_do_not_train(rng):
    layer = layers.Dropout(0.5)
    with pytest.raises(ValueError, match="inference mode"):
        layer(np.ones((2, 3), np.float32), training=True)
    with pytest.raises(TypeError, match="one input"):
        layer()
    np.testing.assert_array_equal(layer(np.ones((2, 3), np.float32), training=False), 1.0)


def test_dropout_rejects_token_ids_in_a_model():
    with pytest.raises(ValueError, match="float32 features"):
        layers.Dropout(0.1)(seqattn.Input((5,), "int32"))
