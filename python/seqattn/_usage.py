"""Who may use one model from several threads at once.

The C++ graph holds its own lock and every layer's for the length of one step, so no two
threads ever run a model's kernels at the same time (a layer caches activations and scratch
between forward and backward). That makes concurrent *inference* safe: `predict`, `evaluate`,
`__call__`, `attention_scores`, `test_on_batch`, `predict_on_batch`, `save`,
`get_weights` from any number of threads give exactly the results of a serial run, their steps
taking turns.

Training changes weights and optimizer state between steps, so a call that trains (`fit`,
`train_on_batch`, `compile`, `set_weights`, `load_weights`) runs alone: it raises
RuntimeError when another thread is using the model, and while it runs, every other thread's
call on the model raises RuntimeError instead of reading half-trained weights. The training
thread itself may call anything (callbacks call `predict` and `save` from inside `fit`).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import Counter
from contextlib import contextmanager


class ModelUsage:
    """The threads using one model now: readers (inference) and at most one trainer."""

    def __init__(self, model):
        self._model = weakref.ref(model)  # no cycle: a dropped model is freed by refcount
        self._lock = threading.Lock()
        self._trainer = None  # (thread id, what) of the call that trains, or None
        self._trainer_depth = 0
        self._readers: Counter = Counter()  # thread id -> nested inference calls
        self._reader_what: dict = {}

    def _name(self):
        model = self._model()
        return "?" if model is None else model.name

    def _busy(self, me):
        """What another thread is doing with the model, or None."""
        if self._trainer is not None and self._trainer[0] != me:
            return f"{self._trainer[1]}() is training it"
        others = [t for t, n in self._readers.items() if n and t != me]
        if others:
            return f"{self._reader_what[others[0]]}() is using it"
        return None

    @contextmanager
    def reading(self, what: str):
        me = threading.get_ident()
        with self._lock:
            if self._trainer is not None and self._trainer[0] != me:
                raise RuntimeError(
                    f"{what}() cannot run on model '{self._name()}' while "
                    f"{self._trainer[1]}() trains it in another thread; wait for it to return "
                    "(a model is trained by one thread at a time, and read only between "
                    "trainings).")
            self._readers[me] += 1
            self._reader_what.setdefault(me, what)
        try:
            yield
        finally:
            with self._lock:
                self._readers[me] -= 1
                if not self._readers[me]:
                    del self._readers[me]
                    self._reader_what.pop(me, None)

    @contextmanager
    def training(self, what: str):
        me = threading.get_ident()
        with self._lock:
            busy = self._busy(me)
            if busy is not None:
                raise RuntimeError(
                    f"{what}() cannot start on model '{self._name()}': {busy} in another "
                    "thread. Training changes the weights, so it runs alone: call it once the "
                    "other call has returned.")
            self._trainer = (me, self._trainer[1] if self._trainer else what)
            self._trainer_depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._trainer_depth -= 1
                if not self._trainer_depth:
                    self._trainer = None


def reads(what):
    """Marks a model method that reads the model (inference): any number of threads at once."""
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            with self._usage.reading(what.strip("_")):
                return method(self, *args, **kwargs)
        return call
    return wrap


def trains(what):
    """Marks a model method that changes weights or training state: one thread, alone."""
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            with self._usage.training(what):
                return method(self, *args, **kwargs)
        return call
    return wrap
