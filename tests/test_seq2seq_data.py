"""synthetic_seq2seq and teacher_forcing: the tasks' rules checked on the words themselves
(reversed list, Python's sorted on strings), determinism, lengths, padding and bad arguments."""

import numpy as np
import pytest

from seqattn.datasets import synthetic_seq2seq, teacher_forcing


def _words(ids, vocab):
    return [vocab[int(i)] for i in ids]


def test_reverse_targets_are_the_source_words_reversed():
    src, tgt, vocab = synthetic_seq2seq("reverse", n_samples=300, seed=3, min_len=2, max_len=9)
    assert len(src) == len(tgt) == 300
    repeats = 0
    for s, t in zip(src, tgt):
        words = _words(s, vocab)
        assert _words(t, vocab) == list(reversed(words))
        assert all(w.isalpha() for w in words)  # never padding, start or end
        repeats += len(set(words)) < len(words)
    assert repeats > 0  # words may repeat in "reverse"
    assert {len(s) for s in src} == set(range(2, 10))


def test_sort_targets_are_the_source_words_sorted_alphabetically():
    src, tgt, vocab = synthetic_seq2seq("sort", n_samples=300, seed=4, min_len=1, max_len=12)
    for s, t in zip(src, tgt):
        words = _words(s, vocab)
        assert len(set(words)) == len(words)
        assert _words(t, vocab) == sorted(words)
    assert any(list(s) != sorted(s) for s in src)  # the task is not the identity
    assert {len(s) for s in src} == set(range(1, 13))


def test_vocabulary_special_tokens_dtype_and_determinism():
    a = synthetic_seq2seq("sort", n_samples=20, seed=7)
    b = synthetic_seq2seq("sort", n_samples=20, seed=7)
    c = synthetic_seq2seq("sort", n_samples=20, seed=8)
    vocab = a[2]
    assert vocab[:3] == ("", "[start]", "[end]")
    assert list(vocab[3:]) == sorted(vocab[3:]) and len(set(vocab)) == len(vocab)
    assert all(s.dtype == np.int32 and t.dtype == np.int32 for s, t in zip(a[0], a[1]))
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0]))
    assert not all(len(x) == len(y) and np.array_equal(x, y) for x, y in zip(a[0], c[0]))


def test_teacher_forcing_shifts_the_target_behind_start_and_ends_with_end():
    src = [np.array([5, 6, 7]), np.array([9])]
    tgt = [np.array([7, 6, 5]), np.array([9])]
    enc, dec_in, dec_out = teacher_forcing(src, tgt)
    np.testing.assert_array_equal(enc, [[5, 6, 7], [9, 0, 0]])
    np.testing.assert_array_equal(dec_in, [[1, 7, 6, 5], [1, 9, 0, 0]])
    np.testing.assert_array_equal(dec_out, [[7, 6, 5, 2], [9, 2, 0, 0]])
    enc, dec_in, dec_out = teacher_forcing(src, tgt, source_length=5, target_length=6,
                                           start_token=3, end_token=4)
    assert enc.shape == (2, 5) and dec_in.shape == dec_out.shape == (2, 6)
    assert dec_in[1, 0] == 3 and dec_out[1, 1] == 4 and enc.dtype == np.int32


@pytest.mark.parametrize("kwargs, match", [
    ({"task": "copy"}, "`task` must be one of"),
    ({"task": None}, "`task`"),
    ({"n_samples": 0}, "`n_samples` must be a positive integer"),
    ({"n_samples": 2.5}, "n_samples=2.5"),
    ({"n_samples": True}, "n_samples=True"),
    ({"seed": -1}, "`seed` must be a non-negative integer"),
    ({"min_len": 0}, "`min_len`"),
    ({"max_len": "8"}, "`max_len`"),
    ({"min_len": 5, "max_len": 4}, "`max_len` must be >= `min_len`"),
    ({"task": "sort", "max_len": 27}, "at most 26"),
])
def test_synthetic_seq2seq_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        synthetic_seq2seq(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"source_length": 2}, "longest source has 3"),
    ({"target_length": 3}, "longest target needs 4"),
    ({"start_token": 0}, "`start_token` must be a positive integer"),
    ({"end_token": 1.0}, "`end_token`"),
    ({"source_length": -1}, "`source_length`"),
])
def test_teacher_forcing_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        teacher_forcing([np.array([3, 4, 5])], [np.array([5, 4, 3])], **kwargs)
    with pytest.raises(ValueError, match="same length"):
        teacher_forcing([np.array([3])], [])
    with pytest.raises(ValueError, match="1-D"):
        teacher_forcing([np.array([[3]])], [np.array([3])])
