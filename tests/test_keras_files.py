"""Keras 3 `.keras` files both ways (saving/keras_format): a seqattn model saved as .keras is
rebuilt by `keras.saving.load_model` and predicts the same (1e-5), and a model Keras built and
saved is read by `seqattn.load_model` and predicts as Keras does. Each architecture below is
written once against a `lib` (seqattn or keras), so both directions run the same code. The
files seqattn must refuse are in test_keras_file_checks.py."""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import seqattn
from seqattn.archive import FileFormatError

pytest.importorskip("h5py")
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
try:
    import keras_hub
except Exception:  # keras-hub missing or without its own dependencies
    keras_hub = None


class _Lib:
    """seqattn or keras, seen the same way by the architectures below."""

    def __init__(self, module, hub):
        self.m, self.layers, self.hub = module, module.layers, hub

    def Input(self, *a, **k):
        return self.m.Input(*a, **k)

    def Model(self, *a, **k):
        return self.m.Model(*a, **k)


SEQATTN = _Lib(seqattn, seqattn.layers)
KERAS = _Lib(keras, keras_hub.layers if keras_hub is not None else None)
rng = np.random.default_rng(0)


def _floats(shape):
    return lambda: rng.normal(size=(3, *shape)).astype(np.float32)


def _ids(T, V):
    return lambda: rng.integers(1, V, size=(3, T)).astype(np.int32)


def dense(lib):
    x = lib.Input((6, 5))
    h = lib.layers.Dense(7, activation="tanh")(x)
    return lib.Model(x, lib.layers.Dense(3, use_bias=False)(h)), _floats((6, 5))


def conv(lib):
    x = lib.Input((12, 4))
    h = lib.layers.Conv1D(6, 3, strides=2, padding="same", activation="relu")(x)
    h = lib.layers.Conv1D(5, 2, dilation_rate=2, use_bias=False)(h)
    h = lib.layers.MaxPooling1D(2)(h)
    return lib.Model(x, lib.layers.AveragePooling1D(2, padding="same")(h)), _floats((12, 4))


def embedding_pooling(lib):
    x = lib.Input((9,), dtype="int32")
    h = lib.layers.Embedding(30, 8)(x)
    h = lib.layers.Dropout(0.3)(lib.layers.LayerNormalization(epsilon=1e-5)(h))
    a = lib.layers.GlobalAveragePooling1D()(h)
    b = lib.layers.GlobalMaxPooling1D()(h)
    out = lib.layers.Concatenate()([a, b, lib.layers.Flatten()(h)])
    return lib.Model(x, lib.layers.Activation("softmax")(out)), _ids(9, 30)


def attention(lib):
    q, v = lib.Input((5, 8)), lib.Input((7, 6))
    cross = lib.layers.MultiHeadAttention(2, 4, value_dim=3, output_shape=10)(q, v)
    own = lib.layers.MultiHeadAttention(3, 2, use_bias=False)(q, q, use_causal_mask=True)
    return lib.Model([q, v], [cross, own]), lambda: [_floats((5, 8))(), _floats((7, 6))()]


def attention_scores(lib):
    x = lib.Input((5, 8))
    out, scores = lib.layers.MultiHeadAttention(2, 4)(x, x, return_attention_scores=True)
    return lib.Model(x, [out, scores]), _floats((5, 8))


def masked(lib):
    """mask_zero: the padding mask flows through attention and pooling as in Keras."""
    x = lib.Input((7,), dtype="int32")
    h = lib.layers.Embedding(20, 8, mask_zero=True)(x)
    h = lib.layers.MultiHeadAttention(2, 4)(h, h)
    return lib.Model(x, lib.layers.GlobalAveragePooling1D()(h)), _padded_ids(7, 20)


def _padded_ids(T, V):
    def make():
        ids = rng.integers(1, V, size=(3, T)).astype(np.int32)
        ids[0, 4:] = 0
        ids[2, 2:] = 0
        return ids
    return make


def merges(lib):
    a, b = lib.Input((4, 6)), lib.Input((4, 6))
    L = lib.layers
    outs = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]),
            L.Maximum()([a, b]), L.Minimum()([a, b]), L.Concatenate(axis=1)([a, b])]
    return lib.Model([a, b], outs), lambda: [_floats((4, 6))(), _floats((4, 6))()]


def reshaping(lib):
    x = lib.Input((4, 6))
    h = lib.layers.Reshape((6, 4))(x)
    h = lib.layers.Permute((2, 1))(h)
    h = lib.layers.RepeatVector(3)(lib.layers.Flatten()(h))
    return lib.Model(x, h), _floats((4, 6))


def shared_and_branches(lib):
    """A layer called twice (Keras's node indices) and same-class layers at different depths
    (the dense, dense_1, ... numbering of model.weights.h5 follows Keras's layer order)."""
    x = lib.Input((5, 4))
    shared = lib.layers.Dense(4, name="shared")
    deep = lib.layers.Dense(4)(lib.layers.Dense(4)(shared(x)))
    shallow = shared(lib.layers.Dense(4)(x))
    return lib.Model(x, lib.layers.Add()([deep, shallow, lib.layers.Dense(4)(x)])), _floats((5, 4))


def hub_masked(lib):
    x = lib.Input((6,), dtype="int32")
    h = lib.hub.TokenAndPositionEmbedding(25, 6, 8, mask_zero=True)(x)
    h = lib.hub.TransformerEncoder(16, 2)(h)
    return lib.Model(x, lib.layers.GlobalAveragePooling1D()(h)), _padded_ids(6, 25)


def hub(lib):
    x, e = lib.Input((6,), dtype="int32"), lib.Input((4, 8))
    h = lib.hub.TokenAndPositionEmbedding(25, 6, 8)(x)
    h = lib.layers.Add()([h, lib.hub.PositionEmbedding(6)(h), lib.hub.SinePositionEncoding()(h)])
    h = lib.hub.TransformerEncoder(16, 2)(h)
    h = lib.hub.TransformerEncoder(12, 4, normalize_first=True)(h)
    cross = lib.hub.TransformerDecoder(16, 2)(h, e)
    own = lib.hub.TransformerDecoder(10, 2, normalize_first=True)(h)
    return lib.Model([x, e], [cross, own]), lambda: [_ids(6, 25)(), _floats((4, 8))()]


PURE = [dense, conv, embedding_pooling, attention, attention_scores, masked, merges, reshaping,
        shared_and_branches]
needs_hub = pytest.mark.skipif(keras_hub is None, reason="keras-hub does not import here; "
                               "Keras cannot load keras-hub layers without it")
ALL = PURE + [pytest.param(hub, marks=needs_hub), pytest.param(hub_masked, marks=needs_hub)]


def _keras_predict(model, x):
    out = model(x, training=False)
    if isinstance(out, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in out]
    return keras.ops.convert_to_numpy(out)


def _close(ours, theirs):
    ours = ours if isinstance(ours, list) else [ours]
    theirs = theirs if isinstance(theirs, list) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def _randomize(model):
    """Nonzero biases and unit-less gains, so that a weight in the wrong place shows."""
    r = np.random.default_rng(1)
    model.set_weights([r.normal(0, 0.3, np.shape(w)).astype(np.float32)
                       for w in model.get_weights()])


@pytest.mark.parametrize("arch", ALL)
def test_seqattn_to_keras(arch, tmp_path):
    model, data = arch(SEQATTN)
    _randomize(model)
    path = tmp_path / "m.keras"
    model.save(path)
    theirs = keras.saving.load_model(path)
    x = data()
    _close(model.predict(x, verbose=0), _keras_predict(theirs, x))
    again = seqattn.load_model(path)  # and seqattn reads its own Keras file
    _close(again.predict(x, verbose=0), _keras_predict(theirs, x))


@pytest.mark.parametrize("arch", ALL)
def test_keras_to_seqattn(arch, tmp_path):
    model, data = arch(KERAS)
    _randomize(model)
    path = tmp_path / "k.keras"
    model.save(path)
    ours = seqattn.models.load_model(path)
    x = data()
    _close(ours.predict(x, verbose=0), _keras_predict(model, x))
    assert ours.count_params() == model.count_params()


def test_a_keras_sequential_model_reads(tmp_path):
    model = keras.Sequential([keras.Input((7, 3)), keras.layers.Conv1D(4, 3),
                              keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(2)])
    _randomize(model)
    model.save(tmp_path / "s.keras")
    ours = seqattn.load_model(tmp_path / "s.keras")
    x = _floats((7, 3))()
    _close(ours.predict(x, verbose=0), _keras_predict(model, x))


def test_a_seqattn_sequential_model_writes(tmp_path):
    model = seqattn.Sequential([seqattn.Input((6,), dtype="int32"),
                                seqattn.layers.Embedding(20, 4), seqattn.layers.Flatten(),
                                seqattn.layers.Dense(3)])
    model.save(tmp_path / "s.keras")
    x = _ids(6, 20)()
    _close(model.predict(x, verbose=0),
           _keras_predict(keras.saving.load_model(tmp_path / "s.keras"), x))


def _text_cnn(module_name, lib_module):
    """keras.io's model, built by the example file with `lib_module` as `keras`."""
    from pathlib import Path
    import types
    path = (Path(__file__).resolve().parents[1]
            / "examples/keras_io/text_classification_from_scratch.py")
    source = path.read_text().replace(
        "import seqattn as keras\nfrom seqattn import layers\n",
        f"import {lib_module} as keras\nfrom {lib_module} import layers\n")
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module.build_model(max_features=60, embedding_dim=16)


def test_keras_io_text_cnn_both_ways(tmp_path):
    """keras.io's text CNN: compiled (Keras saves its optimizer variables too; seqattn reads
    the model, uncompiled), int64 ids, strided convolutions."""
    theirs = _text_cnn("cnn_keras", "keras")
    theirs.save(tmp_path / "k.keras")
    ours = seqattn.load_model(tmp_path / "k.keras")
    x = rng.integers(0, 60, (4, 40))
    _close(ours.predict(x, verbose=0), _keras_predict(theirs, x))
    mine = _text_cnn("cnn_seqattn", "seqattn")
    mine.save(tmp_path / "s.keras")
    _close(mine.predict(x, verbose=0),
           _keras_predict(keras.saving.load_model(tmp_path / "s.keras"), x))


# ----------------------------------------------------------------- refused writes
def test_a_lambda_or_vectorizer_model_is_not_written_as_keras(tmp_path):
    x = seqattn.Input((4,))
    model = seqattn.Model(x, seqattn.layers.Lambda(lambda t: t * 2)(x))
    with pytest.raises(ValueError, match=r"Lambda layer \(code\)"):
        model.save(tmp_path / "m.keras")
    model = seqattn.Model(x, x * 2 + seqattn.layers.Dense(4)(x))
    with pytest.raises(ValueError, match=r"an op on tensors \(UnaryOp"):
        model.save(tmp_path / "m.keras")
    inner = seqattn.Model(x, seqattn.layers.Dense(2)(x))
    y = seqattn.Input((4,))
    with pytest.raises(ValueError, match=r"a nested model"):
        seqattn.Model(y, inner(y)).save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


def test_a_string_model_is_not_written_as_keras(tmp_path):
    texts = seqattn.Input((), dtype="string")
    vectorize = seqattn.layers.TextVectorization(output_sequence_length=4)
    vectorize.adapt(["a b c", "b c d"])
    model = seqattn.Model(texts, seqattn.layers.Embedding(8, 2)(vectorize(texts)))
    with pytest.raises(ValueError, match=r"TextVectorization"):
        model.save(tmp_path / "m.keras")


def test_the_write_is_atomic(tmp_path, monkeypatch):
    model, _ = dense(SEQATTN)
    path = tmp_path / "m.keras"
    model.save(path)
    before = path.read_bytes()
    original = zipfile.ZipFile.writestr

    def failing(self, name, data, *a, **k):
        if name == "model.weights.h5":
            raise KeyboardInterrupt
        return original(self, name, data, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def test_import_seqattn_never_imports_h5py():
    code = "import sys, seqattn; assert 'h5py' not in sys.modules, 'h5py imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_without_h5py_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    model, _ = dense(SEQATTN)
    with pytest.raises(ImportError, match=r"seqattn\[keras\]"):
        model.save(tmp_path / "m.keras")


_OTHER_BACKEND = """
import sys, numpy as np
try:
    import keras
except Exception as e:
    print("backend unavailable:", type(e).__name__, e)
    sys.exit(77)
model = keras.saving.load_model(sys.argv[1])
out = keras.ops.convert_to_numpy(model(np.load(sys.argv[2]), training=False))
np.testing.assert_allclose(out, np.load(sys.argv[3]), rtol=1e-5, atol=1e-5)
print("ok", keras.backend.backend())
"""


@pytest.mark.parametrize("backend", ["torch", "jax", "tensorflow", "numpy"])
def test_other_keras_backends_load_the_file(backend, tmp_path):
    """Every Keras backend installed here reads seqattn's file the same, in a fresh process."""
    model, data = embedding_pooling(SEQATTN)
    _randomize(model)
    x = data()
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", model.predict(x, verbose=0))
    run = subprocess.run([sys.executable, "-c", _OTHER_BACKEND, str(tmp_path / "m.keras"),
                          str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                         env={**os.environ, "KERAS_BACKEND": backend},
                         capture_output=True, text=True, timeout=300)
    if run.returncode == 77:
        pytest.skip(f"Keras's {backend} backend is not installed here")
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize("arch", [dense, attention, shared_and_branches])
def test_load_weights_reads_keras_files(arch, tmp_path):
    """model.load_weights with a Keras `.keras` or `.weights.h5` file, as in Keras."""
    theirs, data = arch(KERAS)
    _randomize(theirs)
    theirs.save(tmp_path / "k.keras")
    theirs.save_weights(tmp_path / "k.weights.h5")
    x = data()
    for name in ("k.keras", "k.weights.h5"):
        ours, _ = arch(SEQATTN)
        ours.load_weights(tmp_path / name)
        _close(ours.predict(x, verbose=0), _keras_predict(theirs, x))


def test_load_weights_refuses_another_architecture(tmp_path):
    theirs, _ = dense(KERAS)
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours, _ = conv(SEQATTN)
    with pytest.raises(FileFormatError, match=r"has no `layers/conv1d/vars/0`"):
        ours.load_weights(tmp_path / "k.weights.h5")
    (tmp_path / "bad.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(FileFormatError, match="not a readable HDF5"):
        ours.load_weights(tmp_path / "bad.weights.h5")
