"""pad_sequences: keras.utils.pad_sequences semantics (Keras itself is the oracle when
installed; it needs no TensorFlow for this function)."""

import os

import numpy as np
import pytest

from seqattn.preprocessing import pad_sequences

SEQS = [[1], [2, 3], [4, 5, 6]]


def _keras_pad_sequences():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    return keras.utils.pad_sequences


# ------------------------------------------------------------------ hand-worked cases


def test_defaults_pad_and_truncate_at_the_start():
    out = pad_sequences(SEQS)
    assert out.dtype == np.int32 and out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=2), [[0, 1], [2, 3], [5, 6]])


@pytest.mark.parametrize("padding, truncating, expected", [
    ("pre", "pre", [[0, 0, 1], [0, 2, 3], [5, 6, 7]]),
    ("post", "pre", [[1, 0, 0], [2, 3, 0], [5, 6, 7]]),
    ("pre", "post", [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
    ("post", "post", [[1, 0, 0], [2, 3, 0], [4, 5, 6]]),
])
def test_padding_and_truncating_sides(padding, truncating, expected):
    out = pad_sequences([[1], [2, 3], [4, 5, 6, 7]], maxlen=3, padding=padding,
                        truncating=truncating)
    np.testing.assert_array_equal(out, expected)


def test_maxlen_longer_than_every_sequence_and_value():
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=5, value=-1),
                                  [[-1, -1, -1, -1, 1], [-1, -1, -1, 2, 3], [-1, -1, 4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=4, padding="post", value=9),
                                  [[1, 9, 9, 9], [2, 3, 9, 9], [4, 5, 6, 9]])


def test_empty_sequences_and_empty_lists():
    np.testing.assert_array_equal(pad_sequences([[], [7, 8], []]), [[0, 0], [7, 8], [0, 0]])
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)          # Keras: a NumPy reduction error
    assert pad_sequences([], maxlen=4).shape == (0, 4)
    for truncating in ("pre", "post"):                # Keras: a broadcast error with "pre"
        out = pad_sequences([[1, 2], []], maxlen=0, truncating=truncating)
        assert out.shape == (2, 0) and out.dtype == np.int32


def test_dtypes():
    out = pad_sequences([[1.5, 2.7], [3]], dtype="float32", value=-0.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.array([[1.5, 2.7], [-0.5, 3]], dtype=np.float32))
    # Values are converted as np.asarray does (Keras too): 2.7 -> 2 in an int dtype.
    np.testing.assert_array_equal(pad_sequences([[1.5, 2.7], [3]]), [[1, 2], [0, 3]])
    assert pad_sequences(SEQS, dtype=np.int64).dtype == np.int64
    assert pad_sequences([[True], []], dtype=bool).tolist() == [[True], [False]]
    out = pad_sequences([[1, 2]], maxlen=3, dtype="float64", value=np.nan)
    np.testing.assert_array_equal(out, [[np.nan, 1, 2]])


def test_strings():
    words = [["hello", "a"], ["b"]]
    out = pad_sequences(words, dtype=object, value="<pad>")
    assert out.dtype == object and out.tolist() == [["hello", "a"], ["<pad>", "b"]]
    # An unsized str dtype fits the longest value (Keras makes it "<U1" and cuts "hello").
    out = pad_sequences(words, dtype=str, value="<pad>", padding="post")
    assert out.dtype == np.dtype("<U5") and out.tolist() == [["hello", "a"], ["b", "<pad>"]]
    assert pad_sequences([[1, 22]], maxlen=3, dtype=str).tolist() == [["0.0", "1", "22"]]
    # A sized one truncates, as NumPy (and Keras) do.
    assert pad_sequences(words, dtype="<U3", value="-").tolist() == [["hel", "a"], ["-", "b"]]
    assert pad_sequences([[b"ab"]], maxlen=2, dtype=bytes, value=b"").tolist() == [[b"", b"ab"]]


def test_arrays_of_sequences():
    x = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(pad_sequences(x, maxlen=2), [[2, 3], [6, 7], [10, 11]])
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.array([1, 2, 3]), np.array([4])
    np.testing.assert_array_equal(pad_sequences(ragged, padding="post"), [[1, 2, 3], [4, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(((1, 2), range(3, 4))), [[1, 2], [0, 3]])
    assert pad_sequences([[1, 2]], maxlen=np.int64(3)).shape == (1, 3)


def test_sequences_of_vectors_keep_their_shape():
    out = pad_sequences([[[1, 2], [3, 4]], [[5, 6]]], maxlen=3)
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out, [[[0, 0], [1, 2], [3, 4]], [[0, 0], [0, 0], [5, 6]]])


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("kwargs, message", [
    ({"maxlen": -1}, r"`maxlen`, expected None or an integer >= 0. Received: maxlen=-1"),
    ({"maxlen": 2.0}, r"`maxlen`.*Received: maxlen=2.0"),
    ({"maxlen": True}, r"`maxlen`.*Received: maxlen=True"),
    ({"maxlen": "3"}, r"`maxlen`.*Received: maxlen='3'"),
    ({"padding": "middle"}, r"`padding`, expected 'pre' or 'post'. Received: padding='middle'"),
    ({"padding": None}, r"`padding`.*Received: padding=None"),
    ({"truncating": "end"}, r"`truncating`.*Received: truncating='end'"),
    ({"dtype": "int33"}, r"`dtype`.*Received: dtype='int33'"),
    ({"value": "x"}, r"`dtype` int32 is not compatible with `value`'s type: <class 'str'>"),
    ({"value": None}, r"`value`.*dtype int32. Received: value=None"),
    ({"value": -1, "dtype": "uint8"}, r"`value`.*dtype uint8. Received: value=-1"),
])
def test_invalid_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pad_sequences(SEQS, **kwargs)


def test_padding_and_truncating_are_checked_even_for_empty_sequences():
    with pytest.raises(ValueError, match="`padding`"):
        pad_sequences([[]], padding="x")   # Keras only notices with a non-empty sequence


@pytest.mark.parametrize("sequences, message", [
    (None, r"`sequences` must be a list of sequences.*Received: sequences=None"),
    (5, r"`sequences` must be a list of sequences.*sequences=5 \(of type int\)"),
    ("abc", r"`sequences` must be a list of sequences.*'abc'"),
    ((x for x in [[1]]), r"`sequences` must be a list of sequences.*generator"),
    ([1, 2], r"list of iterables.*element 0 is 1 \(of type int\)"),
    ([[1], 2], r"list of iterables.*element 1 is 2"),
    ([[1], "ab"], r"element 1 is a str"),
    ([[1, "x"]], r"position 0 cannot be converted to dtype int32"),
    ([[2 ** 40]], r"position 0 cannot be converted to dtype int32"),
    ([[[1, 2]], [[1, 2, 3]]], r"Shape of sample \(3,\) of sequence at position 1 is different "
                              r"from expected shape \(2,\)"),
    ([[[1, 2], [3]]], r"position 0 do not have one shape"),
])
def test_invalid_sequences(sequences, message):
    with pytest.raises(ValueError, match=message):
        pad_sequences(sequences)


# ------------------------------------------------------------------ Keras parity


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_matches_keras_on_random_ragged_inputs(padding, truncating):
    keras_pad = _keras_pad_sequences()
    rng = np.random.default_rng([int(padding == "post"), int(truncating == "post")])
    for trial in range(200):
        batch = int(rng.integers(1, 9))
        seqs = [rng.integers(-100, 100, int(rng.integers(0, 12))).tolist() for _ in range(batch)]
        if not any(seqs):
            seqs[0] = [5]   # Keras cannot pad only empty sequences with maxlen=None
        kwargs = {"padding": padding, "truncating": truncating}
        if trial % 3:
            kwargs["maxlen"] = int(rng.integers(1, 15))
        if trial % 4 == 1:
            kwargs["value"] = float(rng.integers(-5, 5))
        if trial % 5 == 2:
            kwargs["dtype"] = ["float32", "int64", "float64", "int16"][trial % 4]
        if trial % 7 == 3:
            seqs = [np.asarray(s, dtype=np.int64) for s in seqs]
        expected, actual = keras_pad(seqs, **kwargs), pad_sequences(seqs, **kwargs)
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, kwargs
        np.testing.assert_array_equal(actual, expected, err_msg=str((seqs, kwargs)))


def test_matches_keras_on_the_documented_and_special_cases():
    keras_pad = _keras_pad_sequences()
    cases = [
        (SEQS, {}), (SEQS, {"value": -1}), (SEQS, {"padding": "post"}), (SEQS, {"maxlen": 2}),
        ([[], [1, 2], []], {}), ([[], []], {}), ([[], [1, 2]], {"maxlen": 0, "truncating": "post"}),
        ([[1.5, 2.7], [3]], {}), ([[1.5, 2.7], [3]], {"dtype": "float32", "value": -1}),
        ([["hello", "a"], ["b"]], {"dtype": object, "value": "pad"}),
        ([["hello", "a"], ["b"]], {"dtype": "<U3", "value": "pad"}),
        ([[[1, 2], [3, 4]], [[5, 6]]], {"maxlen": 3, "padding": "post"}),
        (np.arange(12).reshape(3, 4), {"maxlen": 2, "truncating": "post"}),
        ([[True, False], [True]], {"dtype": bool}),
    ]
    for seqs, kwargs in cases:
        expected, actual = keras_pad(seqs, **kwargs), pad_sequences(seqs, **kwargs)
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, kwargs
        assert actual.tolist() == expected.tolist(), kwargs
    for kwargs in ({"value": "x"}, {"padding": "x"}, {"truncating": "x"}):
        with pytest.raises(ValueError):
            keras_pad(SEQS, **kwargs)
        with pytest.raises(ValueError):
            pad_sequences(SEQS, **kwargs)
