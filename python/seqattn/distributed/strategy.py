"""MPIStrategy: data-parallel training of one model over MPI ranks (mpi4py), PyTorch DDP's
design in the shape of Keras's MultiWorkerMirroredStrategy.

    strategy = seqattn.distributed.MPIStrategy()
    model = build(); model.compile(...)
    strategy.distribute(model)          # rank 0's weights and optimizer state everywhere
    model.fit(x, y, batch_size=32)      # 32 per rank; the global batch is 32·R

A step on every rank: forward and backward in C++ on this rank's batch of B_r samples, the
gradients packed times B_r into one flat float32 buffer (C++, GIL released), an in-place
MPI Allreduce(SUM) per bucket of that buffer (fixed bucket order, identical on every rank),
then in C++ the buffer times 1/ΣB_r back into the gradients and the optimizer update. So
every rank applies Σ_r B_r·g_r / ΣB_r: the gradient of the mean loss over the global batch
for losses that are means over samples (with or without sample weights; regularization
penalties, added on every rank, come out once), and gradient clipping in the optimizer sees
the reduced gradient. Per-token losses with padding masks are means over unmasked tokens:
ranks are weighted by samples, not tokens, so there the step equals the one-process step only
when every rank has as many unmasked tokens per sample (documented in the README).

Not bit-exact against one process with batch R·b: the reduction sums R partial gradients
(each a sum over b samples) where one process sums R·b samples in its own order, so float32
round-off differs (relative 1e-6 per step; tests/test_distributed.py states the tolerance).
Across ranks the weights stay bit-identical: with R = 2 the sum of two values is the same in
either order, and for R > 2 MPICH and Open MPI hand every rank the same reduced bits (the MPI
standard recommends it; tests/test_distributed.py checks identical weights on 2 and 3 ranks).
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import time
import traceback

import numpy as np

from .. import _validation as V
from ..callbacks import Callback
from . import metric_state
from .sampler import DistributedSampler

INSTALL_HINT = ("seqattn.distributed needs mpi4py and an MPI library: "
                "pip install 'seqattn[mpi]' (mpi4py and the mpich wheel), or "
                "apt-get install openmpi-bin libopenmpi-dev, then pip install mpi4py.")


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:  # mpi4py missing, or its MPI library missing
        raise ImportError(f"{INSTALL_HINT} ({e})") from None
    return MPI


class MPIStrategy:
    """Data-parallel training over the ranks of an MPI communicator.

    Args:
        comm: an mpi4py communicator (default MPI.COMM_WORLD).
        seed: the global shuffling seed of the DistributedSampler (the same on every rank).
        drop_last: truncate each epoch to a multiple of the number of ranks instead of
            padding it with repeated samples (see DistributedSampler).
        bucket_size_mb: gradient buffer bytes per Allreduce (PyTorch DDP's default, 25 MB).
        abort_on_error: when fit raises on one rank (an exception, Ctrl-C), MPI_Abort the
            whole job so the other ranks do not wait forever in an Allreduce.
    """

    def __init__(self, comm=None, *, seed=0, drop_last=False, bucket_size_mb=25.0,
                 abort_on_error=True):
        MPI = _mpi()
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.num_replicas_in_sync = self.comm.Get_size()  # Keras's name for R
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"MPIStrategy: `seed` must be an int >= 0; received seed={seed!r}")
        self.seed = int(seed)
        self.drop_last = V.boolean("drop_last", drop_last)
        self.bucket_size_mb = V.number("bucket_size_mb", bucket_size_mb, low=0, low_open=True)
        self.abort_on_error = V.boolean("abort_on_error", abort_on_error)
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_size = local.Get_size()  # ranks on this machine
        local.Free()
        self.reset_timers()

    @property
    def is_chief(self):
        """Rank 0: the rank that prints, saves checkpoints and writes logs."""
        return self.rank == 0

    def default_threads(self):
        """Cores of this machine divided among its ranks (at least 1): no oversubscription."""
        return max(1, (os.cpu_count() or 1) // self.local_size)

    def reset_timers(self):
        """Zeroes the counters `timers()` reports."""
        self.allreduce_seconds = 0.0
        self.step_seconds = 0.0
        self.steps = 0

    def timers(self):
        """{steps, step_seconds, allreduce_seconds, allreduce_share, gradient_bytes}: this
        rank's training steps since reset_timers() and the part of them spent in MPI."""
        return {"steps": self.steps, "step_seconds": self.step_seconds,
                "allreduce_seconds": self.allreduce_seconds,
                "allreduce_share": self.allreduce_seconds / self.step_seconds
                if self.step_seconds else 0.0,
                "gradient_bytes": getattr(self, "_gradient_bytes", 0)}

    # ------------------------------------------------------------------ setup
    def distribute(self, model):
        """Makes `model` (built and compiled the same way on every rank) train data-parallel
        in fit and train_on_batch: broadcasts rank 0's weights, optimizer state and counters,
        dropout seeds and learning rate. Returns the model."""
        from ..models import Model
        if not isinstance(model, Model):
            raise TypeError(f"MPIStrategy.distribute: expected a seqattn Model; received "
                            f"{type(model).__name__}")
        model._require_compiled("distribute")
        graph = model._core_graph()
        graph.init_optimizer_slots()
        weights = model.get_weights()
        slots = model._optimizer.core.get_slots()
        mine = ([w.shape for w in weights], [s.shape for s in slots])
        chief = self.comm.bcast(mine, root=0)
        same = self.comm.allreduce(int(chief == mine), op=self._MPI.MIN)
        if not same:
            raise ValueError(f"MPIStrategy.distribute: model '{model.name}' differs between "
                             f"ranks (weight shapes on rank {self.rank}: {mine[0]}; on rank "
                             f"0: {chief[0]}); build and compile the same model on every rank.")
        for arrays in (weights, slots):
            for a in arrays:
                self.comm.Bcast(a, root=0)
        model.set_weights(weights)
        model._optimizer.core.set_slots(slots)
        opt = model._optimizer
        counters = self.comm.bcast(
            {"iterations": int(opt.core.iterations), "step": int(graph.step),
             "epoch": model._epoch, "learning_rate": opt.learning_rate,
             "seeds": {n.layer.name: int(n.layer._core.seed) for n in model._nodes
                       if n.layer._core is not None and hasattr(n.layer._core, "seed")}},
            root=0)
        opt.core.iterations = counters["iterations"]
        graph.step = counters["step"]
        model._epoch = counters["epoch"]
        if opt._schedule is None:  # a schedule gives its rate from the broadcast iterations
            opt.learning_rate = counters["learning_rate"]
        for n in model._nodes:
            if n.layer.name in counters["seeds"]:
                n.layer._core.seed = counters["seeds"][n.layer.name]
        # Per-rank dropout streams: step·R + rank (graph.cpp), reproducible for a given R.
        graph.replica = self.rank
        graph.replicas = self.num_replicas_in_sync
        self._gradient_bytes = graph.gradient_buffer().nbytes
        model._distribution = self
        return model

    def sampler(self, num_samples, shuffle=True):
        """The DistributedSampler fit uses for `num_samples` training samples."""
        return DistributedSampler(num_samples, self.num_replicas_in_sync, self.rank,
                                  shuffle=shuffle, seed=self.seed, drop_last=self.drop_last)

    # --------------------------------------------------------------- training
    def train_batch(self, model, xb, yb, wb, tracker):
        """One data-parallel step on this rank's batch (every rank calls it together)."""
        MPI = self._MPI
        t0 = time.perf_counter()
        graph = model._graph
        model._optimizer._update_learning_rate()
        n = len(xb[0])
        loss, losses, outputs, masks = graph.gradient_step(xb, yb, wb, tracker.needs_outputs,
                                                           float(n))
        t1 = time.perf_counter()
        total = np.array([n], np.float64)
        self.comm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
        buf = graph.gradient_buffer()  # afresh: a recompile may have moved it
        step = max(1, int(self.bucket_size_mb * 1e6) // buf.itemsize)
        for lo in range(0, buf.size, step):
            self.comm.Allreduce(MPI.IN_PLACE, buf[lo:lo + step], op=MPI.SUM)
        t2 = time.perf_counter()
        graph.apply_gradients(1.0 / float(total[0]))
        tracker.update(n, loss, losses, yb, outputs, masks)
        self.allreduce_seconds += t2 - t1
        self.step_seconds += time.perf_counter() - t0
        self.steps += 1

    def global_logs(self, tracker):
        """The tracker's logs over every rank's samples: loss sums and counts summed, metric
        states summed (metric_state)."""
        MPI = self._MPI
        sums = np.concatenate([[tracker.total, tracker.seen],
                               np.asarray(tracker.per_output, np.float64)])
        self.comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
        view = copy.copy(tracker)
        view.total, view.seen, view.per_output = sums[0], int(sums[1]), sums[2:]
        if any(tracker.metrics):
            mine = [[metric_state.state_of(m) for m in ms] for ms in tracker.metrics]
            every = self.comm.allgather(mine)
            view.metrics = [[metric_state.merged(m, [r[i][j] for r in every])
                             for j, m in enumerate(ms)] for i, ms in enumerate(tracker.metrics)]
        return view.logs()

    def any(self, flag):
        """True on every rank when `flag` is true on any (stop_training agreement)."""
        return bool(self.comm.allreduce(int(bool(flag)), op=self._MPI.MAX))

    def rank_callbacks(self, callbacks):
        """This rank's callbacks: all of them on rank 0; elsewhere without the ones that
        write files or print (ModelCheckpoint, CSVLogger, TensorBoard, ProgbarLogger), with
        BackupAndRestore only restoring. Decisions (EarlyStopping, ReduceLROnPlateau) stay on
        every rank: they read the global logs, so they decide the same everywhere."""
        from .. import callbacks as cb
        if self.is_chief or callbacks is None:
            return callbacks
        writers = tuple(getattr(cb, name) for name in
                        ("ModelCheckpoint", "CSVLogger", "TensorBoard", "ProgbarLogger")
                        if hasattr(cb, name))
        out = []
        for c in callbacks:
            if isinstance(c, writers):
                continue
            if isinstance(c, cb.BackupAndRestore):
                c = _RestoreOnly(c)
            out.append(c)
        return out

    @contextlib.contextmanager
    def guard(self):
        """Around fit: an error on this rank ends the whole job (MPI_Abort, exit code 1),
        instead of leaving the other ranks blocked in the next Allreduce."""
        try:
            yield
        except BaseException:
            if not self.abort_on_error or self.num_replicas_in_sync == 1:
                raise
            sys.stderr.write(f"seqattn.distributed: rank {self.rank} of "
                             f"{self.num_replicas_in_sync} failed; aborting the job.\n")
            traceback.print_exc()
            sys.stderr.flush()
            self.comm.Abort(1)


class _RestoreOnly(Callback):
    """A BackupAndRestore on ranks other than 0: restores at train begin (every rank must),
    never writes or deletes the backup (rank 0 does)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs=None):
        self.inner.on_train_begin(logs)
