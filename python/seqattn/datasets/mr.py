"""MR, the Movie Review sentence polarity dataset v1.0 (Pang & Lee, 2005): 5,331 positive
(``rt-polarity.pos``) and 5,331 negative (``rt-polarity.neg``) sentences, one per line.

There is no official split: the literature mostly reports 10-fold cross-validation (Kim,
2014); `load_data` makes one fixed, seeded, stratified held-out split instead.

Encoding: each file is decoded as UTF-8; a file that is not valid UTF-8 is decoded as a
whole as Windows-1252 (cp1252), the encoding of the original Cornell release
(``rt-polaritydata.tar.gz``), so both the original and the usual UTF-8 copy load to the
same text. Bytes that are invalid in both raise ValueError naming the file and line.
"""

from __future__ import annotations

import os

import numpy as np

from ._common import check_int, find_dataset_dir, labels_array, split_lines, where

__all__ = ["load_data"]

FILES = ("rt-polarity.pos", "rt-polarity.neg")
ORIGIN = ("the sentence polarity dataset v1.0, rt-polaritydata.tar.gz, "
          "http://www.cs.cornell.edu/people/pabo/movie-review-data/")


def _decode(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{where(path, line)}: the file is neither UTF-8 nor Windows-1252 "
                         f"(byte 0x{data[e.start]:02x} at byte offset {e.start}).") from None


def read_lines(path):
    """The sentences of one file: one per non-blank line, trailing whitespace removed."""
    with open(path, "rb") as f:
        text = _decode(f.read(), path)
    out = [line.rstrip() for _, line in split_lines(text)]
    out = [s for s in out if s]
    if not out:
        raise ValueError(f"{where(path, 1)}: the file holds no sentences.")
    return out


def load_data(path=None, test_split=0.1, seed=113):
    """MR sentences with a fixed, seeded, stratified train/test split.

    The split, exactly: ``rng = np.random.RandomState(seed)``; for the negative sentences
    and then the positive ones (each in file order), ``rng.permutation`` orders that class
    and its first ``round(test_split * n_class)`` sentences (halves rounded up) go to the
    test split; then each split is shuffled with ``rng.permutation`` (train first). So
    both classes keep their 50/50 balance: the default gives 9,596 training and 1,066 test
    sentences. The literature mostly uses 10-fold cross-validation instead; use
    `read_lines` and your own folds for that.

    Args:
        path: the folder holding ``rt-polarity.pos`` and ``rt-polarity.neg`` (or its parent,
            holding it as ``mr/`` or ``rt-polaritydata/``, or one of the files). None looks
            in ``$SEQATTN_DATA/mr/``.
        test_split: fraction held out, in [0, 1). 0 gives an empty test split.
        seed: seed of the split and the shuffling.

    Returns:
        ``(train_texts, train_labels), (test_texts, test_labels)``: lists of str (trailing
        spaces removed) and int32 arrays, 1 = positive, 0 = negative.
    """
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.floating)) \
            or not 0 <= test_split < 1:
        raise ValueError(f"Expected a fraction in [0, 1) for `test_split`. Received: "
                         f"test_split={test_split!r}")
    seed = check_int("seed", seed, 0)
    folder = find_dataset_dir("MR", path, FILES, ("mr", "rt-polaritydata"), ORIGIN)
    classes = [(0, read_lines(os.path.join(folder, "rt-polarity.neg"))),
               (1, read_lines(os.path.join(folder, "rt-polarity.pos")))]
    rng = np.random.RandomState(seed)
    train, test = [], []
    for label, sentences in classes:
        order = rng.permutation(len(sentences))
        n_test = int(np.floor(test_split * len(sentences) + 0.5))
        test += [(sentences[i], label) for i in order[:n_test]]
        train += [(sentences[i], label) for i in order[n_test:]]
    out = []
    for part in (train, test):
        part = [part[i] for i in rng.permutation(len(part))]
        out.append(([t for t, _ in part], labels_array([y for _, y in part])))
    return tuple(out)
