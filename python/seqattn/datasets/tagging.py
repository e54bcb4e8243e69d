"""A built-in token-tagging corpus whose tags depend on context: each word's sentiment in its
sentence.

Every word gets a tag: 0 (`O`, no sentiment), 1 (`POS`) or 2 (`NEG`). A sentiment word's tag
is its polarity *in context*: a negator earlier in the same clause flips it, with up to two
intensifiers in between ("the plot was not very good" tags "good" NEG), and a clause that
follows "but" or "although" is read on its own. The same word is POS in one sentence and NEG
in another, so a model that tags each token from the token alone is right on a sentiment word
only when it is not negated; a model that reads its neighbours (attention) can be right
every time. Words other than sentiment words are always `O`.

Texts are lower case, words separated by single spaces, no punctuation: a `TextVectorization`
with its default standardization splits them into exactly the words that `tags` labels.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["synthetic_tagging", "TAG_NAMES"]

#: The tag of index i.
TAG_NAMES = ("O", "POS", "NEG")

_SUBJECTS = ("plot", "acting", "music", "film", "ending", "cast", "story", "script")
_VERBS = ("was", "is", "seemed", "felt")
_POSITIVE = ("good", "great", "superb", "brilliant", "wonderful", "excellent", "charming",
             "clever")
_NEGATIVE = ("bad", "dull", "boring", "awful", "terrible", "weak", "bland", "clumsy")
_NEGATORS = ("not", "never", "hardly")
_INTENSIFIERS = ("very", "really", "quite", "so", "extremely", "rather")
_JOINERS = ("and", "but", "although", "while")
_OPENERS = ("i think", "honestly", "to me", "i felt")


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _clause(rng, negation_rate):
    """Words and tags of one clause: "the <subject> <verb> [negator] [intensifiers] <adjective>"."""
    words = ["the", _pick(rng, _SUBJECTS), _pick(rng, _VERBS)]
    negated = bool(rng.random() < negation_rate)
    if negated:
        words.append(_pick(rng, _NEGATORS))
    words += [_pick(rng, _INTENSIFIERS) for _ in range(int(rng.integers(0, 3)))]
    polarity = 1 if rng.random() < 0.5 else -1
    words.append(_pick(rng, _POSITIVE if polarity > 0 else _NEGATIVE))
    tag = 1 if polarity * (-1 if negated else 1) > 0 else 2
    return words, [0] * (len(words) - 1) + [tag]


def synthetic_tagging(n_samples=4000, seed=0, negation_rate=0.5, max_clauses=3):
    """Sentences with a sentiment tag per word (0 O, 1 POS, 2 NEG), in context.

    Args:
        n_samples: number of sentences.
        seed: the generator's seed (the same seed gives the same corpus).
        negation_rate: the share of clauses with a negator.
        max_clauses: each sentence has 1..max_clauses clauses joined by "and", "but", ....

    Returns:
        `(texts, tags)`: a list of N strings, and a list of N int32 arrays, one tag per word of
        the text (lengths differ; pad them to the model's length, e.g. with
        `seqattn.utils.pad_sequences(tags, maxlen=T, padding="post")`, and mask the padding
        with `Embedding(mask_zero=True)` so padded steps count for nothing in the loss).
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        raise ValueError(f"synthetic_tagging: `n_samples` must be a positive integer. Received: "
                         f"n_samples={n_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"synthetic_tagging: `seed` must be a non-negative integer. Received: "
                         f"seed={seed!r}")
    if (isinstance(negation_rate, bool) or not isinstance(negation_rate, numbers.Real)
            or not 0 <= negation_rate <= 1):
        raise ValueError(f"synthetic_tagging: `negation_rate` must be a number in [0, 1]. "
                         f"Received: negation_rate={negation_rate!r}")
    if (isinstance(max_clauses, bool) or not isinstance(max_clauses, numbers.Integral)
            or max_clauses < 1):
        raise ValueError(f"synthetic_tagging: `max_clauses` must be a positive integer. "
                         f"Received: max_clauses={max_clauses!r}")
    rng = np.random.default_rng(int(seed))
    texts, tags = [], []
    for _ in range(int(n_samples)):
        words, labels = [], []
        if rng.random() < 0.3:
            opener = _pick(rng, _OPENERS).split()
            words += opener
            labels += [0] * len(opener)
        for k in range(int(rng.integers(1, int(max_clauses) + 1))):
            if k:
                words.append(_pick(rng, _JOINERS))
                labels.append(0)
            w, t = _clause(rng, float(negation_rate))
            words += w
            labels += t
        texts.append(" ".join(words))
        tags.append(np.asarray(labels, np.int32))
    return texts, tags
