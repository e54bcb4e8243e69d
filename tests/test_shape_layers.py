"""Reshape, Permute, RepeatVector and the shape ops (ops.reshape/expand_dims/squeeze/transpose/
concatenate) against the float64 reference, Keras's messages, Keras 3 parity (layers and a
functional model with ported weights), masks and saving."""

import json
import warnings

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import run_layer, run_with_each_thread_count
from seqattn import layers, ops

_KERAS_NUMPY = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword")  # Keras's torch backend


@pytest.fixture
def keras():
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _check(layer, x, want_y, backward, rng):
    dy = rng.standard_normal(want_y.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], dy=dy)
    np.testing.assert_array_equal(r["y"], want_y)
    np.testing.assert_array_equal(r["dx"][0], backward(dy))
    assert r["grads"] == [] and r["mask"] is None


@pytest.mark.parametrize("shape,target", [((2, 12), (3, 4)), ((2, 3, 4), (-1,)),
                                          ((2, 3, 4), (2, -1, 3)), ((4, 64, 130), (130, -1))])
def test_reshape_matches_reference(rng, shape, target, threads):
    x = rng.standard_normal(shape).astype(np.float32)
    layer = layers.Reshape(target)
    layer(x)
    _check(layer, x, ref.reshape_forward(x, target), lambda dy: ref.reshape_backward(x, dy), rng)


@pytest.mark.parametrize("shape,dims", [((2, 3, 4), (2, 1)), ((2, 3, 4, 5), (3, 1, 2)),
                                        ((2, 3), (1,)), ((4, 64, 130), (2, 1))])
def test_permute_matches_reference(rng, shape, dims, threads):
    x = rng.standard_normal(shape).astype(np.float32)
    layer = layers.Permute(dims)
    layer(x)
    _check(layer, x, ref.permute_forward(x, dims), lambda dy: ref.permute_backward(dims, dy), rng)


@pytest.mark.parametrize("shape,n", [((2, 3), 4), ((1, 1), 1), ((64, 130), 9)])
def test_repeat_vector_matches_reference(rng, shape, n, threads):
    x = rng.standard_normal(shape).astype(np.float32)
    layer = layers.RepeatVector(n)
    layer(x)
    dy = rng.standard_normal((shape[0], n, shape[1])).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], dy=dy)
    np.testing.assert_array_equal(r["y"], ref.repeat_vector_forward(x, n))
    np.testing.assert_allclose(r["dx"][0], ref.repeat_vector_backward(dy), rtol=1e-6, atol=1e-6)


def test_symbolic_shapes():
    x = seqattn.Input((12,))
    assert layers.Reshape((3, 4))(x).shape == (None, 3, 4)
    assert layers.Reshape((-1, 2, 2))(x).shape == (None, 3, 2, 2)
    assert layers.Reshape((-1, 4))(seqattn.Input((None, 4))).shape == (None, None, 4)
    assert layers.Permute((2, 1))(seqattn.Input((10, 64))).shape == (None, 64, 10)
    assert layers.RepeatVector(5)(seqattn.Input((3,))).shape == (None, 5, 3)


def test_bad_arguments_and_shapes_name_the_layer():
    with pytest.raises(ValueError, match=r"at most one unknown dimension.*\(-1, -1\)"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match=r"positive integer, or -1.*\(0, 3\)"):
        layers.Reshape((0, 3))
    with pytest.raises(ValueError, match="tuple of integers"):
        layers.Reshape((2.5, 2))
    with pytest.raises(ValueError, match=r"rs_bad.*total size of the tensor must be unchanged.*"
                                         r"input_shape=\(12,\), target_shape=\(5, 3\)"):
        layers.Reshape((5, 3), name="rs_bad")(seqattn.Input((12,)))
    with pytest.raises(ValueError, match=r"input_shape=\(12,\), target_shape=\(-1, 5\)"):
        layers.Reshape((-1, 5))(seqattn.Input((12,)))
    layer = layers.Reshape((-1, 3), name="rs_later")
    layer(np.ones((2, 6), np.float32))
    with pytest.raises(ValueError, match=r"rs_later.*total size.*\(2, 7\)"):
        run_layer(layer, [np.ones((2, 7), np.float32)])
    with pytest.raises(ValueError, match=r"consecutive and start from 1.*\(0, 1\)"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"consecutive.*\(1, 3\)"):
        layers.Permute((1, 3))
    with pytest.raises(ValueError, match=r"perm_rank.*expected ndim=3.*\(None, 4\)"):
        layers.Permute((2, 1), name="perm_rank")(seqattn.Input((4,)))
    for bad in (0, -1, 2.5, None, "3", True):
        with pytest.raises(ValueError, match=r"`n` should be a positive integer"):
            layers.RepeatVector(bad)
    with pytest.raises(ValueError, match=r"rv3.*expected ndim=2.*\(None, 3, 4\)"):
        layers.RepeatVector(2, name="rv3")(seqattn.Input((3, 4)))
    with pytest.raises(ValueError, match="float32 features"):
        layers.Reshape((5,))(seqattn.Input((5,), dtype="int32"))


@pytest.mark.parametrize("make", [lambda: layers.Reshape((-1,)), lambda: layers.Permute((2, 1))])
def test_a_mask_reaching_a_shape_layer_warns_and_is_dropped(make):
    ids = seqattn.Input((6,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(ids)
    layer = make()
    with pytest.warns(UserWarning, match="does not support masking"):
        out = layer(h)
    assert not out.has_mask
    mask = np.array([[1, 1, 0, 0, 0, 0]], bool)
    assert run_layer(layer, [np.ones((1, 6, 4), np.float32)], [mask])["mask"] is None


def test_configs_round_trip():
    for layer in (layers.Reshape((-1, 3), name="r"), layers.Permute((2, 1), name="p"),
                  layers.RepeatVector(4, name="rv"), layers.Concatenate(axis=1, name="c"),
                  layers.Multiply(name="m"), layers.Subtract(name="s")):
        config = json.loads(json.dumps(layer.get_config()))
        clone = type(layer).from_config(config)
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


def _functional(seed=5):
    seqattn.utils.set_random_seed(seed)
    x = seqattn.Input((6, 4))
    a = layers.Dense(3, name="a")(x)
    b = layers.Dense(2, activation="tanh", name="b")(x)
    h = layers.Concatenate(name="cat")([a, b])                       # (B, 6, 5)
    h = layers.Permute((2, 1), name="perm")(h)                       # (B, 5, 6)
    h = layers.Reshape((-1,), name="flat")(h)                        # (B, 30)
    g = layers.RepeatVector(2, name="rep")(layers.Dense(15, name="c")(h))  # (B, 2, 15)
    h = layers.Maximum(name="max")([layers.Reshape((2, 15), name="r2")(h), g])
    h = layers.Reshape((30,), name="r4")(layers.Multiply(name="mul")([h, h]))
    out = layers.Dense(1, activation="sigmoid", name="out")(layers.Subtract(name="sub")(
        [layers.Average(name="avg")([h, h]), layers.Minimum(name="min")([h, h])]))
    return seqattn.Model(x, out)


def test_a_model_of_shape_and_merge_layers_trains_and_saves(tmp_path, rng):
    model = _functional()
    x = rng.standard_normal((8, 6, 4)).astype(np.float32)
    y = rng.integers(0, 2, (8, 1)).astype(np.float32)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    path = tmp_path / "shapes.seqattn"
    model.save(path)
    loaded = seqattn.load_model(path)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_ops_shape_ops_on_arrays_are_numpy(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(ops.reshape(x, (2, 12)), x.reshape(2, 12))
    np.testing.assert_array_equal(ops.transpose(x, (2, 0, 1)), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(ops.transpose(x), x.T)
    np.testing.assert_array_equal(ops.concatenate([x, x], axis=0), np.concatenate([x, x]))
    np.testing.assert_array_equal(ops.expand_dims(x, 1), x[:, None])
    np.testing.assert_array_equal(ops.squeeze(x[:, :1], 1), x[:, 0])


@pytest.mark.parametrize("fn,want", [
    (lambda t: ops.reshape(t, (-1, 12)), lambda a: a.reshape(-1, 12)),
    (lambda t: ops.reshape(t, (None, 2, -1)), lambda a: a.reshape(a.shape[0], 2, -1)),
    (lambda t: ops.transpose(t, (0, 2, 1)), lambda a: a.transpose(0, 2, 1)),
    (lambda t: ops.transpose(t, (0, -1, 1)), lambda a: a.transpose(0, 2, 1)),
    (lambda t: ops.expand_dims(t, -1), lambda a: a[..., None]),
    (lambda t: ops.expand_dims(t, 1), lambda a: a[:, None]),
    (lambda t: ops.squeeze(ops.expand_dims(t, 2), 2), lambda a: a),
    (lambda t: ops.concatenate([t, t * 2.0], axis=-1), lambda a: np.concatenate([a, 2 * a], -1)),
    (lambda t: ops.concatenate([t, t], axis=1), lambda a: np.concatenate([a, a], 1)),
])
def test_ops_shape_ops_on_symbolic_tensors_are_graph_nodes(fn, want, rng):
    inp = seqattn.Input((3, 4))
    model = seqattn.Model(inp, fn(inp))
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), want(x))


def test_ops_shape_ops_refuse_to_move_the_batch_axis():
    t = seqattn.Input((3, 4))
    with pytest.raises(ValueError, match=r"newshape\[0\] must be -1 or None.*\(6, 2\)"):
        ops.reshape(t, (6, 2))
    with pytest.raises(ValueError, match=r"axes\[0\] must be 0.*\(1, 0, 2\)"):
        ops.transpose(t, (1, 0, 2))
    with pytest.raises(ValueError, match="permutation"):
        ops.transpose(t, (0, 1, 1))
    with pytest.raises(ValueError, match="keeps the batch axis"):
        ops.transpose(t)
    with pytest.raises(ValueError, match="keeps the batch axis first; received axis=0"):
        ops.concatenate([t, t])
    with pytest.raises(ValueError, match="keeps the batch axis first"):
        ops.expand_dims(t, 0)
    with pytest.raises(ValueError, match=r"cannot squeeze axis 1.*size is 3"):
        ops.squeeze(t, 1)
    with pytest.raises(ValueError, match="out of range"):
        ops.expand_dims(t, 5)
    with pytest.raises(ValueError, match="more than one unknown axis"):
        ops.expand_dims(seqattn.Input((None, None)), 1)
    with pytest.raises(ValueError, match="total size"):
        ops.reshape(t, (-1, 5))


def test_ops_shape_ops_on_constants_stay_constants():
    from seqattn.layers.math_ops import Constant
    values = np.arange(6, dtype=np.float32).reshape(2, 3)
    c = Constant(values)()
    np.testing.assert_array_equal(ops.transpose(c).constant, values.T)
    np.testing.assert_array_equal(ops.reshape(c, (3, 2)).constant, values.reshape(3, 2))
    np.testing.assert_array_equal(ops.expand_dims(c, 0).constant, values[None])
    np.testing.assert_array_equal(ops.concatenate([c, c], axis=0).constant,
                                  np.concatenate([values, values]))


def test_gradients_through_shape_ops_match_finite_differences(rng):
    from test_ops import _finite_difference_check
    seqattn.utils.set_random_seed(4)
    inp = seqattn.Input((4, 3))
    a = layers.Dense(3, name="fa")(inp)
    b = layers.Dense(2, activation="tanh", name="fb")(inp)
    h = ops.concatenate([a, b], axis=-1)                      # (B, 4, 5)
    h = ops.transpose(h, (0, 2, 1))                           # (B, 5, 4)
    h = ops.squeeze(ops.expand_dims(h, 1), 1) * ops.reshape(h, (-1, 5, 4))
    h = ops.reshape(h, (-1, 20))
    out = layers.Dense(1, activation="sigmoid")(h)
    model = seqattn.Model(inp, out)
    x = rng.normal(size=(6, 4, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=(6, 1)).astype(np.float32)
    _finite_difference_check(model, x, y)


# ------------------------------------------------------------------ Keras 3 parity
@_KERAS_NUMPY
def test_shape_layers_match_keras(keras, rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    v = rng.standard_normal((2, 5)).astype(np.float32)
    cases = [("Reshape", ((2, -1),), x), ("Reshape", ((12,),), x), ("Permute", ((2, 1),), x),
             ("RepeatVector", (3,), v)]
    for name, args, data in cases:
        ours = getattr(layers, name)(*args)(data)
        theirs = keras.ops.convert_to_numpy(getattr(keras.layers, name)(*args)(data))
        np.testing.assert_array_equal(ours, theirs, err_msg=name)


def _keras_functional(keras):
    x = keras.Input((6, 4))
    a = keras.layers.Dense(3, name="a")(x)
    b = keras.layers.Dense(2, activation="tanh", name="b")(x)
    h = keras.layers.Concatenate(name="cat")([a, b])
    h = keras.layers.Permute((2, 1), name="perm")(h)
    h = keras.layers.Reshape((-1,), name="flat")(h)
    g = keras.layers.RepeatVector(2, name="rep")(keras.layers.Dense(15, name="c")(h))
    h = keras.layers.Maximum(name="max")([keras.layers.Reshape((2, 15), name="r2")(h), g])
    h = keras.layers.Reshape((30,), name="r4")(keras.layers.Multiply(name="mul")([h, h]))
    out = keras.layers.Dense(1, activation="sigmoid", name="out")(keras.layers.Subtract(
        name="sub")([keras.layers.Average(name="avg")([h, h]),
                     keras.layers.Minimum(name="min")([h, h])]))
    return keras.Model(x, out)


@_KERAS_NUMPY
def test_a_functional_model_with_ported_weights_predicts_as_keras(keras, rng):
    ours, theirs = _functional(), _keras_functional(keras)
    theirs.set_weights(ours.get_weights())
    x = rng.standard_normal((5, 6, 4)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x, verbose=0),
                               keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-6)
