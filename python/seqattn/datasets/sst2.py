"""SST-2, the GLUE version of the binary Stanford Sentiment Treebank: 67,349 training and
872 dev sentences (the test labels are not public).

Files: GLUE's ``train.tsv`` and ``dev.tsv``, UTF-8, header ``sentence<TAB>label``. Quote
characters are ordinary text, so each line is split on its LAST TAB with no CSV quoting,
and the space GLUE leaves before the TAB is stripped (trailing whitespace of the sentence).
"""

from __future__ import annotations

import os

from ._common import (find_dataset_dir, labels_array, read_text, split_lines,
                      tab_labelled, where)

__all__ = ["load_data"]

FILES = ("train.tsv", "dev.tsv")
ORIGIN = ("GLUE's SST-2.zip (https://gluebenchmark.com/tasks, "
          "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip): train.tsv and dev.tsv.")


def read_glue_tsv(path):
    """(sentences, labels) of one GLUE SST-2 file; errors name the file and the line."""
    lines = split_lines(read_text(path))
    header = next(lines, None)
    if header is None:
        raise ValueError(f"{where(path, 1)}: the file is empty; expected the header "
                         "'sentence<TAB>label'.")
    if header[1].rpartition("\t")[::2] != ("sentence", "label"):
        raise ValueError(f"{where(path, 1)}: expected the header 'sentence<TAB>label', "
                         f"found {header[1][:80]!r}.")
    texts, labels = tab_labelled(path, lines)
    if not texts:
        raise ValueError(f"{where(path, header[0])}: the file has a header but no sentences.")
    return texts, labels_array(labels)


def load_data(path=None):
    """SST-2 training and dev sentences.

    Args:
        path: the folder holding ``train.tsv`` and ``dev.tsv`` (or its parent, holding it as
            ``sst2/`` or ``SST-2/``, or one of the two files). None looks in
            ``$SEQATTN_DATA/sst2/``; if the files are not found, FileNotFoundError says where
            they are expected and where to get them.

    Returns:
        ``(train_texts, train_labels), (dev_texts, dev_labels)``: lists of str (in file
        order) and int32 arrays, 1 = positive, 0 = negative. ``train.tsv`` also holds many
        sub-phrases of its sentences, as in GLUE.
    """
    folder = find_dataset_dir("SST-2", path, FILES, ("sst2", "SST-2"), ORIGIN)
    return tuple(read_glue_tsv(os.path.join(folder, f)) for f in FILES)
