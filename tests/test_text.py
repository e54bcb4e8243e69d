"""TextVectorization: Keras "int" mode semantics in pure Python + NumPy."""

import time

import numpy as np
import pytest

from seqattn.text import TextVectorization

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


def test_adapt_and_call_are_fast_enough():
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(20000)]
    texts = [" ".join([words[i] for i in row]) + ". Great, isn't it?"
             for row in rng.integers(0, 20000, (4000, 200)).tolist()]
    vec = TextVectorization(max_tokens=10000, output_sequence_length=200)
    start = time.perf_counter()
    vec.adapt(texts)
    out = vec(texts)
    elapsed = time.perf_counter() - start
    assert out.shape == (4000, 200) and vec.vocabulary_size() == 10000
    # ~0.4 s unloaded (IMDB-sized, 25k reviews: ~2-3 s); the bound only catches
    # accidental slow paths.
    assert elapsed < 6.0, elapsed
