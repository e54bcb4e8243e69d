"""TerminateOnNaN: stop at the first NaN or inf loss."""

from __future__ import annotations

import math

from .base import Callback
from .monitor import _boolean


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
