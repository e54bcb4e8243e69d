"""The Activation layer against the float64 reference, for every activation."""

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers


@pytest.mark.parametrize("activation", ref.ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 5), (2, 7, 3), (1, 1, 6), (3, 130, 90)])
def test_activation_matches_reference(rng, activation, shape):
    layer = layers.Activation(activation)
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    x[np.abs(x) < 1e-3] = 0.5  # away from the relu kink
    layer(x)
    dy = rng.standard_normal(shape).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    assert_close(r["y"], ref.activation_forward(x, activation), "y")
    assert_close(r["dx"][0], ref.activation_backward(x, activation, dy), "dx")
    assert r["grads"] == []


def test_activation_passes_the_mask_and_is_thread_independent(rng, threads):
    layer = layers.Activation("softmax")
    x = rng.standard_normal((4, 100, 96)).astype(np.float32)
    layer(x)
    mask = rng.random((4, 100)) < 0.5
    dy = rng.standard_normal(x.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], [mask], dy=dy)
    np.testing.assert_array_equal(r["mask"], mask)


def test_activation_hand_worked_and_config():
    np.testing.assert_array_equal(layers.Activation("relu")(np.array([[-1.0, 2.0]])), [[0, 2]])
    np.testing.assert_allclose(layers.Activation("softmax")(np.log([[1.0, 3.0]])),
                               [[0.25, 0.75]], rtol=1e-6)
    assert layers.Activation(None).activation == "linear"
    layer = layers.Activation("gelu", name="act_cfg")
    assert layer.get_config() == {"name": "act_cfg", "activation": "gelu"}
    layer(np.zeros((1, 2), np.float32))
    assert layer._core.activation == "gelu"


@pytest.mark.parametrize("bad", ["swish", "", 1, True, "64"])
def test_activation_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match="Valid names: linear, relu, gelu, tanh, sigmoid, softmax"):
        layers.Activation(bad)


def test_activation_input_errors():
    with pytest.raises(ValueError, match=r"\(B, \.\.\., C\)"):
        layers.Activation("relu")(np.zeros((3,), np.float32))
    with pytest.raises(ValueError, match="float32 features"):
        layers.Activation("relu")(seqattn.Input((4,), "int32"))
    with pytest.raises(TypeError):
        layers.Activation()
