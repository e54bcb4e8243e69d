"""seqattn.datasets loaders: hand-built fixtures in every layout, Keras's imdb.load_data
conventions worked out by hand, malformed files (each error names the file and the line),
and the real files in ../shared/data (counts and SHA-256 from their READMEs)."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import numpy as np
import pytest

from datasets_fixtures import (IMDB_REVIEWS, write_imdb_csv, write_imdb_folder,
                               write_imdb_tar)
from seqattn import datasets
from seqattn.datasets import imdb, labelled_sentences, mr, sst2

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"the shared datasets are not at {SHARED} (CI has ../shared beside the project)")


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    monkeypatch.delenv("SEQATTN_DATA", raising=False)


def imdb_layouts(tmp_path):
    """The same 6 reviews as an aclImdb folder, a parent folder, a .tar.gz and a CSV."""
    folder = write_imdb_folder(tmp_path / "f")
    tar = write_imdb_tar(tmp_path / "aclImdb_v1.tar.gz")
    csv = write_imdb_csv(tmp_path / "train.csv")
    return {"folder": folder, "parent": folder.parent, "tar": tar, "csv": csv}


# ----------------------------------------------------------------------------- IMDB texts
TRAIN = [(t, int(r >= 7)) for s, i, r, t in IMDB_REVIEWS if s == "train"]  # id order, neg 1st
TEST = [(t, int(r >= 7)) for s, i, r, t in IMDB_REVIEWS if s == "test"]


@pytest.mark.parametrize("layout", ["folder", "parent", "tar", "csv"])
def test_imdb_load_texts_every_layout(tmp_path, layout):
    path = imdb_layouts(tmp_path)[layout]
    texts, labels = imdb.load_texts(path, split="train")
    assert texts == [t for t, _ in TRAIN]          # unchanged, <br /> kept, unsup ignored
    assert labels.dtype == np.int32 and labels.tolist() == [y for _, y in TRAIN]
    if layout == "csv":
        with pytest.raises(ValueError, match="only the training split"):
            imdb.load_texts(path, split="test")
    else:
        texts, labels = imdb.load_texts(path, split="test")
        assert texts == [t for t, _ in TEST] and labels.tolist() == [0, 1]


def test_imdb_strip_html_and_split_argument(tmp_path):
    folder = write_imdb_folder(tmp_path)
    texts, _ = imdb.load_texts(folder, strip_html=True)
    assert texts[0] == "Bad bad film.  Bad!"
    with pytest.raises(ValueError, match="split='train' or split='test'"):
        imdb.load_texts(folder, split="validation")


def test_imdb_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        imdb.load_texts(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="aclImdb layout"):
        imdb.load_texts(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="neither a .csv file nor a tar archive"):
        imdb.load_texts(tmp_path / "notes.txt")


def test_imdb_folder_missing_split_and_bad_files(tmp_path):
    folder = write_imdb_folder(tmp_path)
    bad = folder / "train" / "pos" / "2_8.txt"
    bad.write_bytes(b"fine\n\xff bad byte")
    with pytest.raises(ValueError, match=re.escape(f"'{bad}', line 2") + ".*not valid utf-8"):
        imdb.load_texts(folder)
    bad.unlink()
    (folder / "train" / "pos" / "review.txt").write_text("x")
    with pytest.raises(ValueError, match="review.txt.*<id>_<rating>.txt"):
        imdb.load_texts(folder)
    (folder / "train" / "pos" / "review.txt").unlink()
    for f in (folder / "test").rglob("*.txt"):
        f.unlink()
    for d in ("pos", "neg"):
        (folder / "test" / d).rmdir()
    with pytest.raises(FileNotFoundError, match="'test' split is missing"):
        imdb.load_texts(folder, split="test")


def test_imdb_damaged_archive(tmp_path):
    data = write_imdb_tar(tmp_path / "a.tar.gz").read_bytes()
    (tmp_path / "b.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot read the archive"):
        imdb.load_texts(tmp_path / "b.tar.gz")


# ------------------------------------------------------------ IMDB load_data, by hand
# ids = rank + 3: good 4, bad 5, film 6, a 7, cast 8, dull 9; start_char 1.
BASE_TRAIN = [[1, 5, 5, 6, 5], [1, 7, 4, 6, 7, 4, 8], [1, 9, 6, 5, 8], [1, 4, 4, 4]]
BASE_TRAIN_Y = [0, 1, 0, 1]
# "awful", "unseen", "words" never occur in training: skipped.
BASE_TEST = [[1, 6, 5, 5, 6], [1, 7, 4, 8, 7, 4, 6]]
BASE_TEST_Y = [0, 1]


def keras_orders(seed, n_train=4, n_test=2):
    rng = np.random.RandomState(seed)
    a = np.arange(n_train)
    rng.shuffle(a)
    b = np.arange(n_test)
    rng.shuffle(b)
    return a, b


def as_lists(x):
    assert isinstance(x, np.ndarray) and x.dtype == object and x.ndim == 1
    assert all(type(s) is list and all(type(w) is int for w in s) for s in x)
    return [list(s) for s in x]


def check(result, train, train_y, test, test_y, seed=113):
    (x_train, y_train), (x_test, y_test) = result
    a, b = keras_orders(seed, len(train), len(test))
    assert as_lists(x_train) == [train[i] for i in a]
    assert y_train.dtype == np.int32 and y_train.tolist() == [train_y[i] for i in a]
    assert as_lists(x_test) == [test[i] for i in b]
    assert y_test.tolist() == [test_y[i] for i in b]


@pytest.mark.parametrize("layout", ["folder", "tar"])
def test_imdb_load_data_defaults(tmp_path, layout):
    path = imdb_layouts(tmp_path)[layout]
    check(imdb.load_data(path), BASE_TRAIN, BASE_TRAIN_Y, BASE_TEST, BASE_TEST_Y)
    assert imdb.get_word_index(path) == {"good": 1, "bad": 2, "film": 3, "a": 4, "cast": 5,
                                         "dull": 6}


def test_imdb_load_data_csv_has_empty_test_split(tmp_path):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(write_imdb_csv(tmp_path / "t.csv"))
    a, _ = keras_orders(113)
    assert as_lists(x_train) == [BASE_TRAIN[i] for i in a]
    assert x_test.shape == (0,) and y_test.shape == (0,) and y_test.dtype == np.int32
    # maxlen does not call the (by design) empty test split an error.
    (x_train, _), _ = imdb.load_data(tmp_path / "t.csv", maxlen=5)
    assert as_lists(x_train) == [[1, 4, 4, 4]]


def test_imdb_seed_shuffles_like_keras(tmp_path):
    folder = write_imdb_folder(tmp_path)
    seen = set()
    for seed in (0, 1, 7, 113, 2024):
        check(imdb.load_data(folder, seed=seed), BASE_TRAIN, BASE_TRAIN_Y, BASE_TEST,
              BASE_TEST_Y, seed=seed)
        (x, _), _ = imdb.load_data(folder, seed=seed)
        seen.add(tuple(map(tuple, x)))
    assert len(seen) > 1        # the seed really changes the order


def test_imdb_start_char_and_index_from(tmp_path):
    folder = write_imdb_folder(tmp_path)
    strip = [s[1:] for s in BASE_TRAIN]
    check(imdb.load_data(folder, start_char=None), strip, BASE_TRAIN_Y,
          [s[1:] for s in BASE_TEST], BASE_TEST_Y)
    shifted = [[9] + [w + 7 for w in s[1:]] for s in BASE_TRAIN]   # index_from 10
    check(imdb.load_data(folder, start_char=9, index_from=10), shifted, BASE_TRAIN_Y,
          [[9] + [w + 7 for w in s[1:]] for s in BASE_TEST], BASE_TEST_Y)


def test_imdb_num_words_skip_top_oov(tmp_path):
    folder = write_imdb_folder(tmp_path)
    # num_words=7 keeps ids < 7 (good 4, bad 5, film 6); a 7, cast 8, dull 9 -> oov 2.
    check(imdb.load_data(folder, num_words=7),
          [[1, 5, 5, 6, 5], [1, 2, 4, 6, 2, 4, 2], [1, 2, 6, 5, 2], [1, 4, 4, 4]], BASE_TRAIN_Y,
          [[1, 6, 5, 5, 6], [1, 2, 4, 2, 2, 4, 6]], BASE_TEST_Y)
    # oov_char=None drops them instead.
    check(imdb.load_data(folder, num_words=7, oov_char=None),
          [[1, 5, 5, 6, 5], [1, 4, 6, 4], [1, 6, 5], [1, 4, 4, 4]], BASE_TRAIN_Y,
          [[1, 6, 5, 5, 6], [1, 4, 4, 6]], BASE_TEST_Y)
    # skip_top=5 replaces ids < 5: "good" (4) and, as in Keras's code, start_char 1.
    check(imdb.load_data(folder, skip_top=5),
          [[2, 5, 5, 6, 5], [2, 7, 2, 6, 7, 2, 8], [2, 9, 6, 5, 8], [2, 2, 2, 2]], BASE_TRAIN_Y,
          [[2, 6, 5, 5, 6], [2, 7, 2, 8, 7, 2, 6]], BASE_TEST_Y)
    check(imdb.load_data(folder, skip_top=5, num_words=8, oov_char=None),
          [[5, 5, 6, 5], [7, 6, 7], [6, 5], []], BASE_TRAIN_Y,
          [[6, 5, 5, 6], [7, 7, 6]], BASE_TEST_Y)
    # num_words=None keeps every word, the largest id (dull, 9) included.
    (x, _), _ = imdb.load_data(folder)
    assert max(max(s) for s in x) == 9


def test_imdb_maxlen_drops_and_empty_split_errors(tmp_path):
    folder = write_imdb_folder(tmp_path)
    # Keras shuffles, then keeps len(x) < maxlen, start_char included: lengths train
    # 5 7 5 4, test 5 7.
    (x_train, y_train), (x_test, y_test) = imdb.load_data(folder, maxlen=6)
    a, b = keras_orders(113)
    kept = [i for i in a if len(BASE_TRAIN[i]) < 6]
    assert len(kept) == 3
    assert as_lists(x_train) == [BASE_TRAIN[i] for i in kept]
    assert y_train.tolist() == [BASE_TRAIN_Y[i] for i in kept]
    assert as_lists(x_test) == [BASE_TEST[0]] and y_test.tolist() == [0]
    (x, _), _ = imdb.load_data(folder, maxlen=8)
    assert sorted(map(len, x)) == [4, 5, 5, 7]                   # dropped, never truncated
    with pytest.raises(ValueError, match="maxlen=5, no sequence was kept in the test split"):
        imdb.load_data(folder, maxlen=5)
    with pytest.raises(ValueError, match="maxlen=4, no sequence was kept in the training"):
        imdb.load_data(folder, maxlen=4)


@pytest.mark.parametrize("kwargs", [{"num_words": 0}, {"maxlen": 0}, {"skip_top": -1},
                                    {"seed": 1.5}, {"index_from": "3"}, {"oov_char": True}])
def test_imdb_load_data_argument_errors(tmp_path, kwargs):
    with pytest.raises(ValueError, match=f"`{next(iter(kwargs))}`"):
        imdb.load_data(tmp_path, **kwargs)


def test_imdb_tokenization_rule():
    assert imdb.standardize("Don't <br />STOP!<BR/>now").split() == ["dont", "stop", "now"]
    assert imdb.standardize("good\u2014but «naïve» it´s €5").split() == [
        "good", "but", "naïve", "its", "€5"]
    assert imdb.standardize("cafe\u0301 Café").split() == ["café", "café"]   # NFC


def test_imdb_word_index_matches_text_vectorization(tmp_path):
    """The local tokenization mirrors TextVectorization's default standardization: the word
    ranks equal the adapted vocabulary's order (after "" and "[UNK]"). If text.py changes its
    standardization, this fails: update imdb.standardize (word ids change) or decide not to."""
    from seqattn.text import TextVectorization
    texts = ["Café cafe\u0301 good\u2014but goodbut", "It´s «naïve» — don't, DON'T!",
             "a\x96b soft\xadhyphen \ufeffbom …dots… x_y $5 €5 <3 a<b", "Ünïcödé  ÜNÏCÖDÉ ß SS",
             "tab\there\u00a0nbsp\u2028line", "the the the. the! and and, film"]
    path = tmp_path / "reviews.csv"
    import csv
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "rating", "label", "text"])
        for i, t in enumerate(texts):
            w.writerow([i, 1, 0, t])
    ranks = imdb.get_word_index(path)
    tv = TextVectorization()
    tv.adapt(texts)
    assert sorted(ranks, key=ranks.get) == list(tv.get_vocabulary()[2:])


# ---------------------------------------------------------------------------------- SST-2
def write_sst2(folder: Path, train=None, dev=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.tsv").write_bytes(train if train is not None else (
        b'sentence\tlabel\nit \'s a "charming" journey \t1\nunflinchingly bleak \t0\n'
        b'a\ttab inside \t1\n'))
    (folder / "dev.tsv").write_bytes(dev if dev is not None else (
        b"sentence\tlabel\n`` hilarious '' \t1\n"))
    return folder


def test_sst2_layouts_and_parsing(tmp_path, monkeypatch):
    folder = write_sst2(tmp_path / "sst2")
    expected = ((["it 's a \"charming\" journey", "unflinchingly bleak", "a\ttab inside"],
                 [1, 0, 1]), (["`` hilarious ''"], [1]))
    for path in (folder, tmp_path, folder / "dev.tsv", str(folder)):
        (a, b), (c, d) = sst2.load_data(path)
        assert ((a, b.tolist()), (c, d.tolist())) == expected
        assert b.dtype == np.int32
    monkeypatch.setenv("SEQATTN_DATA", str(tmp_path))
    (a, _), _ = sst2.load_data()
    assert a == expected[0][0]


def test_missing_data_messages(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as e:
        sst2.load_data()
    for part in ("SEQATTN_DATA", "path=", "train.tsv", "gluebenchmark.com"):
        assert part in str(e.value)
    monkeypatch.setenv("SEQATTN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "mr")) + ".*cornell"):
        mr.load_data()
    with pytest.raises(FileNotFoundError, match="archive.ics.uci.edu"):
        labelled_sentences.load_data(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        sst2.load_data(tmp_path / "nowhere")


@pytest.mark.parametrize("content, line, message", [
    (b"", 1, "empty"),
    (b"sentence\tlabel\n", 1, "no sentences"),
    (b"text,label\n", 1, "expected the header"),
    (b"sentence\tlabel\ngood \t1\nno tab here\n", 3, "no TAB"),
    (b"sentence\tlabel\ngood \t1\nbad \t2\n", 3, "'2' is not 0 or 1"),
    (b"sentence\tlabel\ngood \t1\n\nbad\xe9 \t0\n", 4, "not valid utf-8"),
])
def test_sst2_malformed(tmp_path, content, line, message):
    folder = write_sst2(tmp_path, train=content)
    with pytest.raises(ValueError, match=re.escape(f"'{folder / 'train.tsv'}', line {line}:")
                       + ".*" + message):
        sst2.load_data(folder)


# ------------------------------------------------------------------------------------- MR
def write_mr(folder: Path, pos, neg, encoding="utf-8"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rt-polarity.pos").write_bytes("".join(s + " \n" for s in pos).encode(encoding))
    (folder / "rt-polarity.neg").write_bytes("".join(s + " \n" for s in neg).encode(encoding))
    return folder


POS = [f"good film {i} , très bien" for i in range(20)]
NEG = [f"bad film {i} \u2014 not so" for i in range(20)]


def test_mr_split_is_seeded_and_stratified(tmp_path):
    folder = write_mr(tmp_path / "mr", POS, NEG)
    (a, b), (c, d) = mr.load_data(folder, test_split=0.25, seed=5)
    # The documented procedure, replayed.
    rng = np.random.RandomState(5)
    train, test = [], []
    for label, lines in ((0, NEG), (1, POS)):
        order = rng.permutation(20)
        test += [(lines[i], label) for i in order[:5]]
        train += [(lines[i], label) for i in order[5:]]
    train = [train[i] for i in rng.permutation(30)]
    test = [test[i] for i in rng.permutation(10)]
    assert list(zip(a, b.tolist())) == train and list(zip(c, d.tolist())) == test
    assert d.tolist().count(1) == 5 and b.tolist().count(1) == 15
    assert sorted(a + c) == sorted(POS + NEG)                  # trailing spaces stripped
    (a2, _), _ = mr.load_data(folder, test_split=0.25, seed=6)
    assert a2 != a
    (a3, _), (c3, d3) = mr.load_data(tmp_path, test_split=0)
    assert len(a3) == 40 and c3 == [] and d3.shape == (0,)
    for bad in (1.0, -0.1, "0.1", None):
        with pytest.raises(ValueError, match="test_split"):
            mr.load_data(folder, test_split=bad)


def test_mr_windows_1252_fallback(tmp_path):
    utf8 = write_mr(tmp_path / "u", POS, NEG)
    cp = write_mr(tmp_path / "c", POS, NEG, encoding="cp1252")
    assert (cp / "rt-polarity.pos").read_bytes() != (utf8 / "rt-polarity.pos").read_bytes()
    assert mr.load_data(cp)[0][0] == mr.load_data(utf8)[0][0]
    (cp / "rt-polarity.neg").write_bytes(b"fine \nstill fine \nbad \x81 byte\n")
    with pytest.raises(ValueError, match=re.escape(f"'{cp / 'rt-polarity.neg'}', line 3:")
                       + ".*neither UTF-8 nor Windows-1252"):
        mr.load_data(cp)


# ------------------------------------------------------------------- labelled sentences
def test_labelled_sentences(tmp_path, monkeypatch):
    folder = tmp_path / "sentiment labelled sentences"
    folder.mkdir()
    (folder / "amazon_cells_labelled.txt").write_bytes(
        b'So "good" I cried.\t1\nA\ttab, then the label  \t0\nTerrible.\t0\n')
    (folder / "yelp_labelled.txt").write_bytes(
        "sentence\tscore\nCaf\u00e9 was great.\t1\r\n".encode())
    texts, labels = labelled_sentences.load_data(tmp_path)
    assert texts == ['So "good" I cried.', "A\ttab, then the label", "Terrible."]
    assert labels.tolist() == [1, 0, 0] and labels.dtype == np.int32
    texts, labels = labelled_sentences.load_data(folder, source="yelp")
    assert texts == ["Caf\u00e9 was great."] and labels.tolist() == [1]
    with pytest.raises(ValueError, match="source='amazon' or source='yelp'"):
        labelled_sentences.load_data(folder, source="imdb")
    (folder / "amazon_cells_labelled.txt").write_bytes(b"ok\t1\nno label here\n")
    with pytest.raises(ValueError, match=r"amazon_cells_labelled.txt', line 2: no TAB"):
        labelled_sentences.load_data(folder)
    (folder / "amazon_cells_labelled.txt").write_bytes(b"ok\t1\nok\t1\nhm\tpositive\n")
    with pytest.raises(ValueError, match=r"line 3: the label 'positive' is not 0 or 1"):
        labelled_sentences.load_data(folder)


# ---------------------------------------------------------------------- load_csv/load_tsv
def test_load_csv_quoting_labels_and_options(tmp_path):
    p = tmp_path / "reviews.csv"
    p.write_bytes(
        b'\xef\xbb\xbfid,text,label\n'
        b'1,"Great, really ""great""",pos\n'
        b'2,"two\nlines",negative\n'
        b'3,plain,1\n'
        b'\n'
        b'4, spaced ,  0 \n')
    texts, labels = datasets.load_csv(p)
    assert texts == ['Great, really "great"', "two\nlines", "plain", " spaced "]
    assert labels.tolist() == [1, 0, 1, 0] and labels.dtype == np.int32
    q = tmp_path / "semi.txt"
    q.write_text("review;stars\nbon;2\nmauvais;0\nok;1\n", encoding="latin-1")
    texts, labels = datasets.load_csv(q, text_column="review", label_column="stars",
                                      delimiter=";", encoding="latin-1")
    assert texts == ["bon", "mauvais", "ok"] and labels.tolist() == [2, 0, 1]


def test_load_tsv_has_no_quoting(tmp_path):
    p = tmp_path / "glue.tsv"
    p.write_text('sentence\tlabel\n"quoted" start \t1\nhalf " quote \t0\n', encoding="utf-8")
    texts, labels = datasets.load_tsv(p)
    assert texts == ['"quoted" start ', 'half " quote '] and labels.tolist() == [1, 0]


@pytest.mark.parametrize("content, line, message", [
    (b"", 1, "the file is empty"),
    (b"\n\n", 1, "the file is empty"),
    (b"text,label\n", 1, "header but no data rows"),
    (b"text,label\ngood,1\nbad,\n", 3, "the label is empty"),
    (b"text,label\ngood,1\nbad,-1\n", 3, "'-1' is not a non-negative integer"),
    (b"text,label\ngood,1\nbad,1.0\n", 3, "'1.0' is not a class id"),
    (b"text,label\ngood,yes\n", 2, "'yes' is not a class id"),
    (b'text,label\n"two\nlines",1\nbad,1,extra\n', 4, "3 field\\(s\\) but the header has 2"),
    (b"text,label\ngood,1\nbad\n", 3, "1 field"),
    (b"text,label\ngood,1\n\"open quote,1\n", 3, "malformed CSV row"),
    (b"text,label\ngood,1\n\"quoted\" then text,0\n", 3, "malformed CSV row"),
    (b"text,label\ngood,1\nok,1\nbad\xff,0\n", 4, "not valid utf-8"),
    (b"text,label\ngood,pos\nok,0\nthird,2\n", 4, "binary"),
])
def test_load_csv_malformed(tmp_path, content, line, message):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"'{p}', line {line}:") + ".*" + message):
        datasets.load_csv(p)


def test_load_csv_column_errors(tmp_path):
    p = tmp_path / "cols.csv"
    p.write_text("review,sentiment\ngood,pos\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"'{p}', line 1:") + ".*no text column "
                       "'text'. Available columns: 'review', 'sentiment'"):
        datasets.load_csv(p)
    with pytest.raises(ValueError, match="no label column 'label'"):
        datasets.load_csv(p, text_column="review")
    assert datasets.load_csv(p, "review", "sentiment")[1].tolist() == [1]
    with pytest.raises(ValueError, match="same column"):
        datasets.load_csv(p, "review", "review")
    with pytest.raises(TypeError, match="text_column"):
        datasets.load_csv(p, text_column=0)


@pytest.mark.parametrize("content, line, message", [
    (b"sentence\tlabel\ngood \t1\na\ttab \t0\n", 3, "3 field"),
    (b"sentence\tlabel\ngood \t1\nbad \tneg\nworse \t2\n", 4, "binary"),
    (b"words\tlabel\ngood \t1\n", 1, "no text column 'sentence'"),
])
def test_load_tsv_malformed(tmp_path, content, line, message):
    p = tmp_path / "bad.tsv"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"'{p}', line {line}:") + ".*" + message):
        datasets.load_tsv(p)


def test_synthetic_sentiment_still_exported():
    texts, labels = datasets.synthetic_sentiment(n_samples=10, seed=0)
    assert len(texts) == 10 and labels.dtype == np.int32


# ---------------------------------------------------------------------- the real files
def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@needs_shared
def test_real_imdb_csv():
    path = SHARED / "imdb" / "train.csv"
    assert sha256_of(path) == "00c2bcf8863e0072838030c3c8a71663723c8eb78d7fbe733e80a92442eee35b"
    start = time.perf_counter()
    texts, labels = imdb.load_texts(path)
    seconds = time.perf_counter() - start
    assert len(texts) == 25_000 and labels.tolist().count(1) == 12_500
    assert sum("<br />" in t for t in texts) == 14_665
    assert seconds < 10, f"loading the 33 MB CSV took {seconds:.1f} s"
    t2, l2 = imdb.load_texts(SHARED / "imdb", split="train")     # the folder holding it
    assert t2 == texts and np.array_equal(l2, labels)
    with pytest.raises(ValueError, match="only the training split"):
        imdb.load_texts(path, split="test")
    texts, labels = datasets.load_csv(path)
    assert len(texts) == 25_000 and int(labels.sum()) == 12_500


@needs_shared
def test_real_sst2():
    folder = SHARED / "sst2"
    assert sha256_of(folder / "train.tsv") == \
        "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1"
    assert sha256_of(folder / "dev.tsv") == \
        "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0"
    (a, b), (c, d) = sst2.load_data(folder)
    assert (len(a), int(b.sum()), len(c), int(d.sum())) == (67_349, 37_569, 872, 444)
    assert not any(s.endswith(" ") for s in a + c)
    a2, b2 = datasets.load_tsv(folder / "train.tsv")
    assert [s.rstrip() for s in a2] == a and np.array_equal(b2, b)


@needs_shared
def test_real_mr():
    folder = SHARED / "mr"
    assert sha256_of(folder / "rt-polarity.pos") == \
        "4134882974a28d0c7b5151256f0e33a6169984ee7372c279e673f1114f475d58"
    assert sha256_of(folder / "rt-polarity.neg") == \
        "2d11cfbc790f1cd96d78339f41ce53ced1efa83cd22d37d6788fa3fe3d17e2fd"
    (a, b), (c, d) = mr.load_data(folder)
    assert len(a) + len(c) == 10_662 and len(set(a + c)) == 10_662
    assert (len(c), int(d.sum())) == (1_066, 533)        # 10 % of each class: 533 + 533
    assert int(b.sum()) == 5_331 - 533
    assert mr.load_data(folder)[1][0] == c               # fixed for a seed


@needs_shared
@pytest.mark.parametrize("source, sha", [
    ("amazon", "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3"),
    ("yelp", "c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea"),
])
def test_real_labelled_sentences(source, sha, monkeypatch):
    folder = SHARED / "sentiment_labelled_sentences"
    assert sha256_of(folder / labelled_sentences.FILES[source]) == sha
    monkeypatch.setenv("SEQATTN_DATA", str(SHARED))
    texts, labels = labelled_sentences.load_data(source=source)
    assert len(texts) == 1_000 and int(labels.sum()) == 500
