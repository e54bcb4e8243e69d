"""Keras-style custom layers (a Layer subclass with `call`), model subclassing and models used
as layers: traced once into the C++ graph, eager on arrays, weights in Keras's order, one row
in the summary, saved and loaded by registered name or custom_objects."""

import numpy as np
import pytest

import seqattn
from seqattn import layers


class Residual(layers.Layer):
    """x + Dense(relu)(x), with dropout when training."""

    def __init__(self, units, rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.rate = units, rate
        self.inner = layers.Dense(units, activation="relu")
        self.drop = layers.Dropout(rate)

    def call(self, x, training=None):
        return x + self.drop(self.inner(x), training=training)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate}


class Masked(layers.Layer):
    """Embedding(mask_zero) followed by scaling: the mask flows out of the custom layer."""

    def __init__(self):
        super().__init__()
        self.emb = layers.Embedding(10, 4, mask_zero=True)

    def call(self, ids):
        return self.emb(ids) * 2.0


def _data(rng, B=8, T=5, C=4):
    return rng.normal(size=(B, T, C)).astype(np.float32)


def test_symbolic_and_eager_calls_agree(rng):
    block = Residual(4)
    inp = seqattn.Input((5, 4))
    model = seqattn.Model(inp, block(inp))
    x = _data(rng)
    kernel, bias = block.get_weights()
    expected = x + np.maximum(x @ kernel + bias, 0)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(block(x), expected, rtol=1e-5, atol=1e-6)  # eager, NumPy ops


def test_training_flag_reaches_the_sublayers(rng):
    block = Residual(4, rate=0.5)
    inp = seqattn.Input((5, 4))
    model = seqattn.Model(inp, block(inp))
    model.compile(optimizer="sgd", loss="mse" if "mse" in seqattn.losses._BY_NAME
                  else "binary_crossentropy")
    x = np.abs(_data(rng))
    # inference: no dropout, so two predictions agree and match the formula
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    loss_train = model._compute_gradients(x, np.full((8, 5, 4), 0.5, np.float32), True)[0]
    loss_eval = model._compute_gradients(x, np.full((8, 5, 4), 0.5, np.float32), False)[0]
    assert loss_train != loss_eval  # dropout ran in the training step only


def test_masks_flow_out_of_a_custom_layer():
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    inp = seqattn.Input((4,), dtype="int32")
    masked = Masked()
    model = seqattn.Model(inp, layers.GlobalAveragePooling1D()(masked(inp)))
    table = masked.get_weights()[0]
    expected = np.stack([(table[ids[b]] * 2)[ids[b] != 0].mean(axis=0) for b in range(2)])
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-6)


def test_one_row_in_the_summary_with_its_parameters():
    inp = seqattn.Input((5, 4))
    block = Residual(4, name="res")
    model = seqattn.Model(inp, layers.Dense(1)(block(inp)))
    assert [l.name for l in model.layers][0] == "res"
    lines = []
    model.summary(print_fn=lines.append)
    row = [l for l in lines[0].splitlines() if l.strip().startswith("res (Residual)")]
    assert row and "20" in row[0]  # 4 x 4 kernel + 4 bias
    assert block.count_params() == 20


def test_weights_follow_the_order_of_assignment():
    class Two(layers.Layer):
        def __init__(self):
            super().__init__()
            self.second = layers.Dense(3, use_bias=False)
            self.first = layers.Dense(2, use_bias=False)

        def call(self, x):
            return self.second(self.first(x))

    block = Two()
    block(seqattn.Input((4,)))
    assert [w.shape for w in block.get_weights()] == [(2, 3), (4, 2)]  # as assigned
    new = [np.ones((2, 3), np.float32), np.full((4, 2), 2.0, np.float32)]
    block.set_weights(new)
    np.testing.assert_array_equal(block.second.get_weights()[0], new[0])
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        block.set_weights(new[:1])


def test_nested_custom_layers_and_a_sequential_inside(rng):
    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.res = Residual(4)
            self.ffn = seqattn.Sequential([layers.Dense(6, activation="relu"),
                                           layers.Dense(4)])

        def call(self, x):
            return self.ffn(self.res(x))

    inp = seqattn.Input((5, 4))
    outer = Outer()
    model = seqattn.Model(inp, outer(inp))
    assert [type(l).__name__ for l in model.layers] == ["Outer"]
    assert outer.count_params() == 20 + (4 * 6 + 6) + (6 * 4 + 4)
    x = _data(rng)
    np.testing.assert_allclose(model.predict(x, verbose=0), outer(x), rtol=1e-5, atol=1e-6)


def test_a_model_used_as_a_layer_shares_its_weights(rng):
    inner_in = seqattn.Input((4,))
    inner = seqattn.Model(inner_in, layers.Dense(3, activation="tanh")(inner_in), name="inner")
    outer_in = seqattn.Input((4,))
    outer = seqattn.Model(outer_in, layers.Dense(1, activation="sigmoid")(inner(outer_in)))
    assert [l.name for l in outer.layers][0] == "inner"
    x = rng.normal(size=(16, 4)).astype(np.float32)
    before = inner.predict(x, verbose=0)
    outer.compile(optimizer="adam", loss="binary_crossentropy")
    outer.fit(x, (x[:, :1] > 0).astype(np.float32), epochs=2, verbose=0)
    assert not np.allclose(inner.predict(x, verbose=0), before)  # trained through outer


def test_model_subclassing(rng):
    class Classifier(seqattn.Model):
        def __init__(self):
            super().__init__()
            self.emb = layers.Embedding(20, 8)
            self.pool = layers.GlobalAveragePooling1D()
            self.out = layers.Dense(2, activation="softmax")

        def call(self, inputs, training=None):
            return self.out(self.pool(self.emb(inputs)))

    model = Classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # before the model is built, as in Keras
    x = rng.integers(0, 20, size=(64, 6))
    y = (x[:, 0] >= 10).astype(np.int32)
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(x[:3], verbose=0).shape == (3, 2)
    assert model.count_params() == 20 * 8 + 8 * 2 + 2


def test_a_subclassed_model_saves_as_its_graph(tmp_path, rng):
    class Net(seqattn.Model):
        def __init__(self):
            super().__init__()
            self.emb = layers.Embedding(20, 4)
            self.out = layers.Dense(1, activation="sigmoid")

        def call(self, inputs):
            return self.out(layers.GlobalMaxPooling1D()(self.emb(inputs)))

    model = Net()
    x = rng.integers(0, 20, size=(8, 5))
    model.build((None, 5))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, (x[:, 0] > 9).astype(np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "net.seqattn")
    loaded = seqattn.load_model(tmp_path / "net.seqattn")  # no class needed
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_custom_layers_save_and_load(tmp_path, rng):
    @seqattn.saving.register_keras_serializable(package="Tests")
    class Scaled(layers.Layer):
        def __init__(self, units, factor=2.0):
            super().__init__()
            self.factor = factor
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x) * self.factor

    inp = seqattn.Input((3,))
    model = seqattn.Model(inp, Scaled(2, factor=0.5)(inp))
    x = rng.normal(size=(4, 3)).astype(np.float32)
    path = tmp_path / "m.seqattn"
    model.save(path)
    loaded = seqattn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.layers[0]).__name__ == "Scaled" and loaded.layers[0].factor == 0.5


def test_unregistered_custom_layers_load_with_custom_objects(tmp_path, rng):
    inp = seqattn.Input((5, 4))
    model = seqattn.Model(inp, Residual(4, rate=0.25)(inp))
    path = tmp_path / "m.seqattn"
    model.save(path)
    with pytest.raises(seqattn.FileFormatError, match="register_keras_serializable"):
        seqattn.load_model(path)
    loaded = seqattn.load_model(path, custom_objects={"Residual": Residual})
    x = _data(rng)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[0].rate == 0.25


def test_errors_say_what_to_write():
    class ReturnsArray(layers.Layer):
        def call(self, x):
            return np.zeros(3)

    with pytest.raises(TypeError, match="must return tensors computed from its inputs"):
        ReturnsArray()(seqattn.Input((3,)))

    class NoCall(layers.Layer):
        pass

    with pytest.raises(NotImplementedError, match="defines no `call`"):
        NoCall().call(None)

    class Identity(layers.Layer):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="returned .* unchanged"):
        Identity()(seqattn.Input((3,)))

    class NotData(layers.Layer):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

    inp = seqattn.Input((3,))
    model = seqattn.Model(inp, NotData(len)(inp))
    with pytest.raises((TypeError, ValueError), match="Define get_config"):
        model.get_config()


def test_keras_argument_defaults_are_accepted():
    layers.Dense(2, dtype="float32", trainable=True)
    with pytest.raises(ValueError, match="compute in float32"):
        layers.Dense(2, dtype="float16")


def test_keras_io_argument_order_is_caught_with_the_right_order():
    with pytest.raises(ValueError, match=r"TokenAndPositionEmbedding\(vocabulary_size=20000, "
                                         r"sequence_length=200, embedding_dim=32\)"):
        layers.TokenAndPositionEmbedding(200, 20000, 32)(seqattn.Input((200,)))


@pytest.mark.parametrize("module,name,advice", [
    ("layers", "LSTM", "MultiHeadAttention"), ("layers", "BatchNormalization",
                                               "LayerNormalization"),
    ("layers", "Dens", "did you mean Dense"), ("ops", "einsum", "ops.matmul"),
    ("optimizers", "Nadam", "Adam")])
def test_missing_keras_names_point_to_the_seqattn_equivalent(module, name, advice):
    with pytest.raises(AttributeError, match=advice):
        getattr(getattr(seqattn, module), name)
    assert not hasattr(getattr(seqattn, module), name)


def test_lambda_layers_are_built_from_ops(rng, tmp_path):
    from seqattn import ops
    inp = seqattn.Input((4, 3))
    h = layers.Dense(3)(inp)
    scaled = layers.Lambda(lambda x, k: x * k - ops.exp(-ops.square(x)), arguments={"k": 2.0})
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(
        layers.Lambda(lambda x: x)(scaled(h))))
    model = seqattn.Model(inp, out)
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    hv = x @ model.layers[0].get_weights()[0] + model.layers[0].get_weights()[1]
    np.testing.assert_allclose(scaled(hv), hv * 2 - np.exp(-hv ** 2), rtol=1e-5, atol=1e-6)
    w, b = model.layers[-1].get_weights()
    expected = 1 / (1 + np.exp(-((hv * 2 - np.exp(-hv ** 2)).mean(axis=1) @ w + b)))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="Lambda.*holds Python code.*register_keras_serializable"):
        model.save(tmp_path / "m.seqattn")
    with pytest.raises(TypeError, match="callable"):
        layers.Lambda(3)


def test_call_signatures_of_older_keras_code(rng):
    class Old(layers.Layer):  # keras.io's Keras 2 examples: `training` with no default
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(3)
            self.drop = layers.Dropout(0.1)

        def call(self, inputs, training, mask=None):
            assert mask is None
            return self.drop(self.d(inputs), training=training)

    block = Old()
    inp = seqattn.Input((3,))
    model = seqattn.Model(inp, block(inp))
    x = rng.normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), block(x), rtol=1e-6)
