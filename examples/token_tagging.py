"""Tag every word with its sentiment in context: a per-token model with self-attention against
a per-token baseline that sees each word alone.

The corpus (`seqattn.datasets.synthetic_tagging`) tags each word O, POS or NEG; a negator earlier
in the clause flips a sentiment word's tag ("the plot was not very good": "good" is NEG), so
the same word carries both tags. The baseline (embedding -> dense, per token) cannot know
which; attention reads the neighbours. The output is (B, T, 3): `Embedding(mask_zero=True)`
masks the padding, and the loss and the accuracy count only real words, as in Keras.

    python examples/token_tagging.py [--samples 4000] [--epochs 8] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import seqattn
from seqattn import layers
from seqattn.datasets import synthetic_tagging
from seqattn.datasets.tagging import TAG_NAMES

T = 28  # words per sentence after padding (the longest has 25)


def attention_tagger(vocab_size: int) -> seqattn.Model:
    """Token + position embeddings -> one Transformer block -> a tag distribution per token."""
    ids = seqattn.Input(shape=(T,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(vocab_size, T, 32, mask_zero=True)(ids)
    h = layers.TransformerEncoder(intermediate_dim=64, num_heads=4)(h)
    return seqattn.Model(ids, layers.Dense(len(TAG_NAMES), activation="softmax")(h),
                         name="attention_tagger")


def per_token_baseline(vocab_size: int) -> seqattn.Model:
    """Each token on its own: embedding -> dense -> tags (no context)."""
    ids = seqattn.Input(shape=(T,), dtype="int32")
    h = layers.Embedding(vocab_size, 32, mask_zero=True)(ids)
    h = layers.Dense(64, activation="relu")(h)
    return seqattn.Model(ids, layers.Dense(len(TAG_NAMES), activation="softmax")(h),
                         name="per_token_baseline")


def sentiment_word_accuracy(model, x, y) -> float:
    """Accuracy on the words whose tag is POS or NEG (the ones context decides)."""
    pred = model.predict(x, verbose=0).argmax(-1)
    words = (x != 0) & (y != 0)
    return float((pred == y)[words].mean())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        seqattn.set_num_threads(args.threads)

    texts, tags = synthetic_tagging(args.samples, seed=args.seed)
    held_out = args.samples // 5  # the last fifth is never trained on
    vectorizer = layers.TextVectorization(output_sequence_length=T)
    vectorizer.adapt(texts[:-held_out])
    x = np.asarray(vectorizer(texts))
    y = seqattn.utils.pad_sequences(tags, maxlen=T, padding="post")
    x_train, y_train, x_test, y_test = x[:-held_out], y[:-held_out], x[-held_out:], y[-held_out:]

    results = {}
    for build in (per_token_baseline, attention_tagger):
        seqattn.utils.set_random_seed(args.seed)
        model = build(vectorizer.vocabulary_size())
        model.compile(optimizer=seqattn.optimizers.Adam(3e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=0)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        results[model.name] = {"token_accuracy": accuracy,
                               "sentiment_word_accuracy": sentiment_word_accuracy(
                                   model, x_test, y_test),
                               "seconds": seconds}
        print(f"{model.name:20s} held-out accuracy: every word {accuracy:.3f}, sentiment words "
              f"{results[model.name]['sentiment_word_accuracy']:.3f} ({seconds:.0f} s)")
    return results


if __name__ == "__main__":
    main()
