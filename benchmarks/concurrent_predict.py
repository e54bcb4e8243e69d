"""What the threading rule costs a server: predict on one model from several threads.

One model's steps take turns (the graph and its layers are locked for a step), so N threads
predicting on ONE model get the throughput of one thread, each step still using every core
through OpenMP. The alternative a server has, one model copy per thread, is measured beside it
(threads then share the cores). Prints samples/s for: serial, N threads on one model, N threads
on N copies; and checks every concurrent result equals the serial one.

    python benchmarks/concurrent_predict.py [--threads 4] [--rounds 3]

Run on a quiet machine (nothing else running); the figures depend on the CPU and its cores.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np

import seqattn
from seqattn import layers


def small_model(seed):
    seqattn.utils.set_random_seed(seed)
    x = seqattn.Input(shape=(200,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(20000, 200, 32, mask_zero=True)(x)
    h = layers.TransformerEncoder(64, 2)(h)
    h = layers.GlobalAveragePooling1D()(h)
    y = layers.Dense(2, activation="softmax")(h)
    model = seqattn.Model(x, y)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def timed(threads, work):
    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--calls", type=int, default=4, help="predict calls per thread")
    args = p.parse_args()
    n, calls = args.threads, args.calls
    ids = np.random.default_rng(0).integers(1, 20000, (256, 200))
    model = small_model(0)
    copies = [small_model(0) for _ in range(n)]
    want = model.predict(ids, batch_size=256, verbose=0)
    print(f"seqattn {seqattn.__version__}, {seqattn.get_num_threads()} OpenMP threads, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"small model, predict on (256, 200) ids in one batch")
    rows = {"serial (1 thread)": [], f"{n} threads, one model": [],
            f"{n} threads, {n} model copies": []}
    for _ in range(args.rounds):
        rows["serial (1 thread)"].append(timed(1, lambda i: [
            model.predict(ids, batch_size=256, verbose=0) for _ in range(n * calls)]))
        bad = []

        def shared(i):
            for _ in range(calls):
                if not np.array_equal(model.predict(ids, batch_size=256, verbose=0), want):
                    bad.append(i)

        def own(i):
            for _ in range(calls):
                if not np.array_equal(copies[i].predict(ids, batch_size=256, verbose=0), want):
                    bad.append(i)

        rows[f"{n} threads, one model"].append(timed(n, shared))
        rows[f"{n} threads, {n} model copies"].append(timed(n, own))
        assert not bad, f"concurrent results differ from the serial run: {bad}"
    samples = 256 * n * calls
    base = np.median(rows["serial (1 thread)"])
    print(f"{'':32s}{'samples/s':>12s}{'vs serial':>11s}")
    for name, times in rows.items():
        t = float(np.median(times))
        print(f"{name:32s}{samples / t:12.0f}{base / t:10.2f}x")
    print("every concurrent result equals the serial one")


if __name__ == "__main__":
    main()
