"""Text processing behind TextVectorization (layers/text_vectorization.py): standardization,
HTML stripping, splitting, n-grams and vocabulary counting, in pure Python + NumPy. No layer
lives here (the datasets use the same standardization to build their caches)."""

import html
import numbers
import re
import unicodedata
from collections import defaultdict
from itertools import chain, count

import numpy as np

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
_RESERVED = (PAD_TOKEN, OOV_TOKEN)

_STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT_MODES = ("whitespace", "character")

# The 32 ASCII characters Keras' DEFAULT_STRIP_REGEX deletes (string.punctuation):
# the ASCII punctuation (Unicode category "P*") and the ASCII symbols $+<=>^`|~.
_ASCII_STRIP = "".join(chr(c) for c in range(128)
                       if unicodedata.category(chr(c)).startswith("P")) + "$+<=>^`|~"
_ASCII_STRIP_TABLE = str.maketrans("", "", _ASCII_STRIP)

# Non-ASCII characters that separate words: punctuation stripping turns them into a space
# instead of deleting them (deleting would glue "good—but" into "goodbut").
_SPACE_CHARS = (
    "\u2012\u2013\u2014\u2015\u2e3a\u2e3b\ufe31\ufe32\ufe58"  # dashes (not hyphens)
    "\u2026"                                             # ellipsis …
    "\u3001\u3002\uff01\uff0c\uff1a\uff1b\uff1f"         # CJK/fullwidth 、。！，：；？
    "\u200b"                                             # zero width space
    "\x85\x96\x97")  # C1 controls read from Windows-1252 text as Latin-1: … – —
# Non-ASCII characters deleted besides the punctuation (category "P*"): the other C1
# controls (Windows-1252 quotes and symbols read as Latin-1), the acute accent typed as an
# apostrophe ("it´s", 205 times in IMDB), the soft hyphen and the byte order mark.
_DELETE_CHARS = "".join(chr(c) for c in range(0x80, 0xA0) if chr(c) not in _SPACE_CHARS) \
    + "\xb4\xad\ufeff"

_KEEP, _DELETE, _SPACE = 0, 1, 2


class _StripTable:
    """What punctuation stripping does to each code point: keep, delete or -> " ".

    ASCII: exactly Keras (`_ASCII_STRIP` deleted). Other code points: `_SPACE_CHARS` become a
    space; Unicode punctuation (category "P*") and `_DELETE_CHARS` are deleted; everything
    else (letters, digits, marks, symbols such as € or emoji) is kept. Filled lazily per block
    of 256 code points, when a text first uses one (no start-up cost).
    """

    def __init__(self):
        self.action = np.zeros(0x110000, dtype=np.uint8)
        self.ready = np.zeros(0x110000 >> 8, dtype=bool)
        self._fill(0)

    @staticmethod
    def _action_of(c):
        ch = chr(c)
        if c < 128:
            return _DELETE if ch in _ASCII_STRIP else _KEEP
        if ch in _SPACE_CHARS:
            return _SPACE
        if ch in _DELETE_CHARS or unicodedata.category(ch).startswith("P"):
            return _DELETE
        return _KEEP

    def _fill(self, block):
        base = block << 8
        self.action[base:base + 256] = [self._action_of(c) for c in range(base, base + 256)]
        self.ready[block] = True

    def actions(self, codes):
        """(N,) uint8 actions for (N,) uint32 code points."""
        blocks = codes >> 8
        if not self.ready[blocks].all():
            for block in np.unique(blocks[~self.ready[blocks]]).tolist():
                self._fill(block)
        return self.action[codes]

    def strip(self, text):
        """Strip punctuation from a non-ASCII str (ASCII takes the str.translate path)."""
        try:
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:  # lone surrogates (from errors="surrogateescape"): slower
            act = self.actions(np.array([ord(ch) for ch in text], dtype=np.uint32)).tolist()
            return "".join(ch if a == _KEEP else " " if a == _SPACE else ""
                           for ch, a in zip(text, act))
        act = self.actions(codes)
        codes = np.where(act == _SPACE, np.uint32(32), codes)
        return codes[act != _DELETE].tobytes().decode("utf-32-le")


_STRIP_TABLE = _StripTable()


def _standardize_builtin(text, lower, strip):
    """A built-in `standardize` mode on one str."""
    if text.isascii():  # CPython's fast paths; exactly Keras' result on ASCII
        if lower:
            text = text.lower()
        return text.translate(_ASCII_STRIP_TABLE) if strip else text
    text = unicodedata.normalize("NFC", text)
    if lower:
        text = text.lower()
    return _STRIP_TABLE.strip(text) if strip else text


# An HTML tag: "<", an optional "/", "!" or "?", a letter, anything but "<" and ">", then ">";
# or a comment. "<br />", "<br/>", "<br>", "<p>", "</i>", '<a href="x">', "<!DOCTYPE html>"
# match; "a < b", "<3", "<=8", ">.<" do not.
_HTML_TAG = re.compile(r"<!--.*?-->|<[/!?]?[A-Za-z][^<>]*>", re.DOTALL)


def _strip_html(text):
    """HTML tags -> " ", then character references (&amp; &#8217; &nbsp;) -> characters."""
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def _ngrams(tokens, widths, limit=None):
    """All `widths[0]`-grams, then all `widths[1]`-grams, ... (tf.strings.ngrams order, the
    tokens of an n-gram joined by one space), stopping after `limit` items if given."""
    out = []
    for width in widths:
        room = None if limit is None else limit - len(out)
        if room is not None and room <= 0:
            break
        src = tokens if room is None else tokens[:room + width - 1]
        if width == 1:
            out.extend(src)
        elif width == 2:
            out.extend(map(" ".join, zip(src, src[1:])))
        else:
            out.extend(map(" ".join, zip(*(src[i:] for i in range(width)))))
    return out


def _group(key):
    """Number the distinct values of `key` (M,) int64 >= 0 densely. Returns inverse (M,)
    (the number of each element's value), counts (U,) and one index of each value (U,)."""
    m = len(key)
    if m == 0:
        return key, key, key
    bits = m.bit_length()
    if int(key.max()) < (1 << (63 - bits)):
        # Sort (value, index) packed in one int64: np.sort is ~10x faster than np.argsort.
        packed = np.sort((key << bits) | np.arange(m, dtype=np.int64))
        order, ordered = packed & ((1 << bits) - 1), packed >> bits
    else:
        order = np.argsort(key, kind="stable")
        ordered = key[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    inverse = np.empty(m, dtype=np.int64)
    inverse[order] = np.repeat(np.arange(len(starts), dtype=np.int64),
                               np.diff(np.append(starts, m)))
    return inverse, np.diff(np.append(starts, m)), order[starts]


def _ngram_counts(token_lists, widths, k):
    """Count the n-grams of `token_lists` (sizes `widths`) and return {n-gram string: count}
    for the candidates of the k most frequent (every n-gram if k is None).

    The n-grams are counted as integer codes with NumPy (sorting), not as strings in a dict
    (5x faster on IMDB bigrams): an n-gram's code is the pair (code of its first n-1 tokens,
    id of its last token) renumbered densely. Strings are made only for the candidates: the
    n-grams whose count reaches the k-th largest count. Valid when no token contains " "
    (whitespace split) or every token is one character (character split): then the strings
    of different n-grams differ, as do n-grams of different sizes.
    """
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    flat = list(chain.from_iterable(token_lists))  # (N,) every token of every text
    n = len(flat)
    index = defaultdict(count().__next__)         # token -> id, numbered as first seen
    ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=n)       # (N,)
    unigrams = list(index)                         # (V,)
    # (N,) how many tokens its text has from each position on (itself included)
    remaining = np.repeat(np.cumsum(lengths), lengths) - np.arange(n)
    groups = []   # (width, counts, one position of each n-gram)
    gram = ids    # (N,) code of the n-gram starting at each position (valid if it fits)
    for width in range(1, max(widths) + 1):
        if width == 1:
            counts = np.bincount(ids, minlength=len(unigrams))
            for reserved in _RESERVED:   # never learned
                if reserved in index:
                    counts[index[reserved]] = 0
            first = None
        else:
            pos = np.flatnonzero(remaining >= width)       # where a width-gram starts
            key = gram[pos] * np.int64(len(unigrams)) + ids[pos + width - 1]
            inverse, counts, first = _group(key)
            gram = np.zeros(n, dtype=np.int64)
            gram[pos] = inverse
            first = pos[first]
        if width in widths:
            groups.append((width, counts, first))
    all_counts = np.concatenate([c for _, c, _ in groups])
    threshold = 1
    if k is not None and k < len(all_counts):
        threshold = max(1, int(np.partition(all_counts, -k)[-k]))   # the k-th largest
    out = {}
    for width, counts, first in groups:
        for i in np.flatnonzero(counts >= threshold).tolist():
            if width == 1:
                out[unigrams[i]] = int(counts[i])
            else:
                p = int(first[i])
                out[" ".join(flat[p:p + width])] = int(counts[i])
    return out


def _most_frequent(counts, k):
    """Tokens by descending count, ties in ascending code point order, the first k (all if
    k is None). Sorts only the candidates for the first k, not every distinct token."""
    tokens = list(counts)
    if k is not None and k < len(tokens):
        values = np.fromiter(counts.values(), dtype=np.int64, count=len(tokens))
        threshold = np.partition(values, len(values) - k)[len(values) - k]  # k-th largest
        tokens = [tokens[i] for i in np.flatnonzero(values >= threshold).tolist()]
    tokens.sort()
    values = np.fromiter(map(counts.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    order = np.argsort(-values, kind="stable")
    if k is not None:
        order = order[:k]
    return [tokens[i] for i in order.tolist()]


class _Index(dict):
    """token -> id; unknown tokens map to 1 ("[UNK]")."""

    __slots__ = ()

    def __missing__(self, key):
        return 1


def _describe(value):
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (of type {type(value).__name__})"


def _check_mode(name, value, modes):
    """`value` must be None, a callable or one of the named `modes`."""
    if not (value is None or callable(value) or (isinstance(value, str) and value in modes)):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected one of "
            f"{', '.join(repr(m) for m in modes)}, None or a callable. "
            f"Received: {name}={value!r}")


_MAX_NGRAM = 64


def _ngram_widths(ngrams):
    """Validate `ngrams`; return the tuple of n-gram sizes, or None for no n-grams."""
    if ngrams is None:
        return None
    # Sizes up to 64 (an n-gram of 65 words joins whole sentences; a size of 10**9 would build
    # a tuple of 10**9 widths before anything else happened).
    if isinstance(ngrams, numbers.Integral) and not isinstance(ngrams, (bool, np.bool_)):
        if 1 <= ngrams <= _MAX_NGRAM:
            return tuple(range(1, int(ngrams) + 1))
    elif isinstance(ngrams, (tuple, list)) and 0 < len(ngrams) <= _MAX_NGRAM and all(
            isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_))
            and 1 <= n <= _MAX_NGRAM for n in ngrams):
        widths = tuple(int(n) for n in ngrams)
        if len(set(widths)) == len(widths):
            return widths
        raise ValueError(
            "Received an invalid value for `ngrams`: the n-gram sizes must be distinct "
            f"(a repeated size would repeat every n-gram). Received: ngrams={ngrams!r}")
    raise ValueError(
        "Received an invalid value for `ngrams`, expected None, a positive integer n "
        "up to 64 (sizes 1..n) or a non-empty tuple of such integers (the sizes). "
        f"Received: ngrams={ngrams!r}")
