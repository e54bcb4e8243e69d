"""The models `python -m seqattn train` builds, and the settings each gets when a flag is left out.

    small, base: String Input -> TextVectorization -> token and position embedding
                 (+ with ngrams=2, the embedding of the word pair starting at each position,
                 from a second TextVectorization) -> TransformerEncoder blocks -> masked
                 average pooling -> dropout -> Dense
    bow:         String Input -> TextVectorization(ngrams=2) -> Embedding -> masked average
                 pooling -> Dense: a fastText-style bag of words and word pairs (Joulin et al.
                 2017), the baseline that shows what attention adds on the user's data

The defaults were chosen on validation data only (a held-out 20% slice of IMDB's training file,
a held-out 10% of MR's training split, SST-2's dev set); the README's accuracy table gives the
figures and `examples/accuracy.sh` reruns them.
"""

from __future__ import annotations

from dataclasses import dataclass

# name: (embedding width C, attention heads, feed-forward width, encoder blocks)
TRANSFORMERS = {
    "small": (32, 2, 32, 1),    # the keras.io "Text classification with Transformer" sizes
    "base": (256, 8, 1024, 2),  # issue 7's "base" workload
}
BOW_WIDTH = 32  # embedding width C of the n-gram bag
PAIR_VOCAB = 200_000  # entries of the word-pair vocabulary of the attention models (ngrams=2)
MODEL_NAMES = ("small", "base", "bow")

# Data of long documents (IMDB reviews, most CSV files) or of single sentences.
LONG, SENTENCES, BUILTIN = "long", "sentences", "builtin"
DATA_KIND = {"imdb": LONG, "sst2": SENTENCES, "mr": SENTENCES, "builtin": BUILTIN}


@dataclass(frozen=True)
class Recipe:
    """What `train` uses for a flag the user left out."""
    maxlen: int          # tokens (n-grams included) kept per text
    truncation: str      # which end of a longer text is kept: "pre" keeps the last tokens
    ngrams: int          # 1: words; 2: words and word pairs
    vocab_size: int      # vocabulary size including padding and [UNK]
    epochs: int
    learning_rate: float  # Adam's (initial) rate
    schedule: str        # "cosine": decayed to 0 along a cosine over all epochs; "constant"
    dropout: float


def recipe(model: str, data: str) -> Recipe:
    """The defaults for `--model model` on `--data data` (a CSV/TSV path counts as long texts).

    Attention model: 512 tokens of an IMDB review (the median review has 172 tokens, 90% have
    at most 452, 7% more than 512) gave 0.895 on the held-out slice against 0.870 for the 200
    tokens of the keras.io example; keeping the first tokens or the last ("pre", what
    pad_sequences does) made no difference there at 512 (0.8944 and 0.8948), so the default
    is Keras's. A cosine decay of the rate to 0 over the run gave +0.005 over a constant rate.
    SST-2 (dev): 3 epochs 0.826 against 0.818 for 2 (seed 0; dropout 0.3 or batch 64 gave no
    more).
    Adding to each position the embedding of its word pair (ngrams=2, a 200,000-entry pair
    vocabulary) gave 0.905 on IMDB, but on the small sentence sets it overfits (MR's held-out
    training slice 0.65 against 0.75 with words, SST-2 dev 0.79 against 0.82): pairs are the
    default for long texts only. The builtin corpus (short synthetic sentences, 0.5 s an
    epoch) needs 8 epochs to learn its negations.
    Bag of n-grams: unigrams and bigrams in a 200,000-entry vocabulary, 1,500 items
    per text ("post": the unigrams come first, so a text of over 750 words, 2% of IMDB's,
    loses bigrams before words), Adam at a constant 3e-3 for 3 epochs without dropout: 0.914,
    0.916, 0.913 on the IMDB slices of seeds 0, 1, 2, where a cosine decay to 0 gave 0.905,
    0.907, 0.904.
    """
    kind = DATA_KIND.get(data, LONG)
    if model == "bow":
        return Recipe(maxlen={LONG: 1500, SENTENCES: 128, BUILTIN: 48}[kind],
                      truncation="post", ngrams=2, vocab_size=200_000, epochs=3,
                      learning_rate=3e-3, schedule="constant", dropout=0.0)
    return Recipe(maxlen={LONG: 512, SENTENCES: 64, BUILTIN: 24}[kind], truncation="post",
                  ngrams=2 if kind == LONG and model == "small" else 1, vocab_size=20_000,
                  epochs={"mr": 3, "sst2": 3, "builtin": 8}.get(data, 2), learning_rate=1e-3,
                  schedule="cosine", dropout=0.1)


def build_model(vectorizer, size, num_classes, dropout, pair_vectorizer=None):
    """String Input -> `vectorizer` -> the `size` model ("small", "base" or "bow") -> Dense
    (sigmoid for 2 classes, else softmax); one file then predicts on raw strings.

    `pair_vectorizer` (attention models only): a TextVectorization with ngrams=(2,) and the
    same output length and truncation, whose id at position t is the pair (word t, word t + 1)
    (of a text cut at its start by truncation="pre": (word t - 1, word t)); its embedding is
    added to the word's. It carries no mask (the last word has no pair: its id 0 gets a
    learned vector), so the words' padding mask alone reaches the encoder."""
    import seqattn
    from seqattn import layers
    if size not in MODEL_NAMES:
        raise ValueError(f"model size: expected one of {', '.join(MODEL_NAMES)}, "
                         f"received {size!r}")
    if pair_vectorizer is not None and size == "bow":
        raise ValueError("pair_vectorizer: the bag of n-grams holds its pairs in `vectorizer` "
                         "(ngrams=2); pass None")
    maxlen = vectorizer.output_sequence_length
    text = seqattn.Input(shape=(), dtype="string", name="text")
    ids = vectorizer(text)  # (B, L) int32
    if size == "bow":
        h = layers.Embedding(vectorizer.vocabulary_size(), BOW_WIDTH, mask_zero=True,
                             name="embedding")(ids)                       # (B, L, C)
        h = layers.GlobalAveragePooling1D(name="pool")(h)                # (B, C)
    else:
        width, heads, ffn, blocks = TRANSFORMERS[size]
        h = layers.TokenAndPositionEmbedding(vectorizer.vocabulary_size(), maxlen, width,
                                             mask_zero=True, name="embedding")(ids)  # (B, L, C)
        if pair_vectorizer is not None:
            pairs = layers.Embedding(pair_vectorizer.vocabulary_size(), width,
                                     name="pair_embedding")(pair_vectorizer(text))  # (B, L, C)
            h = layers.Add(name="add_pairs")([h, pairs])
        for i in range(blocks):
            h = layers.TransformerEncoder(ffn, heads, dropout=dropout, name=f"encoder_{i}")(h)
        h = layers.GlobalAveragePooling1D(name="pool")(h)
    if dropout:
        h = layers.Dropout(dropout, name="dropout")(h)
    if num_classes == 2:
        out = layers.Dense(1, activation="sigmoid", name="classifier")(h)
    else:
        out = layers.Dense(num_classes, activation="softmax", name="classifier")(h)
    return seqattn.Model(text, out, name=f"sentiment_{size}")
