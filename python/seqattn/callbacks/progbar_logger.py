"""ProgbarLogger: the progress display of fit, evaluate and predict, as a callback (Keras 3).

`fit`, `evaluate` and `predict` add one when `verbose` is not 0 and the callbacks hold none;
a ProgbarLogger passed in `callbacks` is used instead of that one, so there is never a second
bar (Keras's CallbackList does the same). What it draws is described in `seqattn.progress`.
"""

from __future__ import annotations

from ..progress import Progbar, print_epoch_header
from .base import Callback


class ProgbarLogger(Callback):
    """Prints the progress bar and the per-epoch logs (Keras 3: `ProgbarLogger()`).

    Verbosity comes from the `verbose` argument of fit/evaluate/predict (`self.params`);
    verbose=0 draws nothing, as Keras. Inside `fit`, validation draws no bar of its own: its
    val_* values end the epoch's line.

    Difference from Keras (why): `predict` over a single batch draws nothing (a one-step bar
    says nothing the result does not), as seqattn's `predict` always has.
    """

    def __init__(self):
        super().__init__()
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _start(self, verbose=None):
        self.progbar = Progbar(self.target, self.verbose if verbose is None else verbose)

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        print_epoch_header(epoch, self.epochs, self.verbose)
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.target, logs, final=True)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self.progbar.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self.progbar.update(self.target, logs, final=True)

    def on_predict_begin(self, logs=None):
        self._start(self.verbose if self.target > 1 else 0)

    def on_predict_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, {})  # the outputs are not logs

    def on_predict_end(self, logs=None):
        self.progbar.update(self.target, {}, final=True)
