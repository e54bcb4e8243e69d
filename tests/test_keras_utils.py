"""seqattn.utils.to_categorical and seqattn.models.load_model / save_model, the Keras names
(keras.utils.to_categorical, keras.models.load_model / save_model), checked against Keras when
it is importable."""

import os

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn.utils import to_categorical


# ---------------------------------------------------------------- to_categorical
def test_to_categorical_values_and_shapes():
    np.testing.assert_array_equal(to_categorical([0, 2, 1]),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    out = to_categorical(np.array([[1], [0]]), num_classes=4)  # a trailing 1 is dropped
    assert out.shape == (2, 4) and out.dtype == np.float32
    assert to_categorical(np.zeros((2, 3), np.int64), 5).shape == (2, 3, 5)
    assert to_categorical(np.zeros((2, 3, 1), np.uint8), 5).shape == (2, 3, 5)
    np.testing.assert_array_equal(to_categorical(3), [0, 0, 0, 1])
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])  # whole floats
    np.testing.assert_array_equal(to_categorical([True, False]), [[0, 1], [1, 0]])
    assert to_categorical([], num_classes=3).shape == (0, 3)


@pytest.mark.parametrize("x, num_classes, exc, match", [
    ([0, -1], None, ValueError, "class ids >= 0.*-1"),
    ([0.5, 1], None, ValueError, "integer class ids.*0.5"),
    ([0, np.nan], None, ValueError, "integer class ids.*nan"),
    ([0, 3], 3, ValueError, "class id 3 is out of range for num_classes=3"),
    (["a", "b"], None, TypeError, "integer class ids"),
    ([], None, ValueError, "cannot infer `num_classes` from an empty"),
    ([0, 1], 0, ValueError, "num_classes=0"),
    ([0, 1], 2.0, ValueError, "num_classes=2.0"),
    ([0, 1], True, ValueError, "num_classes=True"),
    ([[0, 1], [2]], None, TypeError, "integer class ids"),
])
def test_to_categorical_errors(x, num_classes, exc, match):
    with pytest.raises(exc, match=match):
        to_categorical(x, num_classes)


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("shape, num_classes", [((7,), None), ((7,), 9), ((3, 4), 6),
                                                ((5, 1), None), ((2, 3, 1), 4), ((), 3)])
def test_to_categorical_matches_keras(keras, shape, num_classes):
    x = np.random.default_rng(len(shape)).integers(0, 3, shape)
    theirs = keras.utils.to_categorical(x, num_classes)
    ours = to_categorical(x, num_classes)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


# ------------------------------------------------------- models.load_model / save_model
@seqattn.saving.register_keras_serializable("utils_test")
class Doubler(layers.Layer):
    def call(self, x):
        return x * 2.0


def _model():
    seqattn.utils.set_random_seed(2)
    ids = seqattn.Input((5,), dtype="int32")
    h = layers.GlobalAveragePooling1D()(Doubler()(layers.Embedding(10, 4)(ids)))
    model = seqattn.Model(ids, layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_models_save_model_and_load_model_round_trip(tmp_path):
    x = np.random.default_rng(0).integers(0, 10, (8, 5)).astype(np.int32)
    model = _model()
    model.fit(x, np.ones(8, np.float32), epochs=1, verbose=0)
    path = tmp_path / "m.seqattn"
    seqattn.models.save_model(model, path)
    loaded = seqattn.models.load_model(path, custom_objects={"Doubler": Doubler})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert seqattn.models.load_model(path, compile=False, safe_mode=True).optimizer is None
    with pytest.raises(FileExistsError):
        seqattn.models.save_model(model, path, overwrite=False)
    with pytest.raises(TypeError, match="save_model expects a seqattn Model"):
        seqattn.models.save_model("model", path)
    with pytest.raises(ValueError, match="must end in `.seqattn`"):
        seqattn.models.save_model(model, tmp_path / "m.h5")


def test_models_functions_match_keras_signatures(keras):
    import inspect

    def params(fn, n):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()][:n]

    assert params(seqattn.models.load_model, 4) == params(keras.models.load_model, 4)
    assert params(seqattn.models.save_model, 3) == params(keras.models.save_model, 3)
    assert params(to_categorical, 2) == params(keras.utils.to_categorical, 2)
