"""Callback (the Keras hooks), CallbackList (how fit/evaluate/predict call them) and History
(what fit returns)."""

from __future__ import annotations


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
        # Keras 3's calling conventions, which LambdaCallback functions rely on: `logs` is
        # always passed (None when there are none), by keyword to the batch hooks and
        # positionally to the others (`on_train_begin=lambda logs: ...`).
        if hook not in _HOOKS:
            raise AttributeError(hook)
        if "batch" in hook:
            def call(batch, logs=None):
                for cb in self.callbacks:
                    getattr(cb, hook)(batch, logs=logs)
        elif hook.startswith("on_epoch"):
            def call(epoch, logs=None):
                for cb in self.callbacks:
                    getattr(cb, hook)(epoch, logs)
        else:
            def call(logs=None):
                for cb in self.callbacks:
                    getattr(cb, hook)(logs)
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
