"""What the monitoring callbacks share: argument checks with Keras's messages, mode="auto"
from the monitored name, and _MonitorCallback (best value, improvement test)."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from .base import Callback


class BatchFrequency:
    """Keras's `save_freq=<int>`: due() is True once every `freq` batches, counted across
    epochs (fit numbers batches from 0 in each epoch, so a batch number that does not grow
    starts a new epoch)."""

    def __init__(self, freq):
        self.freq = freq
        self.reset()

    def reset(self):
        self._since_last = 0
        self._last_batch = None

    def due(self, batch) -> bool:
        if self._last_batch is None or batch <= self._last_batch:
            added = batch + 1
        else:
            added = batch - self._last_batch
        self._since_last += added
        self._last_batch = batch
        if self._since_last >= self.freq:
            self._since_last = 0
            return True
        return False


# ------------------------------------------------------------------ argument checks
def _non_negative_int(owner, name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"Received an invalid value for `{name}` of {owner}, expected an "
                         f"integer >= 0. Received: {name}={value!r}")
    return int(value)


def _verbose(owner, value) -> int:
    if isinstance(value, bool):
        return int(value)
    return _non_negative_int(owner, "verbose", value)


def _boolean(owner, name, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Expected a boolean for `{name}` of {owner}. Received: "
                        f"{name}={value!r}")
    return bool(value)


def _optional_finite(owner, name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"Received an invalid value for `{name}` of {owner}, expected None or "
                         f"a finite number. Received: {name}={value!r}")
    return float(value)


def _path(owner, name, value) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"`{name}` of {owner} must be a str or os.PathLike path. Received: "
                        f"{name}={value!r}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path:
        raise ValueError(f"`{name}` of {owner} must be a non-empty str path. Received: "
                         f"{name}={value!r}")
    return path


def _has_schedule(optimizer) -> bool:
    """Whether a seqattn optimizer's rate is driven by a LearningRateSchedule."""
    return getattr(optimizer, "_schedule", None) is not None


_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1")


def _auto_mode(monitor: str) -> str:
    """"min" or "max" from a monitored quantity's name (see the module docstring)."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name.endswith("loss"):
        return "min"
    return "max" if any(h in name for h in _MAX_HINTS) else "min"


class _MonitorCallback(Callback):
    """Shared by EarlyStopping, ModelCheckpoint and ReduceLROnPlateau (Keras's
    MonitorCallback): the monitored key, the direction and the improvement test

        mode min: current + min_delta < reference;   mode max: current - min_delta > reference

    (any value improves on a reference of None)."""

    def __init__(self, monitor, mode, min_delta, baseline=None):
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"`monitor` of {owner} must be the name of a logged quantity, e.g. "
                             f"'val_loss' or 'val_accuracy'. Received: monitor={monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner} mode {mode!r} is unknown; expected 'auto', 'min' or "
                             f"'max'. Received: mode={mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) \
                or not math.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"Received an invalid value for `min_delta` of {owner}, expected a "
                             f"finite number >= 0. Received: min_delta={min_delta!r}")
        self.monitor = monitor
        self.mode = mode
        self.min_delta = float(min_delta)
        self.best = baseline
        self._direction = _auto_mode(monitor) if mode == "auto" else mode

    def _is_improvement(self, current, reference) -> bool:
        if reference is None:
            return True
        if self._direction == "min":
            return bool(current + self.min_delta < reference)
        return bool(current - self.min_delta > reference)
