#!/usr/bin/env python3
"""One command that compares seqattn with PyTorch (eager MHA / SDPA, torch.compile) and Keras 3
(torch backend) on this machine, next to the machine's own sgemm rate and FMA peak.

Usage (from the repository root):

    python benchmarks/compare.py                                # all workloads, 3 rounds
    python benchmarks/compare.py --workloads small,base --rounds 5 --markdown
    python benchmarks/compare.py --quick                        # 1 round, long stops at T=2048

Every measurement runs in its own subprocess (so OMP_* variables take effect and two OpenMP
runtimes never share a process). Within a round the frameworks run one after another, and the
order is reversed every other round, so slow drift of the shared VM hits all of them alike.
Each child warms up first, then times a fixed number of steps. Reported: median over rounds
and the spread [min-max].

Environment per child: OMP_NUM_THREADS=MKL_NUM_THREADS=n. seqattn calls
seqattn.set_num_threads(n) and keeps its own default (import sets OMP_WAIT_POLICY=PASSIVE);
PyTorch / Keras / torch.compile children call torch.set_num_threads(n) and get
OMP_WAIT_POLICY=PASSIVE (their best setting on 2 vCPUs, see perf-limits.md).

FLOP counting (analytic, matmuls only; embeddings, softmax, LayerNorm, dropout, the optimizer
are not counted). One encoder block on T tokens of width C, H heads of size d (HD = H*d),
FFN width F, per sample, forward:

    qkv   = 3 * 2*T*C*HD           Q, K, V projections
    attn  = 2*T*T*HD + 2*T*T*HD    Q K^T and P V (all heads)
    out   = 2*T*HD*C               output projection
    ffn   = 2*T*C*F + 2*T*F*C      two FFN matmuls (0 if no FFN)
    head  = sum of 2*in*out over the classifier Dense layers

    training step FLOPs = 3 * forward FLOPs * batch     (forward + ~2x for the backward)
    inference FLOPs     = 1 * forward FLOPs * batch

GFLOP/s = those FLOPs / measured seconds; "% sgemm" = that / torch.mm 1024^3 float32 GFLOP/s
measured at the same thread count in the same run; "% FMA peak" = that / the machine's FMA
peak (seqattn.utils.fma_peak: 12 independent vector FMA chains per thread, 2 FLOPs per lane)
at the same thread count in the same run. sgemm depends on the BLAS PyTorch ships; the FMA
peak is what the cores can do, so its share means the same on every host.

Memory: peak RSS delta of the child = ru_maxrss at the end minus ru_maxrss after imports, model
construction and data creation (so it is the extra high-water mark of the timed steps).
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

RESULT_TAG = "COMPARE_RESULT "

# --------------------------------------------------------------------------- workload shapes
SMALL = dict(V=20000, T=200, C=32, H=2, d=32, F=32, B=32, B_inf=256)
BASE = dict(V=20000, T=256, C=256, H=8, d=32, F=1024, blocks=2, B=32)
LONG = dict(C=256, H=4, d=64, B=1)
LONG_T = (1024, 2048, 4096, 8192)
LONG_T_QUICK = (1024, 2048)


def block_flops(T, C, H, d, F):
    """Forward matmul FLOPs of one attention(+FFN) block for one sample (see module doc)."""
    HD = H * d
    return 3 * 2 * T * C * HD + 2 * (2 * T * T * HD) + 2 * T * HD * C + 2 * (2 * T * C * F)


def small_forward_flops(d=SMALL["d"]):
    s = SMALL
    return block_flops(s["T"], s["C"], s["H"], d, s["F"]) + 2 * s["C"] * 20 + 2 * 20 * 2


def base_forward_flops():
    b = BASE
    return b["blocks"] * block_flops(b["T"], b["C"], b["H"], b["d"], b["F"]) + 2 * b["C"] * 2


def long_forward_flops(T):
    l = LONG
    return block_flops(T, l["C"], l["H"], l["d"], 0) + 2 * l["C"]


# --------------------------------------------------------------------------- child helpers
def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps


def torch_setup(threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    return torch


# ----------------------------------------------------------------------------- torch models
def torch_modules():
    import torch
    from torch import nn
    import torch.nn.functional as Fn

    class SDPAttention(nn.Module):
        def __init__(self, C, H, d, dropout=0.0):
            super().__init__()
            self.H, self.d, self.p = H, d, dropout
            self.q, self.k, self.v = (nn.Linear(C, H * d) for _ in range(3))
            self.o = nn.Linear(H * d, C)

        def forward(self, x):
            B, T, _ = x.shape
            sh = lambda t: t.view(B, T, self.H, self.d).transpose(1, 2)
            a = Fn.scaled_dot_product_attention(sh(self.q(x)), sh(self.k(x)), sh(self.v(x)),
                                                dropout_p=self.p if self.training else 0.0)
            return self.o(a.transpose(1, 2).reshape(B, T, self.H * self.d))

    class MHA(nn.Module):        # nn.MultiheadAttention: head size is C / H
        def __init__(self, C, H, dropout=0.0):
            super().__init__()
            self.m = nn.MultiheadAttention(C, H, dropout=dropout, batch_first=True)

        def forward(self, x):
            return self.m(x, x, x, need_weights=False)[0]

    class Small(nn.Module):      # keras.io "Text classification with Transformer"
        def __init__(self, attn):
            super().__init__()
            s = SMALL
            self.tok = nn.Embedding(s["V"], s["C"])
            self.pos = nn.Embedding(s["T"], s["C"])
            self.att = (SDPAttention(s["C"], s["H"], s["d"]) if attn == "sdpa"
                        else MHA(s["C"], s["H"]))
            self.drop = nn.Dropout(0.1)
            self.ln1 = nn.LayerNorm(s["C"], eps=1e-6)
            self.ff1, self.ff2 = nn.Linear(s["C"], s["F"]), nn.Linear(s["F"], s["C"])
            self.ln2 = nn.LayerNorm(s["C"], eps=1e-6)
            self.fc1, self.fc2 = nn.Linear(s["C"], 20), nn.Linear(20, 2)
            self.register_buffer("positions", torch.arange(s["T"]), persistent=False)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(self.positions)
            x = self.ln1(x + self.drop(self.att(x)))
            x = self.ln2(x + self.drop(self.ff2(torch.relu(self.ff1(x)))))
            x = self.drop(x.mean(dim=1))
            return self.fc2(self.drop(torch.relu(self.fc1(x))))

    class EncoderSDPA(nn.Module):  # post-norm block like seqattn.layers.TransformerEncoder
        def __init__(self, C, H, F, p):
            super().__init__()
            self.att = SDPAttention(C, H, C // H, p)
            self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
            self.l1, self.l2 = nn.Linear(C, F), nn.Linear(F, C)
            self.drop = nn.Dropout(p)

        def forward(self, x):
            x = self.ln1(x + self.drop(self.att(x)))
            return self.ln2(x + self.drop(self.l2(torch.relu(self.l1(x)))))

    class Base(nn.Module):
        def __init__(self, attn):
            super().__init__()
            b = BASE
            self.tok = nn.Embedding(b["V"], b["C"])
            self.pos = nn.Embedding(b["T"], b["C"])
            if attn == "sdpa":
                blocks = [EncoderSDPA(b["C"], b["H"], b["F"], 0.1) for _ in range(b["blocks"])]
            else:
                blocks = [nn.TransformerEncoderLayer(b["C"], b["H"], b["F"], dropout=0.1,
                                                     activation="relu", batch_first=True,
                                                     norm_first=False)
                          for _ in range(b["blocks"])]
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Linear(b["C"], 2)
            self.register_buffer("positions", torch.arange(b["T"]), persistent=False)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(self.positions)
            return self.head(self.blocks(x).mean(dim=1))

    class Long(nn.Module):
        def __init__(self, attn):
            super().__init__()
            l = LONG
            self.att = (SDPAttention(l["C"], l["H"], l["d"]) if attn == "sdpa"
                        else MHA(l["C"], l["H"]))
            self.head = nn.Linear(l["C"], 1)

        def forward(self, x):
            return self.head(self.att(x).mean(dim=1))

    return Small, Base, Long


# ----------------------------------------------------------------------------- children
def ids_data(n, T, V, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    return (rng.integers(1, V, size=(n, T), dtype=np.int32),
            rng.integers(0, 2, size=(n,), dtype=np.int32))


def child_sgemm(spec):
    torch = torch_setup(spec["threads"])
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    rates = []
    for _ in range(15):
        t0 = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return {"gflops": statistics.median(rates), "gflops_best": max(rates)}


def child_fma(spec):
    import seqattn
    return {"gflops": seqattn.utils.fma_peak(threads=spec["threads"], seconds=0.5)}


def share(gflops, yardstick, threads):
    """gflops as a percentage of yardstick[threads] (GFLOP/s per thread count), or '–'."""
    if threads not in yardstick or not yardstick[threads]:
        return "–"
    return f"{100 * gflops / yardstick[threads]:.0f}%"


def seqattn_model(wl, T=None):
    """The seqattn model of workload `wl` ("small", "base" or "long" at length T) and its batch
    size. benchmarks/profile_layers.py builds the same models."""
    import seqattn
    from seqattn import layers as L
    if wl == "small":
        s = SMALL
        inp = seqattn.Input(shape=(s["T"],), dtype="int32")
        x = L.TokenAndPositionEmbedding(s["V"], s["T"], s["C"])(inp)
        a = L.Dropout(0.1)(L.MultiHeadAttention(num_heads=s["H"], key_dim=s["d"])(x, x))
        x = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, a]))
        f = L.Dropout(0.1)(L.Dense(s["C"])(L.Dense(s["F"], activation="relu")(x)))
        x = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, f]))
        x = L.Dropout(0.1)(L.GlobalAveragePooling1D()(x))
        x = L.Dropout(0.1)(L.Dense(20, activation="relu")(x))
        out = L.Dense(2, activation="softmax")(x)
        return seqattn.Model(inputs=inp, outputs=out), s["B"]
    if wl == "base":
        b = BASE
        layers_ = [seqattn.Input(shape=(b["T"],), dtype="int32"),
                   L.TokenAndPositionEmbedding(b["V"], b["T"], b["C"])]
        layers_ += [L.TransformerEncoder(b["F"], b["H"], dropout=0.1) for _ in range(b["blocks"])]
        layers_ += [L.GlobalAveragePooling1D(), L.Dense(2, activation="softmax")]
        return seqattn.Sequential(layers_), b["B"]
    l = LONG
    model = seqattn.Sequential([seqattn.Input(shape=(T, l["C"]), dtype="float32"),
                                L.MultiHeadAttention(num_heads=l["H"], key_dim=l["d"]),
                                L.GlobalAveragePooling1D(),
                                L.Dense(1, activation="sigmoid")])
    return model, l["B"]


def child_seqattn(spec):
    import seqattn
    seqattn.set_num_threads(spec["threads"])
    seqattn.utils.set_random_seed(0)
    wl, steps, warm = spec["workload"], spec["steps"], spec["warmup"]
    res = {}
    model, B = seqattn_model(wl, spec.get("T"))
    if wl == "small":
        xd, yd = ids_data(B * steps, SMALL["T"], SMALL["V"])
        xi, _ = ids_data(SMALL["B_inf"] * spec["inf_batches"], SMALL["T"], SMALL["V"], seed=1)
    elif wl == "base":
        xd, yd = ids_data(B * steps, BASE["T"], BASE["V"])
    else:  # long
        import numpy as np
        xd = np.random.default_rng(0).standard_normal((B, spec["T"], LONG["C"])).astype(np.float32)
        yd = np.ones((B, 1), dtype=np.float32)
    if wl == "long":
        model.compile(optimizer=seqattn.optimizers.SGD(0.01), loss="binary_crossentropy")
        base_rss = maxrss_mib()
        sec = timed(lambda: model.train_on_batch(xd, yd), steps, warm)
    else:
        model.compile(optimizer=seqattn.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy")
        base_rss = maxrss_mib()
        model.fit(xd[:B * warm], yd[:B * warm], batch_size=B, epochs=1, verbose=0,
                  shuffle=False)
        t0 = time.perf_counter()
        model.fit(xd, yd, batch_size=B, epochs=1, verbose=0, shuffle=False)
        sec = (time.perf_counter() - t0) / steps
        if wl == "small":
            Bi = SMALL["B_inf"]
            model.predict(xi[:Bi], batch_size=Bi, verbose=0)
            t0 = time.perf_counter()
            model.predict(xi, batch_size=Bi, verbose=0)
            res["infer_sec"] = (time.perf_counter() - t0) / spec["inf_batches"]
    res.update(sec=sec, mem_mib=maxrss_mib() - base_rss, params=int(model.count_params()))
    return res


def child_torch(spec):
    torch = torch_setup(spec["threads"])
    Small, Base, Long = torch_modules()
    wl, steps, warm, attn = spec["workload"], spec["steps"], spec["warmup"], spec["attn"]
    res = {}
    if wl == "small":
        model, B = Small(attn), SMALL["B"]
        xd, yd = ids_data(B * steps, SMALL["T"], SMALL["V"])
        xi, _ = ids_data(SMALL["B_inf"] * spec["inf_batches"], SMALL["T"], SMALL["V"], seed=1)
        xi = torch.from_numpy(xi).long()
    elif wl == "base":
        model, B = Base(attn), BASE["B"]
        xd, yd = ids_data(B * steps, BASE["T"], BASE["V"])
    else:
        model, B = Long(attn), LONG["B"]
        xd = torch.randn(B, spec["T"], LONG["C"])
        yd = torch.ones(B, 1)
    lossf = (torch.nn.BCEWithLogitsLoss() if wl == "long" else torch.nn.CrossEntropyLoss())
    opt = (torch.optim.SGD(model.parameters(), lr=0.01) if wl == "long"
           else torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7))
    if wl == "long":
        batches = [(xd, yd)]
    else:
        X, Y = torch.from_numpy(xd).long(), torch.from_numpy(yd).long()
        batches = [(X[i * B:(i + 1) * B], Y[i * B:(i + 1) * B]) for i in range(steps)]
    fwd = model
    if spec.get("compile"):
        fwd = torch.compile(model)
    model.train()
    it = [0]

    def step():
        xb, yb = batches[it[0] % len(batches)]
        it[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = lossf(fwd(xb), yb)
        loss.backward()
        opt.step()

    base_rss = maxrss_mib()                 # after imports, model and data; before any step
    t0 = time.perf_counter()
    step()                                  # first step (compilation for torch.compile)
    res["first_step_s"] = time.perf_counter() - t0
    sec = timed(step, steps, warm)
    if wl == "small":
        model.eval()
        Bi = SMALL["B_inf"]
        with torch.inference_mode():
            fwd(xi[:Bi])
            t0 = time.perf_counter()
            for i in range(spec["inf_batches"]):
                fwd(xi[i * Bi:(i + 1) * Bi])
            res["infer_sec"] = (time.perf_counter() - t0) / spec["inf_batches"]
    res.update(sec=sec, mem_mib=maxrss_mib() - base_rss,
               params=sum(p.numel() for p in model.parameters()))
    return res


def child_keras(spec):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import torch
    torch.set_num_threads(spec["threads"])
    import keras
    from keras import layers as L
    keras.utils.set_random_seed(0)
    wl, steps, warm = spec["workload"], spec["steps"], spec["warmup"]
    res = {"version": f"keras {keras.__version__} ({keras.backend.backend()})"}

    class TokPos(L.Layer):          # keras.io TokenAndPositionEmbedding
        def __init__(self, V, T, C):
            super().__init__()
            self.tok, self.pos = L.Embedding(V, C), L.Embedding(T, C)

        def call(self, x):
            n = keras.ops.shape(x)[-1]
            return self.tok(x) + self.pos(keras.ops.arange(0, n, 1))
    if wl == "small":
        s = SMALL
        inp = keras.Input(shape=(s["T"],), dtype="int32")
        x = TokPos(s["V"], s["T"], s["C"])(inp)
        a = L.Dropout(0.1)(L.MultiHeadAttention(num_heads=s["H"], key_dim=s["d"])(x, x))
        x = L.LayerNormalization(epsilon=1e-6)(x + a)
        f = L.Dropout(0.1)(L.Dense(s["C"])(L.Dense(s["F"], activation="relu")(x)))
        x = L.LayerNormalization(epsilon=1e-6)(x + f)
        x = L.Dropout(0.1)(L.GlobalAveragePooling1D()(x))
        x = L.Dropout(0.1)(L.Dense(20, activation="relu")(x))
        out = L.Dense(2, activation="softmax")(x)
        B = s["B"]
        xd, yd = ids_data(B * steps, s["T"], s["V"])
        xi, _ = ids_data(s["B_inf"] * spec["inf_batches"], s["T"], s["V"], seed=1)
    elif wl == "base":
        b = BASE
        inp = keras.Input(shape=(b["T"],), dtype="int32")
        x = TokPos(b["V"], b["T"], b["C"])(inp)
        for _ in range(b["blocks"]):
            a = L.Dropout(0.1)(L.MultiHeadAttention(b["H"], b["C"] // b["H"], dropout=0.1)(x, x))
            x = L.LayerNormalization(epsilon=1e-5)(x + a)
            f = L.Dropout(0.1)(L.Dense(b["C"])(L.Dense(b["F"], activation="relu")(x)))
            x = L.LayerNormalization(epsilon=1e-5)(x + f)
        out = L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(x))
        B = b["B"]
        xd, yd = ids_data(B * steps, b["T"], b["V"])
    else:
        raise ValueError("keras: only small and base")
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, epsilon=1e-7),
                  loss="sparse_categorical_crossentropy")
    base_rss = maxrss_mib()
    model.fit(xd[:B * warm], yd[:B * warm], batch_size=B, epochs=1, verbose=0, shuffle=False)
    t0 = time.perf_counter()
    model.fit(xd, yd, batch_size=B, epochs=1, verbose=0, shuffle=False)
    res["sec"] = (time.perf_counter() - t0) / steps
    if wl == "small":
        Bi = SMALL["B_inf"]
        model.predict_on_batch(xi[:Bi])
        t0 = time.perf_counter()
        for i in range(spec["inf_batches"]):
            model.predict_on_batch(xi[i * Bi:(i + 1) * Bi])
        res["infer_sec"] = (time.perf_counter() - t0) / spec["inf_batches"]
    res.update(mem_mib=maxrss_mib() - base_rss, params=int(model.count_params()))
    return res


def run_child(spec):
    kind = spec["kind"]
    fn = {"sgemm": child_sgemm, "fma": child_fma, "seqattn": child_seqattn,
          "torch": child_torch, "keras": child_keras}[kind]
    out = fn(spec)
    print(RESULT_TAG + json.dumps(out), flush=True)


# ----------------------------------------------------------------------------- parent
VARIANTS = {  # label -> child spec fragment
    "seqattn": {"kind": "seqattn"},
    "torch MHA": {"kind": "torch", "attn": "mha"},
    "torch SDPA": {"kind": "torch", "attn": "sdpa"},
    "torch.compile SDPA": {"kind": "torch", "attn": "sdpa", "compile": True},
    "keras (torch)": {"kind": "keras"},
}
TORCH_LIKE = ("torch", "keras")


def launch(spec, timeout):
    env = dict(os.environ)
    n = str(spec["threads"])
    env.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, KERAS_BACKEND="torch")
    if spec["kind"] in TORCH_LIKE or spec["kind"] == "sgemm":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        env.pop("OMP_WAIT_POLICY", None)   # seqattn's import sets its own default
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                            json.dumps(spec)], env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    for line in p.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):]), None
    err = (p.stderr.strip().splitlines() or ["no output"])[-1]
    return None, f"failed (exit {p.returncode}): {err[:200]}"


def have(module):
    import importlib.util
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def med_span(vals, fmt="{:.1f}"):
    if not vals:
        return "–"
    m = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(m)
    return f"{fmt.format(m)} [{fmt.format(min(vals))}–{fmt.format(max(vals))}]"


class Runner:
    def __init__(self, args):
        self.args = args
        self.skipped = {}      # (label) -> note, for variants that cannot run at all
        self.notes = []

    def rounds(self, points):
        """points: list of (key, label, spec, timeout). Returns key -> list of results."""
        out = {k: [] for k, *_ in points}
        for r in range(self.args.rounds):
            order = points if r % 2 == 0 else list(reversed(points))
            for key, label, spec, timeout in order:
                if label in self.skipped:
                    continue
                t0 = time.perf_counter()
                res, err = launch(spec, timeout)
                wall = time.perf_counter() - t0
                if res is None:
                    note = f"{label} ({spec['workload'] if 'workload' in spec else ''}): {err}"
                    self.notes.append(note)
                    print(f"  [skip] {note}", flush=True)
                    if spec["kind"] == "keras" or spec.get("compile") or "No module" in err:
                        self.skipped[label] = err     # do not retry a framework that fails
                    continue
                out[key].append(res)
                what = (f"{res['gflops']:.1f} GFLOP/s" if "gflops" in res
                        else f"{res['sec'] * 1e3:.1f} ms/step")
                print(f"  round {r + 1} {key}: {what}"
                      + (f", mem +{res['mem_mib']:.0f} MiB" if "mem_mib" in res else "")
                      + f"  ({wall:.0f} s)", flush=True)
        return out


def emit_table(title, header, rows, markdown):
    print(f"\n### {title}\n")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                  for i, h in enumerate(header)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))


def env_report():
    lines = []
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines.append(f"CPU: {model}, {os.cpu_count()} logical CPUs; load avg {os.getloadavg()[0]:.2f}")
    lines.append(f"Python {platform.python_version()} on {platform.platform()}")
    code = ("import json,seqattn;print(json.dumps(dict(v=seqattn.__version__,"
            "b=seqattn.build_info())))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if p.returncode == 0:
        d = json.loads(p.stdout.strip().splitlines()[-1])
        b = d["b"]
        lines.append(f"seqattn {d['v']}: compiler {b.get('compiler')}, flags '{b.get('flags','').strip()}', "
                     f"{b.get('build_type')}, eigen {b.get('eigen')}, openmp {b.get('openmp')}, "
                     f"simd {b.get('simd')}, OMP_WAIT_POLICY default {b.get('omp_wait_policy')}")
    else:
        lines.append("seqattn: import failed")
    for mod, code in (("torch", "import torch;print(torch.__version__, torch.backends.cpu.get_cpu_capability())"),
                      ("keras", "import keras;print(keras.__version__, keras.backend.backend())")):
        if not have(mod):
            lines.append(f"{mod}: not installed (skipped)")
            continue
        env = dict(os.environ, KERAS_BACKEND="torch")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        lines.append(f"{mod}: " + (p.stdout.strip() if p.returncode == 0 else
                                   "import failed (skipped)"))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="small,base,long,threads")
    ap.add_argument("--rounds", type=int, default=None, help="default 3 (1 with --quick)")
    ap.add_argument("--threads", type=int, default=None, help="default: all cores")
    ap.add_argument("--quick", action="store_true", help="1 round, fewer steps, long T<=2048")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--no-keras", action="store_true", help="skip Keras")
    ap.add_argument("--compile-timeout", type=float, default=240.0)
    ap.add_argument("--json", help="save all raw results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_child(json.loads(args.child))
        return
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    nthreads = args.threads or os.cpu_count() or 1
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    q = args.quick
    runner = Runner(args)
    has_torch = have("torch")
    has_keras = has_torch and have("keras") and not args.no_keras

    print("Environment")
    for line in env_report():
        print("  " + line)
    print(f"  threads: {nthreads}; rounds: {args.rounds}; quick: {q}")
    if not has_torch:
        runner.notes.append("torch not installed: PyTorch, Keras, torch.compile and sgemm skipped")
    if has_torch is False or not have("keras"):
        if not have("keras"):
            runner.notes.append("keras not installed: Keras skipped")

    # yardsticks at each thread count in use: sgemm (torch.mm 1024^3) and the FMA peak
    thread_set = sorted({nthreads} | ({1, nthreads, 2} if "threads" in workloads else set()))
    sgemm, peak = {}, {}
    print("\nyardsticks: sgemm (torch.mm 1024^3 float32), FMA peak (seqattn.utils.fma_peak, "
          "0.5 s)")
    pts = [(f"fma {t}T", "fma", {"kind": "fma", "threads": t}, 120) for t in thread_set]
    if has_torch:
        pts += [(f"sgemm {t}T", "sgemm", {"kind": "sgemm", "threads": t}, 120)
                for t in thread_set]
    got = runner.rounds(pts)
    for name, store in (("sgemm", sgemm), ("fma", peak)):
        for t in thread_set:
            vals = [r["gflops"] for r in got.get(f"{name} {t}T", [])]
            if vals:
                store[t] = statistics.median(vals)
                print(f"  {'sgemm' if name == 'sgemm' else 'FMA peak'} {t} thread(s): "
                      f"{med_span(vals)} GFLOP/s")
    for t in thread_set:
        if t in sgemm and t in peak:
            print(f"  sgemm / FMA peak at {t} thread(s): {share(sgemm[t], peak, t)}")
    raw = {"sgemm": sgemm, "fma_peak": peak}

    def variants(workload, compile_ok=True, keras_ok=True):
        labs = ["seqattn"]
        if has_torch:
            labs += ["torch MHA", "torch SDPA"]
            if compile_ok and not args.no_compile:
                labs.append("torch.compile SDPA")
        if has_keras and keras_ok:
            labs.append("keras (torch)")
        return labs

    def table(title, results, flops_per_step, batch, threads, extra_inf=None):
        rows = []
        med = {}
        for lab, rs in results.items():
            if rs:
                med[lab] = statistics.median(r["sec"] for r in rs)
        torch_labs = [l for l in med if l.startswith("torch")]
        best = min(torch_labs, key=lambda l: med[l]) if torch_labs else None
        header = ["framework", "samples/s", "ms/step", "vs seqattn", "GFLOP/s", "% sgemm",
                  "% FMA peak", "peak mem Δ MiB", "params"]
        for lab, rs in results.items():
            if not rs:
                rows.append([lab, "skipped"] + [""] * (len(header) - 2))
                continue
            sps = [batch / r["sec"] for r in rs]
            ms = [r["sec"] * 1e3 for r in rs]
            fl = flops_per_step(lab) / med[lab] / 1e9
            ratio = (f"{med[lab] / med['seqattn']:.2f}x" if "seqattn" in med and lab != "seqattn"
                     else "")
            name = lab + (" (best)" if lab == best else "")
            rows.append([name, med_span(sps), med_span(ms), ratio, f"{fl:.1f}",
                         share(fl, sgemm, threads), share(fl, peak, threads),
                         f"{max(r['mem_mib'] for r in rs):.0f}", str(rs[0].get("params", ""))])
        emit_table(title, header, rows, args.markdown)
        if best and "seqattn" in med:
            print(f"\nseqattn / PyTorch best ({best}) speed ratio: {med[best] / med['seqattn']:.2f}"
                  " (> 1: seqattn faster)")
        print("('vs seqattn' = that framework's step time / seqattn's; > 1 means seqattn is faster)")
        return med

    # ---------------------------------------------------------------- small
    if "small" in workloads:
        print("\n== small: keras.io reference model, train batch 32, inference batch 256")
        steps, warm, inf = (15, 5, 4) if q else (60, 10, 12)
        labs = variants("small")
        pts = []
        for lab in labs:
            spec = dict(VARIANTS[lab], workload="small", threads=nthreads, steps=steps,
                        warmup=warm, inf_batches=inf)
            pts.append((lab, lab, spec, args.compile_timeout if spec.get("compile") else 600))
        got = runner.rounds(pts)
        raw["small"] = got
        f_ref = small_forward_flops()
        f_mha = small_forward_flops(d=SMALL["C"] // SMALL["H"])
        fl = lambda lab, k=3, b=SMALL["B"]: k * b * (f_mha if lab == "torch MHA" else f_ref)
        table(f"small, training step, batch 32, {nthreads} thread(s)", got, fl, SMALL["B"],
              nthreads)
        inf_res = {lab: [dict(r, sec=r["infer_sec"]) for r in rs if "infer_sec" in r]
                   for lab, rs in got.items()}
        table(f"small, inference, batch 256, {nthreads} thread(s)", inf_res,
              lambda lab: fl(lab, 1, SMALL["B_inf"]), SMALL["B_inf"], nthreads)

    # ---------------------------------------------------------------- base
    if "base" in workloads:
        print("\n== base: T=256, C=256, 8 heads, FFN 1024, 2 post-norm blocks, batch 32")
        steps, warm = (3, 1) if q else (6, 2)
        labs = variants("base")
        pts = []
        for lab in labs:
            spec = dict(VARIANTS[lab], workload="base", threads=nthreads, steps=steps, warmup=warm)
            pts.append((lab, lab, spec, args.compile_timeout if spec.get("compile") else 900))
        got = runner.rounds(pts)
        raw["base"] = got
        table(f"base, training step, batch 32, {nthreads} thread(s)", got,
              lambda lab: 3 * BASE["B"] * base_forward_flops(), BASE["B"], nthreads)

    # ---------------------------------------------------------------- long
    if "long" in workloads:
        print("\n== long: one self-attention layer (4 heads x 64, C=256), B=1, forward+backward")
        Ts = LONG_T_QUICK if q else LONG_T
        labs = ["seqattn"] + (["torch SDPA", "torch MHA"] if has_torch else [])
        pts = []
        for T in Ts:
            steps, warm = (3, 1) if T <= 2048 else (2, 1)
            for lab in labs:
                spec = dict(VARIANTS[lab], workload="long", threads=nthreads, steps=steps,
                            warmup=warm, T=T)
                pts.append((f"{lab} T={T}", lab, spec, 900))
        got = runner.rounds(pts)
        raw["long"] = got
        header = ["T", "framework", "ms/step", "vs seqattn", "GFLOP/s", "% sgemm",
                  "% FMA peak", "peak mem Δ MiB"]
        rows = []
        for T in Ts:
            fl = 3 * long_forward_flops(T)
            s_key = f"seqattn T={T}"
            s_med = (statistics.median(r["sec"] for r in got[s_key]) if got.get(s_key) else None)
            for lab in labs:
                rs = got.get(f"{lab} T={T}", [])
                if not rs:
                    rows.append([str(T), lab, "skipped"] + [""] * (len(header) - 3))
                    continue
                m = statistics.median(r["sec"] for r in rs)
                g = fl / m / 1e9
                rows.append([str(T), lab, med_span([r["sec"] * 1e3 for r in rs], "{:.0f}"),
                             f"{m / s_med:.2f}x" if s_med and lab != "seqattn" else "",
                             f"{g:.1f}", share(g, sgemm, nthreads), share(g, peak, nthreads),
                             f"{max(r['mem_mib'] for r in rs):.0f}"])
        emit_table(f"long, attention forward+backward, B=1, {nthreads} thread(s)", header, rows,
                   args.markdown)

    # ---------------------------------------------------------------- threads
    if "threads" in workloads:
        print("\n== threads: base at 1 and 2 threads")
        steps, warm = (2, 1) if q else (4, 1)
        labs = ["seqattn"] + (["torch MHA", "torch SDPA"] if has_torch else [])
        tset = sorted({1, 2})
        pts = []
        for t in tset:
            for lab in labs:
                spec = dict(VARIANTS[lab], workload="base", threads=t, steps=steps, warmup=warm)
                pts.append((f"{lab} {t}T", lab, spec, 1200))
        got = runner.rounds(pts)
        raw["threads"] = got
        header = ["framework"] + [f"{t}T samples/s" for t in tset] + ["2T/1T", "GFLOP/s 2T",
                                                                      "% sgemm 2T",
                                                                      "% FMA peak 2T"]
        rows = []
        for lab in labs:
            meds = {}
            for t in tset:
                rs = got.get(f"{lab} {t}T", [])
                if rs:
                    meds[t] = statistics.median(r["sec"] for r in rs)
            if not meds:
                rows.append([lab] + ["skipped"] * (len(header) - 1))
                continue
            row = [lab] + [med_span([BASE["B"] / r["sec"] for r in got[f"{lab} {t}T"]])
                           if t in meds else "–" for t in tset]
            row.append(f"{meds[1] / meds[2]:.2f}" if 1 in meds and 2 in meds else "–")
            if 2 in meds:
                g = 3 * BASE["B"] * base_forward_flops() / meds[2] / 1e9
                row += [f"{g:.1f}", share(g, sgemm, 2), share(g, peak, 2)]
            else:
                row += ["–", "–", "–"]
            rows.append(row)
        emit_table("threads: base training step, batch 32", header, rows, args.markdown)

    print("\nFLOPs per sample (forward, matmuls): small %.3f GFLOP (torch MHA variant, head 16: "
          "%.3f), base %.3f GFLOP; training = 3x forward."
          % (small_forward_flops() / 1e9, small_forward_flops(16) / 1e9,
             base_forward_flops() / 1e9))
    if runner.notes:
        print("\nNotes:")
        for n in runner.notes:
            print("  - " + n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
