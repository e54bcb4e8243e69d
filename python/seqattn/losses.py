"""Losses (Keras names and defaults), computed in C++.

Both losses average over samples (Keras's "sum_over_batch_size"). With `from_logits=False`
and a model whose last layer is `Dense(activation="softmax")` (or "sigmoid" for binary), the
loss is computed from that layer's logits: exact and never inf, as Keras does on TensorFlow.
Otherwise probabilities are clipped to [1e-7, 1 - 1e-7] as in Keras.
"""

from __future__ import annotations

from . import _validation as V


class Loss:
    _core_class = ""
    name = ""

    def __init__(self, from_logits=False):
        self.from_logits = V.boolean("from_logits", from_logits)

    def _core(self):
        from . import _core
        return getattr(_core, self._core_class)(self.from_logits)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The mean loss as a Python float (NumPy in, no gradient)."""
        value, _ = self._core()(y_true, y_pred, sample_weight)  # checked and cast in C++
        return value

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class SparseCategoricalCrossentropy(Loss):
    """-log p[y] for integer labels y in [0, K) and predictions (B, K)."""

    _core_class = "SparseCategoricalCrossentropy"
    name = "sparse_categorical_crossentropy"


class BinaryCrossentropy(Loss):
    """-(y log p + (1 - y) log(1 - p)) for labels in [0, 1] and predictions (B, 1) or (B,)."""

    _core_class = "BinaryCrossentropy"
    name = "binary_crossentropy"


_BY_NAME = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "binary_crossentropy": BinaryCrossentropy}


def get(identifier) -> Loss:
    """A loss object from a name or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Unknown loss {identifier!r}. Valid names: " + ", ".join(sorted(_BY_NAME))
                     + " (or pass a seqattn.losses object).")


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from ._keras_names import missing as _missing
    raise _missing("losses", name, globals())
