"""Regression metrics: MeanSquaredError and MeanAbsoluteError (weighted means over samples of
the per-sample mean over the last axis, as Keras's MeanMetricWrapper)."""

from __future__ import annotations

import numpy as np

from .base import Metric


class _MeanOfSampleErrors(Metric):
    def reset_state(self):
        self.total = 0.0  # sum of w * per-sample error
        self.count = 0.0  # sum of w

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = self._numeric("y_pred", y_pred)
        y_true = self._numeric("y_true", y_true)
        if y_pred.ndim >= 3 and y_true.shape in (y_pred.shape, y_pred.shape[:-1]):
            # per token: each position is a sample (its weight, e.g. the padding mask)
            _, _, sample_weight = self._flatten_positions(np.zeros(y_pred.shape[:-1]), y_pred,
                                                          sample_weight)
            y_true = y_true.reshape(y_pred.shape)
            y_true, y_pred = (a.reshape(-1, a.shape[-1]) for a in (y_true, y_pred))

        def rows(a):  # (B, values of one sample); (B,) and (B, 1) both become (B, 1)
            return a.reshape(len(a), int(np.prod(a.shape[1:]))) if a.ndim else a
        p, t = rows(y_pred), rows(y_true)
        if y_pred.ndim == 0 or p.shape != t.shape:
            raise ValueError(f"{self._what()}: expected y_true of y_pred's shape (B,), (B, 1) or "
                             f"(B, K); received y_true of shape {y_true.shape} and y_pred of "
                             f"shape {y_pred.shape}.")
        _, _, w = self._inputs(np.zeros(len(p)), p[:, :1], sample_weight)
        errors = np.mean(self._error(p - t), axis=1)
        self.total += float(np.dot(errors, w))
        self.count += float(np.sum(w))

    def result(self) -> float:
        return self.total / self.count if self.count > 0 else 0.0


class MeanSquaredError(_MeanOfSampleErrors):
    """sum_i w_i mean_k (p_ik - y_ik)^2 / sum_i w_i."""

    def __init__(self, name="mean_squared_error"):
        super().__init__(name)
        self.reset_state()

    @staticmethod
    def _error(e):
        return e * e


class MeanAbsoluteError(_MeanOfSampleErrors):
    """sum_i w_i mean_k |p_ik - y_ik| / sum_i w_i."""

    def __init__(self, name="mean_absolute_error"):
        super().__init__(name)
        self.reset_state()

    @staticmethod
    def _error(e):
        return np.abs(e)
