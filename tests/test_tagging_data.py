"""The built-in tagging corpus: tags follow the rules its docstring states, worked out here
independently from the words, and a per-token tagger cannot be right on negated words."""

import numpy as np
import pytest

from seqattn.datasets import synthetic_tagging
from seqattn.datasets.tagging import _NEGATIVE, _NEGATORS, _POSITIVE


def _expected_tags(words):
    """Tag of each word: its polarity, flipped when a negator came earlier in its clause."""
    tags, negated = [], False
    for w in words:
        if w == "the":  # every clause starts with "the <subject>"
            negated = False
        if w in _NEGATORS:
            negated = True
        polarity = 1 if w in _POSITIVE else -1 if w in _NEGATIVE else 0
        if negated:
            polarity = -polarity
        tags.append({0: 0, 1: 1, -1: 2}[polarity])
    return tags


def test_tags_follow_the_rules():
    texts, tags = synthetic_tagging(500, seed=3)
    assert len(texts) == len(tags) == 500
    for text, t in zip(texts, tags):
        words = text.split(" ")
        assert t.dtype == np.int32 and len(t) == len(words)
        assert t.tolist() == _expected_tags(words)
        assert text == text.lower() and all(w.isalpha() for w in words)


def test_same_seed_same_corpus_and_seeds_differ():
    a, ta = synthetic_tagging(50, seed=1)
    b, tb = synthetic_tagging(50, seed=1)
    c, _ = synthetic_tagging(50, seed=2)
    assert a == b and all(np.array_equal(x, y) for x, y in zip(ta, tb)) and a != c


def test_context_decides_the_tag():
    texts, tags = synthetic_tagging(2000, seed=0)
    seen = {}
    for text, t in zip(texts, tags):
        for w, tag in zip(text.split(" "), t):
            if w in _POSITIVE or w in _NEGATIVE:
                seen.setdefault(w, set()).add(int(tag))
    # every sentiment word occurs with both tags: the word alone does not decide its tag
    assert all(v == {1, 2} for v in seen.values()) and len(seen) == len(_POSITIVE + _NEGATIVE)


@pytest.mark.parametrize("kwargs, arg", [
    (dict(n_samples=0), "n_samples"), (dict(n_samples=2.5), "n_samples"),
    (dict(seed=-1), "seed"), (dict(negation_rate=1.5), "negation_rate"),
    (dict(max_clauses=0), "max_clauses")])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=f"synthetic_tagging: `{arg}`"):
        synthetic_tagging(**kwargs)
