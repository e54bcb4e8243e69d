"""Small text models shared by the tests of several files."""

import seqattn
from seqattn import layers

WORDS_AND_PAIRS_TEXTS = ["the cat sat on the mat", "a dog ran", "the dog sat", "not a good film",
                         "good"]


def words_and_pairs_model(width=3):
    """A string Input read by two vectorizers (words; word pairs, ngrams=(2,)), their
    embeddings added (the pairs without a mask), averaged, then Dense(1, sigmoid): what
    `python -m seqattn train --ngrams 2` builds, in small. Returns (model, words, pairs)."""
    words = layers.TextVectorization(max_tokens=30, output_sequence_length=5, name="words")
    pairs = layers.TextVectorization(max_tokens=30, output_sequence_length=5, ngrams=(2,),
                                     name="pairs")
    words.adapt(WORDS_AND_PAIRS_TEXTS)
    pairs.adapt(WORDS_AND_PAIRS_TEXTS)
    raw = seqattn.Input(shape=(), dtype="string", name="text")
    h = layers.Add()([
        layers.Embedding(words.vocabulary_size(), width, mask_zero=True)(words(raw)),
        layers.Embedding(pairs.vocabulary_size(), width)(pairs(raw))])    # no mask: pads learn
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
    return seqattn.Model(raw, out), words, pairs
