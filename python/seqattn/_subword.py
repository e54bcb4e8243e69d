"""SubwordTokenizer: a WordPiece or byte-level BPE vocabulary, trained and applied by the
HuggingFace `tokenizers` package, used as ``TextVectorization(split=SubwordTokenizer(...))``.

`tokenizers` (Rust) does all the training and encoding; this class only fixes the pipeline
(which normalizer, pre-tokenizer and model), validates arguments, and carries the trained
tokenizer as its JSON text (`Tokenizer.to_str()`) in `get_config()`, so a model saves and
loads it with the rest of its config. `tokenizers` is an optional extra
(``pip install "seqattn[subword]"``), imported only when a SubwordTokenizer is made.

Loading is data only: the JSON is parsed and checked against the pipeline that the stored
options build (same normalizer, pre-tokenizer, decoder, model settings), so a file can
change the learned vocabulary and merges and nothing else (no regex replacements, no
post-processor, no other model kind)."""

from __future__ import annotations

import json
import numbers

from ._text_processing import _describe

_INSTALL_HINT = 'pip install "seqattn[subword]"'
_MODELS = ("wordpiece", "bpe")
_UNK = "[UNK]"  # WordPiece's token for a word it cannot spell; TextVectorization's OOV token


def _tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise ImportError(
            "SubwordTokenizer needs the HuggingFace `tokenizers` package, which is not "
            f"installed: {_INSTALL_HINT}") from None
    return tokenizers


class SubwordTokenizer:
    """Split text into WordPiece or byte-level BPE subword tokens (HuggingFace ``tokenizers``).

    Pass it as ``split``: ``TextVectorization(split=SubwordTokenizer("wordpiece", 8000))``.
    ``TextVectorization.adapt(texts)`` trains it on the texts (after ``strip_html`` and
    ``standardize``) if it is not trained yet, then builds the vectorizer's vocabulary
    (ids by descending count, as for words) from the subword tokens. A trained tokenizer is
    kept by later ``adapt`` calls (call ``train`` to retrain). Its trained state is part of
    ``get_config()``, so a model holding it saves to and loads from one ``.seqattn`` file.

    Order: ``strip_html``, the vectorizer's ``standardize``, then this tokenizer's own
    normalization (``lowercase``, ``strip_accents``; both off by default, so the text is
    standardized once, by the vectorizer), its pre-tokenization, then the subword model.
    With the default ``standardize="lower_and_strip_punctuation"`` the tokens are lowercase
    and punctuation is gone before the tokenizer sees it; to keep punctuation as tokens use
    ``standardize="lower"`` (or None with ``lowercase=True``).

    Args:
        model: ``"wordpiece"`` (BERT's scheme, default: words split on whitespace and
            punctuation, then into the longest known pieces; a continuation piece starts
            with ``suffix_indicator``, ``"unbelievable"`` -> ``["un", "##bel", "##iev",
            "##able"]``; a word holding a character never seen in training becomes
            ``"[UNK]"``, the vectorizer's out-of-vocabulary id 1) or ``"bpe"`` (GPT-2's
            byte-level BPE: every text is spelled in bytes, so nothing is ever unknown; a
            piece that starts a word carries ``"Ġ"``, the byte-level space:
            ``" good"`` -> ``"Ġgood"``).
        vocabulary_size: the most subword tokens training may learn (an int >= 1;
            byte-level BPE needs at least its 256 byte tokens, so there it must be >= 256).
            The vectorizer's ``max_tokens`` may cut it further.
        lowercase: lowercase inside the tokenizer (default False; see the order above).
        strip_accents: remove accents inside the tokenizer (``"é"`` -> ``"e"``; default
            False).
        min_frequency: pieces (WordPiece) or merges (BPE) seen fewer times than this in
            training are not learned (an int >= 0; default 2).
        suffix_indicator: WordPiece's continuation prefix (default ``"##"``, as in
            keras-hub's ``WordPieceTokenizer``); must be None (ignored) for ``"bpe"``.
        tokenizer: a trained tokenizer's JSON (``get_config()["tokenizer"]``), to rebuild
            a trained SubwordTokenizer without training; None (default) until trained.

    All arguments except ``model`` and ``vocabulary_size`` are keyword-only. Calling it on
    one str returns its list of subword tokens (``tokenizer("a text")``); it is
    thread-safe (the ``tokenizers`` encoder reads shared state only).

    Differs from keras-hub: its ``WordPieceTokenizer`` and ``BytePairTokenizer`` take a
    fixed vocabulary (``compute_word_piece_vocabulary`` trains one) and output ids; here the
    tokenizer trains itself in ``adapt`` and outputs token strings, which the
    TextVectorization maps to ids.
    """

    def __init__(self, model="wordpiece", vocabulary_size=8000, *, lowercase=False,
                 strip_accents=False, min_frequency=2, suffix_indicator=None, tokenizer=None):
        if model not in _MODELS:
            raise ValueError(
                "Received an invalid value for `model`, expected 'wordpiece' or 'bpe'. "
                f"Received: model={model!r}")
        smallest = 256 if model == "bpe" else 1
        if (isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, numbers.Integral)
                or vocabulary_size < smallest):
            raise ValueError(
                f"Received an invalid value for `vocabulary_size`, expected an integer >= "
                f"{smallest}" + (" (byte-level BPE starts from the 256 bytes)" if smallest > 1
                                 else "") + f". Received: vocabulary_size={vocabulary_size!r}")
        for arg, value in (("lowercase", lowercase), ("strip_accents", strip_accents)):
            if not isinstance(value, bool):
                raise ValueError(f"Received an invalid value for `{arg}`, expected True or "
                                 f"False. Received: {arg}={value!r}")
        if (isinstance(min_frequency, bool) or not isinstance(min_frequency, numbers.Integral)
                or min_frequency < 0):
            raise ValueError("Received an invalid value for `min_frequency`, expected an "
                             f"integer >= 0. Received: min_frequency={min_frequency!r}")
        if model == "wordpiece":
            suffix_indicator = "##" if suffix_indicator is None else suffix_indicator
            if not isinstance(suffix_indicator, str) or not suffix_indicator or any(
                    c.isspace() for c in suffix_indicator):
                raise ValueError(
                    "Received an invalid value for `suffix_indicator`, expected a non-empty "
                    f"string without spaces. Received: suffix_indicator={suffix_indicator!r}")
        elif suffix_indicator is not None:
            raise ValueError("Received `suffix_indicator` with model='bpe': byte-level BPE "
                             "marks word starts instead (with 'Ġ'). Received: "
                             f"suffix_indicator={suffix_indicator!r}")
        if tokenizer is not None and not isinstance(tokenizer, str):
            raise TypeError("`tokenizer` must be None or a trained tokenizer's JSON string "
                            f"(get_config()['tokenizer']). Received: {_describe(tokenizer)}")
        self._hf = _tokenizers()
        self.model = model
        self.vocabulary_size = int(vocabulary_size)
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.min_frequency = int(min_frequency)
        self.suffix_indicator = suffix_indicator
        self._tokenizer = None  # the trained tokenizers.Tokenizer
        if tokenizer is not None:
            self._tokenizer = self._parse(tokenizer)

    # ------------------------------------------------------------ pipeline
    def _untrained(self):
        """A tokenizers.Tokenizer with this pipeline and an empty vocabulary."""
        hf = self._hf
        if self.model == "wordpiece":
            tok = hf.Tokenizer(hf.models.WordPiece(
                unk_token=_UNK, continuing_subword_prefix=self.suffix_indicator,
                max_input_chars_per_word=100))
            tok.pre_tokenizer = hf.pre_tokenizers.BertPreTokenizer()
        else:
            tok = hf.Tokenizer(hf.models.BPE())
            tok.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=True)
            tok.decoder = hf.decoders.ByteLevel()
        steps = ([hf.normalizers.Lowercase()] if self.lowercase else []) + (
            [hf.normalizers.NFD(), hf.normalizers.StripAccents(), hf.normalizers.NFC()]
            if self.strip_accents else [])
        if steps:
            tok.normalizer = hf.normalizers.Sequence(steps)
        return tok

    def _trainer(self):
        hf = self._hf
        if self.model == "wordpiece":
            return hf.trainers.WordPieceTrainer(
                vocab_size=self.vocabulary_size, min_frequency=self.min_frequency,
                special_tokens=[_UNK], continuing_subword_prefix=self.suffix_indicator,
                show_progress=False)
        return hf.trainers.BpeTrainer(
            vocab_size=self.vocabulary_size, min_frequency=self.min_frequency,
            initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(), show_progress=False)

    def _parse(self, text):
        """A trained tokenizer from its JSON, which may differ from this pipeline's only in
        the learned vocabulary (and merges). Any problem is a ValueError."""
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError) as e:  # a crafted depth overflows json's parser
            raise ValueError(f"`tokenizer` is not valid JSON: {str(e)[:200]}") from None
        expected = json.loads(self._untrained().to_str())
        if not isinstance(doc, dict) or set(doc) != set(expected):
            raise ValueError("`tokenizer` must be the JSON object of a trained tokenizer with "
                             f"the keys {sorted(expected)}")
        learned = {"vocab", "merges"}
        added = [{"id": 0, "content": _UNK, "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": True}] \
            if self.model == "wordpiece" else []
        for key, want in expected.items():
            got = doc[key]
            if key == "added_tokens":
                want = added
            elif key == "model":
                if not isinstance(got, dict) or {k: v for k, v in got.items() if k not in learned} \
                        != {k: v for k, v in want.items() if k not in learned} \
                        or set(got) != set(want):
                    raise ValueError(
                        f"`tokenizer`: its model must be the {self.model} model these options "
                        "make (" + json.dumps({k: v for k, v in want.items()
                                               if k not in learned}) + ")")
                continue
            if got != want:
                raise ValueError(f"`tokenizer`: its {key!r} must be {json.dumps(want)} (the "
                                 f"pipeline these options make), received "
                                 f"{json.dumps(got)[:200]}")
        vocab = doc["model"]["vocab"]
        if not isinstance(vocab, dict) or not vocab or sorted(
                v for v in vocab.values() if isinstance(v, int) and not isinstance(v, bool)) \
                != list(range(len(vocab))):
            raise ValueError("`tokenizer`: its vocabulary must map tokens to the ids 0..n-1, "
                             "each once")
        if self.model == "bpe" and not isinstance(doc["model"]["merges"], list):
            raise ValueError("`tokenizer`: its BPE merges must be a list")
        if self.model == "wordpiece" and _UNK not in vocab:
            raise ValueError(f"`tokenizer`: its vocabulary must hold {_UNK!r}")
        try:
            return self._hf.Tokenizer.from_str(text)
        except BaseException as e:  # a Rust panic is a BaseException (pyo3 PanicException)
            if isinstance(e, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            raise ValueError(f"`tokenizer` is not a valid {self.model} tokenizer: "
                             f"{str(e)[:300]}") from None

    # ------------------------------------------------------------ training and use
    @property
    def trained(self) -> bool:
        return self._tokenizer is not None

    def train(self, texts):
        """Learn the subword vocabulary from an iterable of str (replacing any earlier one).
        Deterministic: the same texts give the same vocabulary."""
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"SubwordTokenizer.train() expects strings. Element {i} is "
                                f"{_describe(t)}")
        tok = self._untrained()
        if self.model == "bpe":
            tok.train_from_iterator(texts, trainer=self._trainer(), length=len(texts))
            self._tokenizer = tok
            return
        # tokenizers' WordPiece trainer numbers the continuation pieces ("##a") in the order
        # of a Rust HashMap (random per run), and merges of equal count are ordered by those
        # numbers, so the same texts gave different vocabularies. Declaring every "##c" up
        # front (sorted) as a special token numbers them first, in a fixed order; they are
        # then removed from the added tokens (they stay in the vocabulary), so the trained
        # tokenizer is the one tokenizers would make, only deterministic.
        chars = set()
        for t in texts:
            chars.update(t)
        chars = "".join(sorted(chars))
        if tok.normalizer is not None:
            chars = tok.normalizer.normalize_str(chars)
        pieces = [self.suffix_indicator + c for c in sorted(set(chars)) if not c.isspace()]
        trainer = self._trainer()
        trainer.special_tokens = [_UNK] + pieces
        tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
        doc = json.loads(tok.to_str())
        doc["added_tokens"] = [a for a in doc["added_tokens"] if a["content"] == _UNK]
        self._tokenizer = self._hf.Tokenizer.from_str(json.dumps(doc))

    def __call__(self, text):
        """One str -> its list of subword tokens."""
        if self._tokenizer is None:
            raise ValueError("This SubwordTokenizer is not trained yet: call "
                             "TextVectorization.adapt(texts) (or SubwordTokenizer.train(texts)) "
                             "first.")
        if not isinstance(text, str):
            raise TypeError(f"SubwordTokenizer expects a str. Received: {_describe(text)}")
        return self._tokenizer.encode(text, add_special_tokens=False).tokens

    def _with_unseen_pieces(self, tokens, k, reserved):
        """`tokens` (the vectorizer's learned tokens, by count) followed by the subword pieces
        that never occurred whole in the training texts (in the tokenizer's id order), the
        first k: the pieces an unseen word is spelled with then get ids of their own instead
        of "[UNK]"."""
        seen = set(tokens).union(reserved)
        vocab = self._tokenizer.get_vocab()
        extra = [t for t in sorted(vocab, key=vocab.__getitem__) if t not in seen]
        out = list(tokens) + extra
        return out if k is None else out[:k]

    @property
    def backend(self):
        """The underlying trained ``tokenizers.Tokenizer`` (None before training)."""
        return self._tokenizer

    # ------------------------------------------------------------ config
    def get_config(self):
        return {"model": self.model, "vocabulary_size": self.vocabulary_size,
                "lowercase": self.lowercase, "strip_accents": self.strip_accents,
                "min_frequency": self.min_frequency, "suffix_indicator": self.suffix_indicator,
                "tokenizer": None if self._tokenizer is None else self._tokenizer.to_str()}

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict):
            raise ValueError(f"SubwordTokenizer.from_config expects a dict. Received: "
                             f"{_describe(config)}")
        try:
            return cls(**config)
        except ImportError:
            raise ImportError(
                "This TextVectorization splits text with a SubwordTokenizer, which needs the "
                f"HuggingFace `tokenizers` package, not installed here: {_INSTALL_HINT}") \
                from None

    def __repr__(self):
        return (f"SubwordTokenizer(model={self.model!r}, vocabulary_size="
                f"{self.vocabulary_size}, lowercase={self.lowercase}, "
                f"strip_accents={self.strip_accents}, trained={self.trained})")


def _split_config(split):
    """TextVectorization's `split` as JSON data: a SubwordTokenizer as {class_name, config}."""
    if isinstance(split, SubwordTokenizer):
        return {"class_name": "SubwordTokenizer", "config": split.get_config()}
    return split


def _split_from_config(split):
    """The inverse of `_split_config` (a dict must be a SubwordTokenizer's)."""
    if not isinstance(split, dict):
        return split
    if set(split) != {"class_name", "config"} or split["class_name"] != "SubwordTokenizer":
        raise ValueError("A `split` given as a dict must be a SubwordTokenizer's config "
                         "{'class_name': 'SubwordTokenizer', 'config': {...}}. Received keys "
                         f"{sorted(map(str, split))}" + (
                             f" and class_name={split.get('class_name')!r}"
                             if "class_name" in split else ""))
    return SubwordTokenizer.from_config(split["config"])
