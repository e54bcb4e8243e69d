"""Learning-rate callbacks: ReduceLROnPlateau and LearningRateScheduler."""

from __future__ import annotations

import inspect
import math
import numbers
import warnings

import numpy as np

from .base import Callback
from .monitor import _MonitorCallback, _has_schedule, _non_negative_int, _verbose


# -------------------------------------------------------------- ReduceLROnPlateau
_NOT_SETTABLE = ("{owner} sets `optimizer.learning_rate`, but this optimizer was created with "
                 "a `LearningRateSchedule` object as its `learning_rate` constructor argument, "
                 "hence its learning rate is not settable. If you need the learning rate to be "
                 "settable, you should instantiate the optimizer with a float `learning_rate` "
                 "argument.")


class ReduceLROnPlateau(_MonitorCallback):
    """Multiplies the learning rate by `factor` when the monitor stops improving (Keras 3).

    At each epoch end it first adds `logs["learning_rate"]` (the current rate, as Keras 3),
    then: in cooldown, the cooldown counter drops by one and wait = 0; an improvement (by
    more than `min_delta`) sets best and wait = 0; otherwise, outside cooldown, wait += 1,
    and once wait >= patience the rate becomes max(lr * factor, min_lr) (only if lr > min_lr),
    the cooldown starts and wait = 0.

    Args:
        monitor: default "val_loss". factor: in (0, 1). patience: epochs without
        improvement before a reduction. verbose: 1 prints "Epoch N: ReduceLROnPlateau
        reducing learning rate to X.". mode: "auto", "min", "max". min_delta: default 1e-4.
        cooldown: epochs after a reduction during which no reduction happens.
        min_lr: lower bound of the rate (>= 0).

    The rate is `model.optimizer.learning_rate` (a float property). An optimizer driven by
    a LearningRateSchedule cannot be set; Keras raises TypeError at the first reduction,
    seqattn raises it when training starts.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__(monitor, mode, min_delta)
        owner = "ReduceLROnPlateau"
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or factor != factor:
            raise TypeError(f"Expected a number for `factor` of {owner}. Received: "
                            f"factor={factor!r}")
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        if factor <= 0.0:
            raise ValueError(f"ReduceLROnPlateau needs a factor > 0 (new_lr = lr * factor). "
                             f"Received factor={factor}")
        self.factor = float(factor)
        if isinstance(min_lr, bool) or not isinstance(min_lr, numbers.Real) \
                or not math.isfinite(min_lr) or min_lr < 0:
            raise ValueError(f"Received an invalid value for `min_lr` of {owner}, expected a "
                             f"finite number >= 0. Received: min_lr={min_lr!r}")
        self.min_lr = float(min_lr)
        self.patience = _non_negative_int(owner, "patience", patience)
        self.verbose = _verbose(owner, verbose)
        self.cooldown = _non_negative_int(owner, "cooldown", cooldown)
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        if _has_schedule(self.model.optimizer):
            raise TypeError(_NOT_SETTABLE.format(owner="ReduceLROnPlateau"))
        self._reset()

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: "
                          f"{','.join(list(logs.keys()))}.", stacklevel=2)
            return
        current = float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.", flush=True)
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# ---------------------------------------------------------- LearningRateScheduler
def _accepts(fn, n_args) -> bool:
    try:
        inspect.signature(fn).bind(*range(n_args))
    except TypeError:
        return False
    except ValueError:  # no signature available (some builtins): assume it fits
        return True
    return True


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch: `lr = schedule(epoch, lr)`
    (Keras 3), epoch 0-based, lr the current rate (a float). A one-argument
    `schedule(epoch)` also works (Keras's older form; chosen by signature here, where Keras
    retries after any TypeError). It also adds `logs["learning_rate"]` at each epoch end.

    Args:
        schedule: a function (epoch, lr) -> new learning rate, a finite number > 0.
        verbose: 1 prints "Epoch N: LearningRateScheduler setting learning rate to X.".

    Keras accepts only a float return value; seqattn accepts any real number (ints too) and
    also rejects NaN, inf and values <= 0, with a ValueError naming the epoch.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError("`schedule` must be a function (epoch, lr) -> new learning rate. "
                            f"Received: schedule={schedule!r}")
        if _accepts(schedule, 2):
            self._n_args = 2
        elif _accepts(schedule, 1):
            self._n_args = 1
        else:
            raise TypeError("`schedule` must accept (epoch, lr) (or just epoch) and return the "
                            f"new learning rate. Received: schedule={schedule!r}")
        self.schedule = schedule
        self.verbose = _verbose("LearningRateScheduler", verbose)

    def on_train_begin(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if _has_schedule(optimizer):
            raise TypeError(_NOT_SETTABLE.format(owner="LearningRateScheduler"))

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if self._n_args == 2:
            value = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            value = self.schedule(epoch)
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError("The output of the `schedule` function should be a float, the new "
                             f"learning rate: a finite number > 0. Got: {value!r} at epoch "
                             f"{epoch}")
        optimizer.learning_rate = float(value)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{value}.", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
