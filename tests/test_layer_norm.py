"""LayerNormalization against the float64 reference: outputs, dx, dgamma, dbeta."""

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers

SHAPES = [(1, 1), (1, 1, 1), (4, 5), (2, 7, 3), (3, 1, 6), (2, 16, 32)]


def _build(shape, rng, center=True, scale=True, epsilon=1e-3):
    layer = layers.LayerNormalization(epsilon=epsilon, center=center, scale=scale)
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)  # rows away from mean 0, var 1
    layer(x)
    C = shape[-1]
    w = []
    if scale:
        w.append(rng.standard_normal(C).astype(np.float32))
    if center:
        w.append(rng.standard_normal(C).astype(np.float32))
    layer.set_weights(w)
    gamma = w[0] if scale else None
    beta = w[-1] if center else None
    return layer, x, gamma, beta


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
def test_layer_norm_matches_reference(rng, shape, center, scale):
    layer, x, gamma, beta = _build(shape, rng, center, scale)
    dy = rng.standard_normal(shape).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    assert_close(r["y"], ref.layer_norm_forward(x, gamma, beta, 1e-3), "y")
    dx, dg, db = ref.layer_norm_backward(x, gamma, beta, 1e-3, dy)
    assert_close(r["dx"][0], dx, "dx")
    grads = r["grads"]
    assert len(grads) == int(center) + int(scale)
    if scale:
        assert_close(grads[0], dg, "dgamma")
    if center:
        assert_close(grads[-1], db, "dbeta")


@pytest.mark.parametrize("epsilon", [1e-6, 1e-3, 0.5])
def test_layer_norm_epsilon_and_near_constant_rows(rng, epsilon):
    layer, x, gamma, beta = _build((3, 4, 8), rng, epsilon=epsilon)
    x[0, 0] = 5.0  # a constant row: var = 0, normalised to 0, finite
    x[1, 2] = 5.0 + 1e-3 * rng.standard_normal(8).astype(np.float32)  # nearly constant
    dy = rng.standard_normal(x.shape).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    assert_close(r["y"], ref.layer_norm_forward(x, gamma, beta, epsilon), "y")
    dx, dg, db = ref.layer_norm_backward(x, gamma, beta, epsilon, dy)
    # the nearly constant row's rstd is up to 1/sqrt(1e-6): float32 rounding of x dominates
    tol = dict(rtol=2e-3, atol=2e-3) if epsilon < 1e-4 else {}
    assert_close(r["dx"][0], dx, "dx", **tol)
    assert_close(r["grads"][0], dg, "dgamma", **tol)
    assert_close(r["grads"][1], db, "dbeta")
    np.testing.assert_allclose(r["y"][0, 0], beta, atol=1e-6)


def test_layer_norm_passes_the_mask_through(rng):
    layer, x, *_ = _build((2, 3, 4), rng)
    mask = np.array([[1, 1, 0], [0, 0, 0]], bool)
    r = run_layer(layer, [x], [mask])
    np.testing.assert_array_equal(r["mask"], mask)
    assert run_layer(layer, [x])["mask"] is None


def test_layer_norm_weights_match_keras():
    layer = layers.LayerNormalization()
    layer(np.zeros((2, 3, 32), np.float32))
    gamma, beta = layer.get_weights()
    np.testing.assert_array_equal(gamma, np.ones(32))
    np.testing.assert_array_equal(beta, np.zeros(32))
    assert layer._core.param_names() == ["gamma", "beta"]
    assert layer.count_params() == 64  # one of the keras.io model's two LayerNorms
    only_beta = layers.LayerNormalization(scale=False)
    only_beta(np.zeros((1, 4), np.float32))
    assert only_beta._core.param_names() == ["beta"]
    none = layers.LayerNormalization(center=False, scale=False)
    none(np.zeros((1, 4), np.float32))
    assert none.get_weights() == []


def test_layer_norm_hand_worked():
    layer = layers.LayerNormalization(epsilon=1e-3)
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    layer(x)
    layer.set_weights([np.array([2.0, 1.0, 0.5]), np.array([0.0, 10.0, -1.0])])
    s = 1 / np.sqrt(2 / 3 + 1e-3)  # mean 2, var 2/3
    np.testing.assert_allclose(layer(x), [[-2 * s, 10.0, 0.5 * s - 1]], rtol=1e-6)


def test_layer_norm_gradients_do_not_depend_on_thread_count(rng, threads):
    # Enough rows for several fixed row blocks and the parallel path.
    layer, x, *_ = _build((8, 97, 40), rng)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    run_with_each_thread_count(layer, [x], dy=dy)


def test_layer_norm_get_config_round_trips():
    layer = layers.LayerNormalization(epsilon=1e-6, center=False, name="ln_cfg")
    cfg = layer.get_config()
    zeros = {"module": "keras.initializers", "class_name": "Zeros", "config": {},
             "registered_name": None}
    ones = {**zeros, "class_name": "Ones"}
    assert cfg == {"name": "ln_cfg", "axis": -1, "epsilon": 1e-6, "center": False, "scale": True,
                   "beta_initializer": zeros, "gamma_initializer": ones, "beta_regularizer": None,
                   "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}
    again = layers.LayerNormalization(**{**cfg, "name": "ln_cfg_2"})
    assert again.get_config() == {**cfg, "name": "ln_cfg_2"}


# ------------------------------------------------------------------ bad arguments and inputs
@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-1, ValueError), (float("inf"), ValueError),
                                     (None, TypeError), ("64", TypeError), (True, TypeError)])
def test_layer_norm_rejects_bad_epsilon(bad, exc):
    with pytest.raises(exc, match="epsilon"):
        layers.LayerNormalization(epsilon=bad)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_layer_norm_boolean_arguments(bad):
    with pytest.raises(TypeError, match="center"):
        layers.LayerNormalization(center=bad)
    with pytest.raises(TypeError, match="scale"):
        layers.LayerNormalization(scale=bad)


def test_layer_norm_axis_must_be_the_last():
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(axis="x")
    with pytest.raises(TypeError, match="axis"):
        layers.LayerNormalization(1e-6)  # Keras's first positional argument is `axis`
    with pytest.raises(ValueError, match="last axis only"):
        layers.LayerNormalization(axis=1)(np.zeros((2, 3, 4), np.float32))
    y = layers.LayerNormalization(axis=2)(np.ones((2, 3, 4), np.float32))
    assert y.shape == (2, 3, 4)


def test_layer_norm_input_shape_errors_name_the_layer():
    layer = layers.LayerNormalization(name="ln_shape")
    layer(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"ln_shape.*\(B, T, 4\).*\(2, 3, 5\)"):
        layer(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match="ln_other"):
        layers.LayerNormalization(name="ln_other")(np.zeros((2, 3, 4, 5), np.float32))


def test_layer_norm_rejects_token_ids_in_a_model():
    x = seqattn.Input((5,), "int32")
    with pytest.raises(ValueError, match="float32 features.*Embedding"):
        layers.LayerNormalization()(x)


def test_core_rejects_token_ids_instead_of_crashing():
    layer = layers.LayerNormalization(name="ln_ids")
    layer(np.zeros((2, 4), np.float32))
    # every array reaches the kernel through the boundary's feature rule (check.cpp)
    np.testing.assert_array_equal(run_layer(layer, [np.arange(8).reshape(2, 4)])["y"],
                                  run_layer(layer, [np.arange(8.0).reshape(2, 4)])["y"])
    # eager calls on integer arrays read them as features, as Keras does
    np.testing.assert_allclose(layer(np.array([[1, 2, 3, 4]])),
                               ref.layer_norm_forward([[1, 2, 3, 4]], np.ones(4), np.zeros(4)),
                               rtol=1e-5)
