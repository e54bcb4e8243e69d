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


# ------------------------------------------------- Subtract, Multiply, Average, Maximum, Minimum
MERGES = {"subtract": layers.Subtract, "multiply": layers.Multiply, "average": layers.Average,
          "maximum": layers.Maximum, "minimum": layers.Minimum}


@pytest.mark.parametrize("op", list(MERGES))
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("shape", [(1, 1), (2, 7, 3), (4, 64, 130)])
def test_merge_matches_reference(rng, op, k, shape, threads):
    k = 2 if op == "subtract" else k
    xs = [rng.standard_normal(shape).astype(np.float32) for _ in range(k)]
    layer = MERGES[op]()
    layer(xs)
    dy = rng.standard_normal(shape).astype(np.float32)
    r = run_with_each_thread_count(layer, xs, dy=dy)
    assert_close(r["y"], ref.merge_forward(op, xs), "y")
    for i, (got, want) in enumerate(zip(r["dx"], ref.merge_backward(op, xs, dy))):
        assert_close(got, want, f"dx{i}")
    assert r["grads"] == []


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_ties_share_the_gradient_and_nan_propagates(op, threads):
    a = np.array([[1.0, 2.0, np.nan, 4.0]], np.float32)
    b = np.array([[1.0, 3.0, 0.0, np.nan]], np.float32)
    c = np.array([[1.0, -5.0, np.nan, 4.0]], np.float32)
    layer = MERGES[op]()
    layer([a, b, c])
    dy = np.array([[3.0, 1.0, 2.0, 5.0]], np.float32)
    r = run_with_each_thread_count(layer, [a, b, c], dy=dy)
    want = ref.merge_forward(op, [a, b, c])
    np.testing.assert_array_equal(r["y"], want)
    assert np.isnan(r["y"][0, 2]) and np.isnan(r["y"][0, 3])
    for got, ref_dx in zip(r["dx"], ref.merge_backward(op, [a, b, c], dy)):
        np.testing.assert_array_equal(got, ref_dx)
    # a three-way tie: 1 each; NaN in a and c: 1 each; NaN only in b: all 5 to b
    np.testing.assert_array_equal(r["dx"][0][0, [0, 2]], [1.0, 1.0])
    np.testing.assert_array_equal(r["dx"][1][0, [0, 3]], [1.0, 5.0])


def test_multiply_gradient_is_exact_at_zero():
    a = np.array([[0.0, 2.0]], np.float32)
    b = np.array([[3.0, 0.0]], np.float32)
    layer = layers.Multiply()
    layer([a, b])
    r = run_layer(layer, [a, b], dy=np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(r["dx"][0], [[3.0, 0.0]])
    np.testing.assert_array_equal(r["dx"][1], [[0.0, 2.0]])


@pytest.mark.parametrize("op", list(MERGES))
@pytest.mark.parametrize("name", list(MASKS))
def test_merge_masks_are_the_and_of_the_present_masks(rng, op, name):
    masks = [None if m is None else np.array(m, bool) for m in MASKS[name]]
    masks = masks[:2] if op == "subtract" else masks
    xs = [rng.standard_normal((1, 4, 3)).astype(np.float32) for _ in masks]
    layer = MERGES[op]()
    layer(xs)
    r = run_layer(layer, xs, masks)
    want = ref.add_mask(masks)
    assert (r["mask"] is None) if want is None else np.array_equal(r["mask"], want)
    assert_close(r["y"], ref.merge_forward(op, xs), "y")


def test_functional_forms_and_subtract_takes_exactly_two():
    a = np.full((2, 3), 2.0, np.float32)
    b = np.full((2, 3), 3.0, np.float32)
    np.testing.assert_array_equal(layers.add([a, b]), 5.0)
    np.testing.assert_array_equal(layers.subtract([a, b]), -1.0)
    np.testing.assert_array_equal(layers.multiply([a, b, b]), 18.0)
    np.testing.assert_array_equal(layers.average([a, b]), 2.5)
    np.testing.assert_array_equal(layers.maximum([a, b]), 3.0)
    np.testing.assert_array_equal(layers.minimum([a, b], name="mini"), 2.0)
    np.testing.assert_array_equal(layers.concatenate([a, b], axis=1)[:, 2:4], [[2, 3], [2, 3]])
    with pytest.raises(ValueError, match=r"sub2.*Subtract.*exactly 2 inputs.*3"):
        layers.Subtract(name="sub2")([a, a, a])
    with pytest.raises(ValueError, match=r"mul_shapes.*Multiply.*same shape.*\(None, 3\).*\(None, 4\)"):
        layers.Multiply(name="mul_shapes")([a, np.ones((2, 4), np.float32)])
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Maximum()(a)


# --------------------------------------------------------------------------- Concatenate
CONCAT_CASES = [(-1, [(2, 3, 4), (2, 3, 2)]), (1, [(2, 3, 4), (2, 5, 4), (2, 1, 4)]),
                (1, [(3, 2), (3, 5)]), (2, [(2, 3, 1, 2), (2, 3, 4, 2)]),
                (-1, [(4, 64, 130), (4, 64, 70)])]


@pytest.mark.parametrize("axis,shapes", CONCAT_CASES)
def test_concatenate_matches_reference(rng, axis, shapes, threads):
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    layer = layers.Concatenate(axis=axis)
    layer(xs)
    y = ref.concatenate_forward(xs, axis)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, xs, dy=dy)
    np.testing.assert_array_equal(r["y"], y)
    for i, (got, want) in enumerate(zip(r["dx"], ref.concatenate_backward(xs, axis, dy))):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("axis", [1, 2, -1])
@pytest.mark.parametrize("which", [(True, False), (False, True), (True, True), (False, False)])
def test_concatenate_masks_follow_keras(rng, axis, which):
    xs = [rng.standard_normal((2, 4, 3)).astype(np.float32) for _ in which]
    masks = [np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool) if w else None for w in which]
    if all(which):
        masks[1] = np.array([[0, 1, 1, 0], [1, 1, 1, 0]], bool)
    layer = layers.Concatenate(axis=axis)
    layer(xs)
    got = run_layer(layer, xs, masks)["mask"]
    want = ref.concatenate_mask(xs, masks, axis % 3)
    assert (got is None) if want is None else np.array_equal(got, want)


def test_concatenate_shapes_and_errors():
    a, b = seqattn.Input((4, 3)), seqattn.Input((5, 3))
    assert layers.Concatenate(axis=1)([a, b]).shape == (None, 9, 3)
    assert layers.Concatenate()([a, seqattn.Input((4, 2))]).shape == (None, 4, 5)
    assert layers.Concatenate(axis=1)([seqattn.Input((None, 3)), a]).shape == (None, None, 3)
    with pytest.raises(ValueError, match=r"cat_bad.*matching shapes except for the "
                                         r"concatenation axis 2.*\(None, 4, 3\).*\(None, 5, 3\)"):
        layers.Concatenate(name="cat_bad")([a, b])
    with pytest.raises(ValueError, match=r"cat0.*axis=0.*non-batch"):
        layers.Concatenate(axis=0, name="cat0")([a, a])
    with pytest.raises(ValueError, match=r"axis=3"):
        layers.Concatenate(axis=3)([a, a])
    with pytest.raises(TypeError, match="axis"):
        layers.Concatenate(axis=1.5)
    layer = layers.Concatenate(axis=1, name="cat_later")
    layer([np.ones((2, 3, 2), np.float32)] * 2)
    with pytest.raises(ValueError, match=r"cat_later.*\(2, 3, 2\), \(2, 3, 4\)"):
        run_layer(layer, [np.ones((2, 3, 2), np.float32), np.ones((2, 3, 4), np.float32)])
    assert layers.Concatenate(axis=2, name="c").get_config() == {"name": "c", "axis": 2}


# ------------------------------------------------------------------ Keras 3 parity
@pytest.fixture
def keras():
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


_KERAS_NUMPY = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword")  # Keras's torch backend


@_KERAS_NUMPY
@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
def test_merge_layers_match_keras(keras, rng, name):
    k = 2 if name == "Subtract" else 3
    xs = [rng.standard_normal((2, 5, 4)).astype(np.float32) for _ in range(k)]
    ours = getattr(layers, name)()(xs)
    theirs = keras.ops.convert_to_numpy(getattr(keras.layers, name)()(xs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@_KERAS_NUMPY
@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_keras(keras, rng, axis):
    xs = [rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(2)]
    ours = layers.Concatenate(axis=axis)(xs)
    theirs = keras.ops.convert_to_numpy(keras.layers.Concatenate(axis=axis)(xs))
    np.testing.assert_array_equal(ours, theirs)
