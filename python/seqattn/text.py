"""Text preprocessing: turn raw strings into padded integer id arrays.

``TextVectorization`` follows ``keras.layers.TextVectorization`` with
``output_mode="int"``, implemented in pure Python + NumPy (Keras needs
TensorFlow for this layer; seqattn does not).
"""

import functools
import numbers
import sys
import unicodedata
from collections import Counter

import numpy as np

from .layers.base import unique_name

__all__ = ["TextVectorization"]

PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
_RESERVED = (PAD_TOKEN, OOV_TOKEN)

_STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT_MODES = ("whitespace", "character")

# ASCII characters Keras strips (its DEFAULT_STRIP_REGEX) that are Unicode
# symbols (category "S"), not punctuation ("P").
_KERAS_ASCII_SYMBOLS = "$+<=>^`|~"


# string.punctuation: the 32 ASCII characters Keras' DEFAULT_STRIP_REGEX strips.
_ASCII_STRIP = "".join(chr(c) for c in range(128)
                       if unicodedata.category(chr(c)).startswith("P")) + _KERAS_ASCII_SYMBOLS
_ASCII_STRIP_TABLE = str.maketrans("", "", _ASCII_STRIP)


@functools.lru_cache(maxsize=1)
def _unicode_strip_mask():
    """Boolean array over all code points: True for characters to strip.

    That is every Unicode character whose category starts with "P"
    (punctuation: ``.,;:!?'"()[]{}-_`` ... and e.g. ``«»“”¿、。``) plus the
    ASCII symbols ``$+<=>^`|~``, so ASCII text is standardized exactly as by
    Keras' ``DEFAULT_STRIP_REGEX``. Built once, on first use (~0.3 s).
    """
    mask = np.zeros(sys.maxunicode + 1, dtype=bool)
    mask[[c for c in range(sys.maxunicode + 1)
          if unicodedata.category(chr(c)).startswith("P")]] = True
    mask[[ord(c) for c in _KERAS_ASCII_SYMBOLS]] = True
    return mask


def _strip_punctuation(text):
    # ASCII strings take CPython's fast str.translate path. Other strings go
    # through NumPy (3-4x faster than str.translate with a dict).
    if text.isascii():
        return text.translate(_ASCII_STRIP_TABLE)
    mask = _unicode_strip_mask()
    try:
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # lone surrogates: slow but correct
        return "".join(ch for ch in text if not mask[ord(ch)])
    return codes[~mask[codes]].tobytes().decode("utf-32-le")


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


class TextVectorization:
    """Map strings to integer token ids (Keras ``TextVectorization``, "int" mode).

    Id 0 is padding (token ``""``), id 1 is out-of-vocabulary (``"[UNK]"``),
    learned tokens start at id 2.

    Args:
        max_tokens: None (no limit) or an int >= 3: the maximum vocabulary
            size, INCLUDING the two reserved entries ``""`` and ``"[UNK]"``
            (as in Keras), so at most ``max_tokens - 2`` tokens are learned.
            3 is the smallest value that leaves room for one learned token.
        output_sequence_length: None or a positive int. If set, every output
            row has exactly this many ids: shorter texts are padded with 0 at
            the END and longer texts are truncated at the END (the first
            ``output_sequence_length`` tokens are kept), as in Keras. If None,
            each call pads to the longest text in that batch.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, None (no change), or a callable
            ``str -> str``. Lowercasing uses ``str.lower``. Stripping removes
            every Unicode punctuation character (category ``P*``) and the ASCII
            symbols ``$+<=>^`|~`` (so ASCII text is stripped exactly like
            Keras' default regex). Punctuation is deleted, not replaced by a
            space: ``"don't"`` becomes ``"dont"``, ``"a,b"`` becomes ``"ab"``.
        split: ``"whitespace"`` (default, ``str.split()``), ``"character"``
            (every character, including spaces, is a token), None (the whole
            standardized string is one token), or a callable
            ``str -> list[str]``.
        vocabulary: optional initial vocabulary, passed to ``set_vocabulary``.
        output_mode: only ``"int"`` is supported (accepted for Keras
            compatibility).
        name: optional name used in messages and ``get_config``.

    All arguments except ``max_tokens`` are keyword-only.

    Vocabulary order after ``adapt``: ``""``, ``"[UNK]"``, then tokens by
    descending count; tokens with equal counts are in ascending code point
    (alphabetical) order. (Keras breaks count ties in DESCENDING token order;
    ascending is easier to read and equally deterministic.)

    Example:
        >>> vec = TextVectorization(output_sequence_length=4)
        >>> vec.adapt(["The cat sat.", "The dog sat!", "the end"])
        >>> vec.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'cat', 'dog', 'end']
        >>> vec(["the cat ate"]).tolist()
        [[2, 4, 1, 0]]
    """

    def __init__(self, max_tokens=None, *, output_sequence_length=None,
                 standardize="lower_and_strip_punctuation", split="whitespace",
                 vocabulary=None, output_mode="int", name=None):
        if max_tokens is not None and (
                isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral)
                or max_tokens < 3):
            raise ValueError(
                "Received an invalid value for `max_tokens`, expected None or an "
                "integer >= 3 (the vocabulary size including the padding token '' "
                f"and the OOV token '[UNK]'). Received: max_tokens={max_tokens!r}")
        if output_sequence_length is not None and (
                isinstance(output_sequence_length, bool)
                or not isinstance(output_sequence_length, numbers.Integral)
                or output_sequence_length < 1):
            raise ValueError(
                "Received an invalid value for `output_sequence_length`, expected "
                "None or a positive integer. Received: "
                f"output_sequence_length={output_sequence_length!r}")
        _check_mode("standardize", standardize, _STANDARDIZE_MODES)
        _check_mode("split", split, _SPLIT_MODES)
        if output_mode != "int":
            raise ValueError(
                "Received an invalid value for `output_mode`: only 'int' is "
                f"supported. Received: output_mode={output_mode!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None. Received: name={_describe(name)}")

        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.output_sequence_length = (
            None if output_sequence_length is None else int(output_sequence_length))
        self.standardize = standardize
        self.split = split
        self.output_mode = output_mode
        self.name = name if name is not None else unique_name("text_vectorization")
        self._vocab = None   # list[str], reserved tokens first
        self._index = None   # dict token -> id
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # ------------------------------------------------------------------ text
    def _standardize(self, text):
        mode = self.standardize
        if mode is None:
            return text
        if callable(mode):
            out = mode(text)
            if not isinstance(out, str):
                raise TypeError(
                    f"The `standardize` callable of layer '{self.name}' must return a "
                    f"str. Received: {_describe(out)}")
            return out
        if mode != "strip_punctuation":
            text = text.lower()
        if mode != "lower":
            text = _strip_punctuation(text)
        return text

    def _split(self, text):
        mode = self.split
        if mode == "whitespace":
            return text.split()
        if mode == "character":
            return list(text)
        if mode is None:
            return [text] if text else []
        tokens = mode(text)
        tokens = list(tokens)
        for t in tokens:
            if not isinstance(t, str):
                raise TypeError(
                    f"The `split` callable of layer '{self.name}' must return strings. "
                    f"Received: {_describe(t)}")
        return tokens

    def _tokenize(self, text):
        return self._split(self._standardize(text))

    def _as_text_list(self, texts, what):
        """Validate input and return a list of str."""
        if isinstance(texts, (str, bytes, np.str_, np.bytes_)):
            texts = [texts]
        elif isinstance(texts, np.ndarray):
            if texts.ndim == 0:
                texts = [texts.item()]
            elif texts.ndim == 2 and texts.shape[1] == 1:
                texts = texts[:, 0].tolist()
            elif texts.ndim == 1:
                texts = texts.tolist()
            else:
                raise ValueError(
                    f"{what} of layer '{self.name}' expects a 1-D array of strings "
                    f"(or shape (batch, 1)). Received an array of shape {texts.shape}")
        elif isinstance(texts, (list, tuple)):
            texts = list(texts)
        elif isinstance(texts, dict) or not hasattr(texts, "__iter__"):
            raise TypeError(
                f"{what} of layer '{self.name}' expects a string or a list/array of "
                f"strings. Received: {_describe(texts)}")
        else:
            texts = list(texts)
        out = texts
        for i, t in enumerate(texts):
            if isinstance(t, str):
                continue
            if out is texts:
                out = list(texts)
            if isinstance(t, (bytes, np.bytes_)):
                try:
                    out[i] = bytes(t).decode("utf-8")
                except UnicodeDecodeError as e:
                    raise ValueError(
                        f"{what} of layer '{self.name}': element {i} is bytes that are "
                        f"not valid UTF-8 ({e})") from None
            elif isinstance(t, np.ndarray) and t.ndim == 1 and t.shape[0] == 1 and isinstance(
                    t[0], (str, np.str_)):
                out[i] = str(t[0])
            elif isinstance(t, list) and len(t) == 1 and isinstance(t[0], str):
                out[i] = t[0]
            else:
                raise TypeError(
                    f"{what} of layer '{self.name}' expects strings. Element {i} is "
                    f"{_describe(t)}")
        return out

    # ------------------------------------------------------------ vocabulary
    def adapt(self, texts):
        """Build the vocabulary from ``texts`` (a str or a list/array of str).

        Replaces any previous vocabulary. Order: ``""``, ``"[UNK]"``, then
        tokens by descending count, ties in ascending (alphabetical) order,
        keeping at most ``max_tokens - 2`` learned tokens. The tokens ``""``
        and ``"[UNK]"`` are never learned.
        """
        texts = self._as_text_list(texts, "adapt()")
        if not texts:
            raise ValueError(
                f"adapt() of layer '{self.name}' received an empty list of texts; "
                "it needs at least one text to build a vocabulary.")
        if self.split == "whitespace":
            # One split over the joined standardized texts gives the same
            # tokens as splitting each text ("\n" is whitespace), with far
            # fewer Python-level calls.
            counts = Counter("\n".join(map(self._standardize, texts)).split())
        else:
            counts = Counter()
            for t in texts:
                counts.update(self._tokenize(t))
        for reserved in _RESERVED:
            counts.pop(reserved, None)
        tokens = sorted(counts, key=lambda tok: (-counts[tok], tok))
        if self.max_tokens is not None:
            tokens = tokens[: self.max_tokens - len(_RESERVED)]
        self._set_tokens(tokens)

    def set_vocabulary(self, vocabulary):
        """Set the vocabulary from a list (or 1-D array) of str tokens.

        If the list starts with ``""`` and ``"[UNK]"`` it is used as-is;
        otherwise those two are prepended. The reserved tokens may not appear
        anywhere else, tokens must be unique, and the total size (with the
        reserved tokens) may not exceed ``max_tokens``.
        """
        if isinstance(vocabulary, (str, bytes)) or not isinstance(
                vocabulary, (list, tuple, np.ndarray)):
            raise TypeError(
                f"set_vocabulary() of layer '{self.name}' expects a list of string "
                f"tokens. Received: {_describe(vocabulary)}")
        tokens = list(vocabulary.tolist() if isinstance(vocabulary, np.ndarray) else vocabulary)
        for i, t in enumerate(tokens):
            if not isinstance(t, str):
                raise TypeError(
                    f"set_vocabulary() of layer '{self.name}' expects string tokens. "
                    f"Element {i} is {_describe(t)}")
        if tokens[:2] == list(_RESERVED):
            tokens = tokens[2:]
        bad = [t for t in tokens if t in _RESERVED]
        if bad:
            raise ValueError(
                f"set_vocabulary() of layer '{self.name}': the reserved tokens '' "
                "(padding) and '[UNK]' (out of vocabulary) may only appear as the "
                "first two entries, in that order. Found "
                f"{sorted(set(bad))!r} elsewhere in the vocabulary.")
        dupes = sorted(t for t, c in Counter(tokens).items() if c > 1)
        if dupes:
            shown = dupes[:10]
            raise ValueError(
                f"set_vocabulary() of layer '{self.name}': the vocabulary contains "
                f"repeated tokens: {shown!r}{' ...' if len(dupes) > 10 else ''}")
        if self.max_tokens is not None and len(tokens) + 2 > self.max_tokens:
            raise ValueError(
                f"set_vocabulary() of layer '{self.name}': a vocabulary of "
                f"{len(tokens) + 2} entries (including '' and '[UNK]') is larger than "
                f"max_tokens={self.max_tokens}.")
        self._set_tokens(tokens)

    def _set_tokens(self, tokens):
        self._vocab = list(_RESERVED) + list(tokens)
        self._index = _Index((tok, i) for i, tok in enumerate(self._vocab))

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary as a list: index i is the token with id i.

        With ``include_special_tokens=False`` the ``""`` and ``"[UNK]"`` entries
        are left out (then index i is id i + 2). Before ``adapt`` or
        ``set_vocabulary`` this is ``["", "[UNK]"]`` (or ``[]``).
        """
        vocab = self._vocab if self._vocab is not None else list(_RESERVED)
        return list(vocab) if include_special_tokens else list(vocab[2:])

    def vocabulary_size(self):
        """Number of ids, including padding and ``"[UNK]"`` (use for ``Embedding``)."""
        return len(self._vocab) if self._vocab is not None else len(_RESERVED)

    # ------------------------------------------------------------------ call
    # In a model: a string Input -> this vectorizer -> Embedding. The model runs it in Python
    # on the raw texts (once per fit/predict call) and saves it with the model; it has no
    # weights and no C++ counterpart.
    _python_only = True
    hidden = False
    built = True
    _core = None

    @property
    def _nodes(self):
        return self.__dict__.setdefault("_node_list", [])

    def get_weights(self):
        return []

    def count_params(self):
        return 0

    def _weight_layers(self):
        return [self]

    def _call_symbolic(self, tensor):
        from .layers.base import Node, SymbolicTensor
        if tensor.dtype != "string" or tensor.node is not None:
            raise ValueError(f"TextVectorization layer '{self.name}' reads raw texts: in a model, "
                             "call it on seqattn.Input(shape=(), dtype=\"string\"); received "
                             f"{tensor!r}")
        if self.output_sequence_length is None:
            raise ValueError(f"TextVectorization layer '{self.name}' needs "
                             "output_sequence_length in a model (the layers after it need a "
                             "fixed sequence length).")
        if self._nodes:
            raise ValueError(f"TextVectorization layer '{self.name}' is already used in a model.")
        node = Node(self, [tensor])
        node.output = SymbolicTensor((None, self.output_sequence_length), "int32", node=node,
                                     name=self.name)
        node.call_structure = ((tensor,), {})
        self._nodes.append(node)
        return node.output

    def __call__(self, texts):
        """Vectorize a str or a list/array of str into an int32 array (B, L); called on a
        symbolic string Input, add this vectorizer to a model."""
        from .layers.base import is_symbolic
        if is_symbolic(texts):
            return self._call_symbolic(texts)
        if self._vocab is None:
            raise ValueError(
                f"TextVectorization layer '{self.name}' has no vocabulary yet: call "
                "`adapt(texts)` or `set_vocabulary(tokens)` (or pass `vocabulary=`) "
                "before calling it.")
        texts = self._as_text_list(texts, "Calling")
        length = self.output_sequence_length
        flat = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for i, t in enumerate(texts):
            tokens = self._tokenize(t)
            if length is not None:
                del tokens[length:]
            flat.extend(tokens)
            lengths[i] = len(tokens)
        # Unknown tokens -> 1 via _Index.__missing__. A "" token (possible
        # with a custom split) maps to 0, like padding, as in Keras.
        ids = np.fromiter(map(self._index.__getitem__, flat), dtype=np.int32, count=len(flat))
        if length is None:
            length = int(lengths.max()) if len(texts) else 0
        out = np.zeros((len(texts), length), dtype=np.int32)
        # Row-major boolean mask selecting the first lengths[i] slots of row i.
        out[np.arange(length) < lengths[:, None]] = ids
        return out

    # ---------------------------------------------------------------- config
    def get_config(self):
        """Constructor arguments (plus the current vocabulary, as Keras does)."""
        return {
            "name": self.name,
            "max_tokens": self.max_tokens,
            "output_sequence_length": self.output_sequence_length,
            "standardize": self.standardize,
            "split": self.split,
            "output_mode": self.output_mode,
            "vocabulary": None if self._vocab is None else list(self._vocab),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        size = "unset" if self._vocab is None else str(len(self._vocab))
        return (f"TextVectorization(name={self.name!r}, max_tokens={self.max_tokens}, "
                f"output_sequence_length={self.output_sequence_length}, "
                f"standardize={self.standardize!r}, split={self.split!r}, "
                f"vocabulary_size={size})")
