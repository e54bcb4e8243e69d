#!/usr/bin/env python3
"""Data-parallel training throughput (seqattn.distributed over MPI): samples/s with 1 and 2
processes at the same global batch, the time of the gradient allreduce per step and its
share of the step, and a paper model of the scaling to more machines.

Workloads (token ids in, sigmoid classifier out, Adam):
    small: the keras.io "Text classification with Transformer" model (vocabulary 20000,
           T=200, C=32, 2 heads, feed-forward 32, 1 block), global batch 32;
    base:  C=256, 8 heads, feed-forward 1024, 2 blocks, T=256, vocabulary 20000, global
           batch 32.

Configurations keep the cores of the machine busy without oversubscribing them: R ranks x
cores/R threads each (on a 2-core machine: 1 rank x 2 threads against 2 ranks x 1 thread),
each rank training on global_batch/R samples per step. Every configuration runs in its own
`mpiexec` (so OMP_NUM_THREADS takes effect). The step time is the slowest rank's; the
allreduce time is measured around the MPI calls in the steps (it includes waiting for the
slower rank, which is what a step loses to synchronisation); "allreduce alone" is the median of
5 allreduces of the gradient buffer right after a barrier (the communication itself).

Usage (from the repository root, mpi4py and an mpiexec installed):

    python benchmarks/bench_distributed.py                    # both workloads
    python benchmarks/bench_distributed.py --workloads small --steps 20
    python benchmarks/bench_distributed.py --quick            # smoke run, < 1 minute

A script, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

WORKLOADS = {  # name: (vocab, T, C, heads, ffn, blocks, global batch)
    "small": (20000, 200, 32, 2, 32, 1, 32),
    "base": (20000, 256, 256, 8, 1024, 2, 32),
}
TAG = "BENCH_DIST "


def child(args):
    """One configuration under mpiexec: time `steps` data-parallel steps after warm-up."""
    import numpy as np
    import seqattn
    from seqattn import layers
    from seqattn.distributed import MPIStrategy
    vocab, T, C, heads, ffn, blocks, global_batch = WORKLOADS[args.workload]
    strategy = MPIStrategy()
    R = strategy.num_replicas_in_sync
    seqattn.set_num_threads(args.threads)
    seqattn.utils.set_random_seed(0)
    inp = seqattn.Input((T,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(vocab, T, C, mask_zero=True)(inp)
    for _ in range(blocks):
        h = layers.TransformerEncoder(ffn, heads, dropout=0.1)(h)
    h = layers.Dropout(0.1)(layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(inp, layers.Dense(1, activation="sigmoid")(h))
    model.compile("adam", "binary_crossentropy")
    strategy.distribute(model)
    b = global_batch // R
    rng = np.random.default_rng(strategy.rank)
    x = rng.integers(1, vocab, (b, T)).astype(np.int32)
    y = rng.integers(0, 2, (b, 1)).astype(np.float32)
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    strategy.comm.Barrier()
    strategy.reset_timers()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        model.train_on_batch(x, y)
    wall = time.perf_counter() - t0
    timers = strategy.timers()
    # The allreduce alone: after a barrier, so without waiting for a slower rank.
    MPI = strategy._MPI
    buf = model._core_graph().gradient_buffer()
    alone = []
    for _ in range(5):
        strategy.comm.Barrier()
        t1 = time.perf_counter()
        strategy.comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        alone.append(time.perf_counter() - t1)
    every = strategy.comm.gather((wall, timers["allreduce_seconds"]), root=0)
    if strategy.is_chief:
        wall = max(w for w, _ in every)
        allreduce = sum(a for _, a in every) / len(every)  # mean over ranks, per run
        print(TAG + json.dumps({
            "workload": args.workload, "ranks": R, "threads": args.threads,
            "batch_per_rank": b, "steps": args.steps,
            "step_ms": 1e3 * wall / args.steps,
            "allreduce_ms": 1e3 * allreduce / args.steps,
            "allreduce_share": allreduce / wall,
            "allreduce_alone_ms": 1e3 * sorted(alone)[len(alone) // 2],
            "samples_per_s": global_batch * args.steps / wall,
            "gradient_mb": timers["gradient_bytes"] / 1e6,
            "params": model.count_params()}), flush=True)


def mpiexec():
    local = Path(sys.executable).parent / "mpiexec"
    exe = str(local) if local.exists() else "mpiexec"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    return [exe] + (["--oversubscribe"] if "Open MPI" in out else [])


def run(workload, ranks, threads, steps, warmup):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = mpiexec() + ["-n", str(ranks), sys.executable, __file__, "--child", "--workload",
                       workload, "--threads", str(threads), "--steps", str(steps),
                       "--warmup", str(warmup)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in r.stdout.splitlines():
        if line.startswith(TAG):
            return json.loads(line[len(TAG):])
    raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")


def paper_model(result, machines, gbit, latency_us):
    """Weak scaling to `machines` machines, one rank per machine with the measured single-
    rank compute per step (batch b per machine): step = compute + allreduce, the allreduce
    of S bytes by reduce-scatter + allgather (MPICH's and Open MPI's choice for large
    messages): 2·(N-1)/N·S/bandwidth + 2·log2(N)·latency."""
    compute = result["step_ms"] - result["allreduce_ms"]
    S = result["gradient_mb"] * 1e6
    rows = []
    for n in machines:
        comm = 0.0 if n == 1 else 1e3 * (2 * (n - 1) / n * S / (gbit * 1e9 / 8)
                                         + 2 * math.log2(n) * latency_us * 1e-6)
        step = compute + comm
        rows.append((n, step, comm / step, n * result["batch_per_rank"] / step * 1e3))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--workload", default="small", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--workloads", default="small,base")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 20 small, "
                                                           "4 base)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="5 small steps, 2 base steps")
    args = p.parse_args()
    if args.child:
        return child(args)
    cores = os.cpu_count() or 1
    print(f"# {cores} cores; configurations R ranks x {cores}/R threads at the same global "
          "batch", flush=True)
    print("| workload | ranks x threads | batch/rank | step ms | samples/s | allreduce ms "
          "| allreduce share | allreduce alone ms | gradient MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = {}
    for workload in args.workloads.split(","):
        steps = args.steps or ((5 if workload == "small" else 2) if args.quick
                               else (20 if workload == "small" else 4))
        for ranks in (1, 2):
            threads = max(1, cores // ranks)
            r = run(workload, ranks, threads, steps, args.warmup)
            results[(workload, ranks)] = r
            print(f"| {workload} | {ranks} x {threads} | {r['batch_per_rank']} | "
                  f"{r['step_ms']:.1f} | {r['samples_per_s']:.1f} | {r['allreduce_ms']:.2f} | "
                  f"{100 * r['allreduce_share']:.1f}% | {r['allreduce_alone_ms']:.2f} | "
                  f"{r['gradient_mb']:.1f} |", flush=True)
    print("\n# Paper model: N machines, one rank each with this machine's 1-rank step as its "
          "compute (batch per machine fixed), reduce-scatter+allgather allreduce")
    print("| workload | network | N | step ms | allreduce share | samples/s |")
    print("|---|---|---|---|---|---|")
    for (workload, ranks), r in results.items():
        if ranks != 1:
            continue
        for gbit, lat in ((10, 20.0), (25, 10.0)):
            for n, step, share, sps in paper_model(r, (1, 2, 4, 8), gbit, lat):
                print(f"| {workload} | {gbit} Gb/s, {lat:.0f} us | {n} | {step:.1f} | "
                      f"{100 * share:.1f}% | {sps:.1f} |")


if __name__ == "__main__":
    main()
