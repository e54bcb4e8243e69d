"""ONNX export (seqattn.export, Model.export): onnxruntime gives seqattn's predictions within
1e-5 for every layer, with and without padding masks (fully padded rows included), several
batch sizes through one exported file, the keras.io model, and the vocabulary file."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import seqattn  # noqa: E402
from seqattn import layers, ops  # noqa: E402
from text_models import words_and_pairs_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BATCHES = (1, 4, 9)  # one file, three batch sizes: the batch axis is dynamic


def _session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _ids(rng, B, T, V, padded=True):
    """Token ids with ragged padding (id 0) and, for B > 2, one fully padded row."""
    x = rng.integers(1, V, (B, T)).astype(np.int32)
    if padded:
        for b in range(B):
            x[b, rng.integers(1, T + 1):] = 0
        if B > 2:
            x[1] = 0
    return x


def check_export(model, make_inputs, tmp_path, batches=BATCHES, atol=1e-5):
    """Exports `model`, checks the file, and compares onnxruntime with model.predict for each
    batch size in one session. Returns the session."""
    path = tmp_path / "model.onnx"
    written = model.export(path)
    assert written[0] == str(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    assert names == [t.name for t in model.inputs]
    for i in session.get_inputs():
        assert i.shape[0] == "batch"
    rng = np.random.default_rng(0)
    for B in batches:
        xs = make_inputs(rng, B)
        xs = xs if isinstance(xs, list) else [xs]
        got = session.run(None, dict(zip(names, xs)))
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=0, atol=atol, err_msg=f"batch {B}")
    return session


def _ids_model(T, V, body, mask_zero=True, C=8):
    x = seqattn.Input(shape=(T,), dtype="int32", name="ids")
    h = layers.Embedding(V, C, mask_zero=mask_zero)(x)
    return seqattn.Model(x, body(h))


# ------------------------------------------------------------------ attention and pooling
@pytest.mark.parametrize("mask_zero", [True, False])
@pytest.mark.parametrize("pool", ["average", "max"])
def test_attention_and_global_pooling(tmp_path, mask_zero, pool):
    Pool = layers.GlobalAveragePooling1D if pool == "average" else layers.GlobalMaxPooling1D

    def body(h):
        h = layers.MultiHeadAttention(num_heads=2, key_dim=4)(h, h)
        return layers.Dense(3, activation="softmax")(Pool()(h))
    model = _ids_model(7, 20, body, mask_zero)
    check_export(model, lambda rng, B: _ids(rng, B, 7, 20), tmp_path)


def test_padding_reaches_pooling_through_dense_and_ops(tmp_path):
    # Dense (B, T, C), Activation, Dropout, LayerNorm and op layers hand the mask on.
    def body(h):
        h = layers.Dense(6, activation="gelu")(h)
        h = layers.Activation("tanh")(layers.Dropout(0.3)(h))
        h = layers.LayerNormalization(epsilon=1e-3)(h * 2.0 + 0.1)
        return layers.GlobalAveragePooling1D()(ops.exp(h))
    check_export(_ids_model(6, 15, body), lambda rng, B: _ids(rng, B, 6, 15), tmp_path)


def test_causal_attention_with_padding_and_scores_output(tmp_path):
    x = seqattn.Input(shape=(6,), dtype="int32", name="tokens")
    h = layers.Embedding(12, 8, mask_zero=True)(x)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=5, output_shape=7)
    y, scores = mha(h, h, use_causal_mask=True, return_attention_scores=True)
    model = seqattn.Model(x, [y, scores])
    check_export(model, lambda rng, B: _ids(rng, B, 6, 12), tmp_path)


def test_cross_attention_key_attention_mask_no_bias(tmp_path):
    q_in = seqattn.Input(shape=(5,), dtype="int32", name="q")
    v_in = seqattn.Input(shape=(4,), dtype="int32", name="v")
    k_in = seqattn.Input(shape=(4, 3), name="k")
    am = seqattn.Input(shape=(5, 4), name="attention_mask")
    q = layers.Embedding(10, 6, mask_zero=True)(q_in)
    v = layers.Embedding(10, 5, mask_zero=True)(v_in)
    mha = layers.MultiHeadAttention(num_heads=3, key_dim=2, use_bias=False)
    y = layers.GlobalAveragePooling1D()(mha(q, v, key=k_in, attention_mask=am))
    model = seqattn.Model([q_in, v_in, k_in, am], y)

    def inputs(rng, B):
        mask = (rng.random((B, 5, 4)) > 0.4).astype(np.float32)
        mask[0, 2] = 0  # a query row that may attend to nothing
        return [_ids(rng, B, 5, 10), _ids(rng, B, 4, 10),
                rng.normal(size=(B, 4, 3)).astype(np.float32), mask]
    check_export(model, inputs, tmp_path)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_transformer_encoder_and_decoder(tmp_path, normalize_first):
    enc_in = seqattn.Input(shape=(6,), dtype="int32", name="encoder_ids")
    dec_in = seqattn.Input(shape=(5,), dtype="int32", name="decoder_ids")
    e = layers.TokenAndPositionEmbedding(30, 6, 8, mask_zero=True)(enc_in)
    e = layers.TransformerEncoder(16, 2, activation="gelu", normalize_first=normalize_first)(e)
    d = layers.TokenAndPositionEmbedding(30, 8, 8, mask_zero=True)(dec_in)
    d = layers.TransformerDecoder(12, 2, normalize_first=normalize_first)(d, e)
    model = seqattn.Model([enc_in, dec_in], layers.Dense(30)(d))
    check_export(model, lambda rng, B: [_ids(rng, B, 6, 30), _ids(rng, B, 5, 30)], tmp_path)


# ------------------------------------------------------------------ positions, convolution
def test_position_layers(tmp_path):
    def body(h):
        h = layers.Add()([h, layers.PositionEmbedding(9)(h)])
        h = layers.Add()([h, layers.SinePositionEncoding(max_wavelength=50)(h)])
        return layers.GlobalMaxPooling1D()(h)
    check_export(_ids_model(7, 11, body), lambda rng, B: _ids(rng, B, 7, 11), tmp_path)


@pytest.mark.parametrize("padding,strides,dilation", [
    ("valid", 1, 1), ("same", 2, 1), ("causal", 1, 2), ("same", 1, 3)])
def test_conv_and_windowed_pooling(tmp_path, padding, strides, dilation):
    x = seqattn.Input(shape=(11, 3), name="x")
    h = layers.Conv1D(4, 3, strides=strides, padding=padding, dilation_rate=dilation,
                      activation="relu")(x)
    pool_padding = "same" if padding != "valid" else "valid"
    a = layers.MaxPooling1D(2, padding=pool_padding)(h)
    b = layers.AveragePooling1D(3, strides=2, padding=pool_padding)(h)
    y = layers.Dense(2)(layers.Concatenate(axis=1)([layers.Flatten()(a), layers.Flatten()(b)]))
    model = seqattn.Model(x, y)
    check_export(model, lambda rng, B: rng.normal(size=(B, 11, 3)).astype(np.float32), tmp_path)


def test_conv_drops_the_mask(tmp_path):
    def body(h):
        return layers.GlobalAveragePooling1D()(layers.Conv1D(5, 2, padding="same")(h))
    with pytest.warns(UserWarning):
        model = _ids_model(6, 9, body)
    check_export(model, lambda rng, B: _ids(rng, B, 6, 9), tmp_path)


# ------------------------------------------------------------------ merging and reshaping
@pytest.mark.parametrize("merge", ["Subtract", "Multiply", "Average", "Maximum", "Minimum"])
def test_merge_layers_and_their_masks(tmp_path, merge):
    a_in = seqattn.Input(shape=(5,), dtype="int32", name="a")
    b_in = seqattn.Input(shape=(5,), dtype="int32", name="b")
    a = layers.Embedding(9, 4, mask_zero=True)(a_in)
    b = layers.Embedding(9, 4, mask_zero=True)(b_in)
    h = getattr(layers, merge)()([a, b])  # mask = a's AND b's
    model = seqattn.Model([a_in, b_in], layers.GlobalAveragePooling1D()(h))
    check_export(model, lambda rng, B: [_ids(rng, B, 5, 9), _ids(rng, B, 5, 9)], tmp_path)


@pytest.mark.parametrize("axis", [1, -1])
def test_concatenate_masks(tmp_path, axis):
    a_in = seqattn.Input(shape=(5,), dtype="int32", name="a")
    b_in = seqattn.Input(shape=(5,), dtype="int32", name="b")
    c_in = seqattn.Input(shape=(5,), dtype="int32", name="c")
    a = layers.Embedding(9, 4, mask_zero=True)(a_in)
    b = layers.Embedding(9, 4, mask_zero=True)(b_in)
    c = layers.Embedding(9, 4)(c_in)  # no mask: all true in the join
    masked = layers.GlobalAveragePooling1D()(layers.Concatenate(axis=axis)([a, b]))
    mixed = layers.GlobalMaxPooling1D()(layers.Concatenate(axis=axis)([a, c]))
    model = seqattn.Model([a_in, b_in, c_in], [masked, mixed])
    check_export(model, lambda rng, B: [_ids(rng, B, 5, 9) for _ in range(3)], tmp_path)


def test_reshaping_layers(tmp_path):
    x = seqattn.Input(shape=(4, 6), name="x")
    h = layers.Permute((2, 1))(x)                      # (B, 6, 4)
    h = layers.Reshape((3, -1))(h)                     # (B, 3, 8)
    h = layers.Flatten()(h)                            # (B, 24)
    h = layers.RepeatVector(2)(layers.Dense(5)(h))     # (B, 2, 5)
    h = layers.LayerNormalization(center=False)(h)
    h = layers.LayerNormalization(scale=False)(h)
    h = layers.Activation("softmax")(layers.Activation("sigmoid")(h))
    model = seqattn.Model(x, layers.Activation("relu")(h))
    check_export(model, lambda rng, B: rng.normal(size=(B, 4, 6)).astype(np.float32), tmp_path)


# ------------------------------------------------------------------ op layers
def test_op_layers(tmp_path):
    x = seqattn.Input(shape=(3, 4), name="x")
    h = ops.abs(x) + 0.5
    h = ops.sqrt(h) - ops.log(h) * ops.square(x) / (2.0 - ops.negative(h))
    h = ops.power(h, 2.0) + 1.0 / ops.abs(x + 3.0)
    h = ops.where(x, h, ops.exp(-ops.abs(x)))
    h = ops.matmul(h, ops.transpose(x, (0, 2, 1)))                       # (B, 3, 3)
    h = h + ops.arange(3)                                                 # int Constant
    s = ops.sum(h, axis=1) + ops.mean(h, axis=2) + ops.max(h, axis=1)     # (B, 3)
    k = ops.max(ops.expand_dims(s, 1), axis=2, keepdims=True)             # (B, 1, 1)
    y = layers.Lambda(lambda t: ops.squeeze(t, axis=2) * 3.0)(k)
    model = seqattn.Model(x, [s, y])

    def inputs(rng, B):
        a = rng.normal(size=(B, 3, 4)).astype(np.float32)
        a[0, 0, :2] = 0.0  # where(): zero selects the second branch
        return a
    check_export(model, inputs, tmp_path, atol=1e-4)


def test_op_layers_keep_masks(tmp_path):
    def body(h):
        h = layers.Lambda(lambda t: ops.where(t, t * 2.0, t - 1.0))(h)
        return layers.GlobalAveragePooling1D()(ops.matmul(h, ops.arange(16.0).reshape(4, 4)))
    model = _ids_model(5, 8, body, C=4)
    check_export(model, lambda rng, B: _ids(rng, B, 5, 8), tmp_path)


# ------------------------------------------------------------------ models as users write them
def test_keras_io_model(tmp_path):
    sys.path.insert(0, str(ROOT / "examples" / "keras_io"))
    try:
        from text_classification_with_transformer import build_model
    finally:
        sys.path.pop(0)
    model = build_model(maxlen=40, vocab_size=200, embed_dim=16, num_heads=2, ff_dim=16)
    session = check_export(
        model, lambda rng, B: rng.integers(0, 200, (B, 40)).astype(np.float32), tmp_path)
    assert session.get_outputs()[0].shape == ["batch", 2]


def test_sequential_model(tmp_path):
    model = seqattn.Sequential([seqattn.Input(shape=(6,), dtype="int32"),
                                layers.Embedding(10, 4, mask_zero=True),
                                layers.GlobalAveragePooling1D(), layers.Dense(2)])
    check_export(model, lambda rng, B: _ids(rng, B, 6, 10), tmp_path)


def test_vocabulary_file_round_trip(tmp_path):
    texts = ["the cat sat on the mat", "a dog ran", "the dog sat", "cats and dogs"]
    vectorizer = layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vectorizer.adapt(texts)
    raw = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.Embedding(vectorizer.vocabulary_size(), 4, mask_zero=True)(vectorizer(raw))
    model = seqattn.Model(raw, layers.Dense(2)(layers.GlobalAveragePooling1D()(h)))
    path = tmp_path / "text.onnx"
    written = seqattn.export.to_onnx(model, path)
    vocab_path = tmp_path / "text.vocabulary.json"
    assert written == [str(path), str(vocab_path)]
    doc = json.loads(vocab_path.read_text(encoding="utf-8"))
    assert doc["inputs"]["text"]["config"]["vocabulary"] == vectorizer.get_vocabulary()
    rebuilt = seqattn.export.vocabulary.text_vectorizers(vocab_path)["text"]
    new = ["the cat ran", "unknown words only", "", "dogs sat on a mat today again"]
    ids = rebuilt(new)
    np.testing.assert_array_equal(ids, vectorizer(new))
    session = _session(path)
    assert session.get_inputs()[0].type == "tensor(int32)"
    got = session.run(None, {"text": ids})[0]
    np.testing.assert_allclose(got, model.predict(np.array(new), verbose=0), atol=1e-5, rtol=0)


# ------------------------------------------------------------------ errors and files
def _small_model():
    x = seqattn.Input(shape=(4,), dtype="int32", name="ids")
    return seqattn.Model(x, layers.Dense(2)(layers.GlobalAveragePooling1D()(
        layers.Embedding(5, 3, mask_zero=True)(x))))


def test_errors(tmp_path, monkeypatch):
    model = _small_model()
    with pytest.raises(ValueError, match="format='onnx' only"):
        model.export(tmp_path / "m", format="tf_saved_model")
    with pytest.raises(ValueError, match="opset >= 17"):
        model.export(tmp_path / "m.onnx", opset=16)
    with pytest.raises(FileNotFoundError):
        model.export(tmp_path / "missing" / "m.onnx")

    class Unbuilt(seqattn.Model):
        def call(self, x):
            return x
    with pytest.raises(ValueError, match="not built yet"):
        seqattn.export.to_onnx(Unbuilt(), tmp_path / "u.onnx")

    from seqattn.export import onnx_export, registry  # noqa: F401 (onnx_export registers them)
    monkeypatch.delitem(registry._CONVERTERS, "GlobalAveragePooling1D")
    with pytest.raises(ValueError, match="global_average_pooling1d.*has no ONNX converter"):
        model.export(tmp_path / "m.onnx")
    assert not os.path.exists(tmp_path / "m.onnx")


def test_callable_standardize_is_refused_before_writing(tmp_path):
    vectorizer = layers.TextVectorization(output_sequence_length=3, standardize=str.lower)
    vectorizer.adapt(["a b c"])
    raw = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.Embedding(vectorizer.vocabulary_size(), 2)(vectorizer(raw))
    model = seqattn.Model(raw, layers.Dense(1)(layers.Flatten()(h)))
    with pytest.raises(ValueError, match="Python function as `standardize`"):
        model.export(tmp_path / "t.onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_replaces_a_file_atomically(tmp_path, capsys):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    _small_model().export(path, "onnx", True)  # Keras's positional (filepath, format, verbose)
    assert str(path) in capsys.readouterr().out
    onnx.checker.check_model(onnx.load(str(path)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temp file left


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"seqattn\[onnx\]"):
        _small_model().export(tmp_path / "m.onnx")


def test_import_seqattn_does_not_import_onnx():
    code = ("import sys, seqattn, seqattn.export; "
            "assert 'onnx' not in sys.modules and 'onnxruntime' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_open_sequence_length_and_shared_layers(tmp_path):
    # T unknown at export: positions, causal masks and windows are sized per call.
    x = seqattn.Input(shape=(None,), dtype="int32", name="ids")
    h = layers.TokenAndPositionEmbedding(20, 12, 8, mask_zero=True)(x)
    h = layers.Add()([h, layers.SinePositionEncoding()(h)])
    h = layers.MultiHeadAttention(2, 4)(h, h, use_causal_mask=True)
    shared = layers.Dense(8, activation="relu")
    h = shared(shared(h))  # one layer, two calls: one set of initializers
    with pytest.warns(UserWarning, match="does not support masking"):
        c = layers.Conv1D(3, 2, padding="same")(h)
    y = layers.Concatenate()([layers.GlobalAveragePooling1D()(h),
                              layers.GlobalMaxPooling1D()(c)])
    model = seqattn.Model(x, y)
    path = tmp_path / "open.onnx"
    model.export(path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    kernels = [t for t in proto.graph.initializer if t.name.startswith(shared.name + "/w0")]
    assert len(kernels) == 1
    session = _session(path)
    rng = np.random.default_rng(1)
    for B, T in ((1, 3), (5, 12), (3, 7)):
        ids = _ids(rng, B, T, 20)
        got = session.run(None, {"ids": ids})[0]
        np.testing.assert_allclose(got, model.predict(ids, verbose=0), atol=1e-5, rtol=0)


def test_every_layer_has_a_converter():
    # Composite and preprocessing layers export as their sub-layers (or the vocabulary file).
    from seqattn.export import onnx_export, registry  # noqa: F401 (onnx_export registers them)
    from seqattn.layers import math_ops
    expanded = {"Input", "InputLayer", "Layer", "Lambda", "TextVectorization",
                "TransformerEncoder", "TransformerDecoder"}
    names = [n for n in layers.__all__ if n[0].isupper() and n not in expanded]
    classes = [getattr(layers, n) for n in names] + [
        math_ops.BinaryOp, math_ops.UnaryOp, math_ops.Constant, math_ops.Where,
        math_ops.MatMul, math_ops.Reduce]
    missing = [c.__name__ for c in classes
               if not any(k.__name__ in registry._CONVERTERS for k in c.__mro__)]
    assert missing == []


def test_nested_and_subclassed_models(tmp_path):
    inner_in = seqattn.Input(shape=(5, 4))
    inner = seqattn.Model(inner_in, layers.Dense(3, activation="relu")(inner_in))
    x = seqattn.Input(shape=(5,), dtype="int32", name="ids")
    h = layers.Embedding(9, 4, mask_zero=True)(x)
    check_export(seqattn.Model(x, layers.GlobalAveragePooling1D()(inner(h))),
                 lambda rng, B: _ids(rng, B, 5, 9), tmp_path)

    class Classifier(seqattn.Model):
        def __init__(self):
            super().__init__()
            self.embed = layers.Embedding(9, 4, mask_zero=True)
            self.pool = layers.GlobalMaxPooling1D()
            self.out = layers.Dense(2)

        def call(self, ids):
            return self.out(self.pool(self.embed(ids)))
    model = Classifier()
    model.predict(_ids(np.random.default_rng(2), 3, 5, 9), verbose=0)  # builds it
    check_export(model, lambda rng, B: _ids(rng, B, 5, 9), tmp_path)


def test_output_named_like_an_internal_tensor(tmp_path):
    x = seqattn.Input(shape=(4, 3), name="x")
    h = layers.Reshape((12,), name="shape")(layers.Permute((2, 1))(x))  # "shape": a common name
    check_export(seqattn.Model(x, h), lambda rng, B: rng.normal(size=(B, 4, 3)).astype(
        np.float32), tmp_path)


@pytest.mark.parametrize("opset", [18, 21])
def test_newer_opsets(tmp_path, opset):
    # From opset 18 the reductions take their axes as an input.
    x = seqattn.Input(shape=(5, 4), name="x")
    h = layers.LayerNormalization()(x)
    y = layers.Concatenate()([layers.GlobalAveragePooling1D()(h), layers.GlobalMaxPooling1D()(h),
                              ops.mean(h, axis=1), ops.max(h, axis=2), ops.sum(h, axis=2)])
    model = seqattn.Model(x, y)
    path = tmp_path / "new.onnx"
    seqattn.export.to_onnx(model, path, opset=opset)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain == ""] == [opset]
    a = np.random.default_rng(3).normal(size=(6, 5, 4)).astype(np.float32)
    got = _session(path).run(None, {"x": a})[0]
    np.testing.assert_allclose(got, model.predict(a, verbose=0), atol=1e-5, rtol=0)


def test_two_vectorizers_of_one_text_input_become_two_graph_inputs(tmp_path):
    # Words and word pairs of the same text (what `train --ngrams 2` builds): each vectorizer
    # gets its own int32 graph input and its own entry in the vocabulary file.
    model, _, _ = words_and_pairs_model(width=4)
    path = tmp_path / "pairs.onnx"
    seqattn.export.to_onnx(model, path)
    rebuilt = seqattn.export.vocabulary.text_vectorizers(tmp_path / "pairs.vocabulary.json")
    assert list(rebuilt) == ["text", "text_pairs"]
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["text", "text_pairs"]
    new = ["the cat ran", "a good dog sat on the mat again", ""]
    got = session.run(None, {name: v(new) for name, v in rebuilt.items()})[0]
    np.testing.assert_allclose(got, model.predict(new, verbose=0), atol=1e-5, rtol=0)
