"""Metrics computed from a step's predictions (never from parameters).

`"accuracy"` resolves as in Keras: sparse categorical accuracy for a sparse categorical loss,
binary accuracy (threshold 0.5) for binary cross-entropy.
"""

from __future__ import annotations

import numpy as np


class MeanMetric:
    """A running mean over samples, reset every epoch."""

    def __init__(self, name):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update_state(self, values):
        values = np.asarray(values, np.float64)
        self.total += float(values.sum())
        self.count += values.size

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class SparseCategoricalAccuracy(MeanMetric):
    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(name)

    def update(self, y_true, y_pred):
        hits = np.argmax(y_pred, axis=-1) == np.asarray(y_true).reshape(y_pred.shape[:-1])
        self.update_state(hits)


class BinaryAccuracy(MeanMetric):
    def __init__(self, name="binary_accuracy", threshold=0.5, from_logits=False):
        super().__init__(name)
        # With logits, p > 0.5 is the same as z > 0.
        self.threshold = 0.0 if from_logits else threshold

    def update(self, y_true, y_pred):
        y_true = np.asarray(y_true).reshape(-1)
        self.update_state((np.asarray(y_pred).reshape(-1) > self.threshold) == (y_true > 0.5))


_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy", "binary_accuracy"}


def get(identifier, loss):
    """A metric object for a name, resolving "accuracy" from the loss as Keras does."""
    if isinstance(identifier, MeanMetric):
        return identifier
    if not isinstance(identifier, str) or identifier not in _NAMES:
        raise ValueError(f"Unknown metric {identifier!r}. Valid names: "
                         + ", ".join(sorted(_NAMES)) + ".")
    if identifier in ("accuracy", "acc"):
        binary = loss.name == "binary_crossentropy"
        cls = BinaryAccuracy if binary else SparseCategoricalAccuracy
        metric = cls(name="accuracy", **({"from_logits": loss.from_logits} if binary else {}))
        return metric
    if identifier == "binary_accuracy":
        return BinaryAccuracy(from_logits=loss.from_logits)
    return SparseCategoricalAccuracy()
