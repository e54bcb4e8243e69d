"""Prints a SHA-256 of the weights after a fixed fit, for 1 and 2 threads.

A refactor that must not change behaviour (issue 14) runs this on the commit before and the
commit after: equal hashes mean bit-identical arithmetic for that seed and thread count. The
model touches every fused path: Add + LayerNormalization (the residual fusion), Dense(softmax)
+ sparse cross-entropy (the logits output), dropout, masks, TransformerEncoder, both kernels
of MultiHeadAttention (S <= 256 and S > 256 key blocks), Adam with a schedule and clipnorm.

    python scripts/weights_hash.py
"""

from __future__ import annotations

import hashlib

import numpy as np

import seqattn
from seqattn import layers


def fitted_hash(threads: int) -> str:
    seqattn.set_num_threads(threads)
    seqattn.utils.set_random_seed(1234)
    rng = np.random.default_rng(0)
    T = 300  # more than one 256-key block in the tiled forward
    x = seqattn.Input(shape=(T,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(500, T, 32, mask_zero=True)(x)
    a = layers.MultiHeadAttention(2, 16, dropout=0.1)(h, h)
    h = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([h, layers.Dropout(0.1)(a)]))
    h = layers.TransformerEncoder(64, 2, dropout=0.1)(h)
    p = layers.GlobalAveragePooling1D()(h)
    y = layers.Dense(3, activation="softmax")(layers.Dense(16, activation="relu")(p))
    model = seqattn.Model(x, y)
    schedule = seqattn.schedules.ExponentialDecay(2e-3, 10, 0.9)
    model.compile(optimizer=seqattn.optimizers.Adam(schedule, clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ids = rng.integers(1, 500, (96, T))
    ids[:, 250:] *= rng.random((96, T - 250)) < 0.5  # padding: masks in play
    labels = rng.integers(0, 3, 96)
    model.fit(ids, labels, batch_size=16, epochs=2, verbose=0)
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    digest.update(np.ascontiguousarray(model.predict(ids[:8], verbose=0)).tobytes())
    return digest.hexdigest()


if __name__ == "__main__":
    for n in (1, 2):
        print(f"threads={n}: {fitted_hash(n)}")
