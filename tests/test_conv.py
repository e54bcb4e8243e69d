"""Conv1D, MaxPooling1D and AveragePooling1D: the C++ core against the float64 oracle
(outputs, dx, every grad under a random dy) for every padding, stride and dilation; thread
counts bit-identical; Keras 3 parity with the same weights; bad arguments and shapes."""
import os
import warnings

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close, run_layer, run_with_each_thread_count
from seqattn import layers

GEOMETRIES = [  # kernel_size, strides, padding, dilation_rate
    (1, 1, "valid", 1), (3, 1, "valid", 1), (3, 2, "valid", 1), (7, 3, "valid", 1),
    (3, 1, "valid", 2), (2, 1, "same", 1), (4, 1, "same", 1), (3, 2, "same", 1),
    (5, 3, "same", 1), (3, 1, "same", 3), (3, 1, "causal", 1), (4, 2, "causal", 1),
    (2, 1, "causal", 3), (9, 1, "valid", 1)]


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _conv(rng, x_shape, filters, geometry, activation="linear", use_bias=True):
    K, s, padding, d = geometry
    layer = layers.Conv1D(filters, K, strides=s, padding=padding, dilation_rate=d,
                          activation=activation, use_bias=use_bias)
    x = rng.standard_normal(x_shape).astype(np.float32)
    layer(x)
    if use_bias:  # a non-zero bias, so it is exercised
        layer.set_weights([layer.get_weights()[0],
                           rng.standard_normal(filters).astype(np.float32)])
    return layer, x


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("activation,use_bias", [("linear", True), ("relu", True),
                                                 ("tanh", False), ("softmax", True)])
def test_conv1d_matches_reference(rng, geometry, activation, use_bias):
    K, s, padding, d = geometry
    B, T, C, F = 3, 11, 4, 5
    layer, x = _conv(rng, (B, T, C), F, geometry, activation, use_bias)
    W = layer.get_weights()
    kernel, bias = W[0], (W[1] if use_bias else None)
    To, _ = ref.window_geometry(T, K, s, padding, d)
    dy = rng.standard_normal((B, To, F)).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    args = (s, padding, d, activation)
    assert_close(r["y"], ref.conv1d_forward(x, kernel, bias, *args), "y")
    dx, dk, db = ref.conv1d_backward(x, kernel, bias, *args, dy)
    assert_close(r["dx"][0], dx, "dx")
    assert_close(r["grads"][0], dk, "dkernel")
    assert len(r["grads"]) == (2 if use_bias else 1)
    if use_bias:
        assert_close(r["grads"][1], db, "dbias")


@pytest.mark.parametrize("geometry", [(5, 1, "same", 1), (7, 3, "valid", 1), (3, 1, "causal", 2)])
def test_conv1d_threads_bit_identical(rng, threads, geometry):
    # B·To·K·C well above the parallel threshold, so the unfold, GEMM and fold all split
    layer, x = _conv(rng, (4, 96, 32), 24, geometry, "relu")
    To = layer(x).shape[1]
    dy = rng.standard_normal((4, To, 24)).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], dy=dy)
    W = layer.get_weights()
    K, s, padding, d = geometry
    assert_close(r["y"], ref.conv1d_forward(x, W[0], W[1], s, padding, d, "relu"), "y")


def test_conv1d_steps_change_between_calls(rng):
    """One layer called on several lengths: buffers resize, results stay exact."""
    layer, _ = _conv(rng, (2, 20, 3), 4, (3, 2, "same", 1))
    W = layer.get_weights()
    for T in (20, 5, 1, 33, 7):
        x = rng.standard_normal((2, T, 3)).astype(np.float32)
        dy = rng.standard_normal((2, -(-T // 2), 4)).astype(np.float32)
        r = run_layer(layer, [x], dy=dy)
        assert_close(r["y"], ref.conv1d_forward(x, W[0], W[1], 2, "same"), f"y T={T}")
        assert_close(r["dx"][0], ref.conv1d_backward(x, W[0], W[1], 2, "same", 1, "linear",
                                                     dy)[0], f"dx T={T}")


def test_conv1d_weights_are_keras_shapes_and_glorot(rng):
    layer = layers.Conv1D(128, 7)
    layer(np.zeros((1, 10, 64), np.float32))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (7, 64, 128) and bias.shape == (128,)
    limit = np.sqrt(6 / (7 * 64 + 7 * 128))  # Keras fans: receptive field · channels
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not bias.any()
    assert layer.get_config()["kernel_size"] == 7
    assert layers.Conv1D(2, (3,), strides=[2]).kernel_size == 3  # Keras's 1-tuples


def test_conv1d_drops_the_mask_with_keras_warning(rng):
    ids = seqattn.Input((6,), dtype="int32")
    h = layers.Embedding(10, 4, mask_zero=True)(ids)
    with pytest.warns(UserWarning, match=r"\(of type Conv1D\) was passed an input with a mask"):
        out = layers.Conv1D(3, 2, padding="same")(h)
    assert not out.has_mask
    layer, x = _conv(rng, (2, 6, 4), 3, (2, 1, "same", 1))
    r = run_layer(layer, [x], [np.array([[1] * 6, [1, 1, 0, 0, 0, 0]], bool)])
    assert r["mask"] is None or r["mask"].size == 0


# ----------------------------------------------------------------------------- pooling
POOLS = [(2, None, "valid"), (3, None, "valid"), (3, 1, "valid"), (2, 3, "valid"),
         (3, 2, "same"), (4, 3, "same"), (2, None, "same"), (5, 1, "same"), (1, 1, "valid")]
POOL_CLASSES = {"max": layers.MaxPooling1D, "average": layers.AveragePooling1D}


@pytest.mark.parametrize("mode", POOL_CLASSES)
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("T", [1, 5, 10])
def test_pooling1d_matches_reference(rng, mode, pool, T):
    P, s, padding = pool
    if padding == "valid" and T < P:
        return  # refused: test_bad_shapes_name_the_layer
    layer = POOL_CLASSES[mode](P, s, padding)
    x = rng.standard_normal((3, T, 4)).astype(np.float32)
    To = layer(x).shape[1]
    assert To == ref.window_geometry(T, P, s or P, padding)[0]
    dy = rng.standard_normal((3, To, 4)).astype(np.float32)
    r = run_layer(layer, [x], dy=dy)
    assert_close(r["y"], ref.pool1d_forward(x, mode, P, s, padding), "y")
    assert_close(r["dx"][0], ref.pool1d_backward(x, mode, P, s, padding, dy), "dx")
    assert r["grads"] == []


@pytest.mark.parametrize("mode", POOL_CLASSES)
def test_pooling1d_threads_bit_identical(rng, threads, mode):
    layer = POOL_CLASSES[mode](3, 2, "same")
    x = rng.standard_normal((4, 129, 64)).astype(np.float32)
    dy = rng.standard_normal((4, 65, 64)).astype(np.float32)
    layer(x)
    r = run_with_each_thread_count(layer, [x], dy=dy)
    assert_close(r["dx"][0], ref.pool1d_backward(x, mode, 3, 2, "same", dy), "dx")


def test_max_pooling_ties_nan_and_overlap():
    """Ties: the first maximum of a window takes the whole gradient; a step that wins two
    overlapping windows gets both; NaN wins its window."""
    layer = layers.MaxPooling1D(3, strides=2)
    x = np.array([[[1.0], [5.0], [3.0], [3.0], [2.0], [0.0], [4.0]]], np.float32)
    layer(x)
    r = run_layer(layer, [x], dy=np.array([[[1.0], [10.0], [100.0]]], np.float32))
    np.testing.assert_array_equal(r["y"][0, :, 0], [5, 3, 4])
    np.testing.assert_array_equal(r["dx"][0][0, :, 0], [0, 1, 10, 0, 0, 0, 100])
    x[0, 3, 0] = np.nan
    y = run_layer(layer, [x])["y"][0, :, 0]
    assert y[0] == 5 and np.isnan(y[1]) and y[2] == 4
    # equal values across windows: each window's first maximum, never a later tie
    layer2 = layers.MaxPooling1D(2, strides=1)
    x2 = np.full((1, 4, 2), 7.0, np.float32)
    layer2(x2)
    r2 = run_layer(layer2, [x2], dy=np.ones((1, 3, 2), np.float32))
    np.testing.assert_array_equal(r2["dx"][0][0, :, 0], [1, 1, 1, 0])


def test_average_pooling_same_excludes_padding():
    layer = layers.AveragePooling1D(2, padding="same")
    x = np.array([[[1.0], [5.0], [3.0]]], np.float32)
    np.testing.assert_allclose(layer(x)[0, :, 0], [3.0, 3.0])  # the last: 3 / 1, not 3 / 2


def test_pooling_defaults_and_config():
    layer = layers.MaxPooling1D()
    assert (layer.pool_size, layer.strides, layer.padding) == (2, 2, "valid")
    cfg = layers.AveragePooling1D(3, 1, "SAME", name="p").get_config()
    assert cfg == {"name": "p", "pool_size": 3, "strides": 1, "padding": "same"}


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make,match", [
    (lambda: layers.Conv1D(0, 3, name="c"), r"`filters`.*'c'.*positive integer.*filters=0"),
    (lambda: layers.Conv1D(4, 0, name="c"), r"`kernel_size`.*'c'.*kernel_size=0"),
    (lambda: layers.Conv1D(4, (3, 3), name="c"),
     r"`kernel_size`.*'c'.*tuple of 1 integer.*\(3, 3\)"),
    (lambda: layers.Conv1D(4, 3, strides=-1, name="c"), r"`strides`.*'c'.*strides=-1"),
    (lambda: layers.Conv1D(4, 3, padding="full", name="c"),
     r"`padding`.*'c'.*'valid', 'same', 'causal'.*padding='full'"),
    (lambda: layers.Conv1D(4, 3, strides=2, dilation_rate=2, name="c"),
     r"'c'.*strides > 1.*dilation_rate"),
    (lambda: layers.Conv1D(4, 3, activation="swish", name="c"), r"activation 'swish'.*'c'"),
    (lambda: layers.Conv1D(4, 3, groups=2, name="c"), r"'c'.*groups=1.*groups=2"),
    (lambda: layers.Conv1D(4, 3, data_format="channels_first", name="c"),
     r"'c'.*channels_last"),
    (lambda: layers.MaxPooling1D(0, name="c"), r"`pool_size`.*'c'.*pool_size=0"),
    (lambda: layers.AveragePooling1D(2, padding="causal", name="c"),
     r"`padding`.*'c'.*'valid', 'same'"),
    (lambda: layers.MaxPooling1D(2, strides=2.0, name="c"), r"`strides`.*'c'.*strides=2.0"),
])
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make,shape,match", [
    (lambda: layers.Conv1D(4, 7, name="c"), (2, 6, 3),
     r"'c' \(Conv1D\).*zero or negative.*at least 7 time steps.*\(2, 6, 3\)"),
    (lambda: layers.Conv1D(4, 3, dilation_rate=3, name="c"), (2, 6, 3),
     r"'c' \(Conv1D\).*at least 7 time steps.*dilation_rate 3.*\(2, 6, 3\)"),
    (lambda: layers.Conv1D(4, 3, name="c"), (2, 6),
     r"'c' \(Conv1D\).*\(B, T, C\).*\((2|None), 6\)"),
    (lambda: layers.MaxPooling1D(4, name="c"), (2, 3, 5),
     r"'c' \(MaxPooling1D\).*zero or negative.*pool_size = 4.*\(2, 3, 5\)"),
    (lambda: layers.AveragePooling1D(name="c"), (2, 3, 5, 1),
     r"'c' \(AveragePooling1D\).*\(B, T, C\).*\((2|None), 3, 5, 1\)"),
])
def test_bad_shapes_name_the_layer(make, shape, match):
    with pytest.raises(ValueError, match=match):
        make()(np.zeros(shape, np.float32))
    if len(shape) == 3:  # symbolically too, at model definition
        with pytest.raises(ValueError, match=match.replace(r"\(2, ", r"\(None, ")):
            make()(seqattn.Input(shape[1:]))


def test_built_conv_refuses_other_channels(rng):
    layer, _ = _conv(rng, (2, 8, 3), 4, (3, 1, "valid", 1))
    with pytest.raises(ValueError, match=r"Input 0 of layer 'conv1d.*\(B, T, 3\).*\(2, 8, 5\)"):
        layer(np.zeros((2, 8, 5), np.float32))


def test_unknown_steps_give_unknown_output_steps():
    inp = seqattn.Input((None, 8))
    assert layers.Conv1D(4, 7, strides=3)(inp).shape == (None, None, 4)
    assert layers.MaxPooling1D(5)(inp).shape == (None, None, 8)


# -------------------------------------------------------------------------- Keras 3
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv1d_matches_keras(rng, keras, geometry):
    K, s, padding, d = geometry
    layer, x = _conv(rng, (2, 13, 3), 4, geometry, "relu")
    theirs = keras.layers.Conv1D(4, K, strides=s, padding=padding, dilation_rate=d,
                                 activation="relu")
    theirs.build((None, 13, 3))
    theirs.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x), keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("mode", POOL_CLASSES)
@pytest.mark.parametrize("pool", POOLS)
def test_pooling1d_matches_keras(rng, keras, mode, pool):
    P, s, padding = pool
    x = rng.standard_normal((2, 10, 3)).astype(np.float32)
    ours = POOL_CLASSES[mode](P, s, padding)(x)
    cls = {"max": keras.layers.MaxPooling1D, "average": keras.layers.AveragePooling1D}[mode]
    theirs = keras.ops.convert_to_numpy(cls(P, s, padding)(x))
    To, left = ref.window_geometry(10, P, s or P, padding)
    total = max((To - 1) * (s or P) + P - 10, 0)
    if (mode, padding) == ("average", "same") and total % 2 and keras.backend.backend() == "torch":
        # Keras's torch backend pads an odd "same" total with replicated edge steps, which
        # its average then counts; TensorFlow (and seqattn) count only real steps.
        xr = np.pad(x, ((0, 0), (left, total - left), (0, 0)), mode="edge")
        np.testing.assert_allclose(theirs, ref.pool1d_forward(xr, "average", P, s, "valid"),
                                   rtol=1e-6, atol=1e-6)
        theirs = ref.pool1d_forward(x, "average", P, s, "same")
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- saving
def test_conv_model_save_load_round_trip(tmp_path):
    seqattn.utils.set_random_seed(3)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, (32, 20)).astype(np.int32)
    y = (x[:, 0] > 15).astype(np.float32)
    inp = seqattn.Input((20,), dtype="int32")
    h = layers.Embedding(30, 8)(inp)
    h = layers.Conv1D(6, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.MaxPooling1D(2, padding="same")(h)
    h = layers.Conv1D(5, 2, padding="causal", dilation_rate=2)(h)
    h = layers.AveragePooling1D(2, strides=1)(h)
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalMaxPooling1D()(h))
    model = seqattn.Model(inp, out)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "conv.seqattn")
    loaded = seqattn.load_model(tmp_path / "conv.seqattn")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
