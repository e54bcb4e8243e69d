"""Memory growth over many short-lived models in one process (issue 13, "A leak check").

Builds, compiles, fits (one tiny epoch) and predicts N small models one after the other in
one process, after a warm-up, and reports how much the process grows per model:

* RSS (/proc/self/statm): what the OS sees; includes allocator fragmentation and arenas.
* malloc in use (glibc mallinfo2: uordblks + hblkhd, summed over all arenas): the bytes that
  are live in malloc: every C++ buffer, NumPy data, Python objects over 512 bytes (smaller
  ones live in pymalloc's own mmapped arenas, which tracemalloc and the gc count cover).
  RSS growing while this stays flat is the allocator, not a leak.
* Python (tracemalloc, with --tracemalloc): bytes held by Python objects and NumPy arrays,
  with the source lines that hold the growth.
* gc objects: the number of objects the cycle collector tracks, and the types that grew.

Each figure is a least-squares slope over samples taken every --every models after the
warm-up, so one-off growth (a dict resizing, an arena being carved) does not count as a leak.

    python benchmarks/leak_check.py                         # 1000 models after 50 warm-up
    python benchmarks/leak_check.py --models 300 --tracemalloc
    python benchmarks/leak_check.py --no-collect            # no gc.collect(), as a plain loop

With --tracemalloc the malloc figure includes some of tracemalloc's own bookkeeping.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import gc
import os
import sys
import time
import tracemalloc

import numpy as np

import seqattn
from seqattn import layers

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _libc():
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _Mallinfo2
        return libc
    except (OSError, AttributeError):  # not glibc >= 2.33
        return None


_LIBC = _libc()


def malloc_in_use() -> int | None:
    """Bytes allocated and not freed (all arenas, plus mmapped chunks); None off glibc."""
    if _LIBC is None:
        return None
    m = _LIBC.mallinfo2()
    return m.uordblks + m.hblkhd


def malloc_arena_bytes() -> int | None:
    """Bytes the allocator holds from the OS in its arenas (sbrk + mmapped heaps)."""
    if _LIBC is None:
        return None
    m = _LIBC.mallinfo2()
    return m.arena + m.hblkhd


def one_model(rng, T=8, V=50):
    """Build, compile, fit one tiny epoch, predict: the life of a small model."""
    model = seqattn.Sequential([
        seqattn.Input(shape=(T,), dtype="int32"),
        layers.TokenAndPositionEmbedding(V, T, 8, mask_zero=True),
        layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1),
        layers.LayerNormalization(),
        layers.GlobalAveragePooling1D(),
        layers.Dropout(0.1),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = rng.integers(0, V, (32, T))
    y = rng.integers(0, 2, 32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    p = model.predict(x[:8], verbose=0)
    assert p.shape == (8, 2)


def slope(xs, ys) -> float:
    """Least-squares growth per unit of x."""
    x = np.asarray(xs, np.float64)
    y = np.asarray(ys, np.float64)
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def type_counts():
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


def run(models: int, warmup: int, every: int, use_tracemalloc: bool, collect: bool,
        quiet: bool = False) -> dict:
    """Runs the check; returns the per-model slopes (bytes/model) and the raw samples."""
    rng = np.random.default_rng(0)
    for _ in range(warmup):
        one_model(rng)
    gc.collect()
    if use_tracemalloc:
        tracemalloc.start(8)
        gc.collect()
        snap0 = tracemalloc.take_snapshot()
    types0 = type_counts()
    samples = collections.defaultdict(list)

    def sample(i):
        samples["i"].append(i)
        samples["rss"].append(rss_bytes())
        # tracemalloc's own bookkeeping is malloc'd too: leave it out
        own = tracemalloc.get_tracemalloc_memory() if use_tracemalloc else 0
        samples["malloc"].append((malloc_in_use() or 0) - own)
        samples["arena"].append(malloc_arena_bytes() or 0)
        samples["gc_objects"].append(len(gc.get_objects()))
        if use_tracemalloc:
            samples["python"].append(tracemalloc.get_traced_memory()[0])

    t0 = time.perf_counter()
    sample(0)
    for i in range(1, models + 1):
        one_model(rng)
        if collect:
            gc.collect()
        if i % every == 0 or i == models:
            if collect:
                gc.collect()
            sample(i)
            if not quiet:
                print(f"  {i:5d} models: RSS {samples['rss'][-1] / 2**20:8.2f} MiB, "
                      f"malloc in use {samples['malloc'][-1] / 2**20:8.2f} MiB, "
                      f"arenas {samples['arena'][-1] / 2**20:8.2f} MiB, "
                      f"gc objects {samples['gc_objects'][-1]}", flush=True)
    elapsed = time.perf_counter() - t0
    if use_tracemalloc:  # before anything below allocates (np.polyfit imports lazily)
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
    grown = type_counts() - types0
    result = {"models": models, "seconds": elapsed, "samples": dict(samples)}
    for key in ("rss", "malloc", "arena", "gc_objects", "python"):
        if samples.get(key):
            result[key] = slope(samples["i"], samples[key])
            result[key + "_total"] = samples[key][-1] - samples[key][0]
    result["types_grown"] = grown.most_common(10)
    if use_tracemalloc:
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        stats = snap1.filter_traces(filters).compare_to(snap0.filter_traces(filters), "lineno")
        result["python_top"] = [(str(s.traceback[0]), s.size_diff, s.count_diff)
                                for s in stats[:10]]
        tracemalloc.stop()
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=1000, help="models after the warm-up")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--every", type=int, default=50, help="sample every this many models")
    ap.add_argument("--threads", type=int, default=None, help="seqattn.set_num_threads")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also trace Python allocations (slower) and print the top lines")
    ap.add_argument("--no-collect", action="store_true",
                    help="never run gc.collect() after the warm-up (Python's own collector "
                         "then frees the models' reference cycles when it runs)")
    args = ap.parse_args(argv)
    if args.threads:
        seqattn.set_num_threads(args.threads)
    print(f"seqattn {seqattn.__version__}, {seqattn.get_num_threads()} threads, "
          f"MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX', 'unset')}, "
          f"{args.warmup} warm-up + {args.models} models (build, compile, fit, predict)")
    r = run(args.models, args.warmup, args.every, args.tracemalloc, not args.no_collect)
    print(f"\n{args.models} models in {r['seconds']:.1f} s "
          f"({1e3 * r['seconds'] / args.models:.1f} ms each); growth per model (slope):")
    print(f"  RSS            {r['rss']:9.0f} B/model  (total {r['rss_total'] / 1024:.0f} KiB)")
    if _LIBC is not None:
        print(f"  malloc in use  {r['malloc']:9.0f} B/model  "
              f"(total {r['malloc_total'] / 1024:.0f} KiB)")
        print(f"  malloc arenas  {r['arena']:9.0f} B/model  "
              f"(total {r['arena_total'] / 1024:.0f} KiB)")
    if "python" in r:
        print(f"  Python (tracemalloc) {r['python']:9.0f} B/model  "
              f"(total {r['python_total'] / 1024:.0f} KiB)")
    print(f"  gc objects     {r['gc_objects']:9.2f} /model")
    if r["types_grown"]:
        print("  types that grew: " + ", ".join(f"{t} +{n}" for t, n in r["types_grown"]))
    if "python_top" in r:
        print("  tracemalloc, largest growth by line:")
        for where, size, count in r["python_top"]:
            print(f"    {size:+9d} B {count:+6d} blocks  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
