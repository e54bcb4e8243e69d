"""Global metrics from per-rank metric objects: the state each metric accumulates (the
attributes its reset_state sets: sums of weighted hits, confusion counts, AUC histograms) is
additive across disjoint shards of data, as Keras's metric variables are under a
distribution strategy, so summing every rank's state gives the state one process would hold
after seeing every rank's batches."""

from __future__ import annotations

import copy

import numpy as np

_NAMES = {}  # metric class -> the attribute names its reset_state assigns


def state_names(metric):
    """The attributes `metric.reset_state()` assigns (found once per class, by running it on a
    copy whose class records assignments; the metric itself is untouched)."""
    cls = type(metric)
    if cls not in _NAMES:
        names = []

        class _Recorder(cls):
            def __setattr__(self, key, value):
                if key not in names:
                    names.append(key)
                object.__setattr__(self, key, value)

        probe = copy.copy(metric)
        probe.__class__ = _Recorder
        probe.reset_state()
        _NAMES[cls] = tuple(names)
    return _NAMES[cls]


def state_of(metric):
    return {k: getattr(metric, k) for k in state_names(metric)}


def _additive(v):
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "fiu"
    return isinstance(v, (float, np.floating))


def merged(metric, states):
    """A copy of `metric` holding the sum of `states` (one per rank, rank order: a fixed
    summation order, so every rank computes the same figure). Values that are not additive
    (a class count fixed by the first batch, None before any batch) must agree; the first
    one set is kept."""
    out = copy.deepcopy(metric)
    for key in state_names(metric):
        values = [s[key] for s in states if s[key] is not None]
        if not values:
            setattr(out, key, None)
        elif all(_additive(v) for v in values):
            total = copy.deepcopy(values[0])
            for v in values[1:]:
                total = total + v
            setattr(out, key, total)
        else:
            setattr(out, key, values[0])
    return out
