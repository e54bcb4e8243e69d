"""Training callbacks with the Keras hooks. `History` is what `fit` returns.

`fit` calls, in this order (Keras 3):
    on_train_begin(logs)
    per epoch: on_epoch_begin(epoch)
        per batch: on_train_batch_begin(batch), on_train_batch_end(batch, logs)
        (validation: on_test_begin, on_test_batch_begin/end per batch, on_test_end(logs))
        on_epoch_end(epoch, logs)            logs: loss, metrics, then val_*
    on_train_end(logs)
`evaluate` calls the on_test_* hooks and `predict` the on_predict_* hooks. Batch logs hold
the running means of the epoch so far. A callback stops training by setting
`self.model.stop_training = True`; `fit` checks it after every batch and at each epoch end
(as Keras 3): the epoch still ends with on_epoch_end, then on_train_end runs.

Built-in callbacks (Keras 3 names, defaults, argument order and messages): EarlyStopping,
ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN, CSVLogger.
Where they differ from Keras, the class docstring says so and why. The common ones:
- `mode="auto"` decides by the monitor's name (Keras 3 asks the metric object and raises
  when it cannot tell): names ending in "loss" are minimised; names containing "acc", "auc",
  "precision", "recall" or "f1" are maximised; anything else is minimised (pass mode="max"
  for other quantities that should grow).
- Invalid arguments raise (Keras warns and falls back for an unknown `mode`, and takes
  `abs(min_delta)`); messages name the argument and the value received.
"""

from __future__ import annotations

import csv
import inspect
import math
import numbers
import os
import warnings

import numpy as np


class Callback:
    """Base class: override the hooks you need. `self.model` and `self.params`
    ({"verbose", "epochs", "steps"}) are set before training starts."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params)

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_batch_begin(self, batch, logs=None): pass  # Keras's older names for train batches
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
          "on_predict_batch_begin", "on_predict_batch_end")


class CallbackList:
    """Calls each hook on every callback, in order. `fit`, `evaluate` and `predict` use it."""

    def __init__(self, callbacks=None, model=None, **params):
        if callbacks is None:
            callbacks = []
        if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
            raise TypeError("`callbacks` must be a list of seqattn.callbacks.Callback objects; "
                            f"received {callbacks!r}")
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError("Every entry of `callbacks` must be a seqattn.callbacks.Callback "
                                f"(subclass it and override the hooks); received {cb!r}")
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def __getattr__(self, hook):
        if hook not in _HOOKS:
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
        return call


class History(Callback):
    """Per-epoch logs: `history.history["loss"]`, `["accuracy"]`, `["val_loss"]`, ...
    `history.epoch` lists the epoch indices (0-based) that ran."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


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


# ------------------------------------------------------------------ EarlyStopping
class EarlyStopping(_MonitorCallback):
    """Stops training when a monitored quantity has stopped improving (Keras 3).

    At the end of every epoch from `start_from_epoch` on, with `wait` counting epochs:
    wait += 1; when the value improves on `best` (by more than `min_delta`), `best` takes it
    and wait returns to 0 (with a `baseline`, only when the value also improves on the
    baseline); otherwise, once wait >= patience (and epoch > 0), `model.stop_training` is
    set and `stopped_epoch` records the epoch.

    Args:
        monitor: the logged quantity, default "val_loss".
        min_delta: smallest change that counts as an improvement (>= 0).
        patience: epochs without improvement before stopping.
        verbose: 0 silent, 1 prints "Epoch N: early stopping" and the restore message.
        mode: "auto", "min" or "max" (auto: see the module docstring).
        baseline: a value the monitor must improve on to reset the patience count. As in
            Keras's code, an epoch that improves on the best so far but not on the baseline
            still ends the epoch without a patience check.
        restore_best_weights: at the end of training (stopped early or not, as Keras 3), set
            the weights of the best epoch (`model.get_weights()` copies taken then).
        start_from_epoch: epochs to ignore at the start (warm-up).

    A missing monitor warns (Keras's text, listing the available keys) and skips the epoch.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta)
        owner = "EarlyStopping"
        self.patience = _non_negative_int(owner, "patience", patience)
        self.verbose = _verbose(owner, verbose)
        self.baseline = _optional_finite(owner, "baseline", baseline)
        self.restore_best_weights = _boolean(owner, "restore_best_weights",
                                             restore_best_weights)
        self.start_from_epoch = _non_negative_int(owner, "start_from_epoch", start_from_epoch)
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        # Reset, so that one instance can serve several fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = [np.array(w, copy=True) for w in self.model.get_weights()]
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.", flush=True)
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs.keys()))}",
                          stacklevel=3)
            return None
        return float(value)


# ---------------------------------------------------------------- ModelCheckpoint
MODEL_SUFFIX = ".seqattn"
WEIGHTS_SUFFIX = ".weights.seqattn"


class ModelCheckpoint(_MonitorCallback):
    """Saves the model (`model.save`) or its weights (`model.save_weights`) during training.

    `filepath` may hold format fields filled from `epoch` (1-based, as Keras), `batch`
    (1-based, with an int save_freq) and any log key: "ckpt-{epoch:02d}-{val_loss:.2f}.seqattn".
    Keras requires `.keras` / `.weights.h5`; seqattn's formats are `.seqattn` for a whole
    model and `.weights.seqattn` for weights only (save_weights_only=True), and the path must
    end with the one that matches (checked on the template, like Keras).

    Args:
        filepath: str or os.PathLike, see above. Missing directories are created.
        monitor: the logged quantity compared with save_best_only, default "val_loss".
        verbose: 1 prints Keras's messages ("Epoch 3: val_loss improved from 0.69310 to
            0.65432, saving model to ...", "... did not improve from ...").
        save_best_only: save only when the monitor improves on the best so far (without a
            format field in filepath, the file is overwritten by each better model). When the
            monitor is missing from the logs, warns and saves (Keras).
        save_weights_only: save_weights(...) instead of save(...).
        mode: "auto", "min" or "max" (auto: see the module docstring).
        save_freq: "epoch" (at each epoch end) or an int n: after every n training batches
            (the logs are then the running batch logs, with no val_* keys).
        initial_value_threshold: initial "best" value for save_best_only.

    As in Keras, `best` persists across fit() calls on the same instance.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        owner = "ModelCheckpoint"
        threshold = _optional_finite(owner, "initial_value_threshold", initial_value_threshold)
        super().__init__(monitor, mode, 0.0, baseline=threshold)
        self.filepath = _path(owner, "filepath", filepath)
        self.verbose = _verbose(owner, verbose)
        self.save_best_only = _boolean(owner, "save_best_only", save_best_only)
        self.save_weights_only = _boolean(owner, "save_weights_only", save_weights_only)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, numbers.Integral)
                                     or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or a positive integer (a number of batches).")
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        if self.save_weights_only:
            if not self.filepath.endswith(WEIGHTS_SUFFIX):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                                 f"filepath provided must end in `{WEIGHTS_SUFFIX}` (seqattn "
                                 f"weights format; a whole-model file ends in `{MODEL_SUFFIX}`)"
                                 f". Received: filepath={self.filepath}")
        elif not self.filepath.endswith(MODEL_SUFFIX) or self.filepath.endswith(WEIGHTS_SUFFIX):
            raise ValueError(f"The filepath provided must end in `{MODEL_SUFFIX}` (seqattn model "
                             f"format; `{WEIGHTS_SUFFIX}` is for weights only, with "
                             f"save_weights_only=True). Received: filepath={self.filepath}")
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch: batches are 0-based
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch, batch, logs) -> str:
        logs = logs or {}
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}. Available fields: epoch"
                           + ("" if batch is None else ", batch")
                           + "".join(f", {k}" for k in logs)) from None

    def _should_save_model(self, epoch, logs, filepath) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}", flush=True)
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=4)
            return True
        current = float(current)
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{current:.5f}, saving model to {filepath}", flush=True)
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}",
                  flush=True)
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError("Please specify a non-directory filepath for "
                                    "ModelCheckpoint. Filepath used is an existing directory: "
                                    f"{filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}", flush=True)


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


# ------------------------------------------------------------------ TerminateOnNaN
class TerminateOnNaN(Callback):
    """Stops training when a batch's loss is NaN or inf (Keras 3).

    After each training batch, if `logs["loss"]` is not finite: prints "Batch N: Invalid
    loss, terminating training" (N the 0-based batch index) and sets
    `model.stop_training = True`, so fit stops after this batch and still calls
    on_train_end; with `raise_error=True` it raises RuntimeError instead (Keras 3.x's option,
    skipping the other callbacks' clean-up). The logged loss is the epoch's running mean, so
    it stays NaN once one batch was NaN.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = _boolean("TerminateOnNaN", "raise_error", raise_error)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                               f"{loss}. Terminating training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
        self.model.stop_training = True


# ----------------------------------------------------------------------- CSVLogger
class CSVLogger(Callback):
    """Writes one CSV row per epoch (Keras 3 format): the column "epoch" (0-based), then the
    log keys of the first epoch in sorted order. When the first epoch has no val_* key (a
    validation_freq > 1 run, or no validation), the val_ counterparts are added as columns
    too, as Keras does; a value missing in an epoch is written "NA" (Keras). Rows end with
    "\r\n" (the csv module's default, as Keras). The file is flushed after each row and closed
    when training ends.

    Args:
        filename: str or os.PathLike.
        separator: the one-character column separator.
        append: append to an existing file (its header line is kept and not written again);
            False overwrites.

    Differences from Keras (why): no "val_learning_rate" column is predicted (the rate is
    added by callbacks and has no validation counterpart, so Keras's column is always NA);
    when appending to a file that has a header, its columns are reused, so the rows stay
    aligned with the header even if the keys changed (Keras writes the new run's keys under
    the old header); a key that first appears after the header was written cannot be
    recorded, and seqattn warns once instead of dropping it silently.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = _path("CSVLogger", "filename", filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError("`separator` of CSVLogger must be a one-character string. "
                             f"Received: separator={separator!r}")
        self.sep = separator
        self.append = _boolean("CSVLogger", "append", append)
        self.keys = None
        self.append_header = True
        self.csv_file = None
        self.writer = None
        self._warned = set()

    def _dialect(self):
        class Dialect(csv.excel):
            delimiter = self.sep
        return Dialect

    def on_train_begin(self, logs=None):
        self.keys = None
        self.append_header = True
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f, dialect=self._dialect()), None)
            if header:
                self.append_header = False
                if header[0] == "epoch":
                    self.keys = header[1:]
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="",
                             encoding="utf-8")
        self.writer = None
        self._warned = set()

    @staticmethod
    def _cell(value):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return value.item()
        if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)):
            return value
        return f'"[{", ".join(map(str, value))}]"'  # Keras's form for 1-D values

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            raise RuntimeError("CSVLogger: on_epoch_end was called before on_train_begin "
                               "(the file is not open).")
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys if k != "learning_rate"]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, dialect=self._dialect())
            if self.append_header:
                self.writer.writerow(["epoch"] + self.keys)
        unknown = [k for k in logs if k not in self.keys and k not in self._warned]
        if unknown:
            self._warned.update(unknown)
            warnings.warn(f"CSVLogger: the log key(s) {unknown} appeared at epoch {epoch}, after "
                          f"the columns of {self.filename} were fixed; they are not recorded.",
                          stacklevel=2)
        self.writer.writerow([epoch] + [self._cell(logs.get(k, "NA")) for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "CSVLogger"]
