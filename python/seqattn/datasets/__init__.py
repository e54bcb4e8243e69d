"""Datasets for text classification.

- `synthetic_sentiment`: the built-in corpus, embedded (no files, no download).
- `synthetic_tagging`: a built-in token-tagging corpus (each word's sentiment in context).
- `synthetic_seq2seq`: built-in sequence-to-sequence tasks (reverse, sort words) with
  `teacher_forcing`, the padded encoder/decoder arrays that train them.
- `imdb`: the IMDB movie reviews: ``load_data`` (word ids, Keras conventions),
  ``load_texts`` (raw reviews), ``get_word_index``; from the aclImdb folder, the official
  archive (downloaded once and cached when ``path=None``) or a CSV file.
- `sst2`, `mr`, `labelled_sentences`: SST-2 (GLUE), MR (rt-polarity) and the UCI Amazon/Yelp
  sentences, read from local files (``path=``, or ``$SEQATTN_DATA/<name>/``).
- `load_csv`, `load_tsv`: texts and labels from your own files.
- `get_file`: download a file into the cache (``~/.seqattn/datasets``, or
  ``$SEQATTN_HOME/datasets``), verified by its hash, resumable, written atomically.

Labels are int32 arrays everywhere. In CSV/TSV files a label is a class id 0..K-1, or one of
pos/positive (1) and neg/negative (0). Every error about a file's content is a ValueError
that names the file and the 1-based line.
"""

from . import imdb, labelled_sentences, mr, sst2
from ._download import get_file
from ._tables import load_csv, load_tsv
from .synthetic import synthetic_sentiment
from .tagging import synthetic_tagging
from .seq2seq import synthetic_seq2seq, teacher_forcing

__all__ = ["get_file", "imdb", "labelled_sentences", "load_csv", "load_tsv", "mr", "sst2",
           "synthetic_sentiment", "synthetic_tagging", "synthetic_seq2seq", "teacher_forcing"]
