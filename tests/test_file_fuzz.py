"""Crafted and damaged model files: each one loads into a usable model or raises a
FileFormatError naming the file, never another exception, a hang or a huge allocation.

Two real model files (a text vectorizer, embeddings, a Transformer block, causal attention,
seeded and unseeded dropout, SGD momentum slots; then AdamW slots, a learning-rate schedule
and an AUC metric) are taken apart:
every field of metadata.json, config.json and state.json is replaced in turn by hostile JSON
(wrong types, non-finite and huge numbers, negatives, long strings, deep nesting) or deleted,
and the archive is re-packed, so every CRC-32 is valid and only the loader's own checks stand
between the crafted value and the C++ core. The enumeration is deterministic; homogeneous
containers (the array table, the seeds, a vocabulary) are sampled at their first, middle and
last entries, every distinct field is covered.

Oracle: a file that loads must predict finite values and train one step to finite weights
(the change was harmless, e.g. a name); otherwise the error must be a FileFormatError (a
ValueError) whose message names the file. Anything else fails, with the field and value.
"""

import io
import json
import math
import resource
import sys
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn.archive import FileFormatError

JSON_MEMBERS = ("metadata.json", "config.json", "state.json")

# Raw JSON text put in place of a field. `1e400` parses as inf and `NaN` as nan (json.loads
# accepts both); 2**63 and 2**64 are one past the C++ int64 and uint64 ranges.
HOSTILE = {
    "list": "[1]",
    "dict": '{"a": 1}',
    "str": '"x"',
    "null": "null",
    "true": "true",
    "float": "1.5",
    "inf": "1e400",
    "-inf": "-1e400",
    "nan": "NaN",
    "zero": "0",
    "-1": "-1",
    "2**63": str(2**63),
    "2**64": str(2**64),
    "10**12": str(10**12),
    "long-str": '"' + "x" * 100_000 + '"',
    "deep": "[" * 500 + "]" * 500,
}
_SENTINEL = "\x00hostile\x00"


# ----------------------------------------------------------------------- archive surgery
def read_members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def repack(members: dict) -> bytes:
    """A ZIP of `members` (name -> bytes) in order, stored like seqattn's own files; zipfile
    computes every CRC-32, so the result is a well-formed archive with valid checksums."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, payload in members.items():
            zf.writestr(name, payload)
    return buffer.getvalue()


def with_member(data, member: str, payload: bytes) -> bytes:
    """The archive `data` (bytes, or its members as read_members gives them) with `member`'s
    content replaced by `payload`."""
    members = dict(read_members(data) if isinstance(data, bytes) else data)
    members[member] = payload
    return repack(members)


def replaced(tree, path, raw):
    """JSON text of `tree` with the value at `path` replaced by the raw JSON text `raw`, or
    deleted (raw None; only under a dict key)."""
    copy = json.loads(json.dumps(tree))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    if raw is None:
        del parent[path[-1]]
        return json.dumps(copy)
    parent[path[-1]] = _SENTINEL
    return json.dumps(copy).replace(json.dumps(_SENTINEL), raw, 1)


def _signature(value):
    """The structure of a JSON value (dict keys recursively, a list as one kind), to find
    containers whose entries are all alike."""
    if isinstance(value, dict):
        return ("dict", tuple((k, _signature(v)) for k, v in value.items()))
    return type(value).__name__


def field_paths(tree):
    """The paths to try in a JSON tree: one per distinct field. Paths that differ only in the
    index or key of a container of alike entries (a vocabulary, shapes, the array table, the
    seeds) are the same field, read by the same code, so only the richest is kept; a layer
    entry counts as its class (each class's config keys are different fields), and the call
    arguments of all layers are one field."""
    paths, seen, stack = [], set(), [((), (), tree)]
    while stack:
        path, schema, value = stack.pop()
        if path:
            if schema in seen:
                continue  # this field, and everything under it, was visited already
            seen.add(schema)
            paths.append(path)
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            continue
        alike = len({_signature(v) for _, v in items}) == 1 and (
            isinstance(value, list) or len(items) >= 4)
        if alike:  # the richest entry stands for all (a layer with weights, not one without)
            items.sort(key=lambda item: -len(json.dumps(item[1])))
        for key, child in reversed(items):  # popped in order: the first entry is kept
            if schema[-1:] == ("layers",) and isinstance(child, dict):
                step = child.get("class_name")
            else:
                step = "*" if alike else key
            child_schema = schema + (step,)
            if child_schema[-2:-1] in (("args",), ("kwargs",)):
                child_schema = ("call arguments", step)
            stack.append((path + (key,), child_schema, child))
    return sorted(paths, key=lambda p: [str(k) for k in p])


# ----------------------------------------------------------------------- the real models
TEXTS = ["the film was great", "a dull and weak plot", "brilliant acting", "not good at all",
         "great music but weak ending", "bad", "the cast was charming", "terrible"]
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0], np.float32)


def _vectorizer_model(train=True):
    seqattn.utils.set_random_seed(3)
    vectorizer = seqattn.text.TextVectorization(max_tokens=16, output_sequence_length=5,
                                                ngrams=2, name="vectorizer")
    vectorizer.adapt(TEXTS)
    text = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.TokenAndPositionEmbedding(16, 5, 4, mask_zero=True, name="embed")(vectorizer(text))
    h = layers.TransformerEncoder(4, 2, dropout=0.1, name="block")(h)
    a = layers.MultiHeadAttention(1, 2, dropout=0.1, use_bias=False, name="mha")(
        h, h, use_causal_mask=True)
    h = layers.LayerNormalization(name="norm")(layers.Add(name="add")([h, a]))
    h = layers.Dropout(0.2, seed=7, name="drop")(layers.GlobalAveragePooling1D(name="pool")(h))
    out = layers.Dense(1, activation="sigmoid", name="out")(layers.Dropout(0.1, name="drop2")(h))
    model = seqattn.Model(text, out, name="fuzzed")
    model.compile(optimizer=seqattn.optimizers.SGD(0.05, momentum=0.9, clipnorm=1.0),
                  loss="binary_crossentropy", metrics=["accuracy"])
    if train:
        model.fit(TEXTS, LABELS, epochs=2, batch_size=4, verbose=0)
    return model


def _schedule_model():
    seqattn.utils.set_random_seed(4)
    model = seqattn.Sequential([seqattn.Input((4,), dtype="int32", name="ids"),
                                layers.Embedding(8, 3, name="emb"),
                                layers.Flatten(name="flat"),
                                layers.Dense(2, activation="softmax", name="out")], name="seq")
    rate = seqattn.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)
    model.compile(optimizer=seqattn.optimizers.AdamW(rate, weight_decay=0.01),
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", seqattn.metrics.AUC(num_thresholds=5)])
    x = np.arange(32, dtype=np.int32).reshape(8, 4) % 8
    model.fit(x, x[:, 0] % 2, epochs=1, batch_size=4, verbose=0)
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> bytes of a real file: two model files and a weights file."""
    folder = tmp_path_factory.mktemp("fuzz")
    vectorizer = _vectorizer_model()
    vectorizer.save(folder / "vectorizer.seqattn")
    vectorizer.save_weights(folder / "weights.weights.seqattn")
    _schedule_model().save(folder / "schedule.seqattn")
    return {name: (folder / f"{name}.{suffix}").read_bytes() for name, suffix in
            [("vectorizer", "seqattn"), ("schedule", "seqattn"), ("weights", "weights.seqattn")]}


@pytest.fixture(scope="module")
def weights_target():
    """The model a fuzzed weights file is loaded into (the vectorizer model's architecture)."""
    return _vectorizer_model(train=False)


# ----------------------------------------------------------------------- the oracle
def _sample_input(model):
    """A small batch for the model's (possibly crafted) input signature."""
    spec = model.inputs[0]
    if spec.dtype == "string":
        texts = np.array(TEXTS[:4], dtype=object)
        return texts if spec.shape[1:] == () else texts[:, None]
    shape = (4,) + tuple(d or 2 for d in spec.shape[1:])
    return (np.arange(math.prod(shape)) % 8).reshape(shape).astype(np.int32)


def _check_usable(model):
    """A harmlessly changed file gives a model that predicts and trains to finite values."""
    x = _sample_input(model)
    outputs = model.predict(x, verbose=0)
    for out in outputs if isinstance(outputs, list) else [outputs]:
        assert np.all(np.isfinite(out)), "non-finite predictions"
    if model.optimizer is not None:
        y = np.array([1, 0, 1, 0], np.float32)
        model.train_on_batch(x, y)
        for w in model.get_weights():
            assert np.all(np.isfinite(w)), "non-finite weights after one step"


def outcome(path, into=None):
    """None when the file at `path` loads (as a model, or as weights `into` a model) and
    gives a usable model, or is refused properly; otherwise what went wrong."""
    try:
        with warnings.catch_warnings():
            # A crafted but valid config may warn as a hand-written one would (a mask
            # reaching Flatten): not what this test is about.
            warnings.simplefilter("ignore", UserWarning)
            if into is None:
                model = seqattn.load_model(path)
            else:
                into.load_weights(path)
                model = into
    except FileFormatError as e:
        message = str(e)
        if str(path) not in message:
            return f"FileFormatError without the file name: {message[:300]}"
        if len(message) > 2000:
            return f"FileFormatError message of {len(message)} characters"
        return None
    except Exception as e:  # noqa: BLE001 - every other outcome is the bug being hunted
        return f"{type(e).__name__} from loading: {str(e)[:300]}"
    try:
        if into is None:
            _check_usable(model)
        else:  # keep the shared target untrained: predictions only
            assert np.all(np.isfinite(model.predict(_sample_input(model), verbose=0)))
    except Exception as e:  # noqa: BLE001
        return f"loaded, then {type(e).__name__}: {str(e)[:300]}"
    return None


def _show(path):
    return "".join(f"[{k!r}]" for k in path)


def _fuzz(members, member, path, into=None):
    """Every field of `member` with every hostile value: the list of failures, and the count
    of files tried."""
    tree = json.loads(members[member])
    failures, tried = [], 0
    for field in field_paths(tree):
        variants = dict(HOSTILE)
        if isinstance(field[-1], str):
            variants["deleted"] = None
        for label, raw in variants.items():
            path.write_bytes(with_member(members, member, replaced(tree, field, raw).encode()))
            tried += 1
            problem = outcome(path, into)
            if problem is not None:
                failures.append(f"{member}{_show(field)} = {label}: {problem}")
    return failures, tried


# ----------------------------------------------------------------------- the field fuzz
@pytest.mark.parametrize("member", JSON_MEMBERS)
@pytest.mark.parametrize("name", ["vectorizer", "schedule", "weights"])
def test_every_field_hostile_value_is_refused_or_harmless(saved, weights_target, tmp_path,
                                                         name, member):
    into = weights_target if name == "weights" else None
    path = tmp_path / ("w.weights.seqattn" if into is not None else "m.seqattn")
    failures, tried = _fuzz(read_members(saved[name]), member, path, into)
    assert tried > len(HOSTILE)
    assert not failures, f"{len(failures)} of {tried} crafted files:\n" + "\n".join(
        failures[:40])


def test_the_unmodified_files_load_and_train(saved, weights_target, tmp_path):
    """The oracle's positive side: re-packing alone changes nothing."""
    for name, data in saved.items():
        path = tmp_path / f"{name}.seqattn"
        path.write_bytes(repack(read_members(data)))
        assert outcome(path, weights_target if name == "weights" else None) is None


def test_field_paths_cover_every_distinct_field(saved):
    members = read_members(saved["vectorizer"])
    state = {_show(p) for p in field_paths(json.loads(members["state.json"]))}
    # A table of alike entries is sampled at its richest entry: a layer that has weights.
    assert "['weights'][2]['shapes'][0][0]" in state
    assert {"['iterations']", "['graph_step']", "['optimizer_slots']", "['epoch']",
            "['shuffle_rng']['state']['inc']", "['shuffle_rng']['uinteger']"} <= state
    config = {_show(p) for p in field_paths(json.loads(members["config.json"]))}
    classes = [e["class_name"] for e in json.loads(members["config.json"])["model"]["layers"]]
    for i, cls in enumerate(classes):
        if cls != "Dropout" or i == classes.index("Dropout"):  # each class's fields once
            assert f"['model']['layers'][{i}]['class_name']" in config, cls
    assert "['model']['layers'][0]['config']['ngrams']" in config
    assert "['model']['layers'][3]['kwargs']['use_causal_mask']" in config
    assert "['compile']['optimizer']['config']['learning_rate']" in config


# ----------------------------------------------------------------------- damaged bytes
def test_truncated_and_flipped_model_files_are_refused_or_harmless(saved, tmp_path):
    """test_archive.py fuzzes the container alone; this runs the whole loader on a real model
    file: cuts everywhere (a stride), and a byte flipped at every 13th offset (flips that
    zip ignores, such as a timestamp, must give the original model)."""
    data = saved["schedule"]
    path = tmp_path / "d.seqattn"
    failures = []
    for keep in [*range(0, len(data), 97), *range(len(data) - 24, len(data))]:
        path.write_bytes(data[:keep])
        with pytest.raises(FileFormatError) as info:
            seqattn.load_model(path)
        assert str(path) in str(info.value)
    for at in range(0, len(data), 13):
        flipped = bytearray(data)
        flipped[at] ^= 0x5A
        path.write_bytes(flipped)
        problem = outcome(path)
        if problem is not None:
            failures.append(f"flip at {at}: {problem}")
    assert not failures, "\n".join(failures[:40])


# ----------------------------------------------------------------------- crafted sizes
def _crafted(saved, name, edits):
    """The file `name` with JSON edits applied: {member: function(tree)}; checksums valid."""
    members = read_members(saved[name])
    for member, edit in edits.items():
        tree = json.loads(members[member])
        edit(tree)
        members[member] = json.dumps(tree).encode()
    return repack(members)


def _chain(depth, sequential=False):
    """config.json and state.json edits putting `depth` chained Dropout layers between the
    schedule model's Embedding and Flatten (the weights manifest lists them too, so depth is
    the only thing wrong with the file)."""
    def config(tree):
        model = tree["model"]
        emb, flat, out = model["layers"]
        drops, previous = [], "emb"
        for i in range(depth):
            drops.append({"class_name": "Dropout", "config": {"name": f"d{i}", "rate": 0.1,
                                                               "seed": i},
                          "args": [{"__tensor__": [previous, 0]}], "kwargs": {}})
            previous = f"d{i}"
        flat["args"] = [{"__tensor__": [previous, 0]}]
        model["layers"] = [emb, *drops, flat, out]
        model["class_name"] = "Sequential" if sequential else "Functional"

    def state(tree):
        emb, flat, out = tree["weights"]
        tree["weights"] = [emb, *({"layer": f"d{i}", "class_name": "Dropout", "shapes": []}
                                  for i in range(depth)), flat, out]
    return {"config.json": config, "state.json": state}


def _set(member, *path_and_value):
    """An edit setting the value at a path (a callable step picks within the tree)."""
    *path, value = path_and_value

    def edit(tree):
        for key in path[:-1]:
            tree = tree[key] if not callable(key) else key(tree)
        tree[path[-1]] = value
    return {member: edit}


CRAFTED = {
    # name: (file, edits, words the message must contain)
    "chain-20000": ("schedule", _chain(20_000), ["model.layers", "20,003 layer calls"]),
    "vocabulary-10**12": ("vectorizer", _set("config.json", "model", "layers",
                                             lambda ls: ls[1]["config"], "vocabulary_size",
                                             10**12), ["'embed'", "would create"]),
    "vocabulary-10**7": ("vectorizer", _set("config.json", "model", "layers",
                                            lambda ls: ls[1]["config"], "vocabulary_size",
                                            10**7),
                         ["`model.layers[1]`", "'embed'", "would create 40,000,020 weight"]),
    "dense-units-10**7": ("schedule", _set("config.json", "model", "layers",
                                           lambda ls: ls[2]["config"], "units", 10**7),
                          ["'out'", "would create"]),
    "input-axis-2**40": ("schedule", _set("config.json", "model", "inputs", 0, "shape",
                                          [2**40]), ["model.inputs[0].shape[0]"]),
    "ngrams-10**7": ("vectorizer", _set("config.json", "model", "layers",
                                        lambda ls: ls[0]["config"], "ngrams", 10**7),
                     ["ngrams"]),
    "output-length-2**40": ("vectorizer", _set("config.json", "model", "layers",
                                               lambda ls: ls[0]["config"],
                                               "output_sequence_length", 2**40),
                            ["output_sequence_length"]),
    "auc-thresholds-10**8": ("schedule", _set("config.json", "compile", "metrics", 0,
                                              lambda ms: ms[1], "num_thresholds", 10**8),
                             ["num_thresholds"]),
    # Data where a call's tensor belongs would run the layer eagerly on the file's content.
    "data-in-a-call": ("vectorizer", _set("config.json", "model", "layers", 1, "args",
                                          [[list(range(5))] * 1000]),
                       ["`model.layers[1].args[0]` must be a tensor reference"]),
    "optimizer-slots-10**9": ("vectorizer", _set("state.json", "optimizer_slots", 10**9),
                              ["`optimizer_slots` is 1000000000"]),
    "iterations-2**70": ("vectorizer", _set("state.json", "iterations", 2**70),
                         ["`iterations` must be an integer in [0, 2**63)"]),
    "iterations--3": ("vectorizer", _set("state.json", "iterations", -3),
                      ["state.json: `iterations` must be an integer in [0, 2**63), "
                       "received -3"]),
}


@pytest.mark.parametrize("sequential", [False, True])
def test_a_deep_chain_within_the_limit_loads_and_predicts(saved, tmp_path, sequential):
    """3,000 chained layers (under the 10,000-call limit) load without recursing: the graph
    walks are iterative, so depth alone is no reason to refuse a file."""
    path = tmp_path / "deep.seqattn"
    path.write_bytes(_crafted(saved, "schedule", _chain(3_000, sequential=sequential)))
    model = seqattn.load_model(path)
    assert len(model.layers) == 3_003
    x = np.ones((2,) + tuple(model.inputs[0].shape[1:]), np.int32)
    assert np.isfinite(model.predict(x, verbose=0)).all()


@pytest.mark.parametrize("case", CRAFTED)
def test_crafted_sizes_are_refused_quickly_without_allocating(saved, tmp_path, case):
    """Huge or deep declarations with valid checksums: a FileFormatError naming the field,
    in well under 2 s, with no large allocation (the peak resident size grows by less than
    200 MB; every case here would need more, or would recurse past the stack)."""
    name, edits, fragments = CRAFTED[case]
    path = tmp_path / "crafted.seqattn"
    path.write_bytes(_crafted(saved, name, edits))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    start = time.perf_counter()
    with pytest.raises(FileFormatError) as info:
        seqattn.load_model(path)
    elapsed = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert elapsed < 2.0, f"{elapsed:.1f} s"
    if sys.platform.startswith("linux"):
        assert grown < 200 * 1024, f"peak resident size grew by {grown // 1024} MB"


def test_python_allocations_stay_small_while_refusing(saved, tmp_path):
    """tracemalloc sees NumPy and Python allocations (not C++ ones): refusing a
    10**7-token vocabulary allocates about the file's size, not the embedding's 160 MB."""
    path = tmp_path / "crafted.seqattn"
    path.write_bytes(_crafted(saved, "vectorizer", CRAFTED["vocabulary-10**7"][1]))
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError):
            seqattn.load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB"


# ----------------------------------------------------------------------- the weight budget
def test_every_layer_class_has_a_weight_count():
    """saving._WEIGHT_COUNTS bounds what a file's architecture may allocate: a new layer
    class needs an entry (None when it has no weights)."""
    from seqattn import saving
    assert set(saving._WEIGHT_COUNTS) == set(saving._LAYER_CLASSES)


def test_weight_counts_agree_with_built_layers():
    """The count planned from a layer's config and input shapes, before it is built, is the
    number of weight values it then has, for every class with weights and its options."""
    from seqattn import saving
    checked = set()

    def call(layer, *args, **kwargs):
        planned = saving._planned_weights(layer, args, kwargs)
        out = layer(*args, **kwargs)
        assert planned == layer.count_params(), (type(layer).__name__, planned)
        checked.add(type(layer).__name__)
        return out[0] if isinstance(out, tuple) else out

    ids = seqattn.Input((6,), dtype="int32")
    h = call(layers.Embedding(11, 5), ids)
    t = call(layers.TokenAndPositionEmbedding(13, 6, 5), ids)
    h = call(layers.Add(), [h, t])
    h = call(layers.Dense(7, use_bias=False), h)
    h = call(layers.Dense(6, activation="relu"), h)
    h = call(layers.PositionEmbedding(9), h)
    h = call(layers.LayerNormalization(center=False), h)
    h = call(layers.LayerNormalization(scale=False, center=True), h)
    h = call(layers.MultiHeadAttention(3, 4, value_dim=2, output_shape=6), h, h)
    feats = seqattn.Input((4, 5))
    k = call(layers.MultiHeadAttention(2, 3, use_bias=False), h, feats)  # value: another width
    k = call(layers.MultiHeadAttention(1, 2), h, feats, key=feats, return_attention_scores=True)
    h = call(layers.TransformerEncoder(10, 3), h)
    h = call(layers.TransformerEncoder(4, 2, normalize_first=True), h)
    h = call(layers.TransformerDecoder(5, 2), h)  # decoder-only
    call(layers.TransformerDecoder(4, 3, normalize_first=True), h, feats)  # cross: width 5
    call(layers.TransformerDecoder(4, 2), decoder_sequence=h, encoder_sequence=feats)
    h = call(layers.SinePositionEncoding(), h)
    h = call(layers.Activation("tanh"), h)
    h = call(layers.Dropout(0.1), h)
    h = call(layers.Flatten(), h)
    call(layers.GlobalAveragePooling1D(), k)
    call(layers.GlobalMaxPooling1D(), k)
    c = call(layers.Conv1D(3, 2, padding="same"), k)
    c = call(layers.Conv1D(2, 3, strides=2, use_bias=False), call(layers.MaxPooling1D(1), c))
    call(layers.AveragePooling1D(1), c)
    with_weights = {name for name, count in saving._WEIGHT_COUNTS.items() if count is not None}
    assert with_weights <= checked
