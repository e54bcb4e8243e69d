"""Run under mpiexec by tests/test_distributed.py: rank 1 fails at its 3rd training step,
by raising ("raise") or by SIGKILL ("kill"); rank 0 would go on training for a long time.
The job must end non-zero, soon."""

import os
import signal
import sys

import numpy as np

import seqattn
from seqattn import layers
from seqattn.distributed import MPIStrategy

mode = sys.argv[1]
seqattn.set_num_threads(1)
seqattn.utils.set_random_seed(0)
model = seqattn.models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                                   layers.Dense(1)])
model.compile("sgd", "mse")
strategy = MPIStrategy()
strategy.distribute(model)


def fail(batch, logs):
    if strategy.rank == 1 and batch == 2:
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("rank 1 fails on purpose")


x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
model.fit(x, x[:, :1], batch_size=4, epochs=100000, verbose=0,
          callbacks=[seqattn.callbacks.LambdaCallback(on_train_batch_end=fail)])
