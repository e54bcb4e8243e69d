"""AUC: area under the ROC (or PR) curve from counts at fixed thresholds, as Keras."""

from __future__ import annotations

import numbers

import numpy as np

from .base import Metric, _EPSILON, _check_choice, _check_from_logits, _ratio


# --------------------------------------------------------------------------- AUC
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from confusion counts at fixed thresholds.

    Thresholds (N = num_thresholds): t_0 = -eps, t_i = i / (N - 1) for 0 < i < N - 1,
    t_{N-1} = 1 + eps (eps = 1e-7), as Keras. A sample is predicted positive at t_i when its
    probability p > t_i (p clipped to [0, 1]; logits compared in logit space). Each update adds
    the weighted TP_i, FP_i, TN_i, FN_i at every threshold (a histogram of the samples by the
    highest threshold they exceed, summed from the top), so the state is O(N) whatever the
    number of samples.

        ROC:  x_i = FP_i / (FP_i + TN_i), y_i = TP_i / (TP_i + FN_i)
        PR:   x_i = recall_i,             y_i = TP_i / (TP_i + FP_i)
        area = sum_i (x_i - x_{i+1}) h_i, with h_i = (y_i + y_{i+1}) / 2 ("interpolation"),
               min(y_i, y_{i+1}) ("minoring") or max ("majoring").

    PR with "interpolation" follows Davis & Goadrich (2006), as Keras: between t_i and t_{i+1}
    TP and P = TP + FP vary linearly, precision = TP / P, and
        area_i = s (dTP + c log(P_i / P_{i+1})) / (TP + FN),
        s = dTP / dP, c = TP_{i+1} - s P_{i+1}   (log term 0 when a P is 0).
    Every ratio with a zero denominator is 0, so an empty metric, or data of one class only,
    gives 0.0 (Keras).

    Args:
        num_thresholds: an integer > 1 (default 200).
        curve: "ROC" or "PR".
        summation_method: "interpolation", "minoring" or "majoring".
        name: logged name (default "auc").
        from_logits: None (as the compiled loss; probabilities when used alone), True, False.

    Input shape: y_pred (B,) or (B, 1) with 0/1 labels, or (B, 2) with class ids (the positive
    class is column 1).

    Example:
        >>> AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, from_logits=None):
        super().__init__("auc" if name is None else name)
        if (isinstance(num_thresholds, bool) or not isinstance(num_thresholds, numbers.Integral)
                or num_thresholds <= 1):
            raise ValueError("AUC: received an invalid value for `num_thresholds`, expected an "
                             f"integer > 1. Received: num_thresholds={num_thresholds!r}")
        self.num_thresholds = int(num_thresholds)
        curves = {"ROC": "ROC", "roc": "ROC", "PR": "PR", "pr": "PR"}
        self.curve = curves[_check_choice("AUC", "curve", curve, tuple(curves))]
        self.summation_method = _check_choice("AUC", "summation_method", summation_method,
                                              ("interpolation", "minoring", "majoring"))
        self.from_logits = _check_from_logits("AUC", from_logits)
        n = self.num_thresholds
        self._inner = np.arange(1, n - 1) / (n - 1)  # (N - 2,) t_1 .. t_{N-2}
        self._inner_logits = np.log(self._inner) - np.log1p(-self._inner)
        self.reset_state()

    @property
    def thresholds(self) -> list:
        """The N thresholds, from -eps to 1 + eps."""
        return [-_EPSILON, *self._inner.tolist(), 1.0 + _EPSILON]

    def reset_state(self):
        n = self.num_thresholds
        self.true_positives, self.false_positives = np.zeros(n), np.zeros(n)  # (N,)
        self.true_negatives, self.false_negatives = np.zeros(n), np.zeros(n)  # (N,)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = self._inputs(y_true, y_pred, sample_weight)
        actual, score = self._positive_class(
            y_true, y_pred, None,
            "AUC needs a binary output, y_pred of shape (B, 1), or (B, 2) whose column 1 is "
            "the positive class.")
        # bucket_j = the highest i with score_j > t_i: t_0 = -eps is below every clipped
        # probability and t_{N-1} = 1 + eps above, so it counts the inner thresholds below.
        if self._logits:
            bucket = np.searchsorted(self._inner_logits, score, side="left")
        else:
            bucket = np.searchsorted(self._inner, np.clip(score, 0.0, 1.0), side="left")
        n = self.num_thresholds
        pos = np.bincount(bucket, weights=w * actual, minlength=n)  # (N,)
        neg = np.bincount(bucket, weights=w * ~actual, minlength=n)  # (N,)
        tp = np.cumsum(pos[::-1])[::-1]  # TP_i = weight of positives in buckets >= i
        fp = np.cumsum(neg[::-1])[::-1]
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += pos.sum() - tp
        self.true_negatives += neg.sum() - fp

    def result(self) -> float:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc()
        recall = _ratio(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _ratio(fp, fp + tn), recall
        else:
            x, y = recall, _ratio(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def _interpolated_pr_auc(self) -> float:
        tp, fn = self.true_positives, self.false_negatives
        p = tp + self.false_positives  # predicted positive, (N,)
        dtp = tp[:-1] - tp[1:]
        dp = np.maximum(p[:-1] - p[1:], 0.0)
        slope = _ratio(dtp, dp)
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        log_ratio = np.log(np.where(both, p[:-1], 1.0) / np.where(both, p[1:], 1.0))
        positives = np.maximum(tp[1:] + fn[1:], 0.0)
        return float(np.sum(_ratio(slope * (dtp + intercept * log_ratio), positives)))

    def _config(self):
        return {"num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "from_logits": self.from_logits}
