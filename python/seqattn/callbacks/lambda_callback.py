"""LambdaCallback: a callback made of plain functions, for one-off hooks."""

from __future__ import annotations

from .base import _HOOKS, Callback

_EXTRA_HOOKS = ("on_batch_begin", "on_batch_end")  # Keras's older names for train batches


class LambdaCallback(Callback):
    """A callback whose hooks are the functions given (Keras 3). Each function is called
    with the hook's positional arguments:

    - on_epoch_begin / on_epoch_end: `(epoch, logs)`
    - on_train_begin / on_train_end: `(logs)`
    - on_train_batch_begin / on_train_batch_end: `(batch, logs)`
    - any other hook of `Callback` (on_test_begin, on_predict_batch_end, ...) by keyword,
      with that hook's arguments.

    Example:
        print_loss = LambdaCallback(
            on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    Difference from Keras (why): Keras stores any keyword argument as an attribute, so a
    misspelt hook (`on_epoch_ends=`) is silently never called; here a keyword that is not a
    hook name, or a value that is not callable, raises at construction.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        unknown = sorted(k for k in kwargs if k not in _HOOKS + _EXTRA_HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hook name(s) {unknown}; the hooks are "
                            f"{', '.join(_HOOKS + _EXTRA_HOOKS)}.")
        hooks.update(kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"`{name}` of LambdaCallback must be a function (or None). "
                                f"Received: {name}={fn!r}")
            setattr(self, name, fn)  # the instance attribute shadows Callback's no-op hook
