"""A character-level language model on IMDB reviews: train, report bits per character, write.

Reads the 25,000 IMDB training reviews (../shared/data/imdb/train.csv from the repository
root; see that folder's README), replaces the HTML `<br />` tags by spaces, shuffles the
reviews with a fixed seed and holds out the last 5% for validation. The characters become
ids: 0 = padding, 1 = newline (the end of a review), 2 = any character outside the
`--chars` most frequent training characters, then those characters by frequency. Each split
is one stream of reviews joined by newlines.

The model, B = batch, T = --seq-len, C = --width:

    ids (B, T) -> TokenAndPositionEmbedding (B, T, C)
    -> --layers x TransformerDecoder(4C, --heads, normalize_first=True)   (causal)
    -> LayerNormalization -> Dense(V, softmax)                            (B, T, V)

trained on random windows of T+1 characters (x = window[:-1], y = window[1:]:
seqattn.generation.next_token_pairs) with Adam and sparse categorical cross-entropy, for
--minutes of wall time (or --max-steps). The validation bits per character is the mean
cross-entropy over every character of --val-windows consecutive validation windows, divided
by ln 2. Then seqattn.generate continues a few prompts (temperature, top-k, stopping at the
end of a review) with the key/value cache.

    python examples/char_lm.py [--minutes 4] [--threads 2] [--seq-len 128] [--width 96]
        [--layers 2] [--heads 4] [--batch 32] [--max-steps N] [--subset N] [--data PATH]
"""

from __future__ import annotations

import argparse
import collections
import csv
import math
import os
import sys
import time

import numpy as np

import seqattn
from seqattn import layers as L
from seqattn.generation import next_token_pairs

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "imdb", "train.csv")
PAD, NEWLINE, UNKNOWN = 0, 1, 2
PROMPTS = ["This movie was ", "I have never seen ", "The acting"]


def load_reviews(path, subset, seed):
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as f:
        texts = [row["text"].replace("<br />", " ").replace("\n", " ")
                 for row in csv.DictReader(f)]
    rng = np.random.default_rng(seed)
    texts = [texts[i] for i in rng.permutation(len(texts))]
    if subset:
        texts = texts[:subset]
    n_val = max(1, len(texts) // 20)
    return texts[:-n_val], texts[-n_val:]


class Characters:
    """Characters <-> ids: the `size` most frequent training characters, by frequency."""

    def __init__(self, texts, size):
        counts = collections.Counter()
        for t in texts:
            counts.update(t)
        self.chars = [c for c, _ in counts.most_common(size)]
        self.ids = {c: i + 3 for i, c in enumerate(self.chars)}
        self.vocabulary = len(self.chars) + 3

    def encode(self, text):
        return [self.ids.get(c, UNKNOWN) for c in text]

    def stream(self, texts):
        out = []
        for t in texts:
            out.extend(self.encode(t))
            out.append(NEWLINE)
        return np.array(out, np.int32)

    def decode(self, ids):
        table = {NEWLINE: "\n", UNKNOWN: "?", PAD: ""}
        return "".join(table.get(i) if i in table else self.chars[i - 3] for i in ids)


def build_model(V, T, C, layers, heads):
    inp = seqattn.Input(shape=(None,), dtype="int32")
    x = L.TokenAndPositionEmbedding(V, T, C, mask_zero=True)(inp)
    for _ in range(layers):
        x = L.TransformerDecoder(4 * C, heads, normalize_first=True)(x)
    x = L.LayerNormalization()(x)
    return seqattn.Model(inp, L.Dense(V, activation="softmax")(x))


def windows(stream, starts, T):
    return np.stack([stream[s:s + T + 1] for s in starts])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--width", type=int, default=96)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--chars", type=int, default=96)
    ap.add_argument("--subset", type=int, default=None, help="use only the first N reviews")
    ap.add_argument("--val-windows", type=int, default=256)
    ap.add_argument("--new-chars", type=int, default=200)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    seqattn.set_num_threads(args.threads)
    seqattn.utils.set_random_seed(args.seed)
    T = args.seq_len

    train_texts, val_texts = load_reviews(args.data, args.subset, args.seed)
    chars = Characters(train_texts, args.chars)
    train, val = chars.stream(train_texts), chars.stream(val_texts)
    print(f"{len(train_texts)} training reviews ({len(train):,} characters), {len(val_texts)} "
          f"validation ({len(val):,}); vocabulary {chars.vocabulary}")

    model = build_model(chars.vocabulary, T, args.width, args.layers, args.heads)
    model.compile(seqattn.optimizers.Adam(args.lr), "sparse_categorical_crossentropy")
    print(f"model: {args.layers} x TransformerDecoder(C={args.width}, {args.heads} heads), "
          f"T={T}, {model.count_params():,} parameters")

    rng = np.random.default_rng(args.seed)
    n_val = min(args.val_windows, (len(val) - 1) // T)
    val_x, val_y = next_token_pairs(windows(val, np.arange(n_val) * T, T))
    budget, t0, steps, chunk = args.minutes * 60.0, time.perf_counter(), 0, 50
    while True:
        n = chunk if args.max_steps is None else min(chunk, args.max_steps - steps)
        if n <= 0:
            break
        x, y = next_token_pairs(windows(train, rng.integers(0, len(train) - T - 1,
                                                             n * args.batch), T))
        loss = model.fit(x, y, batch_size=args.batch, epochs=1, verbose=0,
                         shuffle=False).history["loss"][-1]
        steps += n
        elapsed = time.perf_counter() - t0
        print(f"step {steps:5d}  {elapsed:6.0f} s  train loss {loss:.3f} "
              f"({loss / math.log(2):.2f} bits/char)", flush=True)
        if args.max_steps is None and elapsed >= budget:
            break
    train_seconds = time.perf_counter() - t0

    val_loss = model.evaluate(val_x, val_y, batch_size=args.batch, verbose=0)
    val_loss = val_loss[0] if isinstance(val_loss, (list, tuple)) else val_loss
    bpc = val_loss / math.log(2)
    print(f"trained {steps} steps in {train_seconds:.0f} s ({steps / train_seconds:.2f} steps/s, "
          f"{args.threads} threads)")
    print(f"validation: {len(val_x) * T:,} characters, loss {val_loss:.4f} nats/char, "
          f"{bpc:.3f} bits/char")

    new = min(args.new_chars, T - max(len(p) for p in PROMPTS))
    t1 = time.perf_counter()
    out = model.generate([chars.encode(p) for p in PROMPTS], new, temperature=args.temperature,
                         top_k=args.top_k, seed=args.seed, stop_token=NEWLINE)
    dt = time.perf_counter() - t1
    generated = sum(len(o) - len(p) for o, p in zip(out, PROMPTS))
    print(f"samples (temperature {args.temperature}, top_k {args.top_k}; {generated} characters "
          f"in {dt:.2f} s):")
    for o in out:
        print("  " + repr(chars.decode(o)))
    return {"bpc": bpc, "steps": steps, "seconds": train_seconds, "samples": out}


if __name__ == "__main__":
    main()
