"""TextVectorization: Keras "int" mode semantics in pure Python + NumPy."""

import csv
import html
import json
import os
import re
import string
import time
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn.text import TextVectorization
from text_models import WORDS_AND_PAIRS_TEXTS, words_and_pairs_model

# The IMDB training reviews (not part of the repository): the real-data tests skip without
# them. SEQATTN_IMDB_CSV overrides the location.
IMDB_TRAIN = Path(os.environ.get("SEQATTN_IMDB_CSV", Path(__file__).resolve().parents[2]
                                  / "shared" / "data" / "imdb" / "train.csv"))

CORPUS = ["The cat sat on the mat.", "The dog sat!", "A cat, a dog."]
# Counts after lowercasing and stripping punctuation:
#   the 3 | a 2, cat 2, dog 2, sat 2 | mat 1, on 1
# Descending count, ties in alphabetical order.
VOCAB = ["", "[UNK]", "the", "a", "cat", "dog", "sat", "mat", "on"]


@pytest.fixture
def vec():
    v = TextVectorization()
    v.adapt(CORPUS)
    return v


def test_adapt_builds_the_hand_worked_vocabulary(vec):
    assert vec.get_vocabulary() == VOCAB
    assert vec.get_vocabulary(include_special_tokens=False) == VOCAB[2:]
    assert vec.vocabulary_size() == 9


def test_call_pads_to_the_longest_in_the_batch(vec):
    out = vec(CORPUS)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[2, 4, 6, 8, 2, 7],
                                        [2, 5, 6, 0, 0, 0],
                                        [3, 4, 3, 5, 0, 0]])
    # Each batch is padded to its own longest text.
    np.testing.assert_array_equal(vec(["the dog", "a"]), [[2, 5], [3, 0]])


def test_output_sequence_length_pads_and_truncates_at_the_end():
    vec = TextVectorization(output_sequence_length=5)
    vec.adapt(CORPUS)
    out = vec(CORPUS)
    assert out.shape == (3, 5) and out.dtype == np.int32
    np.testing.assert_array_equal(out, [[2, 4, 6, 8, 2],   # "mat" cut off
                                        [2, 5, 6, 0, 0],
                                        [3, 4, 3, 5, 0]])
    np.testing.assert_array_equal(vec(["", "cat"]), [[0] * 5, [4, 0, 0, 0, 0]])


def test_unknown_words_map_to_one(vec):
    np.testing.assert_array_equal(vec(["the bird sat", "zebra"]), [[2, 1, 6], [1, 0, 0]])


def test_single_string_is_a_batch_of_one(vec):
    out = vec("The cat.")
    assert out.shape == (1, 2)
    np.testing.assert_array_equal(out, [[2, 4]])


def test_array_and_bytes_inputs(vec):
    np.testing.assert_array_equal(vec(np.array(["the cat", "a dog sat"])), [[2, 4, 0], [3, 5, 6]])
    np.testing.assert_array_equal(vec(np.array([["the cat"], ["a"]])), [[2, 4], [3, 0]])
    np.testing.assert_array_equal(vec((b"the cat", "dog")), [[2, 4], [5, 0]])


def test_empty_inputs(vec):
    assert vec([]).shape == (0, 0)
    assert vec(["", "..."]).shape == (2, 0)
    assert TextVectorization(output_sequence_length=4, vocabulary=["a"])([]).shape == (0, 4)


def test_max_tokens_includes_the_two_reserved_entries():
    vec = TextVectorization(max_tokens=5)
    vec.adapt(CORPUS)
    assert vec.get_vocabulary() == ["", "[UNK]", "the", "a", "cat"]
    assert vec.vocabulary_size() == 5
    np.testing.assert_array_equal(vec(["the dog sat"]), [[2, 1, 1]])
    vec = TextVectorization(max_tokens=3)
    vec.adapt(CORPUS)
    assert vec.get_vocabulary() == ["", "[UNK]", "the"]
    vec = TextVectorization(max_tokens=1000)
    vec.adapt(CORPUS)
    assert vec.get_vocabulary() == VOCAB


def test_tie_breaking_is_alphabetical_and_independent_of_input_order():
    texts = ["zeta alpha mid", "mid beta", "alpha zeta gamma"]
    # alpha 2, mid 2, zeta 2 | beta 1, gamma 1
    expected = ["", "[UNK]", "alpha", "mid", "zeta", "beta", "gamma"]
    rng = np.random.default_rng(0)
    for _ in range(5):
        vec = TextVectorization()
        vec.adapt([texts[i] for i in rng.permutation(len(texts))])
        assert vec.get_vocabulary() == expected


def test_adapt_replaces_the_previous_vocabulary(vec):
    vec.adapt(["x y y"])
    assert vec.get_vocabulary() == ["", "[UNK]", "y", "x"]


def test_standardize_modes():
    text = "Hello, World! It's GREAT."
    cases = {
        "lower_and_strip_punctuation": ["hello", "world", "its", "great"],
        "lower": ["hello,", "world!", "it's", "great."],
        "strip_punctuation": ["Hello", "World", "Its", "GREAT"],
        None: ["Hello,", "World!", "It's", "GREAT."],
    }
    for mode, tokens in cases.items():
        vec = TextVectorization(standardize=mode)
        vec.adapt([text])
        assert sorted(vec.get_vocabulary()[2:]) == sorted(tokens), mode
        np.testing.assert_array_equal(vec([text])[0], [vec.get_vocabulary().index(t)
                                                      for t in tokens])


def test_punctuation_stripping_is_unicode_aware_and_matches_keras_on_ascii():
    vec = TextVectorization()
    vec.adapt(["«Café» ¿qué? — “naïve” 5€ a+b=c <br />x|y ~z^ $9 100%"])
    # Unicode punctuation (category P*) goes; currency symbols like € stay; the
    # ASCII symbols Keras strips ($+<=>^`|~) go too.
    assert sorted(vec.get_vocabulary()[2:]) == sorted(
        ["café", "qué", "naïve", "5€", "abc", "br", "xy", "z", "9", "100"])
    # Same stripping through the ASCII fast path and the Unicode path.
    np.testing.assert_array_equal(vec(["a+b=c, café!"]), vec(["abc café"]))
    np.testing.assert_array_equal(vec(["a+b=c, 9!"]), vec(["abc 9"]))


def test_split_modes():
    vec = TextVectorization(split="character", standardize=None)
    vec.adapt(["ab a"])
    assert vec.get_vocabulary() == ["", "[UNK]", "a", " ", "b"]
    np.testing.assert_array_equal(vec(["ba"]), [[4, 2]])
    vec = TextVectorization(split=None)
    vec.adapt(["Good film", "good film!", "bad"])
    assert vec.get_vocabulary() == ["", "[UNK]", "good film", "bad"]
    np.testing.assert_array_equal(vec(["GOOD FILM", "other", ""]), [[2], [1], [0]])


def test_callable_standardize_and_split():
    vec = TextVectorization(standardize=lambda s: s.upper(), split=lambda s: s.split("-"))
    vec.adapt(["a-b-a"])
    assert vec.get_vocabulary() == ["", "[UNK]", "A", "B"]
    np.testing.assert_array_equal(vec(["b-a-c"]), [[3, 2, 1]])


def test_set_vocabulary_with_and_without_reserved_tokens():
    vec = TextVectorization()
    vec.set_vocabulary(["the", "cat"])
    assert vec.get_vocabulary() == ["", "[UNK]", "the", "cat"]
    vec.set_vocabulary(["", "[UNK]", "dog"])
    assert vec.get_vocabulary() == ["", "[UNK]", "dog"]
    np.testing.assert_array_equal(vec(["Dog cat"]), [[2, 1]])
    vec = TextVectorization(vocabulary=np.array(["x", "y"]), output_sequence_length=3)
    np.testing.assert_array_equal(vec("y x z"), [[3, 2, 1]])


def test_get_config_round_trip(vec):
    config = vec.get_config()
    for key, value in {"max_tokens": None, "output_sequence_length": None,
                       "standardize": "lower_and_strip_punctuation",
                       "split": "whitespace", "output_mode": "int"}.items():
        assert config[key] == value
    assert config["vocabulary"] == VOCAB
    clone = TextVectorization.from_config(config)
    np.testing.assert_array_equal(clone(CORPUS), vec(CORPUS))
    fresh = TextVectorization(max_tokens=100, output_sequence_length=7, name="tv").get_config()
    assert fresh["max_tokens"] == 100 and fresh["output_sequence_length"] == 7
    assert fresh["name"] == "tv" and fresh["vocabulary"] is None


# ---------------------------------------------------------------------- errors


def test_calling_before_adapt_names_the_layer():
    vec = TextVectorization(name="my_vectorizer")
    with pytest.raises(ValueError, match=r"TextVectorization layer 'my_vectorizer'.*adapt"):
        vec(["hello"])


@pytest.mark.parametrize("bad, what", [
    ([["a", "b"], "c"], "Element 0"),
    (["ok", 5], r"Element 1 is 5 \(of type int\)"),
    (["ok", None], "Element 1 is None"),
    (5, r"5 \(of type int\)"),
    ({"a": 1}, "dict"),
    (np.array([1, 2]), "Element 0 is 1"),
])
def test_non_string_input_raises_type_error(vec, bad, what):
    with pytest.raises(TypeError, match=what):
        vec(bad)
    with pytest.raises(TypeError, match=what):
        TextVectorization().adapt(bad)


def test_wrong_array_shape(vec):
    with pytest.raises(ValueError, match=r"shape \(1, 2, 2\)"):
        vec(np.array([[["a", "b"], ["c", "d"]]]))


def test_adapt_on_empty_list():
    with pytest.raises(ValueError, match="empty"):
        TextVectorization().adapt([])


@pytest.mark.parametrize("bad", [0, 1, 2, -5, True, 2.5, 10.0, "10"])
def test_bad_max_tokens(bad):
    with pytest.raises(ValueError, match=r"`max_tokens`.*Received: max_tokens="):
        TextVectorization(max_tokens=bad)


@pytest.mark.parametrize("bad", [0, -1, True, 3.0, "8"])
def test_bad_output_sequence_length(bad):
    with pytest.raises(ValueError, match=r"`output_sequence_length`.*Received"):
        TextVectorization(output_sequence_length=bad)


def test_bad_modes():
    with pytest.raises(ValueError, match="`standardize`"):
        TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="`split`"):
        TextVectorization(split="comma")
    with pytest.raises(ValueError, match="`output_mode`"):
        TextVectorization(output_mode="multi_hot")
    with pytest.raises(TypeError):
        TextVectorization(20000, 200)  # everything after max_tokens is keyword-only


def test_bad_vocabularies():
    vec = TextVectorization(max_tokens=4)
    with pytest.raises(ValueError, match="repeated tokens"):
        vec.set_vocabulary(["a", "b", "a"])
    with pytest.raises(ValueError, match="reserved"):
        vec.set_vocabulary(["a", "[UNK]"])
    with pytest.raises(ValueError, match="reserved"):
        vec.set_vocabulary(["", "a"])
    with pytest.raises(ValueError, match="max_tokens=4"):
        vec.set_vocabulary(["a", "b", "c"])
    with pytest.raises(TypeError, match="list of string tokens"):
        vec.set_vocabulary("a b")
    with pytest.raises(TypeError, match="Element 1"):
        vec.set_vocabulary(["a", 3])
    vec.set_vocabulary(["a", "b"])  # exactly max_tokens entries is fine
    assert vec.vocabulary_size() == 4




# ---------------------------------------------------------------------- n-grams


def test_ngrams_int_means_all_sizes_up_to_n_in_tf_strings_ngrams_order():
    vec = TextVectorization(ngrams=2)
    vec.adapt(["The cat sat.", "the cat ran"])
    # the 2 | cat 2 | the cat 2 | ran 1, sat 1, cat ran 1, cat sat 1 (ties alphabetical)
    assert vec.get_vocabulary() == ["", "[UNK]", "cat", "the", "the cat", "cat ran", "cat sat",
                                    "ran", "sat"]
    # Per text: all 1-grams, then all 2-grams; padding to the longest row.
    np.testing.assert_array_equal(vec(["the cat sat", "cat", "sat the"]),
                                  [[3, 2, 8, 4, 6], [2, 0, 0, 0, 0], [8, 3, 1, 0, 0]])
    assert vec.ngrams == 2 and vec.get_config()["ngrams"] == 2


def test_ngrams_tuple_lists_the_sizes_in_the_given_order():
    text = "a b c d"
    vec = TextVectorization(ngrams=(3, 1))
    vec.adapt([text])
    vocab = vec.get_vocabulary()
    assert vocab == ["", "[UNK]", "a", "a b c", "b", "b c d", "c", "d"]
    ids = vec([text])[0].tolist()
    assert [vocab[i] for i in ids] == ["a b c", "b c d", "a", "b", "c", "d"]
    vec = TextVectorization(ngrams=(2,), vocabulary=["a b", "b c", "c d"])
    np.testing.assert_array_equal(vec(["a b c d", "a", ""]), [[2, 3, 4], [0, 0, 0], [0, 0, 0]])
    vec = TextVectorization(ngrams=3)
    vec.adapt(["x y z x y"])
    assert sorted(vec.get_vocabulary()[2:]) == sorted(
        ["x", "y", "z", "x y", "y z", "z x", "x y z", "y z x", "z x y"])
    assert vec.get_vocabulary()[2:4] == ["x", "x y"]  # counts 2: x, x y, y (alphabetical)


def test_ngrams_texts_shorter_than_n_have_none_of_that_size():
    vec = TextVectorization(ngrams=(1, 3), vocabulary=["a", "b", "a b c"])
    np.testing.assert_array_equal(vec(["a b", "a b c"]), [[2, 3, 0, 0], [2, 3, 1, 4]])


def test_ngrams_with_output_sequence_length_truncate_the_whole_sequence_at_the_end():
    # Keras: the n-grams are made first, then the sequence is cut to the length.
    vec = TextVectorization(ngrams=2, output_sequence_length=5,
                            vocabulary=["a", "b", "c", "a b", "b c", "c d"])
    vocab = vec.get_vocabulary()
    out = vec(["a b c d", "a b c", "a b c d e f g", "c d"])
    assert [[vocab[i] for i in row] for row in out.tolist()] == [
        ["a", "b", "c", "[UNK]", "a b"],      # 4 unigrams + the first bigram
        ["a", "b", "c", "a b", "b c"],
        ["a", "b", "c", "[UNK]", "[UNK]"],    # the unigrams fill the row
        ["c", "[UNK]", "c d", "", ""]]
    vec = TextVectorization(ngrams=(2,), output_sequence_length=2, vocabulary=["a b", "b c"])
    np.testing.assert_array_equal(vec(["a b c d e"]), [[2, 3]])


def test_ngrams_with_character_split():
    vec = TextVectorization(ngrams=2, split="character", standardize=None)
    vec.adapt(["abab"])
    # a 2, b 2, "a b" 2 | "b a" 1
    assert vec.get_vocabulary() == ["", "[UNK]", "a", "a b", "b", "b a"]
    np.testing.assert_array_equal(vec(["ab"]), [[2, 4, 3]])


def test_ngrams_with_a_callable_split():
    vec = TextVectorization(ngrams=2, split=lambda s: s.split("-"), standardize=None)
    vec.adapt(["x-y-x-y"])
    assert vec.get_vocabulary() == ["", "[UNK]", "x", "x y", "y", "y x"]


def _reference_tokens(text, widths):
    """Whitespace tokens and their n-grams, written out directly (no shared code)."""
    words = text.split()
    out = []
    for n in widths:
        out += [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    return out


def _reference_vocabulary(token_lists, max_tokens):
    counts = Counter(tok for tokens in token_lists for tok in tokens)
    counts.pop("", None)
    counts.pop("[UNK]", None)
    ranked = sorted(counts, key=lambda tok: (-counts[tok], tok))
    if max_tokens is not None:
        ranked = ranked[:max_tokens - 2]
    return ["", "[UNK]"] + ranked


@pytest.mark.parametrize("ngrams", [2, 3, (2,), (3, 1), (1, 4, 2)])
def test_ngram_adapt_and_call_match_a_direct_implementation_on_random_texts(ngrams):
    rng = np.random.default_rng(0)
    widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
    words = ["a", "b", "c", "d", "ee", "[UNK]"]
    for trial in range(40):
        texts = [" ".join(rng.choice(words, int(rng.integers(0, 9))).tolist())
                 for _ in range(int(rng.integers(1, 15)))]
        max_tokens = [None, 3, 6, 12, 30][trial % 5]
        length = [None, 1, 3, 8, 40][trial % 5]
        vec = TextVectorization(max_tokens, ngrams=ngrams, standardize=None,
                                output_sequence_length=length)
        vec.adapt(texts)
        token_lists = [_reference_tokens(t, widths) for t in texts]
        vocab = _reference_vocabulary(token_lists, max_tokens)
        assert vec.get_vocabulary() == vocab, (texts, max_tokens)
        index = {tok: i for i, tok in enumerate(vocab)}
        rows = [[index.get(tok, 1) for tok in tokens][:length] for tokens in token_lists]
        width = length if length is not None else max(map(len, rows))
        expected = [row + [0] * (width - len(row)) for row in rows]
        np.testing.assert_array_equal(vec(texts), np.array(expected, dtype=np.int32).reshape(
            len(texts), width))


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "2", (), (0,), (1, -2), (1, 2.0),
                                 (1, True), {1, 2}, [2, "3"]])
def test_bad_ngrams(bad):
    with pytest.raises(ValueError, match=r"`ngrams`.*Received: ngrams="):
        TextVectorization(ngrams=bad)


def test_ngrams_errors_that_name_the_problem():
    with pytest.raises(ValueError, match=r"sizes must be distinct.*ngrams=\(1, 2, 1\)"):
        TextVectorization(ngrams=(1, 2, 1))
    with pytest.raises(ValueError, match=r"`ngrams` with split=None.*each text is a single token"):
        TextVectorization(ngrams=2, split=None)
    # Integers of any kind, lists (as a JSON config gives back) and size 1 alone are fine.
    assert TextVectorization(ngrams=np.int64(2))._widths == (1, 2)
    assert TextVectorization(ngrams=[1, 3]).ngrams == (1, 3)
    vec = TextVectorization(ngrams=1, vocabulary=["a"])
    np.testing.assert_array_equal(vec(["a b"]), [[2, 1]])


# ---------------------------------------------------------------------- HTML


def test_default_keeps_html_tags_as_keras_does():
    # Keras' default standardization deletes "<", "/" and ">": "<br />" becomes "br", glued to
    # the neighbouring words when there is no space (as in most IMDB reviews).
    assert _tokens("Great film.<br /><br />It was fun") == [
        "great", "filmbr", "br", "it", "was", "fun"]
    assert _tokens("a <br /> b <br/>c<p>d</p>") == ["a", "br", "b", "brcpdp"]
    assert _tokens("x<br />y", standardize="lower") == ["x<br", "/>y"]
    assert TextVectorization().get_config()["strip_html"] is False


@pytest.mark.parametrize("tag", ["<br />", "<br/>", "<br>", "<BR>", "<p>", "</p>", "<hr>",
                                 "<i>", "</i>", "<SPOILER>", '<a href="https://x.org/?a=1&b=2">',
                                 "<span\nclass='x'>", "<!-- note -->", "<!DOCTYPE html>",
                                 "<?xml version='1.0'?>"])
def test_strip_html_replaces_each_tag_with_a_space(tag):
    vec = TextVectorization(strip_html=True, standardize=None, vocabulary=["good", "film"])
    np.testing.assert_array_equal(vec([f"good{tag}film", f"good {tag} film"]),
                                  [[2, 3], [2, 3]])


def test_strip_html_on_a_review_and_what_is_not_a_tag():
    assert _tokens("Great film.<br /><br />It was <i>fun</i> &amp; I &lt;3 it. Q&amp;A",
                   strip_html=True) == ["great", "film", "it", "was", "fun", "i", "3", "it", "qa"]
    # "<" not followed by a letter (or "/", "!", "?" and a letter), or never closed: text.
    assert _tokens("a < b, x<3 y, <= 8, >.<, x <y", strip_html=True) == [
        "a", "b", "x3", "y", "8", "x", "y"]


def test_strip_html_runs_before_standardize_and_decodes_entities():
    seen = []

    def standardize(text):
        seen.append(text)
        return text

    vec = TextVectorization(strip_html=True, standardize=standardize)
    vec.adapt(["a<br />b &amp; c&#8217;s &nbsp;d &lt;br&gt;"])
    assert seen == ["a b & c\u2019s \xa0d <br>"]
    # An escaped tag is text, not markup: it stays, and the default stripping makes it "br".
    vec = TextVectorization(strip_html=True)
    vec.adapt(["a&lt;br /&gt;b"])
    assert vec.get_vocabulary()[2:] == ["abr", "b"]


def test_bad_strip_html():
    for bad in (None, 1, "yes", 0.0):
        with pytest.raises(ValueError, match=r"`strip_html`.*Received: strip_html="):
            TextVectorization(strip_html=bad)
    assert TextVectorization(strip_html=np.bool_(True)).strip_html is True


# ---------------------------------------------------------------------- Unicode


@pytest.mark.parametrize("texts", [
    ["Ça va"], np.array(["Ça va"]), [np.str_("Ça va")], np.array(["Ça va"], dtype=object),
    np.array([np.str_("Ça va")], dtype=object), ["Ça va".encode()], np.array(["Ça va".encode()]),
    [np.bytes_("Ça va".encode())], "Ça va", np.str_("Ça va"), np.array([["Ça va"]]),
    [["Ça va"]], ("Ça va",)])
def test_callable_standardize_receives_one_plain_str(texts):
    seen = []

    def standardize(text):
        seen.append(type(text))
        assert text == "Ça va"
        return text

    vec = TextVectorization(standardize=standardize, vocabulary=["Ça"])
    np.testing.assert_array_equal(vec(texts), [[2, 1]])
    vec.adapt(texts)
    assert seen == [str, str]


def _tokens(text, **kwargs):
    vec = TextVectorization(**kwargs)
    vec.adapt([text])
    vocab = vec.get_vocabulary()
    return [vocab[i] for i in vec([text])[0]]


def test_unicode_lowercasing_and_stripping():
    # Lowercasing is full Unicode (Keras: A-Z only); accents and non-Latin letters are kept.
    assert _tokens("ÉTÉ Über NAÏVE Straße ΣΟΦΙΑ Москва") == [
        "été", "über", "naïve", "straße", "σοφια", "москва"]
    # Curly quotes, guillemets, ¿¡ and the acute accent typed as an apostrophe are deleted
    # like the ASCII apostrophe; symbols (€ £ ½ °) and emoji are kept.
    assert _tokens("Don’t «stop» ‘it’ ¿qué? ¡sí! it´s don't 5€ £3 ½ 20° 👍 great👍") == [
        "dont", "stop", "it", "qué", "sí", "its", "dont", "5€", "£3", "½", "20°", "👍",
        "great👍"]
    # Dashes (not hyphens), the ellipsis and the zero width space separate words.
    assert _tokens("good—but dull–ish 1990–95 wait…what zero\u200bwidth co\u2010op") == [
        "good", "but", "dull", "ish", "1990", "95", "wait", "what", "zero", "width", "coop"]
    # strip_punctuation alone keeps the case; lower alone keeps the punctuation.
    assert _tokens("Café—Ünïcode!", standardize="strip_punctuation") == ["Café", "Ünïcode"]
    assert _tokens("Café—Ünïcode!", standardize="lower") == ["café—ünïcode!"]


def test_unicode_whitespace_and_invisible_characters():
    # No-break, thin, ideographic spaces and line/paragraph separators split words.
    assert _tokens("a\xa0b\u2009c\u3000d\u2028e\u202ff\tg\r\nh") == list("abcdefgh")
    # Byte order mark and soft hyphen are deleted; NFC makes composed == decomposed.
    assert _tokens("\ufeffThe beau\xadtiful cafe\u0301 café") == [
        "the", "beautiful", "café", "café"]
    vec = TextVectorization()
    vec.adapt(["cafe\u0301", "caf\u00e9"])
    assert vec.get_vocabulary() == ["", "[UNK]", "caf\u00e9"]


def test_windows_1252_control_characters_as_in_imdb():
    # IMDB reviews hold Windows-1252 punctuation decoded as Latin-1: U+0096 (en dash), U+0097
    # (em dash), U+0085 (ellipsis) separate words; U+0091/U+0092 (quotes) are deleted.
    assert _tokens("good \x96 fun\x97really\x85wow \x91quite\x92 don\x92t") == [
        "good", "fun", "really", "wow", "quite", "dont"]


def test_cjk_text_without_spaces():
    # Whitespace splitting does not segment Chinese or Japanese; their sentence punctuation
    # separates clauses. split="character" gives one token per character.
    assert _tokens("我喜欢这部电影。很好！") == ["我喜欢这部电影", "很好"]
    assert _tokens("很好。", split="character") == ["很", "好", " "]


def test_unicode_stripping_agrees_with_a_per_character_rule():
    # Every code point of the BMP (and a few others) through the vectorizer vs the documented
    # rule applied one character at a time.
    space = set("\u2012\u2013\u2014\u2015\u2e3a\u2e3b\ufe31\ufe32\ufe58\u2026"
                "\u3001\u3002\uff01\uff0c\uff1a\uff1b\uff1f\u200b\x85\x96\x97")
    delete = {chr(c) for c in range(0x80, 0xA0)} - space | {"\xb4", "\xad", "\ufeff"}

    def rule(ch):
        if ch.isascii():
            return "" if ch in string.punctuation else ch
        if ch in space:
            return " "
        if ch in delete or unicodedata.category(ch).startswith("P"):
            return ""
        return ch

    chars = [chr(c) for c in list(range(0x80, 0xD800)) + list(range(0xE000, 0x10000))
             + [0x1F44D, 0x1F600, 0x20000, 0xE0001]
             if unicodedata.normalize("NFC", chr(c)) == chr(c)]
    # Spaces between the characters keep NFC from composing or reordering neighbours.
    texts = [" ".join(chars[i:i + 1000]) + " " for i in range(0, len(chars), 1000)]
    vec = TextVectorization(standardize="strip_punctuation", split="character")
    vec.adapt(texts)
    expected = [rule(ch) for ch in chars]
    assert sorted(vec.get_vocabulary()[2:]) == sorted(set(c for c in expected if c) | {" "})
    vocab = vec.get_vocabulary()
    out = [vocab[i] for row in vec(texts) for i in row if i]
    assert out == [c for ch in expected for c in ch + " "]


def test_invalid_utf8_bytes_and_lone_surrogates():
    vec = TextVectorization(vocabulary=["ok"])
    with pytest.raises(ValueError, match=r"element 1 is bytes that are not valid UTF-8"):
        vec(["ok", b"caf\xe9"])
    with pytest.raises(ValueError, match=r"not valid UTF-8"):
        TextVectorization().adapt([b"\xff\xfe"])
    # A str with a lone surrogate (from errors="surrogateescape") is still processed.
    text = b"caf\xe9, ok".decode("utf-8", errors="surrogateescape")
    np.testing.assert_array_equal(vec([text]), [[1, 2]])
    vec.adapt([text])
    assert vec.get_vocabulary()[2:] == ["caf\udce9", "ok"]


# ---------------------------------------------------------------------- config and saving


def test_config_round_trip_through_json_with_the_new_options():
    vec = TextVectorization(500, output_sequence_length=9, ngrams=(1, 3), strip_html=True,
                            standardize="lower", split="whitespace", name="tv_ngrams")
    vec.adapt(["A b <br /> c d", "a B c"])
    config = vec.get_config()
    assert config["ngrams"] == [1, 3] and config["strip_html"] is True
    clone = TextVectorization.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    texts = ["a b c d<br>e", "c d"]
    np.testing.assert_array_equal(clone(texts), vec(texts))
    config = TextVectorization(ngrams=3).get_config()
    assert config["ngrams"] == 3 and config["strip_html"] is False
    assert json.loads(json.dumps(config)) == config
    # A config without the new keys (an older model file) still loads, with the defaults.
    old = {k: v for k, v in config.items() if k not in ("ngrams", "strip_html")}
    restored = TextVectorization.from_config(old)
    assert restored.ngrams is None and restored.strip_html is False


def test_a_model_with_ngrams_and_strip_html_saves_and_reloads(tmp_path):
    texts = ["a good film<br />really good", "a bad film<br/>not good", "good fun", "bad bad"]
    labels = np.array([1, 0, 1, 0], dtype=np.float32)
    vectorizer = TextVectorization(max_tokens=30, output_sequence_length=8, ngrams=2,
                                   strip_html=True)
    vectorizer.adapt(texts)
    inp = seqattn.Input(shape=(), dtype="string")
    h = layers.Embedding(vectorizer.vocabulary_size(), 4, mask_zero=True)(vectorizer(inp))
    model = seqattn.Model(inp, layers.Dense(1, activation="sigmoid")(
        layers.GlobalAveragePooling1D()(h)))
    model.compile(loss="binary_crossentropy")
    model.fit(texts, labels, epochs=1, verbose=0)
    model.save(tmp_path / "m.seqattn")
    loaded = seqattn.load_model(tmp_path / "m.seqattn")
    restored = loaded.get_layer(vectorizer.name)
    assert restored.get_config() == vectorizer.get_config()
    np.testing.assert_array_equal(loaded.predict(texts, verbose=0), model.predict(texts, verbose=0))


# ---------------------------------------------------------------------- real data (IMDB)


def _imdb_texts(n):
    if not IMDB_TRAIN.exists():
        pytest.skip(f"IMDB training reviews not found at {IMDB_TRAIN}")
    with open(IMDB_TRAIN, encoding="utf-8", newline="") as f:
        return [row["text"] for _, row in zip(range(n), csv.DictReader(f))]


_PUNCT_SPACE = set("\u2012\u2013\u2014\u2015\u2e3a\u2e3b\ufe31\ufe32\ufe58\u2026"
                   "\u3001\u3002\uff01\uff0c\uff1a\uff1b\uff1f\u200b\x85\x96\x97")
_PUNCT_DELETE = {chr(c) for c in range(0x80, 0xA0)} - _PUNCT_SPACE | {"\xb4", "\xad", "\ufeff"}


def _reference_standardize(text, strip_html):
    """The documented standardization, one character at a time (no shared code)."""
    if strip_html:
        text = re.sub(r"<!--.*?-->|<[/!?]?[A-Za-z][^<>]*>", " ", text, flags=re.S)
        text = html.unescape(text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text.lower():
        if ch.isascii():
            out.append("" if ch in string.punctuation else ch)
        elif ch in _PUNCT_SPACE:
            out.append(" ")
        elif ch in _PUNCT_DELETE or unicodedata.category(ch).startswith("P"):
            out.append("")
        else:
            out.append(ch)
    return "".join(out)


@pytest.mark.parametrize("options", [{}, {"strip_html": True},
                                     {"ngrams": 2, "strip_html": True}])
def test_imdb_vocabulary_is_deterministic_and_matches_a_direct_implementation(options):
    texts = _imdb_texts(2000)
    assert len(texts) == 2000
    vec = TextVectorization(max_tokens=5000, output_sequence_length=120, **options)
    vec.adapt(texts)
    again = TextVectorization(max_tokens=5000, output_sequence_length=120, **options)
    again.adapt(texts[::-1])   # another run, in another order: the same vocabulary
    assert again.get_vocabulary() == vec.get_vocabulary()

    widths = (1, 2) if options.get("ngrams") else (1,)
    token_lists = [_reference_tokens(_reference_standardize(t, options.get("strip_html", False)),
                                     widths) for t in texts]
    vocab = _reference_vocabulary(token_lists, 5000)
    assert vec.get_vocabulary() == vocab
    index = {tok: i for i, tok in enumerate(vocab)}
    expected = np.zeros((200, 120), dtype=np.int32)
    for b, tokens in enumerate(token_lists[:200]):
        ids = [index.get(tok, 1) for tok in tokens][:120]
        expected[b, :len(ids)] = ids
    np.testing.assert_array_equal(vec(texts[:200]), expected)
    if options.get("strip_html"):
        assert "br" not in vocab
    else:
        assert vocab.index("br") < 20   # Keras' behaviour: "<br />" is a frequent token


# ---------------------------------------------------------------------- speed


def test_adapt_and_call_are_not_accidentally_slow():
    # IMDB-sized figures are in the report, not asserted here: this only catches a
    # pathological slow path (e.g. quadratic work), with a bound far above the ~1 s the
    # work takes on a busy 2-core machine.
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(20000)]
    texts = [" ".join([words[i] for i in row]) + ". Great, isn't it?<br />Yes—very…"
             for row in rng.integers(0, 20000, (4000, 200)).tolist()]
    vec = TextVectorization(max_tokens=10000, output_sequence_length=200, ngrams=2,
                            strip_html=True)
    start = time.perf_counter()
    vec.adapt(texts)
    out = vec(texts)
    elapsed = time.perf_counter() - start
    assert out.shape == (4000, 200) and vec.vocabulary_size() == 10000
    assert elapsed < 30.0, elapsed


# ------------------------------------------------------------------ truncation="pre"


def test_truncation_pre_keeps_the_last_tokens_and_pads_at_the_end():
    vec = TextVectorization(output_sequence_length=5, truncation="pre")
    vec.adapt(CORPUS)
    # Worked by hand from the vocabulary above: "the cat sat on the mat" keeps its last five.
    np.testing.assert_array_equal(vec(CORPUS), [[4, 6, 8, 2, 7],
                                                [2, 5, 6, 0, 0],
                                                [3, 4, 3, 5, 0]])
    np.testing.assert_array_equal(vec(["", "cat"]), [[0] * 5, [4, 0, 0, 0, 0]])
    assert vec.truncation == "pre" and TextVectorization().truncation == "post"


@pytest.mark.parametrize("options", [{}, {"ngrams": 2}, {"ngrams": (2, 1)},
                                     {"split": "character"}, {"split": str.split}])
def test_truncation_pre_equals_the_tail_of_the_untruncated_output(options):
    # The oracle: vectorize without a length, then keep each row's last L ids (what
    # pad_sequences(truncating="pre", padding="post") does to that output).
    rng = np.random.RandomState(3)
    words = ["a", "b", "cd", "e", "Fg", "h."]
    texts = [" ".join(rng.choice(words, rng.randint(0, 14))) for _ in range(60)]
    full = TextVectorization(**options)
    full.adapt(texts)
    vocab = full.get_vocabulary()
    for length in (1, 3, 7, 40):
        vec = TextVectorization(output_sequence_length=length, truncation="pre",
                                vocabulary=vocab[2:], **options)
        out = vec(texts)
        for text, row in zip(texts, out.tolist()):
            ids = [i for i in full([text])[0].tolist() if i != 0]
            tail = ids[-length:] if ids else []
            assert row == tail + [0] * (length - len(tail)), (text, length)


def test_truncation_in_config_and_model_files(tmp_path):
    vec = TextVectorization(50, output_sequence_length=3, truncation="pre", name="tv_pre")
    vec.adapt(CORPUS)
    config = vec.get_config()
    assert config["truncation"] == "pre"
    clone = TextVectorization.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(clone(CORPUS), vec(CORPUS))
    # An older config (no "truncation" key) keeps the Keras behaviour.
    old = {k: v for k, v in config.items() if k != "truncation"}
    assert TextVectorization.from_config(old).truncation == "post"
    inp = seqattn.Input(shape=(), dtype="string")
    h = layers.Embedding(vec.vocabulary_size(), 4, mask_zero=True)(vec(inp))
    model = seqattn.Model(inp, layers.Dense(1, activation="sigmoid")(
        layers.GlobalAveragePooling1D()(h)))
    model.save(tmp_path / "pre.seqattn")
    loaded = seqattn.load_model(tmp_path / "pre.seqattn")
    assert loaded.get_layer("tv_pre").truncation == "pre"
    np.testing.assert_array_equal(loaded.predict(CORPUS, verbose=0),
                                  model.predict(CORPUS, verbose=0))


@pytest.mark.parametrize("bad", ["PRE", "start", None, 1, ["pre"]])
def test_bad_truncation_names_the_argument(bad):
    with pytest.raises(ValueError, match="truncation.*'pre'.*'post'"):
        TextVectorization(truncation=bad)


# ------------------------------------------------- two vectorizers on one string Input


def test_words_and_pairs_of_one_text_match_a_numpy_forward(tmp_path):
    model, words, pairs = words_and_pairs_model()
    texts = WORDS_AND_PAIRS_TEXTS
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(texts, np.array([1, 0, 1, 0, 1], np.float32), epochs=3, verbose=0)
    w_words, w_pairs, kernel, bias = model.get_weights()
    new = ["the cat ran on the mat again", "good", "unseen words", ""]
    ids, pair_ids = words(new), pairs(new)
    mask = (ids != 0)[..., None]                                     # the words' mask alone
    h = w_words[ids] + w_pairs[pair_ids]                             # (B, L, C)
    pooled = (h * mask).sum(1) / np.maximum(mask.sum(1), 1)          # an empty text pools to 0
    expected = 1 / (1 + np.exp(-(pooled @ kernel + bias)))
    np.testing.assert_allclose(model.predict(new, verbose=0), expected, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "pairs.seqattn")
    loaded = seqattn.load_model(tmp_path / "pairs.seqattn")
    np.testing.assert_array_equal(loaded.predict(new, verbose=0), model.predict(new, verbose=0))


def test_words_and_pairs_model_names_the_input_in_errors():
    model, *_ = words_and_pairs_model()
    with pytest.raises(TypeError, match="expects strings"):
        model.predict([1.5, 2.5], verbose=0)
    with pytest.raises(TypeError, match="layer 'words' expects a string"):
        model.predict(7, verbose=0)
