"""Accuracy metrics: BinaryAccuracy and SparseCategoricalAccuracy (weighted means of hits)."""

from __future__ import annotations

import numpy as np

from .base import Metric, _check_from_logits, _check_probability, _logit


# --------------------------------------------------------------------------- accuracy
class _MeanOfHits(Metric):
    """Weighted mean of per-sample hits: sum(w * hit) / sum(w)."""

    def reset_state(self):
        self.total = 0.0  # sum of w * hit
        self.count = 0.0  # sum of w

    def _accumulate(self, hits, w):
        self.total += float(np.dot(hits.astype(np.float64), w))
        self.count += float(np.sum(w))

    def result(self) -> float:
        return self.total / self.count if self.count > 0 else 0.0


class BinaryAccuracy(_MeanOfHits):
    """How often a binary prediction matches its label.

        accuracy = sum_i w_i [ (p_i > threshold) == (y_i > 0.5) ] / sum_i w_i

    With logits z, p > threshold is z > log(threshold / (1 - threshold)) (0 for 0.5).

    Args:
        name: logged name (default "binary_accuracy").
        threshold: a probability in [0, 1] (default 0.5).
        from_logits: None (as the compiled loss; probabilities when used alone), True, False.

    Input shape: y_pred (B,) or (B, 1); y_true (B,) or (B, 1).

    Example:
        >>> BinaryAccuracy()([1, 1, 0, 0], [0.98, 0.4, 0.1, 0.6])
        0.5
    """

    def __init__(self, name="binary_accuracy", threshold=0.5, from_logits=None):
        super().__init__(name)
        self.threshold = _check_probability("BinaryAccuracy", "threshold", threshold)
        self.from_logits = _check_from_logits("BinaryAccuracy", from_logits)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = self._inputs(y_true, y_pred, sample_weight)
        if y_pred.shape[1] != 1:
            raise ValueError(f"{self._what()}: expected a binary output, y_pred of shape (B,) "
                             f"or (B, 1); received {y_pred.shape}. For class scores (B, K) use "
                             "SparseCategoricalAccuracy.")
        t = _logit(self.threshold) if self._logits else self.threshold
        self._accumulate((y_pred[:, 0] > t) == (y_true > 0.5), w)

    def _config(self):
        return {"threshold": self.threshold, "from_logits": self.from_logits}


class SparseCategoricalAccuracy(_MeanOfHits):
    """How often the most likely class is the label.

        accuracy = sum_i w_i [ argmax_k p_ik == y_i ] / sum_i w_i

    The argmax is the same for probabilities and logits; ties go to the first class.

    Input shape: y_pred (B, K); y_true (B,) or (B, 1), class ids in [0, K). Per token: y_pred
    (B, T, K), y_true (B, T), each position a sample.

    Example:
        >>> SparseCategoricalAccuracy()([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(name)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        if np.ndim(y_pred) < 2:
            raise ValueError(f"{self._what()}: expected class scores of shape (B, K); "
                             f"received y_pred of shape {np.shape(y_pred)}.")
        y_true, y_pred, w = self._inputs(y_true, y_pred, sample_weight)
        self._check_class_ids(y_true, y_pred)
        self._accumulate(np.argmax(y_pred, axis=1) == y_true, w)


class CategoricalAccuracy(_MeanOfHits):
    """How often the most likely class is the one-hot (or most probable) target class.

        accuracy = sum_i w_i [ argmax_k p_ik == argmax_k y_ik ] / sum_i w_i

    Ties go to the first class. Input shape: y_pred (B, K); y_true (B, K), as
    categorical_crossentropy takes them.

    Example:
        >>> CategoricalAccuracy()([[0, 0, 1], [0, 1, 0]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    def __init__(self, name="categorical_accuracy"):
        super().__init__(name)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = self._numeric("y_pred", y_pred)
        y_true = self._numeric("y_true", y_true)
        if y_pred.ndim >= 3 and y_true.shape == y_pred.shape:  # per token: each position
            _, _, sample_weight = self._flatten_positions(np.zeros(y_pred.shape[:-1]), y_pred,
                                                          sample_weight)
            y_true, y_pred = (a.reshape(-1, a.shape[-1]) for a in (y_true, y_pred))
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{self._what()}: expected one-hot targets and class scores of one "
                             f"shape (B, K); received y_true of shape {y_true.shape} and y_pred "
                             f"of shape {y_pred.shape}. For class ids use "
                             "SparseCategoricalAccuracy.")
        _, _, w = self._inputs(np.zeros(len(y_pred)), y_pred, sample_weight)
        self._accumulate(np.argmax(y_pred, axis=1) == np.argmax(y_true, axis=1), w)
