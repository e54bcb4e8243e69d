"""Train a Transformer encoder-decoder on a built-in sequence-to-sequence task, then decode.

The task (`seqattn.datasets.synthetic_seq2seq`) has a known answer: "sort" puts different
words in alphabetical order, "reverse" reverses a word sequence. The model is keras-hub's
translation recipe in miniature: source ids -> TokenAndPositionEmbedding(mask_zero=True) ->
TransformerEncoder; decoder ids -> TokenAndPositionEmbedding(mask_zero=True) ->
TransformerDecoder(decoder, encoder) -> Dense(V, softmax), trained with teacher forcing
(the decoder reads the target shifted right behind [start]; padded steps carry no loss).
It reports exact match (the whole output, [end] included, equals the answer) with greedy and
beam-search decoding, on held-out sources of the training lengths and on longer ones.

    python examples/seq2seq.py [--task sort] [--epochs 6] [--positions learned|none]

`--positions none` leaves position embeddings out (plain Embedding(mask_zero=True)):
sorting needs no positions (the next word is the smallest source word after the previous
output), and then nothing in the model depends on the length, which is what lets it sort
sequences longer than any it saw. Learned position embeddings are untrained beyond the
training lengths, so with them the longer sequences fail.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import seqattn
from seqattn import layers
from seqattn.datasets import synthetic_seq2seq, teacher_forcing
from seqattn.datasets.seq2seq import END_TOKEN, START_TOKEN
from seqattn.generation import beam_search, cross_attention, greedy_decode


def build_model(vocab_size, positions, width, heads, intermediate, max_positions):
    """(source ids (B, S), decoder ids (B, T)) -> next-token probabilities (B, T, V)."""
    def embed(ids):
        if positions == "learned":
            return layers.TokenAndPositionEmbedding(vocab_size, max_positions, width,
                                                    mask_zero=True)(ids)
        return layers.Embedding(vocab_size, width, mask_zero=True)(ids)

    source = seqattn.Input(shape=(None,), dtype="int32", name="source")
    decoder_ids = seqattn.Input(shape=(None,), dtype="int32", name="decoder_ids")
    encoded = layers.TransformerEncoder(intermediate, heads)(embed(source))
    x = layers.TransformerDecoder(intermediate, heads, name="decoder")(embed(decoder_ids),
                                                                       encoded)
    probs = layers.Dense(vocab_size, activation="softmax")(x)
    return seqattn.Model([source, decoder_ids], probs, name=f"seq2seq_{positions}")


def held_out(task, n, seed, min_len, max_len, seen):
    """n pairs whose sources were not in the training set."""
    sources, targets, _ = synthetic_seq2seq(task, n_samples=4 * n, seed=seed, min_len=min_len,
                                            max_len=max_len)
    pairs = [(s, t) for s, t in zip(sources, targets) if tuple(s) not in seen][:n]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def exact_match(outputs, targets):
    return float(np.mean([o.tolist() == list(t) + [END_TOKEN] for o, t in zip(outputs, targets)]))


def evaluate(model, sources, targets, beam_width, batch_size=256):
    enc, _, _ = teacher_forcing(sources, targets)
    L = max(len(t) for t in targets) + 2  # room for one token too many
    t0 = time.perf_counter()
    greedy = greedy_decode(model, enc, START_TOKEN, END_TOKEN, L, batch_size=batch_size)
    t1 = time.perf_counter()
    beam = beam_search(model, enc, START_TOKEN, END_TOKEN, L, beam_width=beam_width,
                       batch_size=batch_size)
    t2 = time.perf_counter()
    return exact_match(greedy, targets), exact_match(beam, targets), t1 - t0, t2 - t1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=["sort", "reverse"], default="sort")
    p.add_argument("--positions", choices=["learned", "none"], default="none")
    p.add_argument("--samples", type=int, default=6000, help="training pairs (default 6000)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--min-len", type=int, default=1)
    p.add_argument("--max-len", type=int, default=8, help="longest training source")
    p.add_argument("--long-len", type=int, default=12, help="longest held-out source "
                   "(lengths max-len+1 .. long-len test length generalisation)")
    p.add_argument("--test-samples", type=int, default=500)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=128)
    p.add_argument("--beam-width", type=int, default=4)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--verbose", type=int, default=2)
    args = p.parse_args(argv)
    if args.threads:
        seqattn.set_num_threads(args.threads)
    seqattn.utils.set_random_seed(args.seed)

    sources, targets, vocab = synthetic_seq2seq(args.task, args.samples, seed=args.seed,
                                                min_len=args.min_len, max_len=args.max_len)
    enc, dec_in, dec_out = teacher_forcing(sources, targets)
    seen = {tuple(s) for s in sources}
    model = build_model(len(vocab), args.positions, args.width, args.heads, args.intermediate,
                        max_positions=args.long_len + 3)
    model.compile(optimizer=seqattn.optimizers.Adam(learning_rate=args.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit([enc, dec_in], dec_out, batch_size=64, epochs=args.epochs, verbose=args.verbose)
    train_s = time.perf_counter() - t0

    same = held_out(args.task, args.test_samples, args.seed + 1, args.min_len, args.max_len,
                    seen)
    results = {"same": evaluate(model, *same, args.beam_width)}
    if args.long_len > args.max_len:
        longer = held_out(args.task, args.test_samples, args.seed + 2, args.max_len + 1,
                          args.long_len, seen)
        results["longer"] = evaluate(model, *longer, args.beam_width)

    print(f"task={args.task} positions={args.positions} train pairs={len(sources)} "
          f"lengths {args.min_len}..{args.max_len}, {args.epochs} epochs in {train_s:.1f} s "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for name, (greedy, beam, tg, tb) in results.items():
        lengths = f"{args.min_len}..{args.max_len}" if name == "same" else \
            f"{args.max_len + 1}..{args.long_len}"
        print(f"held-out lengths {lengths}: exact match greedy {greedy:.4f} ({tg:.1f} s), "
              f"beam {args.beam_width} {beam:.4f} ({tb:.1f} s)")

    # One example's cross-attention: which source word each output step looked at.
    src = same[0][0]
    out = greedy_decode(model, src[None], START_TOKEN, END_TOKEN, len(src) + 2)[0]
    attention = cross_attention(model, src, np.concatenate([[START_TOKEN], out[:-1]]))
    looked_at = attention.mean(0).argmax(-1)
    print("source:", " ".join(vocab[i] for i in src))
    print("output:", " ".join(vocab[i] for i in out))
    print("each output step's most attended source word (mean over heads):",
          " ".join(vocab[src[j]] for j in looked_at))
    return results


if __name__ == "__main__":
    main()
