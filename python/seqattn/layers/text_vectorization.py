"""TextVectorization: raw strings -> padded int32 token ids, as `keras.layers.TextVectorization`
with output_mode="int", in pure Python + NumPy (Keras needs TensorFlow for this layer).

A preprocessing layer: in a model it reads a string Input and runs in Python on the whole
array (once per fit/predict call), before the C++ graph, which starts at its int32 output.
It has no weights; its vocabulary is saved with the model."""

from __future__ import annotations

import numbers
from collections import Counter
from itertools import chain

import numpy as np

from .._text_processing import (
    _Index, _RESERVED, _SPLIT_MODES, _STANDARDIZE_MODES, _check_mode, _describe,
    _most_frequent, _ngram_counts, _ngram_widths, _ngrams, _standardize_builtin, _strip_html,)
from .._subword import SubwordTokenizer, _split_config, _split_from_config
from .base import Layer, Node, SymbolicTensor, is_symbolic


class TextVectorization(Layer):
    """Map strings to integer token ids (Keras ``TextVectorization``, "int" mode).

    Id 0 is padding (token ``""``), id 1 is out-of-vocabulary (``"[UNK]"``),
    learned tokens start at id 2. Each text goes through, in order:
    ``strip_html`` (if True), ``standardize``, ``split``, ``ngrams``, then the
    vocabulary lookup and ``output_sequence_length``.

    Args:
        max_tokens: None (no limit) or an int >= 3: the maximum vocabulary
            size, INCLUDING the two reserved entries ``""`` and ``"[UNK]"``
            (as in Keras), so at most ``max_tokens - 2`` tokens are learned.
            3 is the smallest value that leaves room for one learned token.
        output_sequence_length: None or a positive int. If set, every output
            row has exactly this many ids: shorter texts are padded with 0 at
            the END and longer texts are truncated as ``truncation`` says
            (default: at the END, the first ``output_sequence_length`` tokens
            are kept, as in Keras). With ``ngrams`` the limit applies to the
            whole token sequence (all 1-grams, then 2-grams, ...), as in
            Keras. If None, each call pads to the longest text in that batch.
        truncation: ``"post"`` (default, as Keras' TextVectorization: keep
            the first ``output_sequence_length`` tokens) or ``"pre"`` (keep
            the LAST ones, what ``keras.utils.pad_sequences`` does by default
            with ``truncating="pre"``). The end of a long review often holds
            its verdict: on IMDB, a model fed the last 200 tokens scores about
            2 points more than one fed the first 200. Padding stays at the
            end either way. With ``ngrams``, "pre" keeps the last items of
            the whole token sequence (so the larger n-grams), as
            ``pad_sequences`` does on the untruncated output.
        standardize: ``"lower_and_strip_punctuation"`` (default), ``"lower"``,
            ``"strip_punctuation"``, None (no change), or a callable that
            receives one text as a plain Python ``str`` and returns a ``str``
            (Keras hands a callable a whole batch tensor; a model with a
            callable cannot be saved to a file).

            On ASCII text the built-in modes give exactly Keras' result:
            lowercasing maps A-Z to a-z, and stripping DELETES the 32
            characters of ``string.punctuation`` (``"don't"`` -> ``"dont"``,
            ``"a,b"`` -> ``"ab"``, ``"<br />"`` -> ``"br"``).

            Other text (Keras' stripping and lowercasing are ASCII-only, so
            ``"É"`` and ``"—"`` stay unchanged there): a text with non-ASCII
            characters is first put in Unicode NFC form (``"e"`` + combining
            accent == ``"é"``); lowercasing is ``str.lower`` (``"ÉTÉ Über"`` ->
            ``"été über"``); stripping deletes every Unicode punctuation
            character (category ``P*``: curly quotes ``‘’“”``, ``«»¿¡``, ``·``
            ..., so ``"don’t"`` -> ``"dont"`` like ``"don't"``), the spacing
            acute accent ``´`` (typed as an apostrophe: ``"it´s"`` ->
            ``"its"``), the soft hyphen and the byte order mark; it turns into
            a SPACE the characters that separate words: dashes other than
            hyphens (``– — ―`` ...), the ellipsis ``…``, the zero width space
            and the CJK/fullwidth ``、。！，：；？`` (``"good—but"`` -> ``"good
            but"``). The C1 control characters U+0080-U+009F only occur in
            Windows-1252 text decoded as Latin-1 (811 IMDB training reviews):
            U+0085, U+0096 and U+0097 (… – — there) become a space, the others
            (quotes, ...) are deleted. Letters, digits, combining marks and
            symbols (``€ £ ° ½``, emoji) are kept: ``"5€"`` stays ``"5€"``.
        split: ``"whitespace"`` (default, ``str.split()``: any Unicode
            whitespace, including the no-break space U+00A0, U+3000 and line
            breaks; runs of it count once), ``"character"`` (every character,
            including spaces, is a token), None (the whole standardized string
            is one token), a ``seqattn.text.SubwordTokenizer`` (WordPiece or BPE
            pieces, trained by ``adapt``, saved with the model), or a callable
            ``str -> list[str]``. Whitespace
            splitting does not segment text written without spaces (Chinese,
            Japanese): there use ``"character"`` or a callable.
        ngrams: None (default), an int n >= 1 (all sizes 1..n, so ``2`` means
            ``(1, 2)``, as in Keras) or a tuple (or list) of distinct positive
            ints, the n-gram sizes to produce, in that order. An n-gram token
            is its n tokens joined by one space (``"not good"``); the output
            holds all n-grams of the first size, then all of the next size,
            ... (``tf.strings.ngrams`` order). A text shorter than n has no
            n-grams of size n. ``adapt`` counts n-grams like tokens. Needs a
            ``split``.
        strip_html: False (default, as Keras: ``"<br />"`` becomes the token
            ``"br"`` or glues the words around it: ``"film.<br />It"`` ->
            ``"filmbrit"``) or True: before ``standardize`` every HTML tag
            becomes a space and character references are decoded (``&amp;``
            -> ``&``, ``&#8217;`` -> ``’``, ``&nbsp;`` -> no-break space). A
            tag is ``<``, an optional ``/``, ``!`` or ``?``, a letter, then
            anything up to the next ``>`` without another ``<`` (``<br />``,
            ``<br/>``, ``<br>``, ``<p>``, ``</i>``, ``<a href="...">``), or an
            HTML comment ``<!-- ... -->``; ``"a < b"``, ``"<3"`` and ``"<=8"``
            are left alone. IMDB reviews hold 101,870 ``<br />`` tags (in 14,665
            of the 25,000 training reviews).
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
        >>> bigrams = TextVectorization(ngrams=2, strip_html=True)
        >>> bigrams.adapt(["Not good.<br />Not bad."])
        >>> bigrams.get_vocabulary()[2:]
        ['not', 'bad', 'good', 'good not', 'not bad', 'not good']
    """

    def __init__(self, max_tokens=None, *, output_sequence_length=None,
                 standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, strip_html=False, vocabulary=None, output_mode="int",
                 truncation="post", name=None):
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
        widths = _ngram_widths(ngrams)
        if widths is not None and split is None:
            raise ValueError(
                "Received `ngrams` with split=None: n-grams combine the tokens of a "
                "split text, and with split=None each text is a single token. Use "
                f"split='whitespace' (or another split). Received: ngrams={ngrams!r}, "
                "split=None")
        if not isinstance(strip_html, (bool, np.bool_)):
            raise ValueError(
                "Received an invalid value for `strip_html`, expected True or False. "
                f"Received: strip_html={strip_html!r}")
        if output_mode != "int":
            raise ValueError(
                "Received an invalid value for `output_mode`: only 'int' is "
                f"supported. Received: output_mode={output_mode!r}")
        if not isinstance(truncation, str) or truncation not in ("pre", "post"):
            raise ValueError(
                "Received an invalid value for `truncation`, expected 'pre' (keep the last "
                "tokens) or 'post' (keep the first tokens). Received: "
                f"truncation={_describe(truncation)}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string or None. Received: name={_describe(name)}")

        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.output_sequence_length = (
            None if output_sequence_length is None else int(output_sequence_length))
        self.standardize = standardize
        self.split = split
        # As given (an int or a tuple); `_widths` is the tuple of sizes, None without n-grams.
        self.ngrams = (None if ngrams is None else int(ngrams)
                       if isinstance(ngrams, numbers.Integral) else tuple(int(n) for n in ngrams))
        self._widths = widths
        self.strip_html = bool(strip_html)
        self.output_mode = output_mode
        self.truncation = truncation
        super().__init__(name=name)
        self.built = True  # nothing to build: the vocabulary comes from adapt/set_vocabulary
        self._vocab = None   # list[str], reserved tokens first
        self._index = None   # dict token -> id
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # ------------------------------------------------------------------ text
    def _standardize(self, text):
        """strip_html, then standardize: one str -> str."""
        if self.strip_html:
            text = _strip_html(text)
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
        return _standardize_builtin(text, mode != "strip_punctuation", mode != "lower")

    def _split(self, text, limit=None):
        """Split a standardized str. With `limit`, the first `limit` tokens suffice (more
        may be returned)."""
        mode = self.split
        if mode == "whitespace":
            if limit is None:
                return text.split()
            tokens = text.split(None, limit)  # the last item holds the unsplit rest
            del tokens[limit:]
            return tokens
        if mode == "character":
            return list(text if limit is None else text[:limit])
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

    def _tokenize(self, text, limit=None):
        """The token sequence of one text (n-grams included); with `limit`, only its first
        `limit` tokens (its last ones with truncation="pre")."""
        if limit is not None and self.truncation == "pre":
            if self.split == "whitespace" and self._widths is None:
                tokens = self._standardize(text).rsplit(None, limit)
                return tokens[1:] if len(tokens) > limit else tokens
            tokens = self._tokenize(text)
            return tokens[len(tokens) - limit:] if len(tokens) > limit else tokens
        widths = self._widths
        if widths is None:
            tokens = self._split(self._standardize(text), limit)
            if limit is not None:
                del tokens[limit:]
            return tokens
        # The first size alone fills `limit` slots when the text has at least
        # limit + widths[0] - 1 tokens; otherwise all its tokens are split anyway.
        need = None if limit is None else limit + widths[0] - 1
        return _ngrams(self._split(self._standardize(text), need), widths, limit)

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
            if type(t) is str:
                continue
            if out is texts:
                out = list(texts)
            if isinstance(t, str):  # np.str_ and other str subclasses -> a plain str
                out[i] = str.__str__(t)
            elif isinstance(t, (bytes, np.bytes_)):
                try:
                    out[i] = bytes(t).decode("utf-8")
                except UnicodeDecodeError as e:
                    raise ValueError(
                        f"{what} of layer '{self.name}': element {i} is bytes that are "
                        f"not valid UTF-8 ({e})") from None
            elif isinstance(t, np.ndarray) and t.ndim == 1 and t.shape[0] == 1 and isinstance(
                    t[0], (str, np.str_)):
                out[i] = str.__str__(t[0])
            elif isinstance(t, list) and len(t) == 1 and isinstance(t[0], str):
                out[i] = str.__str__(t[0])
            else:
                raise TypeError(
                    f"{what} of layer '{self.name}' expects strings. Element {i} is "
                    f"{_describe(t)}")
        return out

    # ------------------------------------------------------------ vocabulary
    def adapt(self, texts):
        """Build the vocabulary from ``texts`` (a str or a list/array of str).

        Replaces any previous vocabulary. Tokens (n-grams included) are counted
        after ``strip_html``, ``standardize``, ``split`` and ``ngrams``. Order:
        ``""``, ``"[UNK]"``, then tokens by descending count, ties in ascending
        (alphabetical) order, keeping at most ``max_tokens - 2`` learned tokens.
        The tokens ``""`` and ``"[UNK]"`` are never learned.
        """
        texts = self._as_text_list(texts, "adapt()")
        if not texts:
            raise ValueError(
                f"adapt() of layer '{self.name}' received an empty list of texts; "
                "it needs at least one text to build a vocabulary.")
        k = None if self.max_tokens is None else self.max_tokens - len(_RESERVED)
        if isinstance(self.split, SubwordTokenizer) and not self.split.trained:
            # The subword vocabulary is learned from the texts as the tokenizer will see them.
            self.split.train(map(self._standardize, texts))
        if self.split == "whitespace" and self._widths is None:
            # One split over the joined standardized texts gives the same
            # tokens as splitting each text ("\n" is whitespace), with far
            # fewer Python-level calls.
            counts = Counter("\n".join(map(self._standardize, texts)).split())
        elif self._widths is not None and self.split in _SPLIT_MODES:
            counts = _ngram_counts(list(map(self._split, map(self._standardize, texts))),
                                   self._widths, k)
        else:
            counts = Counter(chain.from_iterable(map(self._tokenize, texts)))
        for reserved in _RESERVED:
            counts.pop(reserved, None)
        tokens = _most_frequent(counts, k)
        if isinstance(self.split, SubwordTokenizer):
            tokens = self.split._with_unseen_pieces(tokens, k, _RESERVED)
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
    _preprocessing = True  # runs in Python on whole arrays, before the C++ graph

    def _input_spec(self):
        return (), "string"

    def get_weights(self):
        return []

    def count_params(self):
        return 0

    def _weight_layers(self):
        return [self]

    def _call_symbolic(self, tensor):
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
        tokenize = self._tokenize
        for i, t in enumerate(texts):
            tokens = tokenize(t, length)
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
        """Constructor arguments (plus the current vocabulary, as Keras does); JSON data
        unless `standardize` or `split` is a callable. A tuple of n-gram sizes is a list."""
        return {
            "name": self.name,
            "max_tokens": self.max_tokens,
            "output_sequence_length": self.output_sequence_length,
            "standardize": self.standardize,
            "split": _split_config(self.split),
            "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
            "strip_html": self.strip_html,
            "output_mode": self.output_mode,
            "truncation": self.truncation,
            "vocabulary": None if self._vocab is None else list(self._vocab),
        }

    @classmethod
    def from_config(cls, config):
        if isinstance(config, dict) and isinstance(config.get("split"), dict):
            config = {**config, "split": _split_from_config(config["split"])}
        return cls(**config)

    def __repr__(self):
        size = "unset" if self._vocab is None else str(len(self._vocab))
        return (f"TextVectorization(name={self.name!r}, max_tokens={self.max_tokens}, "
                f"output_sequence_length={self.output_sequence_length}, "
                f"standardize={self.standardize!r}, split={self.split!r}, "
                f"ngrams={self.ngrams!r}, strip_html={self.strip_html}, "
                f"truncation={self.truncation!r}, vocabulary_size={size})")
