"""model.save / seqattn.load_model / save_weights / load_weights / get_config / from_config.

Oracles: the original model (weights, predictions, optimizer slots, bit for bit), an
uninterrupted training run in another process (resume must be bit-identical), and the
exact error texts users see for mismatched or foreign files."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import seqattn
from seqattn import layers

T, V = 10, 40


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, (n, T)).astype(np.int32)
    x[:, -3:] = 0  # padding
    return x, (x[:, 0] > V // 2).astype(np.float32)


def _functional():
    x = seqattn.Input((T,), dtype="int32", name="ids")
    h = layers.TokenAndPositionEmbedding(V, T, 8, mask_zero=True, name="embed")(x)
    h = layers.TransformerEncoder(16, 2, dropout=0.1, name="block")(h)
    a, scores = layers.MultiHeadAttention(2, 4, dropout=0.1, name="mha")(
        h, h, return_attention_scores=True)
    h = layers.Add(name="residual")([h, a])
    h = layers.Dropout(0.2, name="drop")(layers.LayerNormalization(name="norm")(h))
    pooled = layers.GlobalAveragePooling1D(name="pool")(h)
    out = layers.Dense(1, activation="sigmoid", name="out")(pooled)
    model = seqattn.Model(x, [out, scores], name="with_scores")
    model.compile(optimizer="adam", loss=["binary_crossentropy", None],
                  metrics=[["accuracy"], []])
    return model


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)


def test_functional_model_round_trip(tmp_path):
    seqattn.utils.set_random_seed(1)
    model = _functional()
    x, y = _data()
    model.fit(x, [y, np.zeros(len(y))], epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.seqattn"
    model.save(path)
    loaded = seqattn.load_model(path)
    _same_weights(model, loaded)
    assert loaded.get_config() == model.get_config()
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    for p, q in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)
    # The optimizer continues from the same state.
    assert loaded.optimizer.iterations == model.optimizer.iterations == 8
    for s, t in zip(model.optimizer.core.get_slots(), loaded.optimizer.core.get_slots()):
        np.testing.assert_array_equal(s, t)
    assert loaded.evaluate(x, [y, y], verbose=0, return_dict=True) == \
        model.evaluate(x, [y, y], verbose=0, return_dict=True)


def test_config_is_json_and_from_config_rebuilds_the_architecture():
    model = _functional()
    config = json.loads(json.dumps(model.get_config()))
    clone = seqattn.Model.from_config(config)
    assert clone.get_config() == model.get_config()
    assert clone.count_params() == model.count_params()
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    with pytest.raises(TypeError, match="Functional"):
        seqattn.Sequential.from_config(config)


def test_sequential_round_trip_and_unbuilt_config(tmp_path):
    model = seqattn.Sequential([seqattn.Input((T,), dtype="int32"),
                                layers.Embedding(V, 8, mask_zero=True),
                                layers.MultiHeadAttention(2, 4),
                                layers.GlobalMaxPooling1D(),
                                layers.Dense(3, activation="softmax")], name="seq")
    model.compile(optimizer=seqattn.optimizers.SGD(0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, _ = _data()
    y = x[:, 0] % 3
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "seq.seqattn")
    loaded = seqattn.load_model(tmp_path / "seq.seqattn")
    assert isinstance(loaded, seqattn.Sequential)
    _same_weights(model, loaded)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    unbuilt = seqattn.Sequential([layers.Embedding(V, 8), layers.GlobalAveragePooling1D()])
    clone = seqattn.Sequential.from_config(unbuilt.get_config())
    assert [l.get_config() for l in clone.layers] == [l.get_config() for l in unbuilt.layers]
    with pytest.raises(ValueError, match="not built yet"):
        unbuilt.save(tmp_path / "unbuilt.seqattn")


@pytest.mark.parametrize("layer", [
    layers.Dense(4, activation="gelu", use_bias=False, name="d"),
    layers.Embedding(10, 3, mask_zero=True, name="e"),
    layers.TokenAndPositionEmbedding(10, 5, 3, name="tpe"),
    layers.MultiHeadAttention(3, 5, value_dim=2, dropout=0.25, use_bias=False, output_shape=7,
                              name="mha"),
    layers.LayerNormalization(epsilon=1e-5, center=False, name="ln"),
    layers.Dropout(0.3, seed=7, name="drop"),
    layers.Add(name="add"),
    layers.Activation("tanh", name="act"),
    layers.Flatten(name="flat"),
    layers.PositionEmbedding(12, name="pos"),
    layers.SinePositionEncoding(max_wavelength=500, name="sine"),
    layers.GlobalAveragePooling1D(name="gap"),
    layers.GlobalMaxPooling1D(name="gmp"),
    layers.Conv1D(4, 3, strides=2, padding="causal", activation="relu", use_bias=False,
                  name="conv"),
    layers.Conv1D(4, 3, padding="same", dilation_rate=2, name="dilated"),
    layers.MaxPooling1D(3, strides=1, padding="same", name="maxpool"),
    layers.AveragePooling1D(name="avgpool"),
    layers.TransformerEncoder(32, 4, dropout=0.1, activation="gelu", normalize_first=True,
                              name="te"),
], ids=lambda l: type(l).__name__)
def test_every_layer_config_round_trips(layer):
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


def test_weights_files(tmp_path):
    seqattn.utils.set_random_seed(2)
    a = _functional()
    seqattn.utils.set_random_seed(3)
    b = _functional()
    path = tmp_path / "w.weights.seqattn"
    a.save_weights(path)
    b.load_weights(path)
    _same_weights(a, b)
    a.save(tmp_path / "m.seqattn")
    seqattn.utils.set_random_seed(4)
    c = _functional()
    c.load_weights(tmp_path / "m.seqattn")  # a model file holds the weights too
    _same_weights(a, c)
    with pytest.raises(ValueError, match=r"\.weights\.seqattn"):
        a.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"end in `\.seqattn`"):
        a.save(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"end in `\.seqattn`"):
        a.save(tmp_path / "m.weights.seqattn")
    with pytest.raises(seqattn.FileFormatError, match="w.weights.seqattn"):
        seqattn.load_model(path)  # a weights file is not a model
    with pytest.raises(FileExistsError):
        a.save(tmp_path / "m.seqattn", overwrite=False)


def test_loading_weights_into_another_architecture_names_the_layer(tmp_path):
    model = _functional()
    model.save_weights(tmp_path / "w.weights.seqattn")
    other = seqattn.Sequential([seqattn.Input((T,), dtype="int32"), layers.Embedding(V, 8),
                                layers.GlobalAveragePooling1D(), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"w\.weights\.seqattn: the file holds weights for 8 "
                                         r"layers .* has 3 layers"):
        other.load_weights(tmp_path / "w.weights.seqattn")
    x = seqattn.Input((T,), dtype="int32", name="ids")
    h = layers.TokenAndPositionEmbedding(V, T, 16, mask_zero=True, name="embed")(x)  # wider
    h = layers.TransformerEncoder(16, 2, name="block")(h)
    a = layers.MultiHeadAttention(2, 4, name="mha")(h, h)
    h = layers.Dropout(0.2)(layers.LayerNormalization()(layers.Add()([h, a])))
    wide = seqattn.Model(x, layers.Dense(1)(layers.GlobalAveragePooling1D()(h)))
    with pytest.raises(ValueError, match=r"layer 'embed' \(TokenAndPositionEmbedding\) in the "
                                         r"file has weights of shapes \[\[40, 8\], \[10, 8\]\]"):
        wide.load_weights(tmp_path / "w.weights.seqattn")


def test_corrupted_and_foreign_files_name_the_file(tmp_path):
    model = _functional()
    path = tmp_path / "m.seqattn"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.seqattn").write_bytes(data[: len(data) // 2])
    with pytest.raises(seqattn.FileFormatError, match="cut.seqattn"):
        seqattn.load_model(tmp_path / "cut.seqattn")
    (tmp_path / "text.seqattn").write_text("hello")
    with pytest.raises(seqattn.FileFormatError, match="text.seqattn"):
        seqattn.load_model(tmp_path / "text.seqattn")
    with pytest.raises(FileNotFoundError):
        seqattn.load_model(tmp_path / "missing.seqattn")


def _with_state(src, dst, edit):
    """A copy of the model file `src` with its state.json edited (zipfile writes valid
    CRC-32s: only the loader's own checks can refuse it)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "state.json":
                state = json.loads(data)
                edit(state)
                data = json.dumps(state).encode()
            zout.writestr(info.filename, data)


@pytest.mark.parametrize("edit, says", [
    (lambda s: s.update(iterations=-3),
     "state.json: `iterations` must be an integer in [0, 2**63), received -3"),
    (lambda s: s.update(iterations=2**70), "`iterations` must be an integer in [0, 2**63)"),
    (lambda s: s.update(graph_step=2**64), "`graph_step` must be an integer in [0, 2**64)"),
    (lambda s: s.update(epoch=[1]), "`epoch` must be an integer in [0, 2**63), received [1]"),
    (lambda s: s.update(epoch=float("inf")), "`epoch` must be an integer in [0, 2**63), "
                                             "received inf"),
    (lambda s: s["seeds"].update(drop=-1), "`seeds.drop` must be an integer in [0, 2**64)"),
    (lambda s: s["seeds"].update(mha=2**70), "`seeds.mha` must be an integer in [0, 2**64)"),
    (lambda s: s.update(optimizer_slots=10**9), "`optimizer_slots` is 1000000000, but the file "
                                                "holds 60 optimizer arrays"),
    (lambda s: s["shuffle_rng"].update(uinteger=-1), "`shuffle_rng.uinteger` must be an "
                                                     "integer in [0, 2**32)"),
    (lambda s: s["weights"][0].update(shapes=[[40, 8], [10, 9]]),
     "`weights` lists shape [10, 9] for array weights/0001"),
], ids=["iterations-negative", "iterations-huge", "graph-step", "epoch-list", "epoch-inf",
        "seed-negative", "seed-huge", "optimizer-slots", "rng", "manifest"])
def test_crafted_state_names_the_file_and_field(tmp_path, edit, says):
    """Values the C++ counters cannot hold (or that would corrupt training, such as a negative
    iteration count, which made Adam's first step NaN) are refused before anything is built."""
    seqattn.utils.set_random_seed(6)
    model = _functional()
    x, y = _data(16)
    model.fit(x, [y, np.zeros(len(y))], epochs=1, verbose=0)
    model.save(tmp_path / "m.seqattn")
    _with_state(tmp_path / "m.seqattn", tmp_path / "bad.seqattn", edit)
    with pytest.raises(seqattn.FileFormatError) as info:
        seqattn.load_model(tmp_path / "bad.seqattn")
    assert str(info.value).startswith(f"{tmp_path / 'bad.seqattn'}: ")
    assert says in str(info.value)


def test_load_model_leaves_the_global_random_stream_alone(tmp_path):
    _functional().save(tmp_path / "m.seqattn")
    seqattn.utils.set_random_seed(5)
    expected = seqattn.utils.global_rng().integers(0, 2**32, 4)
    seqattn.utils.set_random_seed(5)
    seqattn.load_model(tmp_path / "m.seqattn")
    np.testing.assert_array_equal(seqattn.utils.global_rng().integers(0, 2**32, 4), expected)


def test_an_uncompiled_model_loads_uncompiled(tmp_path):
    seq = seqattn.Sequential([seqattn.Input((T,), dtype="int32"), layers.Embedding(V, 4),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)])
    seq.save(tmp_path / "m.seqattn")
    loaded = seqattn.load_model(tmp_path / "m.seqattn")
    assert loaded.optimizer is None
    compiled = _functional()
    compiled.save(tmp_path / "c.seqattn")
    assert seqattn.load_model(tmp_path / "c.seqattn", compile=False).optimizer is None


# ------------------------------------------------- resume in a fresh process
_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, seqattn
    from seqattn import layers
    mode, path, out, opt = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    seqattn.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 40, (96, 10)).astype(np.int32)
    x[:, -3:] = 0
    y = (x[:, 0] > 20).astype(np.float32)

    def build():
        seqattn.utils.set_random_seed(11)
        ids = seqattn.Input((10,), dtype="int32")
        h = layers.TokenAndPositionEmbedding(40, 10, 8, mask_zero=True)(ids)
        h = layers.TransformerEncoder(16, 2, dropout=0.2)(h)
        h = layers.Dropout(0.3)(layers.GlobalAveragePooling1D()(h))
        model = seqattn.Model(ids, layers.Dense(1, activation="sigmoid")(h))
        rate = seqattn.schedules.ExponentialDecay(3e-3, decay_steps=5, decay_rate=0.9)
        if opt == "adam":
            optimizer = seqattn.optimizers.Adam(rate)
        else:  # every RMSprop slot (velocity, momentum, average) and the common arguments
            optimizer = seqattn.optimizers.RMSprop(rate, momentum=0.5, centered=True,
                                                   weight_decay=0.01, clipvalue=0.5)
        model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
        return model

    if mode == "straight":
        model = build()
        model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    elif mode == "first_half":
        model = build()
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        model.save(path)
    else:  # resume: a fresh process that does not reseed
        model = seqattn.load_model(path)
        model.fit(x, y, epochs=4, batch_size=16, verbose=0, initial_epoch=2)
    np.savez(out, *model.get_weights())
""")


def _run(tmp_path, *args):
    script = tmp_path / "job.py"
    script.write_text(_SCRIPT)
    subprocess.run([sys.executable, str(script), *map(str, args)], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "2"})


def _load(path):
    with np.load(path) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


@pytest.mark.parametrize("opt", ["adam", "rmsprop"])
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, opt):
    model_file = tmp_path / "half.seqattn"
    _run(tmp_path, "straight", model_file, tmp_path / "straight.npz", opt)
    _run(tmp_path, "first_half", model_file, tmp_path / "half.npz", opt)
    _run(tmp_path, "resume", model_file, tmp_path / "resumed.npz", opt)
    straight, half, resumed = (_load(tmp_path / f) for f in
                               ("straight.npz", "half.npz", "resumed.npz"))
    assert any(not np.array_equal(a, b) for a, b in zip(straight, half))  # epochs 3-4 count
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


def test_same_seed_gives_the_same_run_in_two_processes(tmp_path):
    _run(tmp_path, "straight", tmp_path / "unused.seqattn", tmp_path / "one.npz", "adam")
    _run(tmp_path, "straight", tmp_path / "unused.seqattn", tmp_path / "two.npz", "adam")
    for a, b in zip(_load(tmp_path / "one.npz"), _load(tmp_path / "two.npz")):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------- a text vectorizer inside the model
def _text_model(vectorizer):
    inp = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.Embedding(vectorizer.vocabulary_size(), 8, mask_zero=True)(vectorizer(inp))
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(inp, out)
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_a_model_with_its_vectorizer_saves_and_predicts_on_raw_strings(tmp_path):
    texts, labels = seqattn.datasets.synthetic_sentiment(n_samples=300, seed=0)
    vectorizer = seqattn.text.TextVectorization(max_tokens=60, output_sequence_length=12)
    vectorizer.adapt(texts)
    model = _text_model(vectorizer)
    model.fit(texts, labels, epochs=1, verbose=0)
    # The vectorizer runs in front of the C++ graph: same as feeding its ids to the rest.
    np.testing.assert_array_equal(model.predict(texts[:5], verbose=0),
                                  model.predict(np.array(texts[:5]), verbose=0))
    model.save(tmp_path / "text.seqattn")
    loaded = seqattn.load_model(tmp_path / "text.seqattn")
    restored = loaded.get_layer(vectorizer.name)
    assert restored.get_vocabulary() == vectorizer.get_vocabulary()
    sentences = ["the acting was superb", "the music was not good", "unseen wörds ✓"]
    np.testing.assert_array_equal(loaded.predict(sentences, verbose=0),
                                  model.predict(sentences, verbose=0))
    loaded.fit(texts, labels, epochs=1, verbose=0)  # and it keeps training on raw texts


def test_vectorizer_in_a_model_errors(tmp_path):
    vectorizer = seqattn.text.TextVectorization(max_tokens=20, output_sequence_length=5,
                                                standardize=str.lower)
    vectorizer.adapt(["a b c"])
    with pytest.raises(ValueError, match=r"cannot be saved: its config holds a Python callable "
                                         r"\(standardize\)"):
        _text_model(vectorizer).save(tmp_path / "m.seqattn")
    assert not (tmp_path / "m.seqattn").exists()
    no_length = seqattn.text.TextVectorization(max_tokens=20)
    # A model file must be able to read texts: a vectorizer without a vocabulary is refused
    # when saving (and a file whose vectorizer has none when loading).
    unadapted = seqattn.text.TextVectorization(max_tokens=20, output_sequence_length=5)
    with pytest.raises(ValueError, match=r"cannot be saved: its TextVectorization '.*' has no "
                                         r"vocabulary yet"):
        _text_model(unadapted).save(tmp_path / "m.seqattn")
    assert not (tmp_path / "m.seqattn").exists()
    with pytest.raises(ValueError, match="needs output_sequence_length in a model"):
        no_length(seqattn.Input(shape=(), dtype="string"))
    with pytest.raises(ValueError, match="reads raw texts"):
        vectorizer(seqattn.Input(shape=(5,), dtype="int32"))
    with pytest.raises(ValueError, match=r"shape=\(\) or \(1,\)"):
        seqattn.Input(shape=(3,), dtype="string")
