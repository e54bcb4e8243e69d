"""EarlyStopping: stop when the monitored quantity stops improving."""

from __future__ import annotations

import warnings

import numpy as np

from .monitor import _MonitorCallback, _boolean, _non_negative_int, _optional_finite, _verbose


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
