"""SubwordTokenizer (WordPiece / byte-level BPE through HuggingFace `tokenizers`) as a
TextVectorization split: training, the ids against `tokenizers` itself (the oracle), saving
inside the model file, crafted tokenizer fields, the CLI flag, and the missing-package error."""

import json
import sys
import threading

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn.archive import FileFormatError
from seqattn.text import SubwordTokenizer, TextVectorization

tokenizers = pytest.importorskip("tokenizers")

from test_file_fuzz import HOSTILE, outcome, read_members, repack  # noqa: E402

CORPUS = ["The film was great, truly great!", "A dull and weak plot.", "Brilliant acting.",
          "Not good at all; the plot was weak.", "Great acting and a great plot",
          "weakly acted, dull, boring", "the acting was brilliant", "what a boring film"] * 3
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0] * 3, np.float32)


def _vectorizer(model="wordpiece", **kwargs):
    size = 300 if model == "bpe" else 80
    return TextVectorization(output_sequence_length=12, name="vec", split=SubwordTokenizer(
        model, size, min_frequency=1, **kwargs))


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_training_is_deterministic(model):
    a, b = _vectorizer(model), _vectorizer(model)
    a.adapt(CORPUS)
    b.adapt(list(reversed(CORPUS)))  # same texts, other order: counts are the same
    c = _vectorizer(model)
    c.adapt(CORPUS)
    assert a.get_vocabulary() == c.get_vocabulary()
    assert a.split.get_config()["tokenizer"] == c.split.get_config()["tokenizer"]
    assert set(a.get_vocabulary()) == set(b.get_vocabulary())


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_ids_are_the_tokens_tokenizers_gives(model):
    """Oracle: the trained tokenizer's JSON, loaded by `tokenizers` directly, encodes the
    standardized text into the tokens whose vocabulary indices the vectorizer returns."""
    vec = _vectorizer(model)
    vec.adapt(CORPUS)
    oracle = tokenizers.Tokenizer.from_str(vec.split.get_config()["tokenizer"])
    index = {t: i for i, t in enumerate(vec.get_vocabulary())}
    texts = ["The plot was great", "brilliantly boring acting!", "", "weak " * 20,
             "great film unseen words zz"]
    got = vec(texts)
    for text, row in zip(texts, got):
        standardized = text.lower().replace("!", "").replace(",", "")
        tokens = oracle.encode(standardized, add_special_tokens=False).tokens[:12]
        want = [index.get(t, 1) for t in tokens] + [0] * (12 - len(tokens))
        assert row.tolist() == want, (text, tokens)


def test_unknown_words_split_into_pieces_not_unk():
    vec = _vectorizer("wordpiece")
    vec.adapt(CORPUS)
    # "greatly", "plotting" never occur; their pieces do (and every piece of the tokenizer's
    # vocabulary has an id, even one never seen whole in training).
    tokens = vec.split("greatly plotting")
    assert len(tokens) > 2 and "[UNK]" not in tokens
    ids = vec(["greatly plotting"])[0]
    assert (ids[:len(tokens)] > 1).all()
    bpe = _vectorizer("bpe")
    bpe.adapt(CORPUS)
    assert (bpe(["xyzzy qwerty"])[0][:1] > 1).all()  # byte-level: nothing is unknown
    assert "[UNK]" not in bpe.split("xyzzy éà 漢字")


def test_standardize_runs_once_before_the_tokenizer():
    """Default: the vectorizer lowercases and strips; the tokenizer does not normalize again.
    standardize=None + lowercase=True: the tokenizer lowercases, punctuation stays a token."""
    vec = _vectorizer("wordpiece")
    vec.adapt(CORPUS)
    assert all(t == t.lower() and "," not in t for t in vec.get_vocabulary()[2:])
    raw = TextVectorization(standardize=None, split=SubwordTokenizer(
        "wordpiece", 80, lowercase=True, min_frequency=1))
    raw.adapt(CORPUS)
    assert "," in raw.get_vocabulary() and "The" not in raw.get_vocabulary()
    accents = SubwordTokenizer("wordpiece", 80, strip_accents=True, min_frequency=1)
    accents.train(["café déjà vu"] * 3)
    assert accents("café") == ["cafe"]


def test_adapt_keeps_a_trained_tokenizer():
    vec = _vectorizer("wordpiece")
    vec.adapt(CORPUS)
    before = vec.split.get_config()["tokenizer"]
    vec.adapt(["completely different words here"])
    assert vec.split.get_config()["tokenizer"] == before


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_config_round_trip(model):
    vec = _vectorizer(model)
    vec.adapt(CORPUS)
    config = vec.get_config()
    json.dumps(config)  # JSON data: no Python object inside
    assert config["split"]["class_name"] == "SubwordTokenizer"
    again = TextVectorization.from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    np.testing.assert_array_equal(again(CORPUS), vec(CORPUS))
    tok = SubwordTokenizer.from_config(vec.split.get_config())
    assert tok.get_config() == vec.split.get_config()


def _model(model="wordpiece"):
    seqattn.utils.set_random_seed(3)
    vec = _vectorizer(model)
    vec.adapt(CORPUS)
    text = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.Embedding(vec.vocabulary_size(), 8, mask_zero=True, name="emb")(vec(text))
    out = layers.Dense(1, activation="sigmoid", name="out")(
        layers.GlobalAveragePooling1D(name="pool")(h))
    m = seqattn.Model(text, out, name="subword")
    m.compile(optimizer="adam", loss="binary_crossentropy")
    m.fit(np.array(CORPUS), LABELS, epochs=1, batch_size=8, verbose=0)
    return m


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_model_save_and_load(tmp_path, model):
    m = _model(model)
    path = tmp_path / "m.seqattn"
    m.save(path)
    loaded = seqattn.load_model(path)
    x = np.array(["a great film", "dull unseen plotting", ""])
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    vec = next(l for l in loaded.layers if isinstance(l, TextVectorization))
    assert vec.split.get_config() == m.get_layer("vec").split.get_config()


def _tokenizer_doc(saved_bytes):
    members = read_members(saved_bytes)
    config = json.loads(members["config.json"])
    entry = next(e for e in config["model"]["layers"]
                 if e.get("class_name") == "TextVectorization")
    return members, config, entry["config"]["split"]


def _with_split(members, config, split, path):
    for e in config["model"]["layers"]:
        if e.get("class_name") == "TextVectorization":
            e["config"]["split"] = split
    path.write_bytes(repack({**members, "config.json": json.dumps(config).encode()}))
    return path


def _inner_edits(tokenizer_json):
    """Crafted tokenizer JSONs: pipeline parts swapped for others (a regex Replace, a
    post-processor, another model kind), vocabularies broken, text that is not JSON."""
    doc = json.loads(tokenizer_json)
    edits = {"not json": "{", "empty": "", "list": "[]", "huge nesting": "[" * 500 + "]" * 500,
             "deeper than the stack": "[" * 200_000 + "]" * 200_000}

    def edit(name, change):
        copy = json.loads(tokenizer_json)
        change(copy)
        edits[name] = json.dumps(copy)
    edit("regex normalizer", lambda d: d.__setitem__(
        "normalizer", {"type": "Replace", "pattern": {"Regex": "(a+)+$"}, "content": ""}))
    edit("post processor", lambda d: d.__setitem__(
        "post_processor", {"type": "BertProcessing", "sep": ["[SEP]", 1], "cls": ["[CLS]", 0]}))
    edit("other model", lambda d: d.__setitem__("model", {"type": "WordLevel", "vocab": {},
                                                           "unk_token": "[UNK]"}))
    edit("vocab ids", lambda d: d["model"].__setitem__("vocab", {"a": 5, "b": 5}))
    edit("vocab list", lambda d: d["model"].__setitem__("vocab", ["a"]))
    edit("no model", lambda d: d.pop("model"))
    edit("extra key", lambda d: d.__setitem__("x", 1))
    edit("added tokens", lambda d: d.__setitem__("added_tokens", [{"id": 0}]))
    edit("truncation", lambda d: d.__setitem__("truncation", {"max_length": 1}))
    for key in doc["model"]:
        for name, raw in HOSTILE.items():
            edit(f"model.{key}={name}", lambda d, k=key, r=raw: d["model"].__setitem__(
                k, json.loads(r) if name not in ("inf", "-inf", "nan") else r))
    return edits


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_crafted_tokenizer_fields_are_file_format_errors(tmp_path, model):
    """Every crafted split or tokenizer field loads into a usable model or raises
    FileFormatError naming the file (test_file_fuzz's oracle), never another exception."""
    m = _model(model)
    m.save(tmp_path / "m.seqattn")
    members, config, split = _tokenizer_doc((tmp_path / "m.seqattn").read_bytes())
    cases = {f"split={k}": json.loads(v) if k not in ("inf", "-inf", "nan") else v
             for k, v in HOSTILE.items() if k != "deep"}
    cases["class_name"] = {**split, "class_name": "Tokenizer"}
    for key in split["config"]:
        for k, v in HOSTILE.items():
            if k not in ("deep", "inf", "-inf", "nan"):
                cases[f"config.{key}={k}"] = {**split, "config": {**split["config"],
                                                                   key: json.loads(v)}}
        cases[f"config.{key} missing"] = {**split, "config": {
            k: v for k, v in split["config"].items() if k != key}}
    for name, text in _inner_edits(split["config"]["tokenizer"]).items():
        cases[f"tokenizer {name}"] = {**split, "config": {**split["config"], "tokenizer": text}}
    refused = 0
    for name, value in cases.items():
        path = _with_split(members, json.loads(json.dumps(config)), value,
                           tmp_path / "crafted.seqattn")
        problem = outcome(path)
        assert problem is None, f"{name}: {problem}"
        try:
            seqattn.load_model(path)
        except FileFormatError as e:
            refused += 1
            assert "crafted.seqattn" in str(e)
    assert refused > len(cases) // 2  # most crafted values must be refused, not ignored


def test_bad_arguments_name_the_argument():
    for kwargs, arg in [({"model": "sentencepiece"}, "model"),
                        ({"vocabulary_size": 0}, "vocabulary_size"),
                        ({"vocabulary_size": 2.5}, "vocabulary_size"),
                        ({"vocabulary_size": True}, "vocabulary_size"),
                        ({"model": "bpe", "vocabulary_size": 100}, "vocabulary_size"),
                        ({"lowercase": 1}, "lowercase"),
                        ({"strip_accents": "yes"}, "strip_accents"),
                        ({"min_frequency": -1}, "min_frequency"),
                        ({"suffix_indicator": ""}, "suffix_indicator"),
                        ({"suffix_indicator": "# #"}, "suffix_indicator"),
                        ({"model": "bpe", "suffix_indicator": "##"}, "suffix_indicator"),
                        ({"tokenizer": "{"}, "tokenizer")]:
        with pytest.raises(ValueError, match=f"`{arg}`"):
            SubwordTokenizer(**kwargs)
    with pytest.raises(TypeError, match="`tokenizer`"):
        SubwordTokenizer(tokenizer={"a": 1})
    with pytest.raises(ValueError, match="not trained"):
        SubwordTokenizer()("text")
    with pytest.raises(ValueError, match="split"):
        TextVectorization.from_config({"split": {"class_name": "Other", "config": {}}})


def test_calls_from_several_threads_agree():
    """`tokenizers` encodes with shared read-only state (the BPE cache is behind a lock):
    four threads vectorizing at once give the single-threaded ids."""
    for model in ("wordpiece", "bpe"):
        vec = _vectorizer(model)
        vec.adapt(CORPUS)
        texts = [f"{a} {b} unseenword{i}" for i, (a, b) in
                 enumerate(zip(CORPUS * 20, reversed(CORPUS * 20)))]
        want = vec(texts)
        results, errors = [None] * 4, []

        def work(k):
            try:
                for _ in range(5):
                    results[k] = vec(texts)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for got in results:
            np.testing.assert_array_equal(got, want)


def test_without_the_package(monkeypatch, tmp_path):
    m = _model("wordpiece")
    m.save(tmp_path / "m.seqattn")
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import tokenizers -> ImportError
    with pytest.raises(ImportError, match=r'pip install "seqattn\[subword\]"'):
        SubwordTokenizer()
    with pytest.raises(ImportError, match=r"SubwordTokenizer.*pip install \"seqattn\[subword\]\""):
        seqattn.load_model(tmp_path / "m.seqattn")


def test_saving_needs_a_trained_tokenizer(tmp_path):
    vec = _vectorizer("wordpiece")
    vec.set_vocabulary(["great", "plot"])  # a vocabulary, but the tokenizer never trained
    text = seqattn.Input(shape=(), dtype="string", name="text")
    out = layers.Dense(1)(layers.GlobalAveragePooling1D()(layers.Embedding(4, 2)(vec(text))))
    with pytest.raises(ValueError, match="SubwordTokenizer.*not trained"):
        seqattn.Model(text, out).save(tmp_path / "m.seqattn")


def test_import_seqattn_never_imports_tokenizers():
    import subprocess
    code = "import sys, seqattn; assert 'tokenizers' not in sys.modules, 'tokenizers imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_onnx_vocabulary_file_holds_the_tokenizer(tmp_path):
    """The JSON beside the .onnx graph carries the trained tokenizer: `tokenizers` alone
    (Tokenizer.from_str) or text_vectorizers() rebuild the ids the graph takes."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    m = _model("bpe")
    written = seqattn.export.to_onnx(m, tmp_path / "m.onnx")
    doc = json.loads((tmp_path / "m.vocabulary.json").read_text(encoding="utf-8"))
    split = doc["inputs"]["text"]["config"]["split"]
    assert split["class_name"] == "SubwordTokenizer"
    other_side = tokenizers.Tokenizer.from_str(split["config"]["tokenizer"])
    assert other_side.encode("great plot", add_special_tokens=False).tokens == \
        m.get_layer("vec").split("great plot")
    rebuilt = seqattn.export.vocabulary.text_vectorizers(written[1])["text"]
    x = ["a great film", "dull unseen plotting", ""]
    ids = rebuilt(x)
    np.testing.assert_array_equal(ids, m.get_layer("vec")(x))
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"text": ids})[0]
    np.testing.assert_allclose(got, m.predict(np.array(x), verbose=0), atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_cli_trains_with_a_subword_tokenizer(tmp_path, capsys, kind):
    from seqattn import cli
    out = tmp_path / "sub.seqattn"
    assert cli.main(["train", "--data", "builtin", "--epochs", "1", "--out", str(out),
                     "--verbose", "0", "--threads", "1", "--tokenizer", kind,
                     "--subword-vocab-size", "400"]) == 0
    assert "validation: loss" in capsys.readouterr().out
    model = seqattn.load_model(out)
    vec = model.get_layer("vectorizer")
    assert vec.split.model == kind and vec.split.vocabulary_size == 400
    assert cli.main(["predict", str(out), "the acting was superb"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in ("positive", "negative")


def test_cli_bpe_vocab_size_error(capsys):
    from seqattn import cli
    assert cli.main(["train", "--data", "builtin", "--tokenizer", "bpe",
                     "--subword-vocab-size", "100"]) == 2
    assert "--subword-vocab-size must be at least 256" in capsys.readouterr().err
