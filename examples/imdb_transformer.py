"""The keras.io "Text classification with Transformer" model on IMDB, in seqattn and PyTorch.

Reads the 25,000 labelled IMDB training reviews (../shared/data/imdb/train.csv from the
repository root; see that folder's README), shuffles them with a fixed seed and holds out the
last 5,000 for validation (20,000 train / 5,000 validation). The HTML `<br />` tags are
replaced by spaces, then `seqattn.text.TextVectorization(max_tokens=20000,
output_sequence_length=200)`, adapted on the training part only, turns each review into 200
ids. Unlike keras.io's `pad_sequences` (which pads and truncates at the FRONT and so keeps the
last 200 words), TextVectorization pads and truncates at the END: it keeps the first 200 words.
No mask is used, as in the original.

The model (657,758 parameters), B = batch, T = 200 steps, C = 32 channels:

    ids (B, T) -> token + position embeddings (B, T, C)
    -> MultiHeadAttention(2 heads, key_dim 32) -> Dropout(0.1) -> LayerNorm(x + attn)
    -> Dense(32, relu) -> Dense(32) -> Dropout(0.1) -> LayerNorm(out1 + ffn)
    -> mean over T (B, C) -> Dropout(0.1) -> Dense(20, relu) -> Dropout(0.1)
    -> Dense(2, softmax)

trained for 2 epochs with Adam(1e-3), batch 32 and sparse categorical cross-entropy. The
PyTorch twin is the same model and training loop, with Keras's initializers and Adam epsilon,
on the same ids; it runs in its own subprocess with OMP_WAIT_POLICY=PASSIVE and the same
thread count (as benchmarks/bench_train.py does). Both print the validation accuracy and the
seconds of every epoch (a training pass plus the validation pass, as Keras's epoch time).

    python examples/imdb_transformer.py [--framework seqattn|torch|both] [--epochs 2]
        [--threads N] [--seed 0] [--subset N] [--data PATH/train.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VOCAB = 20000       # vocabulary size, padding and [UNK] included
MAXLEN = 200        # T
EMBED = 32          # C
HEADS = 2           # H
KEY_DIM = 32        # Dk per head: Q, K and V project C -> H * Dk = 64
FFN = 32
HIDDEN = 20
VALIDATION = 5000
BATCH = 32
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb" / "train.csv"


# ----------------------------------------------------------------------------- data
def load_reviews(path):
    """Texts (list of str, `<br />` tags replaced by spaces) and labels (N,) int32."""
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            texts.append(re.sub(r"<br\s*/?>", " ", row["text"]))
            labels.append(int(row["label"]))
    return texts, np.array(labels, dtype=np.int32)


def split_and_vectorize(texts, labels, seed, subset=None):
    """Seeded split (last VALIDATION of a permutation held out), then ids (N, T) int32.

    The vocabulary is learned from the training part only. Returns a dict of arrays and the
    vectorization time in seconds (adapt + both calls).
    """
    import seqattn

    order = np.random.default_rng(seed).permutation(len(texts))
    train_idx, val_idx = order[:-VALIDATION], order[-VALIDATION:]
    if subset:
        train_idx = train_idx[:subset]
    start = time.perf_counter()
    vectorizer = seqattn.text.TextVectorization(max_tokens=VOCAB, output_sequence_length=MAXLEN)
    vectorizer.adapt([texts[i] for i in train_idx])
    x_train = vectorizer([texts[i] for i in train_idx])    # (N, T) int32, 0 = padding
    x_val = vectorizer([texts[i] for i in val_idx])
    seconds = time.perf_counter() - start
    data = {"x_train": x_train, "y_train": labels[train_idx],
            "x_val": x_val, "y_val": labels[val_idx]}
    return data, seconds


def print_epoch(epoch, epochs, r):
    """One Keras-style line per epoch (the same for both frameworks)."""
    print(f"Epoch {epoch + 1}/{epochs} - {r['seconds']:.1f}s - loss: {r['loss']:.4f} - "
          f"accuracy: {r['accuracy']:.4f} - val_loss: {r['val_loss']:.4f} - "
          f"val_accuracy: {r['val_accuracy']:.4f}", flush=True)


# ----------------------------------------------------------------------------- seqattn
def build_seqattn_model():
    """The keras.io model with seqattn's functional API."""
    import seqattn
    from seqattn import layers

    inputs = seqattn.Input((MAXLEN,), "int32")
    x = layers.TokenAndPositionEmbedding(VOCAB, MAXLEN, EMBED)(inputs)         # (B, T, C)
    attn = layers.MultiHeadAttention(num_heads=HEADS, key_dim=KEY_DIM)(x, x)   # (B, T, C)
    attn = layers.Dropout(0.1)(attn)
    out1 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attn]))
    ffn = layers.Dense(FFN, activation="relu")(out1)
    ffn = layers.Dense(EMBED)(ffn)
    ffn = layers.Dropout(0.1)(ffn)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([out1, ffn]))    # (B, T, C)
    x = layers.GlobalAveragePooling1D()(x)                                     # (B, C)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(HIDDEN, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)                        # (B, 2)
    return seqattn.Model(inputs, outputs, name="imdb_transformer")


def train_seqattn(data, epochs, seed):
    """Trains with fit, one epoch per call; returns one dict per epoch."""
    import seqattn

    seqattn.utils.set_random_seed(seed)
    model = build_seqattn_model()
    model.summary()
    model.compile(optimizer=seqattn.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    results = []
    for epoch in range(epochs):
        start = time.perf_counter()
        history = model.fit(data["x_train"], data["y_train"], batch_size=BATCH,
                            epochs=epoch + 1, initial_epoch=epoch, verbose=0,
                            validation_data=(data["x_val"], data["y_val"]))
        logs = {k: float(v[-1]) for k, v in history.history.items()}
        results.append(dict(logs, seconds=time.perf_counter() - start))
        print_epoch(epoch, epochs, results[-1])
    return results


# ----------------------------------------------------------------------------- torch
def build_torch_model():
    """The same model in PyTorch, with Keras's initializers; forward returns logits (B, 2)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    class KerasAttention(nn.Module):
        """Keras MultiHeadAttention(num_heads=H, key_dim=Dk) self-attention.

        nn.MultiheadAttention ties the head size to C / H; Keras projects C -> H * Dk.
        softmax(Q Kᵀ / sqrt(Dk)) V per head, then H * Dk -> C.
        """

        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (nn.Linear(EMBED, HEADS * KEY_DIM) for _ in range(3))
            self.out = nn.Linear(HEADS * KEY_DIM, EMBED)

        def keras_init(self):
            """Glorot-uniform with Keras's fans for the 3-D kernels: (C, H, Dk) gives
            fan_in = C·H, fan_out = C·Dk; (H, Dk, C) gives H·Dk and H·C. Biases zero."""
            for proj in (self.q, self.k, self.v):
                limit = math.sqrt(6.0 / (EMBED * HEADS + EMBED * KEY_DIM))
                nn.init.uniform_(proj.weight, -limit, limit)
            limit = math.sqrt(6.0 / (HEADS * KEY_DIM + HEADS * EMBED))
            nn.init.uniform_(self.out.weight, -limit, limit)

        def forward(self, x):                                   # x (B, T, C)
            b, t, _ = x.shape
            q, k, v = (proj(x).view(b, t, HEADS, KEY_DIM).transpose(1, 2)
                       for proj in (self.q, self.k, self.v))    # (B, H, T, Dk)
            h = F.scaled_dot_product_attention(q, k, v)         # (B, H, T, Dk)
            return self.out(h.transpose(1, 2).reshape(b, t, HEADS * KEY_DIM))   # (B, T, C)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, EMBED)
            self.pos = nn.Embedding(MAXLEN, EMBED)
            self.attn = KerasAttention()
            self.norm1 = nn.LayerNorm(EMBED, eps=1e-6)
            self.ffn = nn.Sequential(nn.Linear(EMBED, FFN), nn.ReLU(), nn.Linear(FFN, EMBED))
            self.norm2 = nn.LayerNorm(EMBED, eps=1e-6)
            self.head = nn.Sequential(nn.Dropout(0.1), nn.Linear(EMBED, HIDDEN), nn.ReLU(),
                                      nn.Dropout(0.1), nn.Linear(HIDDEN, 2))
            self.drop1, self.drop2 = nn.Dropout(0.1), nn.Dropout(0.1)
            self.register_buffer("positions", torch.arange(MAXLEN), persistent=False)
            for m in self.modules():    # Keras defaults: glorot-uniform kernels, zero biases
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Embedding):
                    nn.init.uniform_(m.weight, -0.05, 0.05)
            self.attn.keras_init()

        def forward(self, ids):                                      # ids (B, T)
            x = self.tok(ids) + self.pos(self.positions)             # (B, T, C)
            out1 = self.norm1(x + self.drop1(self.attn(x)))
            x = self.norm2(out1 + self.drop2(self.ffn(out1)))        # (B, T, C)
            return self.head(x.mean(dim=1))                          # (B, 2)

    return Classifier()


def train_torch(data, epochs, seed, threads):
    """A standard eager PyTorch loop; returns one dict per epoch (Keras's figures)."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = build_torch_model()
    print(f"PyTorch {torch.__version__} | {torch.get_num_threads()} threads | "
          f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.from_numpy(data["x_train"]).long(), torch.from_numpy(data["y_train"]).long()
    xv, yv = torch.from_numpy(data["x_val"]).long(), torch.from_numpy(data["y_val"]).long()
    rng = np.random.default_rng(seed)

    def run(xs, ys, train, order):
        """One pass in batches of BATCH; returns (mean loss, accuracy) over the samples."""
        model.train(train)
        loss_sum, correct = 0.0, 0
        with torch.set_grad_enabled(train):
            for i in range(0, len(order), BATCH):
                idx = torch.from_numpy(order[i:i + BATCH])
                logits = model(xs[idx])                              # (B, 2)
                loss = loss_fn(logits, ys[idx])
                if train:
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                loss_sum += loss.item() * len(idx)
                correct += (logits.argmax(1) == ys[idx]).sum().item()
        return loss_sum / len(order), correct / len(order)

    results = []
    for epoch in range(epochs):
        start = time.perf_counter()
        loss, acc = run(x, y, True, rng.permutation(len(y)))
        val_loss, val_acc = run(xv, yv, False, np.arange(len(yv)))
        results.append({"loss": loss, "accuracy": acc, "val_loss": val_loss,
                        "val_accuracy": val_acc, "seconds": time.perf_counter() - start})
        print_epoch(epoch, epochs, results[-1])
    return results


def run_torch_subprocess(data, args):
    """Runs train_torch in a fresh process (its own OpenMP settings); returns its results."""
    with tempfile.TemporaryDirectory() as tmp:
        arrays, report = os.path.join(tmp, "ids.npz"), os.path.join(tmp, "torch.json")
        np.savez(arrays, **data)
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS=str(args.threads),
                   MKL_NUM_THREADS=str(args.threads))
        subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-child", arrays,
                        report, "--epochs", str(args.epochs), "--threads", str(args.threads),
                        "--seed", str(args.seed)], env=env, check=True)
        with open(report) as f:
            return json.load(f)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=("seqattn", "torch", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=2, help="epochs (default 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both frameworks (default: seqattn's default)")
    parser.add_argument("--seed", type=int, default=0, help="split, init, shuffle, dropout")
    parser.add_argument("--subset", type=int, default=None,
                        help="train on only the first N training reviews (a smoke run)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="path of IMDB train.csv")
    parser.add_argument("--torch-child", nargs=2, metavar=("ARRAYS", "REPORT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.torch_child:
        arrays, report = args.torch_child
        with np.load(arrays) as f:
            data = {k: f[k] for k in f.files}
        with open(report, "w") as f:
            json.dump(train_torch(data, args.epochs, args.seed, args.threads), f)
        return None

    import seqattn
    if args.threads:
        seqattn.set_num_threads(args.threads)
    args.threads = seqattn.get_num_threads()
    if not Path(args.data).is_file():
        sys.exit(f"IMDB training reviews not found at {args.data}: the repository expects "
                 "../shared/data/imdb/train.csv beside it; pass --data PATH/train.csv")
    texts, labels = load_reviews(args.data)
    data, vectorize_seconds = split_and_vectorize(texts, labels, args.seed, args.subset)
    print(f"seqattn {seqattn.__version__} | {args.threads} threads | "
          f"{len(data['y_train'])} training reviews, {len(data['y_val'])} validation | "
          f"vectorized in {vectorize_seconds:.1f} s (first {MAXLEN} tokens kept)\n", flush=True)

    results = {}
    if args.framework in ("seqattn", "both"):
        print("== seqattn")
        results["seqattn"] = train_seqattn(data, args.epochs, args.seed)
        print()
    if args.framework in ("torch", "both"):
        print("== PyTorch (subprocess, OMP_WAIT_POLICY=PASSIVE)", flush=True)
        results["torch"] = run_torch_subprocess(data, args)
        print()

    print(f"vectorization: {vectorize_seconds:.1f} s")
    print(f"{'framework':<10} {'epoch':>5} {'accuracy':>9} {'val_accuracy':>13} {'seconds':>8}")
    for name, epochs in results.items():
        for i, r in enumerate(epochs, 1):
            print(f"{name:<10} {i:>5} {r['accuracy']:>9.4f} {r['val_accuracy']:>13.4f} "
                  f"{r['seconds']:>8.1f}")
    return results


if __name__ == "__main__":
    main()
