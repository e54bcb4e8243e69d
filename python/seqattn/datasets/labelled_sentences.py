"""The UCI "Sentiment Labelled Sentences" dataset (Kotzias et al., 2015): 1,000 Amazon and
1,000 Yelp review sentences, 500 positive and 500 negative each, with no official split.

Files ``amazon_cells_labelled.txt`` and ``yelp_labelled.txt``: UTF-8, no header, one
``sentence<TAB>label`` per line. Quotes are ordinary text (no CSV quoting), so each line is
split on its LAST TAB and trailing whitespace is stripped from the sentence. A first line
whose label field reads ``score`` or ``label`` (a header some copies added) is skipped.

The third part of the dataset, ``imdb_labelled.txt``, is not offered: 990 of its 1,000
sentences occur in the official IMDB test reviews.
"""

from __future__ import annotations

import os

from ._common import (find_dataset_dir, labels_array, read_text, split_lines,
                      tab_labelled, where)

__all__ = ["load_data"]

FILES = {"amazon": "amazon_cells_labelled.txt", "yelp": "yelp_labelled.txt"}
ORIGIN = ("the UCI Machine Learning Repository, 'sentiment labelled sentences.zip', "
          "https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences")


def _without_header(lines):
    """Skips a first line labelled 'score' or 'label' (a header some copies added)."""
    for number, line in lines:
        sentence, tab, label = line.rpartition("\t")
        if number == 1 and tab and label.strip().lower() in ("score", "label"):
            continue
        yield number, line


def read_labelled_lines(path):
    """(sentences, labels) of one ``sentence<TAB>0|1`` file; errors name file and line."""
    texts, labels = tab_labelled(path, _without_header(split_lines(read_text(path))))
    if not texts:
        raise ValueError(f"{where(path, 1)}: the file holds no labelled sentences.")
    return texts, labels_array(labels)


def load_data(path=None, source="amazon"):
    """The sentences of one source, in file order.

    Args:
        path: the folder holding the ``*_labelled.txt`` files (or its parent, holding it as
            ``sentiment_labelled_sentences/`` or ``sentiment labelled sentences/``, as in
            the UCI zip, or the file itself). None looks in
            ``$SEQATTN_DATA/sentiment_labelled_sentences/``.
        source: ``"amazon"`` or ``"yelp"``.

    Returns:
        ``(texts, labels)``: a list of str and an int32 array, 1 = positive, 0 = negative.
        There is no official split: shuffle with a fixed seed and make your own.
    """
    if source not in FILES:
        raise ValueError(f"Expected source='amazon' or source='yelp'. Received: "
                         f"source={source!r}")
    name = FILES[source]
    folder = find_dataset_dir(
        f"Sentiment Labelled Sentences ({source})", path, (name,),
        ("sentiment_labelled_sentences", "sentiment labelled sentences"), ORIGIN)
    return read_labelled_lines(os.path.join(folder, name))
