"""The built-in synthetic corpus: deterministic, balanced, labelled by its documented
rules, and impossible for a bag-of-words model."""

import re
from collections import defaultdict

import numpy as np
import pytest

from seqattn.datasets import synthetic_sentiment
from seqattn.datasets.synthetic import INTENSIFIER_LEVELS

# ---------------------------------------------------------------------------
# An independent rule-based labeller, written from the documentation only.
# ---------------------------------------------------------------------------
POSITIVE = {"good", "great", "superb", "brilliant", "wonderful", "excellent",
            "charming", "clever"}
NEGATIVE = {"bad", "dull", "boring", "awful", "terrible", "weak", "bland", "clumsy"}
STRENGTH = {"slightly": 1, "somewhat": 1, "very": 2, "really": 2,
            "extremely": 3, "incredibly": 3}
CONNECTIVES = {"and", "but", "although"}
NEUTRAL = {"the", "was", "is", "plot", "acting", "music", "film", "ending", "cast",
           # closing fillers
           "overall", "to", "be", "honest", "in", "my", "opinion", "all"}


def words(text):
    return re.sub(r"[^\w\s]", "", text).split()


def parse_clauses(tokens):
    """Split a token list into clauses: each clause ends at its adjective.

    Returns a list of dicts with the clause's polarity, intensifier strength and
    the connective (if any) that opened it."""
    clauses, negated, strength, opener = [], False, 0, None
    for tok in tokens:
        if tok in CONNECTIVES:
            opener = tok
        elif tok == "not":
            negated = True
        elif tok in STRENGTH:
            strength = STRENGTH[tok]
        elif tok in POSITIVE or tok in NEGATIVE:
            polarity = 1 if tok in POSITIVE else -1
            assert not (negated and strength), f"negated and intensified: {tokens}"
            clauses.append({"polarity": -polarity if negated else polarity,
                            "strength": strength, "opener": opener})
            negated, strength, opener = False, 0, None
        else:
            assert tok in NEUTRAL, f"unexpected word {tok!r} in {tokens}"
    return clauses


def rule_label(text):
    tokens = words(text)
    clauses = parse_clauses(tokens)
    connectives = [t for t in tokens if t in CONNECTIVES]
    if len(clauses) == 1:
        assert not connectives, text
        decisive = clauses[0]["polarity"]
    else:
        assert len(clauses) == 2 and len(connectives) == 1, text
        first, second = clauses
        word = connectives[0]
        if word == "but":
            assert second["opener"] == "but", text
            assert first["polarity"] != second["polarity"], f"ambiguous: {text}"
            decisive = second["polarity"]
        elif word == "although":
            # The clause opened by "although" is conceded; the other one decides.
            assert first["polarity"] != second["polarity"], f"ambiguous: {text}"
            conceded_first = first["opener"] == "although"
            assert conceded_first != (second["opener"] == "although"), text
            decisive = second["polarity"] if conceded_first else first["polarity"]
        else:  # "and"
            if first["polarity"] == second["polarity"]:
                decisive = first["polarity"]
            else:
                assert first["strength"] and second["strength"], f"ambiguous: {text}"
                assert first["strength"] != second["strength"], f"ambiguous: {text}"
                stronger = max((first, second), key=lambda c: c["strength"])
                decisive = stronger["polarity"]
    return int(decisive > 0)


# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus():
    return synthetic_sentiment(2000, seed=0)


def test_types_shapes_and_format(corpus):
    texts, labels = corpus
    assert isinstance(texts, list) and len(texts) == 2000
    assert all(isinstance(t, str) for t in texts)
    assert isinstance(labels, np.ndarray) and labels.dtype == np.int32
    assert labels.shape == (2000,) and set(np.unique(labels).tolist()) == {0, 1}
    for t in texts:
        assert t == t.lower() and t == t.strip() and "  " not in t
        assert re.fullmatch(r"[a-z ,]+", t), t
        assert len(t.split()) <= 20
    vocab = {w for t in texts for w in words(t)}
    assert len(vocab) < 150
    assert len(vocab & POSITIVE) >= 8 and len(vocab & NEGATIVE) >= 8


def test_default_size():
    texts, labels = synthetic_sentiment()
    assert len(texts) == 2000 and labels.shape == (2000,)


def test_deterministic_for_a_seed(corpus):
    texts, labels = synthetic_sentiment(2000, seed=0)
    assert texts == corpus[0]
    np.testing.assert_array_equal(labels, corpus[1])
    texts_np, labels_np = synthetic_sentiment(np.int64(2000), seed=np.int64(0))
    assert texts_np == corpus[0]


def test_different_seeds_differ(corpus):
    other, _ = synthetic_sentiment(2000, seed=1)
    assert other != corpus[0]
    # Not just a shuffle of the same sentences.
    assert len(set(other) - set(corpus[0])) > 500


def test_seed_none_gives_a_valid_corpus():
    texts, labels = synthetic_sentiment(50, seed=None)
    assert len(texts) == 50 and labels.shape == (50,)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_small_and_odd_sizes(n):
    texts, labels = synthetic_sentiment(n, seed=5)
    assert len(texts) == n and labels.shape == (n,)


def test_labels_are_balanced(corpus):
    _, labels = corpus
    assert labels.sum() == 1000  # even n: exactly balanced
    _, labels = synthetic_sentiment(1001, seed=3)
    assert abs(int(labels.sum()) - 500) <= 1


def test_independent_labeller_agrees_on_every_sample(corpus):
    for seed_corpus in (corpus, synthetic_sentiment(1000, seed=42)):
        texts, labels = seed_corpus
        for text, label in zip(texts, labels):
            assert rule_label(text) == label, text


def test_all_phenomena_are_present_and_mostly_order_dependent(corpus):
    texts, _ = corpus
    kinds = defaultdict(int)
    for t in texts:
        w = words(t)
        if "but" in w:
            kinds["but"] += 1
        elif "although" in w:
            kinds["although_first" if w[0] == "although" else "although_second"] += 1
        elif "and" in w:
            kinds["and_not" if "not" in w else
                  "and_intensity" if len({c["polarity"] for c in parse_clauses(w)}) == 2
                  else "and_agree"] += 1
        else:
            kinds["single_not" if "not" in w else "single"] += 1
    assert set(kinds) == {"but", "although_first", "although_second", "and_not",
                          "and_intensity", "and_agree", "single_not", "single"}, kinds
    bag_solvable = kinds["single"] + kinds["and_agree"]
    assert bag_solvable < 0.30 * len(texts), kinds


def test_intensifier_ordering_is_the_documented_one():
    assert INTENSIFIER_LEVELS == STRENGTH
    doc = synthetic_sentiment.__doc__
    assert "slightly = somewhat  <  very = really  <  extremely = incredibly" in doc


def test_swapping_clauses_or_intensifiers_flips_the_label():
    # The documented examples, checked against the labeller used above.
    assert rule_label("the plot was dull but the acting was superb") == 1
    assert rule_label("the acting was superb but the plot was dull") == 0
    assert rule_label("although the plot was dull, the acting was superb") == 1
    assert rule_label("the plot was dull, although the acting was superb") == 0
    assert rule_label("the plot was extremely good and the music was slightly bad") == 1
    assert rule_label("the plot was slightly good and the music was extremely bad") == 0
    assert rule_label("the film was not good") == 0
    assert rule_label("the plot was not good and the cast was bad") == 0
    assert rule_label("the plot was good and the cast was not bad") == 1


def test_same_bag_of_words_appears_with_both_labels(corpus):
    texts, labels = corpus
    by_bag = defaultdict(set)
    for t, y in zip(texts, labels):
        by_bag[tuple(sorted(words(t)))].add(int(y))
    ambiguous = sum(1 for t in texts if len(by_bag[tuple(sorted(words(t)))]) == 2)
    assert ambiguous / len(texts) >= 0.55, ambiguous


def _counts(texts, index):
    x = np.zeros((len(texts), len(index) + 1))
    for i, t in enumerate(texts):
        for w in words(t):
            x[i, index[w]] += 1
    x[:, -1] = 1.0  # bias
    return x


def _logistic_regression(x, y, l2=1e-2, iterations=30):
    """L2-regularised logistic regression fitted to convergence (Newton/IRLS)."""
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) / len(y) + l2 * w
        hess = (x.T * (p * (1 - p))) @ x / len(y) + l2 * np.eye(x.shape[1])
        w -= np.linalg.solve(hess, grad)
    return w


def _accuracy(w, x, y):
    return float(((x @ w > 0).astype(int) == y).mean())


def test_bag_of_words_classifier_cannot_solve_it(corpus):
    texts, labels = corpus
    index = {w: i for i, w in enumerate(sorted({w for t in texts for w in words(t)}))}
    x = _counts(texts, index)
    y = labels.astype(float)
    train, test = slice(0, 1500), slice(1500, None)

    # Control: the same classifier easily learns a label that IS a bag-of-words
    # function (does the review contain a contrast?), so it is not just broken.
    contrast = np.array([float(bool({"but", "although"} & set(words(t)))) for t in texts])
    w = _logistic_regression(x[train], contrast[train])
    assert _accuracy(w, x[test], contrast[test]) > 0.95

    w = _logistic_regression(x[train], y[train])
    train_acc = _accuracy(w, x[train], y[train])
    test_acc = _accuracy(w, x[test], y[test])
    assert test_acc < 0.80, test_acc
    assert train_acc < 0.80, train_acc


@pytest.mark.parametrize("bad", [0, -3, True, False, 2.0, 2.5, "10", None])
def test_bad_n_samples(bad):
    with pytest.raises(ValueError, match=r"`n_samples`.*Received: n_samples="):
        synthetic_sentiment(bad)


def test_bad_n_samples_message_is_keras_style():
    with pytest.raises(ValueError) as info:
        synthetic_sentiment(n_samples=0)
    assert str(info.value) == ("Received an invalid value for `n_samples`, expected a "
                               "positive integer. Received: n_samples=0")


@pytest.mark.parametrize("bad", [1.5, "0", True, [0]])
def test_bad_seed_type(bad):
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed="):
        synthetic_sentiment(10, seed=bad)


def test_negative_seed():
    with pytest.raises(ValueError, match=r"`seed`.*Received: seed=-1"):
        synthetic_sentiment(10, seed=-1)
