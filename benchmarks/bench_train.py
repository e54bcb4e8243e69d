#!/usr/bin/env python3
"""Training throughput of seqattn versus PyTorch on the same model, side by side.

Both frameworks train the same stack on the same shapes (float32, batch B=32, sequence
T=200, width C=32, H=2 heads of 16, vocabulary 20000):

    token embedding (20000, C) + learned position embedding (T, C)
    -> self-attention, H heads of C/H (Q, K, V and output projections, with biases)
    -> mean over time -> Dense(20, relu) -> Dense(2) + softmax cross-entropy
    Adam(lr 1e-3, epsilon 1e-7)

Each measurement runs in a fresh subprocess, so that the OpenMP environment variables
(OMP_NUM_THREADS, OMP_WAIT_POLICY) take effect and the two libgomp instances never share a
process. The parent interleaves the two frameworks over several rounds (ABAB, then BABA...),
because on a shared VM the machine's speed drifts by tens of percent from minute to minute;
interleaving spreads that drift over both frameworks. It reports the median samples/s per
framework, the range over rounds and the ratio of the medians (seqattn / torch; > 1 means
seqattn is faster).

Usage (from the repository root):

    python benchmarks/bench_train.py                  # 1 and 2 threads, 3 rounds
    python benchmarks/bench_train.py --threads 2 --rounds 5 --markdown
    python benchmarks/bench_train.py --quick          # smoke test, ~1 minute

This is a script, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

# The shapes of the benchmark (see the module docstring).
BATCH = 32          # B
SEQ_LEN = 200       # T
WIDTH = 32          # C
HEADS = 2           # H
VOCAB = 20000
HIDDEN = 20
CLASSES = 2

FRAMEWORKS = ("seqattn", "torch")
RESULT_TAG = "BENCH_RESULT "   # prefix of the child's one-line JSON report on stdout


# ----------------------------------------------------------------------------- machine load
def _cpu_jiffies():
    """(busy, total) jiffies summed over all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)   # idle + iowait
    total = sum(fields[:8])                                      # guest time is inside user
    return total - idle, total


def _own_cpu_seconds():
    """CPU seconds (user + system, all threads) used by this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class ForeignLoad:
    """Measures how busy the *other* processes kept the CPUs during a timed section.

    /proc/stat gives the busy time of the whole machine; subtracting our own CPU time leaves
    what other processes took. Reported as a fraction of all vCPUs (0.0 to 1.0); anything
    above a few percent means the timing was disturbed.
    """

    def __enter__(self):
        self._busy0, _ = _cpu_jiffies()
        self._own0 = _own_cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        busy1, _ = _cpu_jiffies()
        wall = time.perf_counter() - self._t0
        hz = os.sysconf("SC_CLK_TCK")
        others = (busy1 - self._busy0) / hz - (_own_cpu_seconds() - self._own0)
        self.fraction = max(0.0, others) / (wall * (os.cpu_count() or 1))
        return False


def machine_busy(seconds=1.0):
    """Fraction of all vCPUs busy over the next `seconds` (from /proc/stat)."""
    b0, t0 = _cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = _cpu_jiffies()
    return (b1 - b0) / max(1, t1 - t0)


def wait_until_quiet(max_wait, threshold=0.15):
    """Waits (up to max_wait seconds) until the machine is below `threshold` busy.

    Returns the last measured busy fraction, so the caller can flag a run that started on a
    busy machine anyway.
    """
    deadline = time.monotonic() + max_wait
    busy = machine_busy(0.5)
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy(1.0)
    return busy


def peak_rss_mib():
    """Peak resident set size of this process in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------- data
def make_data(n, seed):
    """n random samples: token ids (n, T) in [1, VOCAB) as int32, labels (n,) in {0, 1}.

    Id 0 is left out so that no framework could treat it as padding.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(n, SEQ_LEN), dtype=np.int32)
    y = rng.integers(0, CLASSES, size=(n,), dtype=np.int32)
    return x, y


# ----------------------------------------------------------------------------- seqattn child
def run_seqattn(threads, samples, warmup_samples, seed):
    """Trains the stack with seqattn's public API; returns the child's result dict.

    Timing uses model.fit (what users run): one epoch over `samples` samples, shuffle off, so
    the loop is exactly samples / B training steps plus fit's per-step Python overhead.
    """
    import seqattn

    seqattn.set_num_threads(threads)
    seqattn.utils.set_random_seed(seed)
    model = seqattn.Sequential([
        seqattn.Input(shape=(SEQ_LEN,), dtype="int32"),
        seqattn.layers.TokenAndPositionEmbedding(VOCAB, SEQ_LEN, WIDTH),
        seqattn.layers.MultiHeadAttention(num_heads=HEADS, key_dim=WIDTH // HEADS),
        seqattn.layers.GlobalAveragePooling1D(),
        seqattn.layers.Dense(HIDDEN, activation="relu"),
        seqattn.layers.Dense(CLASSES, activation="softmax"),
    ])
    model.compile(optimizer=seqattn.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy")
    x, y = make_data(samples, seed)

    # Warm-up: builds the graph, allocates the buffers and starts the OpenMP team.
    model.fit(x[:warmup_samples], y[:warmup_samples], batch_size=BATCH, epochs=1,
              verbose=0, shuffle=False)
    with ForeignLoad() as load:
        t0 = time.perf_counter()
        hist = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        elapsed = time.perf_counter() - t0

    info = seqattn.build_info()
    return {
        "framework": "seqattn",
        "threads_used": seqattn.get_num_threads(),
        "seconds": elapsed,
        "foreign_load": load.fraction,
        "final_loss": float(hist.history["loss"][-1]),
        "params": int(model.count_params()),
        "version": f"seqattn {seqattn.__version__} (simd: {info.get('simd')}, "
                   f"compiler: {info.get('compiler')}, flags:{info.get('flags')})",
    }


# ----------------------------------------------------------------------------- torch child
def build_torch_model():
    """The same stack in PyTorch; forward returns logits (B, 2), softmax is in the loss."""
    import torch
    from torch import nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, WIDTH)
            self.pos = nn.Embedding(SEQ_LEN, WIDTH)
            # embed_dim C=32 split into H=2 heads of 16: the same projections and FLOPs as
            # seqattn's MultiHeadAttention(num_heads=2, key_dim=16).
            self.attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.fc1 = nn.Linear(WIDTH, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, CLASSES)
            self.register_buffer("positions", torch.arange(SEQ_LEN), persistent=False)

        def forward(self, ids):                               # ids (B, T)
            h = self.tok(ids) + self.pos(self.positions)      # (B, T, C)
            h, _ = self.attn(h, h, h, need_weights=False)     # (B, T, C)
            h = h.mean(dim=1)                                 # (B, C)
            return self.fc2(torch.relu(self.fc1(h)))          # (B, 2)

    return Classifier()


def run_torch(threads, samples, warmup_samples, seed, compile_model=False):
    """Trains the stack with a standard eager PyTorch loop; returns the child's result dict.

    The batches are made (and converted to tensors) before timing, as a DataLoader over
    in-memory tensors would hand them over; the timed loop is zero_grad, forward, loss,
    backward, step.
    """
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build_torch_model()
    if compile_model:
        model = torch.compile(model)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    x, y = make_data(samples, seed)
    xs = torch.from_numpy(x).long()        # nn.Embedding's canonical index type
    ys = torch.from_numpy(y).long()
    batches = [(xs[i:i + BATCH], ys[i:i + BATCH]) for i in range(0, samples, BATCH)]
    warm = batches[:max(1, warmup_samples // BATCH)]

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for xb, yb in warm:
        step(xb, yb)
    losses = []
    with ForeignLoad() as load:
        t0 = time.perf_counter()
        for xb, yb in batches:
            losses.append(step(xb, yb))
        elapsed = time.perf_counter() - t0

    return {
        "framework": "torch",
        "threads_used": torch.get_num_threads(),
        "seconds": elapsed,
        "foreign_load": load.fraction,
        # Mean over the epoch, like Keras's reported loss (read after timing: .item() syncs).
        "final_loss": float(torch.stack(losses).mean()),
        "params": sum(p.numel() for p in model.parameters()),
        "version": f"torch {torch.__version__}"
                   + (" (torch.compile)" if compile_model else " (eager)"),
    }


def child_main(args):
    """Entry point of a measurement subprocess: runs one framework, prints one JSON line."""
    if args.child == "seqattn":
        res = run_seqattn(args.threads[0], args.samples, args.warmup, args.seed)
    else:
        res = run_torch(args.threads[0], args.samples, args.warmup, args.seed,
                        args.torch_compile)
    res["samples"] = args.samples
    res["samples_per_s"] = args.samples / res["seconds"]
    res["peak_rss_mib"] = peak_rss_mib()
    print(RESULT_TAG + json.dumps(res), flush=True)


# ----------------------------------------------------------------------------- parent
def child_env(framework, threads, extra_seqattn_env):
    """Environment of a measurement subprocess.

    Both: OMP_NUM_THREADS/MKL_NUM_THREADS = threads, so no runtime spawns threads beyond the
    requested count. torch: OMP_WAIT_POLICY=PASSIVE, the best setting on 2 shared vCPUs
    (spinning libgomp workers otherwise fight the main thread; see perf-limits.md §6).
    seqattn runs with its defaults (what users get), plus any --seqattn-env overrides.
    """
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    if framework == "torch":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        env.pop("OMP_WAIT_POLICY", None)    # the user's shell must not tune one side only
        env.update(extra_seqattn_env)
    return env


def run_child(framework, threads, args, extra_seqattn_env):
    """Runs one measurement subprocess and returns its result dict (raises on failure)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework,
           "--threads", str(threads), "--samples", str(args.samples),
           "--warmup", str(args.warmup), "--seed", str(args.seed)]
    if args.torch_compile:
        cmd.append("--torch-compile")
    proc = subprocess.run(cmd, env=child_env(framework, threads, extra_seqattn_env),
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    raise RuntimeError(f"{framework} child failed (exit {proc.returncode}):\n"
                       f"{proc.stdout}\n{proc.stderr}")


def fmt_range(values, fmt="{:.0f}"):
    """'median [min–max]' of a list of numbers."""
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} [{fmt.format(min(values))}–{fmt.format(max(values))}]"


def summarize(results, threads_list):
    """Rows of the final table, one per thread count, from the per-run result dicts."""
    rows = []
    for n in threads_list:
        per = {fw: [r for r in results if r["framework"] == fw and r["threads"] == n]
               for fw in FRAMEWORKS}
        sps = {fw: [r["samples_per_s"] for r in per[fw]] for fw in FRAMEWORKS}
        med = {fw: statistics.median(sps[fw]) for fw in FRAMEWORKS}
        # Per-round ratios show how stable the comparison is, independent of machine drift.
        round_ratios = [a["samples_per_s"] / b["samples_per_s"]
                        for a, b in zip(per["seqattn"], per["torch"])]
        rows.append({
            "threads": n,
            "seqattn": fmt_range(sps["seqattn"]),
            "torch": fmt_range(sps["torch"]),
            "ratio": f"{med['seqattn'] / med['torch']:.2f}",
            "round_ratios": fmt_range(round_ratios, "{:.2f}"),
            "ms_step": "{:.1f} / {:.1f}".format(1000 * BATCH / med["seqattn"],
                                                 1000 * BATCH / med["torch"]),
            "seqattn_rss": f"{max(r['peak_rss_mib'] for r in per['seqattn']):.0f} MiB",
            "torch_rss": f"{max(r['peak_rss_mib'] for r in per['torch']):.0f} MiB",
            "foreign": "{:.0f}% / {:.0f}%".format(
                100 * max(r["foreign_load"] for r in per["seqattn"]),
                100 * max(r["foreign_load"] for r in per["torch"])),
        })
    return rows


COLUMNS = [
    ("threads", "threads"),
    ("seqattn", "seqattn samples/s"),
    ("torch", "torch samples/s"),
    ("ratio", "ratio (seqattn/torch)"),
    ("round_ratios", "per-round ratios"),
    ("ms_step", "ms/step seqattn / torch"),
    ("seqattn_rss", "seqattn RSS"),
    ("torch_rss", "torch RSS"),
    ("foreign", "max foreign load s / t"),
]


def print_table(rows):
    """Plain-text table with aligned columns."""
    widths = [max(len(title), *(len(str(r[key])) for r in rows)) for key, title in COLUMNS]
    line = " | ".join(title.ljust(w) for (_, title), w in zip(COLUMNS, widths))
    print(line)
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(r[key]).ljust(w) for (key, _), w in zip(COLUMNS, widths)))


def print_markdown(rows):
    """The same table as GitHub markdown, to paste into the README."""
    print("| " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for r in rows:
        print("| " + " | ".join(str(r[key]) for key, _ in COLUMNS) + " |")


def parent_main(args):
    """Checks the machine, runs the interleaved rounds and prints the summary."""
    extra_env = dict(kv.split("=", 1) for kv in args.seqattn_env)
    load1 = os.getloadavg()[0]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} vCPUs, "
          f"python {platform.python_version()}; load average (1 min) before start: {load1:.2f}")
    if load1 > 0.5:
        print(f"WARNING: load average {load1:.2f} > 0.5: other processes share the CPUs, "
              "so the numbers below are pessimistic and noisy. Rerun when the machine is idle.")
    print(f"shapes: B={BATCH}, T={SEQ_LEN}, C={WIDTH}, H={HEADS}x{WIDTH // HEADS}, "
          f"vocab={VOCAB}; {args.samples} timed samples ({args.samples // BATCH} steps) per run "
          f"after {args.warmup} warm-up samples; {args.rounds} round(s); threads {args.threads}")
    print("env: torch OMP_WAIT_POLICY=PASSIVE; both OMP_NUM_THREADS=MKL_NUM_THREADS=threads"
          + (f"; seqattn extra {extra_env}" if extra_env else ""))
    print()

    results, versions = [], {}
    for rnd in range(args.rounds):
        for n in args.threads:
            # Alternate who goes first, so a slow drift of the machine biases neither side.
            order = FRAMEWORKS if (rnd + args.threads.index(n)) % 2 == 0 else FRAMEWORKS[::-1]
            for fw in order:
                busy = wait_until_quiet(args.max_wait)
                res = run_child(fw, n, args, extra_env)
                res.update(threads=n, round=rnd, busy_before=busy)
                results.append(res)
                versions[fw] = res["version"]
                flag = "  (machine busy)" if res["foreign_load"] > 0.05 or busy > 0.15 else ""
                print(f"round {rnd + 1}/{args.rounds}  threads={n}  {fw:8s} "
                      f"{res['samples_per_s']:8.1f} samples/s  "
                      f"({1000 * res['seconds'] / (args.samples / BATCH):6.1f} ms/step, "
                      f"loss {res['final_loss']:.4f}, {res['params']} params, "
                      f"RSS {res['peak_rss_mib']:.0f} MiB, "
                      f"foreign load {100 * res['foreign_load']:.0f}%){flag}", flush=True)
                if res["threads_used"] != n:
                    print(f"WARNING: {fw} reports {res['threads_used']} threads, asked {n}")

    print()
    for fw in FRAMEWORKS:
        print(f"{fw}: {versions[fw]}")
    print("samples/s: median over rounds [min–max]; ratio = median seqattn / median torch "
          "(> 1: seqattn faster); RSS = max peak RSS of a run's process; foreign load = "
          "max share of the vCPUs other processes used during a timed run.")
    print()
    rows = summarize(results, args.threads)
    print_table(rows)
    if args.markdown:
        print()
        print_markdown(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "versions": versions, "rows": rows}, f, indent=1)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                   help="thread counts to compare (default: 1 2)")
    p.add_argument("--rounds", type=int, default=3,
                   help="interleaved rounds per framework and thread count (default 3)")
    p.add_argument("--samples", type=int, default=2048,
                   help="timed samples per run, a multiple of 32 (default 2048 = 64 steps)")
    p.add_argument("--warmup", type=int, default=320,
                   help="warm-up samples before timing (default 320 = 10 steps)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 round, 320 timed samples, 64 warm-up samples")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--json", metavar="PATH", help="write every run's raw result to PATH")
    p.add_argument("--max-wait", type=float, default=60.0,
                   help="seconds to wait for an idle machine before each run (default 60)")
    p.add_argument("--seqattn-env", metavar="KEY=VALUE", action="append", default=[],
                   help="extra environment for the seqattn runs, e.g. OMP_WAIT_POLICY=PASSIVE")
    p.add_argument("--torch-compile", action="store_true",
                   help="torch.compile the PyTorch model (default: eager, what most users run)")
    p.add_argument("--child", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.rounds, args.samples, args.warmup = 1, 320, 64
    if args.samples % BATCH or args.samples <= 0:
        p.error(f"--samples must be a positive multiple of {BATCH}")
    if args.warmup < BATCH or args.warmup > args.samples:
        p.error(f"--warmup must be in [{BATCH}, --samples]")
    if any(n < 1 for n in args.threads) or args.rounds < 1:
        p.error("--threads and --rounds must be positive")
    if any("=" not in kv for kv in args.seqattn_env):
        p.error("--seqattn-env takes KEY=VALUE")
    return args


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.child:
        child_main(ARGS)
    else:
        parent_main(ARGS)
