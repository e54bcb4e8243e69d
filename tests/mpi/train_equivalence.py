"""Run under mpiexec by tests/test_distributed.py: trains a small attention model
data-parallel and writes the final weights (rank 0) to argv[1] as .npz.

argv: OUT BATCH_PER_RANK EPOCHS [extra]   extra: "clip" (clipnorm + L2 regularizer),
"metrics" (accuracy and AUC, logs written too), "drop" (drop_last), "save:PATH" (rank 0
saves the model after training), "resume:PATH" (every rank loads PATH and trains on from
the epoch it holds)."""

import json
import sys

import numpy as np

import seqattn
from seqattn import layers
from seqattn.distributed import MPIStrategy

out, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
extra = sys.argv[4] if len(sys.argv) > 4 else ""
seqattn.set_num_threads(1)
seqattn.utils.set_random_seed(7)  # the same initial weights on every rank ...
rng = np.random.default_rng(3)
x = rng.integers(1, 40, (52, 10)).astype(np.int32)  # 52: not a multiple of 2 or 3 ranks
x[:, 7:] *= rng.integers(0, 2, (52, 3))               # some padding
y = (x[:, 0] > 20).astype(np.float32)
reg = seqattn.regularizers.L2(1e-3) if extra == "clip" else None
inp = seqattn.Input((10,), dtype="int32")
h = layers.TokenAndPositionEmbedding(40, 10, 16, mask_zero=True)(inp)
h = layers.TransformerEncoder(16, 2)(h)
h = layers.GlobalAveragePooling1D()(h)
o = layers.Dense(1, activation="sigmoid", kernel_regularizer=reg)(h)
model = seqattn.Model(inp, o)
opt = seqattn.optimizers.Adam(1e-2, clipnorm=0.05) if extra == "clip" else \
    seqattn.optimizers.Adam(1e-2)
model.compile(opt, "binary_crossentropy",
              metrics=["accuracy", seqattn.metrics.AUC()] if extra == "metrics" else None)
initial_epoch = 0
if extra.startswith("resume:"):
    model = seqattn.load_model(extra[len("resume:"):])
    initial_epoch = model._epoch
strategy = MPIStrategy(seed=11, drop_last=(extra == "drop"))
if strategy.rank == 1:  # ... except that rank 1 starts elsewhere: distribute must fix it
    model.set_weights([w + 1.0 for w in model.get_weights()])
strategy.distribute(model)
history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0,
                    initial_epoch=initial_epoch)
if extra.startswith("save:") and strategy.is_chief:
    model.save(extra[len("save:"):])
weights = model.get_weights()
mine = np.concatenate([w.ravel() for w in weights])
every = strategy.comm.gather(mine, root=0)
if strategy.is_chief:
    np.savez(out, *weights)
    spread = max(float(np.max(np.abs(e - mine))) for e in every)
    with open(out + ".json", "w") as f:
        json.dump({"history": history.history, "spread": spread,
                   "timers": strategy.timers()}, f)
