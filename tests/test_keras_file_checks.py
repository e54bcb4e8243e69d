"""Keras 3 `.keras` files seqattn must refuse (saving/keras_format/reader.py): crafted
configs (Lambda, custom classes, functions, absurd sizes, broken references), crafted
model.weights.h5 arrays (links, unbacked shapes, wrong shapes, nan, extra arrays), damaged
zips and zip bombs, and fuzzed fields and bytes. Each raises FileFormatError naming the file
and the field, and nothing from the file is executed."""

import io
import json
import zipfile

import numpy as np
import pytest

import seqattn
from seqattn.archive import FileFormatError

pytest.importorskip("h5py")
from test_keras_files import KERAS, dense, keras  # noqa: E402  (skips without Keras)

def test_a_keras_op_is_refused_naming_the_layer_to_use(tmp_path):
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(2)(x) + x[:, :2])
    model.save(tmp_path / "op.keras")
    with pytest.raises(FileFormatError, match=r"is the Keras op '\w+' .*build the model with "
                                              r"the layer"):
        seqattn.load_model(tmp_path / "op.keras")


# ----------------------------------------------------------------- refused reads
@pytest.fixture
def keras_file(tmp_path):
    model, _ = dense(KERAS)
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return tmp_path, members


def _write(tmp_path, members, name="bad.keras"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    return path


def _edit_config(tmp_path, members, edit):
    config = json.loads(members["config.json"])
    edit(config["config"])
    return _write(tmp_path, {**members, "config.json": json.dumps(config)})


def _dense_entry(config, k=0):
    return [l for l in config["layers"] if l["class_name"] == "Dense"][k]


@pytest.mark.parametrize("edit, message", [
    (lambda c: _dense_entry(c).update(class_name="Lambda", config={
        "function": {"class_name": "__lambda__", "config": {"code": "4wEAAA=="}}}),
     r"Lambda layer holds Python code"),
    (lambda c: _dense_entry(c).update(class_name="MyDense", registered_name="Custom>MyDense"),
     r"'MyDense'.*which seqattn does not have"),
    (lambda c: _dense_entry(c).update(registered_name="Custom>Dense"),
     r"'Dense'.*registered_name 'Custom>Dense'"),
    (lambda c: _dense_entry(c)["config"].update(activation={
        "module": "builtins", "class_name": "function", "config": "eval",
        "registered_name": "function"}), r"activation` holds class_name 'function'"),
    (lambda c: _dense_entry(c)["config"].update(units="7"), r"Dense layer from its config"),
    (lambda c: _dense_entry(c)["config"].update(units=10**12),
     r"would create .* weight values, but the file's weight arrays hold"),
    (lambda c: _dense_entry(c)["config"].update(lora_rank=4), r"lora_rank` is 4"),
    (lambda c: c["layers"][0]["config"].update(batch_shape=[None, 2**40, 5]),
     r"must be an integer in \[1, 2\*\*31\)"),
    (lambda c: _dense_entry(c)["inbound_nodes"][0]["args"][0]["config"].update(
        keras_history=["nowhere", 0, 0]), r"reads the output of \['nowhere', 0\]"),
    (lambda c: c.update(output_layers=[["dense", 5, 0]]), r"refers to"),
    (lambda c: c.update(layers="many"), r"config.layers` must be a list"),
    (lambda c: _dense_entry(c)["inbound_nodes"][0]["kwargs"].update(mask={"__tensor__": 5}),
     r"holds the key `__tensor__`, which Keras never writes"),
    (lambda c: _dense_entry(c).update(inbound_nodes=[]), r"is empty: the layer is not called"),
])
def test_crafted_configs_are_refused(keras_file, edit, message):
    tmp_path, members = keras_file
    with pytest.raises(FileFormatError, match=message):
        seqattn.load_model(_edit_config(tmp_path, members, edit))


def _edit_h5(tmp_path, members, edit):
    import h5py
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as f:
        edit(f)
    return _write(tmp_path, {**members, "model.weights.h5": buffer.getvalue()})


def _reshape(f):
    del f["layers/dense/vars/0"]
    f["layers/dense/vars/0"] = np.zeros((5, 8), np.float32)


def _nan(f):
    f["layers/dense/vars/1"][0] = np.nan


def _soft_link(f):
    del f["layers/dense/vars/1"]
    f["layers/dense/vars/1"] = __import__("h5py").SoftLink("/layers/dense_1/vars/0")


def _external(f):
    f["layers/dense/vars/2"] = __import__("h5py").ExternalLink("/etc/passwd", "/x")


@pytest.mark.parametrize("edit, message", [
    (_reshape, r"`layers/dense/vars/0` has shape \(5, 8\), but weight 0 of layer"),
    (lambda f: f.move("layers/dense_1/vars/0", "layers/dense_1/vars/7"),
     r"has no `layers/dense_1/vars/0`, weight 0 of layer '\w+' \(Dense\), shape \(7, 3\)"),
    (lambda f: f.__delitem__("layers/dense_1/vars/0"), r"would create 21 weight values"),
    (_nan, r"holds inf or nan"),
    (_soft_link, r"is a SoftLink"),
    (_external, r"is a ExternalLink"),
    (lambda f: f.create_dataset("layers/dense/vars/2", data=np.zeros(3, np.float32)),
     r"no layer of the model uses, such as `layers/dense/vars/2`"),
    (lambda f: f.create_dataset("layers/extra", data=np.zeros(3, np.int64)), r"not floats"),
    (lambda f: f.create_dataset("layers/dense/vars/2", shape=(10**6, 10**5), dtype="f4",
                                chunks=(100, 100)), r"claims 400,000,000,000 bytes .* from 0"),
])
def test_crafted_weights_are_refused(keras_file, edit, message):
    tmp_path, members = keras_file
    with pytest.raises(FileFormatError, match=message):
        seqattn.load_model(_edit_h5(tmp_path, members, edit))


def test_damaged_containers_are_refused(keras_file, monkeypatch):
    tmp_path, members = keras_file
    good = (tmp_path / "good.keras").read_bytes()
    for n in (3, 40, len(good) // 2, len(good) - 10):
        (tmp_path / "cut.keras").write_bytes(good[:n])
        with pytest.raises(FileFormatError):
            seqattn.load_model(tmp_path / "cut.keras")
    (tmp_path / "text.keras").write_text("not a zip")
    with pytest.raises(FileFormatError, match="not a ZIP"):
        seqattn.load_model(tmp_path / "text.keras")
    with pytest.raises(FileFormatError, match=r"holds 'assets/x.txt'"):
        seqattn.load_model(_write(tmp_path, {**members, "assets/x.txt": b"1"}))
    without = {n: d for n, d in members.items() if n != "model.weights.h5"}
    with pytest.raises(FileFormatError, match="has no model.weights.h5"):
        seqattn.load_model(_write(tmp_path, without))
    with pytest.raises(FileFormatError, match="not a readable HDF5"):
        seqattn.load_model(_write(tmp_path, {**members, "model.weights.h5": b"\x89HDF" * 9}))
    with pytest.raises(FileFormatError, match="not valid JSON"):
        seqattn.load_model(_write(tmp_path, {**members, "config.json": b'{"a": NaN}'}))
    from seqattn.saving.keras_format import reader
    monkeypatch.setattr(reader, "_MAX_JSON_BYTES", 100)
    with pytest.raises(FileFormatError, match=r"config.json is .* bytes; seqattn reads JSON"):
        seqattn.load_model(tmp_path / "good.keras")


def test_a_zip_bomb_is_refused_before_decompressing(keras_file):
    """A member whose directory entry claims more bytes than DEFLATE can make from its
    compressed size."""
    tmp_path, members = keras_file
    path = _write(tmp_path, members)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("config.json")
    # patch the uncompressed size of config.json in the central directory
    at = data.find(b"config.json", data.find(b"PK\x01\x02"))
    header = at - 46
    assert data[header:header + 4] == b"PK\x01\x02"
    data[header + 24:header + 28] = (info.compress_size * 2000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="more than deflate can produce|zip bomb"):
        seqattn.load_model(path)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    yield path


JUNK = [None, -1, 0, 2**40, 10**30, 1e308, -0.5, "x", "", [], {}, [None], True,
        {"class_name": "__lambda__", "config": {"code": "AA=="}}]


def test_fuzzed_configs_load_or_raise_file_format_error(tmp_path):
    """Any field of a real Keras config replaced by junk: the model loads, or a
    FileFormatError names the problem; never another exception."""
    x = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(12, 8, mask_zero=True)(x)
    h = keras.layers.MultiHeadAttention(2, 4)(h, h)
    h = keras.layers.Conv1D(4, 3, padding="same")(keras.layers.LayerNormalization()(h))
    out = keras.layers.Dense(2)(keras.layers.GlobalMaxPooling1D()(h))
    keras.Model(x, out).save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    paths = list(_leaves(config))
    r = np.random.default_rng(5)
    outcomes = {"loaded": 0, "refused": 0}
    for trial in range(250):
        mutated = json.loads(members["config.json"])
        path = paths[r.integers(len(paths))]
        if not path:
            continue
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = JUNK[r.integers(len(JUNK))]
        file = _write(tmp_path, {**members, "config.json": json.dumps(mutated)}, "fuzz.keras")
        try:
            seqattn.load_model(file)
            outcomes["loaded"] += 1
        except FileFormatError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 50 and outcomes["loaded"] > 5, outcomes


def test_flipped_bytes_load_or_raise_file_format_error(tmp_path):
    model, _ = dense(KERAS)
    model.save(tmp_path / "k.keras")
    good = (tmp_path / "k.keras").read_bytes()
    r = np.random.default_rng(6)
    for trial in range(150):
        data = bytearray(good)
        for at in r.integers(0, len(data), size=r.integers(1, 4)):
            data[at] = r.integers(256)
        (tmp_path / "flip.keras").write_bytes(bytes(data))
        try:
            seqattn.load_model(tmp_path / "flip.keras")
        except FileFormatError:
            pass
