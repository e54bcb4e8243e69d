"""ModelCheckpoint: save the model (or its weights) every epoch or at the best value."""

from __future__ import annotations

import numbers
import os
import warnings

from .monitor import BatchFrequency, _MonitorCallback, _boolean, _optional_finite, _path, _verbose


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
        self._batches = BatchFrequency(self.save_freq)
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch" and self._batches.due(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

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
