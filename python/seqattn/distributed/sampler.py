"""Which samples each rank trains on: PyTorch's DistributedSampler semantics, over indices.

Every rank draws the same permutation of the N samples from (seed, epoch), so the order is
reshuffled each epoch and is the same on every rank without communication. The permutation
is cut to a multiple of the number of ranks R: padded by repeating its first samples
(drop_last=False, the default, as PyTorch: every sample is seen, a few twice) or truncated
(drop_last=True: the last N mod R samples of the permutation are skipped that epoch). Rank r
then takes positions r, r + R, r + 2R, ... (interleaved, as PyTorch), so every rank holds the
same number of samples, every step has the same batch size on every rank, and step s's batches
on all ranks together are positions [s·R·b, (s+1)·R·b) of the permutation: exactly the batch a
single process with batch size R·b trains on at step s.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V


class DistributedSampler:
    """Indices of the samples `rank` trains on in each epoch.

    Args:
        num_samples: N, the size of the training set (the same on every rank).
        num_replicas: R, the number of ranks. rank: this rank, in [0, R).
        shuffle: reshuffle every epoch (False: the samples in order).
        seed: the global seed (the same on every rank).
        drop_last: truncate to a multiple of R instead of padding (see the module docstring).
    """

    def __init__(self, num_samples, num_replicas, rank, shuffle=True, seed=0, drop_last=False):
        self.num_samples_total = V.positive_int("num_samples", num_samples)
        self.num_replicas = V.positive_int("num_replicas", num_replicas)
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: `rank` must be an int in [0, "
                             f"{self.num_replicas}); received rank={rank!r}")
        self.rank = int(rank)
        self.shuffle = V.boolean("shuffle", shuffle)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"DistributedSampler: `seed` must be an int >= 0; received "
                             f"seed={seed!r}")
        self.seed = int(seed)
        self.drop_last = V.boolean("drop_last", drop_last)
        n, r = self.num_samples_total, self.num_replicas
        if drop_last and n < r:
            raise ValueError(f"DistributedSampler: drop_last=True with {n} samples and {r} "
                             "ranks leaves no sample to train on.")
        self.num_samples = n // r if drop_last else -(-n // r)  # per rank
        self.total_size = self.num_samples * r

    def permutation(self, epoch):
        """The global order of epoch `epoch`, the same on every rank."""
        n = self.num_samples_total
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def indices(self, epoch):
        """(num_samples,) the sample indices this rank trains on in epoch `epoch`, in order."""
        order = self.permutation(epoch)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > len(order):
            pad = self.total_size - len(order)
            order = np.concatenate([order, np.resize(order, pad)])
        return order[self.rank:self.total_size:self.num_replicas]
