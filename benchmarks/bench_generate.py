"""Generation speed: tokens/s with the key/value cache versus the cache-free loop.

A small decoder-only model (TokenAndPositionEmbedding, two TransformerDecoder blocks of width
C=64, Dense over a 96-token vocabulary; random weights: speed does not depend on training)
generates greedily from a 16-token prompt until the sequence is `length` tokens long. The cache
runs the prompt once, then one token per step (O(T) per attention layer); the cache-free loop
runs a full forward pass over the whole sequence for every token (O(T²) per token). Both give
the same tokens (tests/test_generate.py).

    python benchmarks/bench_generate.py                 # lengths 64 128 256, B=1 and B=8
    python benchmarks/bench_generate.py --lengths 64 --batch 1 --threads 1
"""
import argparse
import time

import numpy as np

import seqattn
from seqattn import layers as L

V, C, PROMPT = 96, 64, 16


def model(max_length):
    seqattn.utils.set_random_seed(0)
    inp = seqattn.Input(shape=(None,), dtype="int32")
    x = L.TokenAndPositionEmbedding(V, max_length, C, mask_zero=True)(inp)
    for _ in range(2):
        x = L.TransformerDecoder(4 * C, 4)(x)
    return seqattn.Model(inp, L.Dense(V)(x))


def tokens_per_second(m, prompts, new, use_cache):
    m.generate(prompts, 2, use_cache=use_cache)  # warm-up: builds the graph, sizes buffers
    t0 = time.perf_counter()
    out = m.generate(prompts, new, use_cache=use_cache)
    dt = time.perf_counter() - t0
    return len(prompts) * new / dt, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    seqattn.set_num_threads(args.threads)
    m = model(max(args.lengths))
    rng = np.random.default_rng(0)
    print(f"threads={args.threads}  model: 2 x TransformerDecoder(C={C}, 4 heads), V={V}, "
          f"prompt {PROMPT} tokens, greedy")
    print(f"{'B':>3} {'length':>6} {'cached tok/s':>13} {'uncached tok/s':>15} {'speed-up':>9}")
    for B in args.batch:
        prompts = rng.integers(1, V, size=(B, PROMPT)).tolist()
        for T in args.lengths:
            cached, a = tokens_per_second(m, prompts, T - PROMPT, True)
            uncached, b = tokens_per_second(m, prompts, T - PROMPT, False)
            assert a == b, "cached and uncached generation differ"
            print(f"{B:>3} {T:>6} {cached:>13.0f} {uncached:>15.0f} {cached / uncached:>8.1f}x",
                  flush=True)


if __name__ == "__main__":
    main()
