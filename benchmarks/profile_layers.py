#!/usr/bin/env python3
"""Where a seqattn training step spends its time, layer by layer.

Usage (from the repository root, seqattn installed):

    python benchmarks/profile_layers.py                      # small and base, 2 threads
    python benchmarks/profile_layers.py --workloads small --threads 1 --steps 50
    python benchmarks/profile_layers.py --workloads long --T 4096

It builds the same models as benchmarks/compare.py, warms up, then turns on the C++ graph's
per-node timers (`Graph.profiling`: two clock reads per node and pass, nothing else changes)
and runs training steps through `model.fit`. It prints, per node, forward and backward
milliseconds per step and their share of the step, the loss and optimizer update, the sum
over nodes (the C++ step) and the wall time per step of fit (the difference is fit's Python
work per step: batching, metrics, callbacks). It also measures the machine's FMA peak at the
same thread count (seqattn.utils.fma_peak) and prints the step's matmul FLOPs (compare.py's
formulas) over the C++ step time as a share of that peak.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the workload definitions)


def profile(workload, threads, steps, T=None):
    import numpy as np
    import seqattn
    seqattn.set_num_threads(threads)
    seqattn.utils.set_random_seed(0)
    model, B = compare.seqattn_model(workload, T)
    if workload == "long":
        x = np.random.default_rng(0).standard_normal((B * steps, T, compare.LONG["C"]))
        x = x.astype(np.float32)
        y = np.ones((B * steps, 1), np.float32)
        model.compile(optimizer=seqattn.optimizers.SGD(0.01), loss="binary_crossentropy")
    else:
        shape = compare.SMALL if workload == "small" else compare.BASE
        x, y = compare.ids_data(B * steps, shape["T"], shape["V"])
        model.compile(optimizer=seqattn.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy")
    warm = min(steps, 5)
    model.fit(x[:B * warm], y[:B * warm], batch_size=B, epochs=1, verbose=0, shuffle=False)
    graph = model._graph
    graph.reset_profile()
    graph.profiling = True
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=B, epochs=1, verbose=0, shuffle=False)
    wall = (time.perf_counter() - t0) / steps
    graph.profiling = False
    return graph.profile(), wall


def step_flops(workload, T=None):
    """Matmul FLOPs of one training step (benchmarks/compare.py's analytic count)."""
    if workload == "small":
        return 3 * compare.SMALL["B"] * compare.small_forward_flops()
    if workload == "base":
        return 3 * compare.BASE["B"] * compare.base_forward_flops()
    return 3 * compare.LONG["B"] * compare.long_forward_flops(T)


def report(workload, threads, prof, wall, steps, flops, peak):
    ms = 1e3 / steps
    rows = [(n["name"], n["kind"], n["forward"] * ms, n["backward"] * ms) for n in prof["nodes"]]
    loss, update = prof["loss"] * ms, prof["update"] * ms
    core = sum(f + b for _, _, f, b in rows) + loss + update
    print(f"\n## {workload}, {threads} thread(s): {core:.2f} ms per step in C++, "
          f"{wall * 1e3:.2f} ms per step of fit (Python share {max(wall * 1e3 - core, 0):.2f} ms)")
    g = flops / (core * 1e-3) / 1e9
    print(f"{flops / 1e9:.3f} GFLOP per step (matmuls): {g:.1f} GFLOP/s in the C++ step, "
          f"{100 * g / peak:.0f}% of the FMA peak ({peak:.0f} GFLOP/s on {threads} thread(s))")
    print(f"{'node':34s} {'kind':26s} {'fwd ms':>8s} {'bwd ms':>8s} {'share':>6s}")
    for name, kind, f, b in sorted(rows, key=lambda r: -(r[2] + r[3])):
        print(f"{name:34s} {kind:26s} {f:8.2f} {b:8.2f} {100 * (f + b) / core:5.1f}%")
    print(f"{'(loss)':34s} {'':26s} {loss:8.2f} {'':8s} {100 * loss / core:5.1f}%")
    print(f"{'(optimizer update)':34s} {'':26s} {update:8.2f} {'':8s} {100 * update / core:5.1f}%")
    by_kind = {}
    for _, kind, f, b in rows:
        by_kind[kind] = by_kind.get(kind, 0.0) + f + b
    print("by kind: " + ", ".join(f"{k} {v:.2f} ms ({100 * v / core:.0f}%)"
                                  for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default="small,base")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps (default: small 60, base 6, long 4)")
    ap.add_argument("--T", type=int, default=4096, help="sequence length for `long`")
    args = ap.parse_args()
    import seqattn
    peak = seqattn.utils.fma_peak(threads=args.threads, seconds=0.5)
    print(f"FMA peak ({seqattn.build_info()['fma_peak_kernel']}), {args.threads} thread(s): "
          f"{peak:.1f} GFLOP/s")
    for wl in args.workloads.split(","):
        steps = args.steps or {"small": 60, "base": 6, "long": 4}[wl]
        T = args.T if wl == "long" else None
        prof, wall = profile(wl, args.threads, steps, T)
        report(wl if wl != "long" else f"long T={args.T}", args.threads, prof, wall, steps,
               step_flops(wl, T), peak)


if __name__ == "__main__":
    main()
