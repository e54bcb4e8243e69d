#!/usr/bin/env python3
"""Inference speed of an exported model: onnxruntime versus seqattn on the same weights.

The model is compare.py's "small" workload (keras.io's text classifier: token and position
embedding (20000, 200, 32), self-attention with 2 heads of 32, feed-forward 32, mean over
time, Dense(20, relu), Dense(2, softmax)). It is exported with `model.export`, the outputs of
both runtimes are compared, then both are timed in one process on the same random ids:

    seqattn:     model.predict_on_batch(x)   (the C++ graph, no batching or progress bar)
    onnxruntime: session.run(None, {input: x})   (CPUExecutionProvider, graph optimisations on)

at batch 1 (latency: median milliseconds per call) and batch 256 (throughput: samples per
second, median over calls). Both use the same thread count (seqattn.set_num_threads,
SessionOptions.intra_op_num_threads). Rounds interleave the two runtimes, and the share of
the CPUs other processes took while timing is printed (bench_train.ForeignLoad): on a shared
machine a number taken under load is not a clean measurement.

    python benchmarks/bench_onnx.py [--threads 2] [--rounds 3] [--seconds 1.0] [--quick]

A script, not a test: it asserts nothing about speed. Needs `pip install 'seqattn[onnx]'`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_train import ForeignLoad  # noqa: E402
from compare import seqattn_model  # noqa: E402


def _time_calls(fn, seconds, min_calls=3):
    """Seconds per call of fn(), median over calls made for about `seconds`."""
    fn()  # warm-up
    times, t_end = [], time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per measurement")
    parser.add_argument("--quick", action="store_true", help="1 round of 0.3 s each")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 0.3

    import numpy as np
    import onnxruntime as ort

    import seqattn
    seqattn.set_num_threads(args.threads)
    seqattn.utils.set_random_seed(0)
    model, _ = seqattn_model("small")
    T = model.inputs[0].shape[1]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "small.onnx")
        model.export(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = {B: rng.integers(1, 20000, (B, T)).astype(np.int32) for B in (1, 256)}
    diff = float(np.abs(session.run(None, {name: x[256]})[0]
                        - model.predict_on_batch(x[256])).max())
    print(f"small model, T={T}, {args.threads} thread(s); max |onnxruntime - seqattn| = "
          f"{diff:.2e}; onnxruntime {ort.__version__}")
    runners = {"seqattn": lambda B: (lambda: model.predict_on_batch(x[B])),
               "onnxruntime": lambda B: (lambda: session.run(None, {name: x[B]}))}
    results = {(r, B): [] for r in runners for B in (1, 256)}
    loads = []
    for k in range(args.rounds):
        order = list(runners) if k % 2 == 0 else list(runners)[::-1]
        for B in (1, 256):
            for runtime in order:
                with ForeignLoad() as load:
                    results[runtime, B].append(_time_calls(runners[runtime](B), args.seconds))
                loads.append(load.fraction)
    print("| runtime | batch 1 latency (ms) | batch 256 throughput (samples/s) |")
    print("|---|---|---|")
    for runtime in runners:
        one = statistics.median(results[runtime, 1]) * 1e3
        many = 256 / statistics.median(results[runtime, 256])
        print(f"| {runtime} | {one:.3f} | {many:,.0f} |")
    ratio_1 = statistics.median(results["seqattn", 1]) / statistics.median(
        results["onnxruntime", 1])
    ratio_256 = statistics.median(results["seqattn", 256]) / statistics.median(
        results["onnxruntime", 256])
    print(f"onnxruntime / seqattn speed: {ratio_1:.2f}x at batch 1, {ratio_256:.2f}x at batch "
          f"256 (> 1: onnxruntime faster)")
    print(f"other processes' share of the CPUs while timing: median "
          f"{statistics.median(loads):.0%}, max {max(loads):.0%}")


if __name__ == "__main__":
    main()
