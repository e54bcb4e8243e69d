"""Add against the float64 reference: the sum, every input's gradient, the mask AND."""

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 1), (4, 5), (2, 7, 3), (4, 64, 130)])
def test_add_matches_reference(rng, k, shape):
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(k)]
    layer = layers.Add()
    layer(xs)
    dy = rng.standard_normal(shape).astype(np.float32)
    r = run_layer(layer, xs, dy=dy)
    assert_close(r["y"], ref.add_forward(xs), "y")
    for i, (got, want) in enumerate(zip(r["dx"], ref.add_backward(xs, dy))):
        assert_close(got, want, f"dx{i}")
    assert r["grads"] == [] and layer.get_weights() == []


MASKS = {
    "none": [None, None, None],
    "one": [[[1, 0, 1, 1]], None, None],
    "two": [[[1, 0, 1, 1]], None, [[0, 1, 1, 1]]],
    "all": [[[1, 1, 0, 1]], [[1, 1, 1, 0]], [[0, 1, 1, 1]]],
    "all_masked": [[[0, 0, 0, 0]], None, [[1, 1, 1, 1]]],
}


@pytest.mark.parametrize("name", list(MASKS))
def test_add_mask_is_the_and_of_the_present_masks(rng, name):
    masks = [None if m is None else np.array(m, bool) for m in MASKS[name]]
    xs = [rng.standard_normal((1, 4, 3)).astype(np.float32) for _ in range(3)]
    layer = layers.Add()
    layer(xs)
    r = run_layer(layer, xs, masks)
    want = ref.add_mask(masks)
    if want is None:
        assert r["mask"] is None
    else:
        np.testing.assert_array_equal(r["mask"], want)
    assert_close(r["y"], ref.add_forward(xs), "y")  # masks never change the values


def test_add_of_one_tensor_twice_gets_twice_the_gradient(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer = layers.Add()
    layer([a, a])
    dy = rng.standard_normal((2, 3, 4)).astype(np.float32)
    r = run_layer(layer, [a, a], dy=dy)  # the same object: one shared gradient buffer
    assert_close(r["y"], 2 * a.astype(np.float64), "y")
    assert_close(r["dx"][0], 2 * dy.astype(np.float64), "dx")
    assert r["dx"][1] is None


def test_add_is_thread_count_independent(rng, threads):
    xs = [rng.standard_normal((4, 64, 130)).astype(np.float32) for _ in range(3)]
    layer = layers.Add()
    layer(xs)
    dy = rng.standard_normal((4, 64, 130)).astype(np.float32)
    run_with_each_thread_count(layer, xs, dy=dy)


def test_add_eager_and_symbolic_calls():
    a = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(layers.Add()([a, 2 * a, 3 * a]), 6.0)
    np.testing.assert_array_equal(layers.Add()((a, a)), 2.0)  # a tuple is a list too
    x = seqattn.Input((4, 3))
    y = layers.Add()([x, x])
    assert y.shape == (None, 4, 3)
    assert layers.Add(name="add_cfg").get_config() == {"name": "add_cfg"}


# ------------------------------------------------------------------ bad arguments and inputs
def test_add_must_be_called_on_a_list():
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(a)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(a, a)
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()([a])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()([])
    with pytest.raises(ValueError, match="including None"):
        layers.Add()([a, None])
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Add(units=3)


def test_add_shapes_must_match():
    with pytest.raises(ValueError, match=r"add_shapes.*same shape.*\(None, 3\).*\(None, 4\)"):
        layers.Add(name="add_shapes")([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="same shape"):
        layers.Add()([seqattn.Input((4, 3)), seqattn.Input((4, 2))])
    layer = layers.Add(name="add_later")
    layer([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"add_later.*\(2, 3\).*\(2, 4\)"):
        run_layer(layer, [np.ones((2, 3), np.float32), np.ones((2, 4), np.float32)])


def test_add_rejects_token_ids():
    ids = seqattn.Input((5,), "int32")
    with pytest.raises(ValueError, match="float32 features"):
        layers.Add()([ids, ids])
    layer = layers.Add(name="add_ids")
    layer([np.ones((2, 3), np.float32)] * 2)
    # Arrays reach the kernel through the boundary's feature rule: int arrays become floats.
    np.testing.assert_array_equal(
        run_layer(layer, [np.ones((2, 3), np.float32), np.ones((2, 3), np.int32)])["y"],
        np.full((2, 3), 2.0, np.float32))
