"""Run under mpiexec by tests/test_distributed.py: rank 1 builds a wider model than rank 0;
distribute must raise on every rank (no rank left waiting in a broadcast)."""

import seqattn
from seqattn import layers
from seqattn.distributed import MPIStrategy

strategy = MPIStrategy()
model = seqattn.models.Sequential([layers.Input((4,)), layers.Dense(1 + strategy.rank)])
model.compile("sgd", "mse")
try:
    strategy.distribute(model)
except ValueError as e:
    print(f"rank {strategy.rank}: {e}", flush=True)
