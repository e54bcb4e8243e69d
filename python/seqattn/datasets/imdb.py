"""IMDB Large Movie Review Dataset (Maas et al., 2011): 25,000 training and 25,000 test
reviews, labelled 1 (positive, rating >= 7) or 0 (negative, rating <= 4).

``path`` may be:

- the official ``aclImdb`` folder (``train/{pos,neg}/{id}_{rating}.txt`` and ``test/...``),
  or a folder that holds an ``aclImdb/`` folder, ``aclImdb_v1.tar.gz`` or ``train.csv``;
- the ``aclImdb_v1.tar.gz`` archive itself (members are read straight from the archive;
  nothing is extracted to disk);
- a CSV file with the columns ``id,rating,label,text`` (as ``shared/data/imdb/train.csv``).
  Such a file holds only the TRAINING split: ``load_texts(split="test")`` raises, and
  ``load_data`` returns an empty test split;
- None: the official archive is downloaded once from `ORIGIN` into
  ``~/.seqattn/datasets/`` (or ``$SEQATTN_HOME/datasets/``), its SHA-256 checked. The
  first read also writes ``aclImdb_v1.reviews.npz`` beside it (the 50,000 labelled reviews,
  plain arrays, no pickle), so later loads skip the slow walk over the archive's 100,000
  members.

Order: reviews come sorted by review id, the negative review before the positive one for
each id (the row order of ``train.csv``), so the folder, the archive and the CSV give the
same lists. Texts are the files' contents, unchanged (the HTML ``<br />`` tags included,
unless ``strip_html=True``).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from itertools import chain, repeat

import numpy as np

from ._common import check_int, decode, labels_array, where
from ._download import get_file
from ._tables import load_csv
from .._text_processing import _standardize_builtin, _strip_html

__all__ = ["load_data", "load_texts", "get_word_index", "standardize"]

#: The official archive (http, as published; the SHA-256 below is what protects it).
ORIGIN = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
ARCHIVE_SIZE = 84_125_825
#: SHA-256 of aclImdb_v1.tar.gz (84,125,825 bytes), as published in tensorflow/datasets,
#: tensorflow_datasets/datasets/imdb_reviews/checksums.tsv:
#: "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz 84125825 c40f74a1...".
#: Independent loaders (Julia DataDeps registrations, Rust and Go IMDB loaders) pin the same.
SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"

_SPLITS = ("train", "test")
_REVIEW = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
_BR = re.compile(r"<br\s*/?\s*>", re.IGNORECASE)
# Tokenization: "<br />" tags (any case/spacing) become a space first, so they never become the
# word "br"; then TextVectorization's default standardization ("lower_and_strip_punctuation",
# the same function, so word ids and an adapted vocabulary agree: tests/test_datasets.py);
# then a split on whitespace. strip_html=True in load_texts is TextVectorization's rule too.
def standardize(text: str) -> str:
    """The text as `load_data` tokenizes it, before splitting on whitespace."""
    return _standardize_builtin(_BR.sub(" ", text), lower=True, strip=True)


class _Codes(dict):
    """word -> provisional code in order of first appearance, assigned on lookup."""

    def __missing__(self, word):
        code = self[word] = len(self)
        return code


def _tokenize(texts):
    """(flat list of tokens, int64 array of tokens per text)."""
    tokens = [standardize(t).split() for t in texts]
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    return list(chain.from_iterable(tokens)), lengths


def _vocabulary(flat):
    """(words by rank, codes of ``flat`` as rank - 1): words by descending count, ties by
    ascending code-point order (as TextVectorization.adapt)."""
    codes = _Codes()
    provisional = np.fromiter(map(codes.__getitem__, flat), dtype=np.int64, count=len(flat))
    words = list(codes)
    counts = np.bincount(provisional, minlength=len(words))
    alphabetical = np.empty(len(words), dtype=np.int64)
    alphabetical[sorted(range(len(words)), key=words.__getitem__)] = np.arange(len(words))
    order = np.lexsort((alphabetical, -counts))          # provisional codes by rank
    rank_of = np.empty(len(words), dtype=np.int64)
    rank_of[order] = np.arange(len(words))
    return [words[i] for i in order], rank_of[provisional]


def _rank(texts):
    """word -> rank (1 = most frequent) over ``texts``."""
    words, _ = _vocabulary(_tokenize(texts)[0])
    return {w: i for i, w in enumerate(words, 1)}


# ------------------------------------------------------------------------------ reading
def _source(path):
    """("folder" | "tar" | "csv" | "download", location)."""
    if path is None:
        return "download", get_file(ARCHIVE_NAME, ORIGIN, file_hash=SHA256)
    path = os.fspath(path)
    if os.path.isdir(path):
        if any(os.path.isdir(os.path.join(path, s, c)) for s in _SPLITS for c in ("pos", "neg")):
            return "folder", path
        for name, kind in (("aclImdb", "folder"), (ARCHIVE_NAME, "tar"), ("train.csv", "csv")):
            candidate = os.path.join(path, name)
            if (os.path.isdir if kind == "folder" else os.path.isfile)(candidate):
                return kind, candidate
        raise FileNotFoundError(
            f"IMDB: the folder {path!r} holds neither the aclImdb layout "
            "(train/pos, train/neg, test/pos, test/neg) nor an aclImdb/ folder, "
            f"{ARCHIVE_NAME} or train.csv. Pass one of those, or path=None to download "
            f"the official archive from {ORIGIN}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"IMDB: no such file or folder: {path!r}. Pass the aclImdb "
                                f"folder, {ARCHIVE_NAME}, a CSV file, or path=None to "
                                f"download {ORIGIN}")
    if path.lower().endswith(".csv"):
        return "csv", path
    if tarfile.is_tarfile(path):
        return "tar", path
    raise ValueError(f"IMDB: {path!r} is neither a .csv file nor a tar archive. Pass the "
                     f"aclImdb folder, {ARCHIVE_NAME} or a CSV file with the columns "
                     "id,rating,label,text.")


def _ordered(entries):
    """entries: (review id, label, text) -> texts, labels in id order, negative first."""
    entries.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in entries], labels_array([e[1] for e in entries])


def _read_folder(root, splits):
    out = {}
    for split in splits:
        folder = os.path.join(root, split)
        if not all(os.path.isdir(os.path.join(folder, c)) for c in ("pos", "neg")):
            raise FileNotFoundError(
                f"IMDB: {folder!r} has no pos/ and neg/ folders, so the {split!r} split is "
                f"missing from {root!r}. The official archive ({ORIGIN}) has both splits.")
        entries = []
        for label, cls in ((0, "neg"), (1, "pos")):
            sub = os.path.join(folder, cls)
            for name in os.listdir(sub):
                if name.startswith(".") or not name.endswith(".txt"):
                    continue
                m = re.fullmatch(r"(\d+)_(\d+)\.txt", name)
                file = os.path.join(sub, name)
                if m is None:
                    raise ValueError(f"IMDB: {file!r} is not named <id>_<rating>.txt as "
                                     "aclImdb review files are.")
                with open(file, "rb") as f:
                    entries.append((int(m.group(1)), label, decode(f.read(), file)))
        if not entries:
            raise ValueError(f"IMDB: {folder!r} has no reviews in pos/ and neg/.")
        out[split] = _ordered(entries)
    return out


def _open_decompressed(path):
    """The archive's tar bytes as a stream (gzip, bzip2, xz or none, by magic number). These
    decompressors raise EOFError on a truncated file, which tarfile's own stream mode does
    not: it stops silently at the cut, losing the reviews after it."""
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if magic.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    return open(path, "rb")


def _read_tar(archive, splits):
    archive = os.fspath(archive)
    entries = {s: [] for s in splits}
    try:
        with _open_decompressed(archive) as raw:
            # Streaming mode: one sequential pass over the archive.
            with tarfile.open(fileobj=raw, mode="r|") as tar:
                for member in tar:
                    m = _REVIEW.search(member.name)
                    if m is None or m.group(1) not in entries or not member.isfile():
                        continue
                    data = tar.extractfile(member).read()
                    if len(data) != member.size:
                        raise EOFError(f"{member.name} is cut short")
                    entries[m.group(1)].append((int(m.group(3)), int(m.group(2) == "pos"),
                                                decode(data, f"{archive}:{member.name}")))
                end = tar.offset          # where the end-of-archive marker should be
            while raw.read(1 << 20):      # drain: a truncated stream raises EOFError
                pass
            if raw.tell() < end + 2 * tarfile.BLOCKSIZE:
                raise EOFError("the archive ends without its end-of-archive marker")
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as e:
        raise ValueError(f"IMDB: cannot read the archive {archive!r} (damaged or cut short: "
                         f"{e}). If it was downloaded, delete it and download it again.") \
            from None
    out = {}
    for split in splits:
        if not entries[split]:
            raise ValueError(f"IMDB: the archive {os.fspath(archive)!r} has no "
                             f"aclImdb/{split}/pos or aclImdb/{split}/neg review files.")
        out[split] = _ordered(entries[split])
    return out


def _reviews_cache(archive):
    return os.path.join(os.path.dirname(archive), "aclImdb_v1.reviews.npz")


def _read_downloaded(archive, splits):
    """Both splits of the downloaded (and verified) archive, through a compact cache beside
    it: ``aclImdb_v1.reviews.npz`` holds the reviews as one UTF-8 byte array per split, with
    offsets and labels (plain arrays, read with allow_pickle=False) and the archive's
    SHA-256. Reading it takes a fraction of a second; walking the archive's 100,000 members
    takes 5-10 s. A missing, damaged or outdated cache is rebuilt from the archive."""
    cache = _reviews_cache(archive)
    try:
        with np.load(cache, allow_pickle=False) as f:
            if str(f["archive_sha256"]) == SHA256:
                out = {}
                for split in splits:
                    blob = f[f"{split}_text"].tobytes()
                    offsets = f[f"{split}_offsets"].tolist()
                    texts = [blob[a:b].decode("utf-8") for a, b in zip(offsets, offsets[1:])]
                    out[split] = texts, labels_array(f[f"{split}_labels"])
                return out
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile):
        pass
    data = _read_tar(archive, _SPLITS)
    arrays = {"archive_sha256": np.array(SHA256)}
    for split, (texts, labels) in data.items():
        encoded = [t.encode("utf-8") for t in texts]
        arrays[f"{split}_text"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        arrays[f"{split}_offsets"] = np.concatenate(
            [[0], np.cumsum([len(e) for e in encoded], dtype=np.int64)])
        arrays[f"{split}_labels"] = labels
    tmp = f"{cache}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, cache)
    except OSError:            # a read-only cache still gives the data
        if os.path.exists(tmp):
            os.remove(tmp)
    return {split: data[split] for split in splits}


def _csv_only_train(path):
    return ValueError(
        f"IMDB: {path!r} is a CSV file, which holds only the training split; the official "
        f"test split is in the archive {ARCHIVE_NAME}. Use split='train', or pass the "
        f"aclImdb folder or archive (or path=None to download it from {ORIGIN}).")


def _read(source, splits, csv_test="error"):
    kind, location = source
    if kind == "folder":
        return _read_folder(location, splits)
    if kind == "tar":
        return _read_tar(location, splits)
    if kind == "download":
        return _read_downloaded(location, splits)
    if "test" in splits and csv_test == "error":
        raise _csv_only_train(location)
    texts, labels = load_csv(location, text_column="text", label_column="label")
    if labels.size and labels.max() > 1:
        row = int(np.argmax(labels > 1)) + 1
        raise ValueError(f"{where(location)}: IMDB labels are 0 or 1, but data row {row} "
                         f"(after the header) has the label {labels[row - 1]}.")
    out = {"train": (texts, labels)}
    if "test" in splits:
        out["test"] = ([], labels_array([]))
    return out


# --------------------------------------------------------------------------- public API
def load_texts(path=None, split="train", strip_html=False):
    """The raw IMDB reviews of one split.

    Args:
        path: the aclImdb folder, the ``aclImdb_v1.tar.gz`` archive, a folder holding
            either (or ``train.csv``), a CSV file with the columns ``id,rating,label,text``
            (training split only), or None to download the official archive (cached).
        split: ``"train"`` or ``"test"``.
        strip_html: replace every HTML tag (``<br />``, ``<i>``, ``</i>`` ...) with a space
            and decode character references (``&amp;``), as
            ``TextVectorization(strip_html=True)`` does; ``a < b`` or ``<3`` stay.

    Returns:
        ``(texts, labels)``: a list of 25,000 str (for the full dataset) in review-id
        order, negative before positive for each id, and an int32 array of 0/1.
    """
    if split not in _SPLITS:
        raise ValueError(f"Expected split='train' or split='test'. Received: split={split!r}")
    texts, labels = _read(_source(path), (split,))[split]
    if strip_html:
        texts = [_strip_html(t) for t in texts]
    return texts, labels


_WORD_INDEX_CACHE = {}


def _cache_key(source):
    """Identifies an archive or CSV file's current contents; None for a folder (its files
    may change without the folder's mtime telling)."""
    kind, location = source
    if kind == "folder":
        return None
    if kind == "download":
        return "download", SHA256
    st = os.stat(location)
    return os.path.realpath(location), st.st_size, st.st_mtime_ns


def get_word_index(path=None):
    """Word -> rank (1 = most frequent word of the training texts), as `load_data` uses it.

    ``load_data`` encodes a word as ``rank + index_from`` (so with the defaults the most
    frequent word, "the", is 4), as in ``keras.datasets.imdb.get_word_index``. Ranks are by
    descending count over the 25,000 training reviews, ties by ascending code-point order of
    the word; words are tokenized as `load_data` describes. ``path`` as in `load_texts`.
    """
    source = _source(path)
    key = _cache_key(source)
    if key is None or key not in _WORD_INDEX_CACHE:
        texts, _ = _read(source, ("train",))["train"]
        index = _rank(texts)
        if key is not None:
            _WORD_INDEX_CACHE.clear()
            _WORD_INDEX_CACHE[key] = index
        return dict(index)
    return dict(_WORD_INDEX_CACHE[key])


class _Ragged:
    """Sequences of ints as one flat int64 array and their lengths (vectorized edits)."""

    def __init__(self, flat, lengths):
        self.flat = flat
        self.lengths = lengths

    @property
    def starts(self):
        return np.cumsum(self.lengths) - self.lengths

    def take(self, index):
        """The sequences ``index`` (an int array), in that order."""
        lengths = self.lengths[index]
        new_starts = np.cumsum(lengths) - lengths
        gather = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(
            self.starts[index] - new_starts, lengths)
        return _Ragged(self.flat[gather], lengths)

    def prepend(self, value):
        return _Ragged(np.insert(self.flat, self.starts, value), self.lengths + 1)

    def keep_values(self, keep):
        """Only the values where the bool array ``keep`` is True."""
        kept = np.concatenate([[0], np.cumsum(keep)])
        ends = self.starts + self.lengths
        return _Ragged(self.flat[keep], kept[ends] - kept[ends - self.lengths])

    def to_object_array(self):
        values = self.flat.tolist()
        out = np.empty(len(self.lengths), dtype=object)
        start = 0
        for i, n in enumerate(self.lengths.tolist()):
            out[i] = values[start:start + n]
            start += n
        return out


def load_data(path=None, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """IMDB reviews as lists of word ids, following ``keras.datasets.imdb.load_data``.

    Keras ships reviews that were tokenized long ago by a preprocessing nobody can
    reproduce exactly, so the ids here are NOT Keras's ids (nor, exactly, its vocabulary).
    Everything else follows Keras's code:

    - Tokenization: ``<br />`` tags become spaces, then TextVectorization's default
      standardization (lower-case, delete Unicode punctuation and the ASCII symbols
      ``$+<=>^`|~``), then a split on whitespace: ``"Don't <br />stop!"`` ->
      ``["dont", "stop"]``. `standardize` is the function.
    - Word ids: words ranked by descending count over the TRAINING reviews (ties in
      ascending code-point order), rank 1 the most frequent; a word's id is
      ``rank + index_from`` (`get_word_index` gives the ranks). Test words that never
      occur in the training reviews are left out of the test sequences (Keras: "simply
      skipped").
    - Order: both splits in review-id order (see `load_texts`), then shuffled exactly as
      Keras does: ``rng = np.random.RandomState(seed)``; the training indices are
      ``rng.shuffle``-d first, then the test indices with the same generator.
    - ``start_char`` (unless None) is prepended to every sequence.
    - ``maxlen``: sequences whose length (``start_char`` included) is not SHORTER than
      ``maxlen`` are DROPPED, not truncated (Keras keeps ``len(x) < maxlen``). If that
      leaves a split that had reviews empty, ValueError (as Keras).
    - ``num_words``/``skip_top`` compare the final ids, as Keras's code does: an id
      ``w`` is kept when ``skip_top <= w < num_words``, otherwise it becomes ``oov_char``
      (or is dropped when ``oov_char`` is None). So ``num_words=10000`` keeps ids up to
      9999, and ``skip_top=N`` replaces every id below N, ``start_char`` included when it is
      below N, as in Keras (whose maintainers kept these for backward compatibility,
      keras-team/keras#6114). ``num_words=None`` keeps every word: Keras's code replaces
      the single largest id in that case, an off-by-one seqattn does not copy.

    Args:
        path: see `load_texts`. With a CSV file (training split only) the test split is
            returned EMPTY: ``x_test`` has length 0 (no error, no warning).
        num_words: None or a positive int: ids >= num_words become ``oov_char``.
        skip_top: ids < skip_top become ``oov_char``.
        maxlen: None or a positive int: drop sequences with ``len >= maxlen``.
        seed: seed of the shuffling.
        start_char: id put at the start of every sequence, or None for none.
        oov_char: id of the words cut by ``num_words``/``skip_top``, or None to drop them.
        index_from: added to every word rank.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` are 1-D object arrays of lists of
        int (ragged, as Keras's); ``y`` int32 arrays of 0/1 (Keras's are int64).
    """
    num_words = check_int("num_words", num_words, 1, allow_none=True)
    skip_top = check_int("skip_top", skip_top, 0)
    maxlen = check_int("maxlen", maxlen, 1, allow_none=True)
    seed = check_int("seed", seed, 0)
    start_char = check_int("start_char", start_char, 0, allow_none=True)
    oov_char = check_int("oov_char", oov_char, 0, allow_none=True)
    index_from = check_int("index_from", index_from, 0)

    source = _source(path)
    data = _read(source, _SPLITS, csv_test="empty")
    (train_texts, y_train), (test_texts, y_test) = data["train"], data["test"]

    flat, lengths = _tokenize(train_texts)
    words, ranks = _vocabulary(flat)            # ranks: 0-based rank of every token
    del flat
    index = {w: i for i, w in enumerate(words, 1)}
    key = _cache_key(source)
    if key is not None:
        _WORD_INDEX_CACHE.clear()
        _WORD_INDEX_CACHE[key] = index
    train = _Ragged(ranks + (1 + index_from), lengths)
    # Test words never seen in training are left out (Keras: "simply skipped").
    flat, lengths = _tokenize(test_texts)
    ids = np.fromiter(map(index.get, flat, repeat(-index_from)), dtype=np.int64,
                      count=len(flat)) + index_from
    test = _Ragged(ids, lengths).keep_values(ids > 0)
    del flat, ids

    # Shuffle exactly as Keras: one generator, the training indices first.
    rng = np.random.RandomState(seed)
    order = np.arange(len(train.lengths))
    rng.shuffle(order)
    train, y_train = train.take(order), y_train[order]
    order = np.arange(len(test.lengths))
    rng.shuffle(order)
    test, y_test = test.take(order), y_test[order]

    if start_char is not None:
        train, test = train.prepend(start_char), test.prepend(start_char)

    if maxlen is not None:
        had = len(train.lengths), len(test.lengths)
        keep = np.flatnonzero(train.lengths < maxlen)
        train, y_train = train.take(keep), y_train[keep]
        keep = np.flatnonzero(test.lengths < maxlen)
        test, y_test = test.take(keep), y_test[keep]
        if (had[0] and not len(train.lengths)) or (had[1] and not len(test.lengths)):
            empty = "training" if had[0] and not len(train.lengths) else "test"
            raise ValueError(
                f"After filtering for sequences shorter than maxlen={maxlen}, no sequence "
                f"was kept in the {empty} split. Increase maxlen.")

    if skip_top > 0 or num_words is not None:
        def cut(seqs):
            ok = seqs.flat >= skip_top
            if num_words is not None:
                ok &= seqs.flat < num_words
            if oov_char is not None:
                return _Ragged(np.where(ok, seqs.flat, oov_char), seqs.lengths)
            return seqs.keep_values(ok)
        train, test = cut(train), cut(test)

    return ((train.to_object_array(), labels_array(y_train)),
            (test.to_object_array(), labels_array(y_test)))
