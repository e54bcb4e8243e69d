"""Run under mpiexec by tests/test_distributed.py: rank 1 alone sets stop_training at batch
3 of epoch 0; every rank must stop after that same batch. Rank 0 prints the steps and
epochs every rank ran."""

import numpy as np

import seqattn
from seqattn import layers
from seqattn.distributed import MPIStrategy

seqattn.set_num_threads(1)
seqattn.utils.set_random_seed(0)
model = seqattn.models.Sequential([layers.Input((4,)), layers.Dense(1)])
model.compile("sgd", "mse")
strategy = MPIStrategy()
strategy.distribute(model)


def maybe_stop(batch, logs):
    if strategy.rank == 1 and batch == 3:
        model.stop_training = True


x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
history = model.fit(x, x[:, :1], batch_size=4, epochs=5, verbose=0,
                    callbacks=[seqattn.callbacks.LambdaCallback(on_train_batch_end=maybe_stop)])
every = strategy.comm.gather((strategy.steps, len(history.history["loss"])), root=0)
if strategy.is_chief:
    print("RESULT", every)
