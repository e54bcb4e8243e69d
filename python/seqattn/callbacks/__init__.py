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
ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN, CSVLogger,
LambdaCallback, ProgbarLogger (fit/evaluate/predict add one when verbose, unless one is
passed), BackupAndRestore, TensorBoard (needs the optional extra: tensorboardX).
Where they differ from Keras, the class docstring says so and why. The common ones:
- `mode="auto"` decides by the monitor's name (Keras 3 asks the metric object and raises
  when it cannot tell): names ending in "loss" are minimised; names containing "acc", "auc",
  "precision", "recall" or "f1" are maximised; anything else is minimised (pass mode="max"
  for other quantities that should grow).
- Invalid arguments raise (Keras warns and falls back for an unknown `mode`, and takes
  `abs(min_delta)`); messages name the argument and the value received.
"""

from __future__ import annotations

from .base import Callback, CallbackList, History
from .early_stopping import EarlyStopping
from .model_checkpoint import ModelCheckpoint
from .learning_rate import LearningRateScheduler, ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN
from .csv_logger import CSVLogger
from .lambda_callback import LambdaCallback
from .progbar_logger import ProgbarLogger
from .backup_and_restore import BackupAndRestore
from .tensorboard import TensorBoard

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "CSVLogger",
           "LambdaCallback", "ProgbarLogger", "BackupAndRestore", "TensorBoard"]


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from .._keras_names import missing as _missing
    raise _missing("callbacks", name, globals())
