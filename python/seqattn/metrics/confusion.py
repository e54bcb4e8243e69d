"""Metrics from thresholded counts: Precision, Recall and F1Score."""

from __future__ import annotations

import numpy as np

from .base import (
    Metric, _check_choice, _check_class_id, _check_from_logits, _check_probability, _logit,
    _ratio, _softmax)


# --------------------------------------------------------------------------- precision, recall
class _ThresholdedCounts(Metric):
    """Weighted confusion counts of one decision, score > threshold, for one class."""

    def __init__(self, thresholds, class_id, name, from_logits):
        cls = type(self).__name__
        super().__init__(cls.lower() if name is None else name)
        if isinstance(thresholds, (list, tuple)):
            if len(thresholds) != 1:
                raise ValueError(f"{cls}: seqattn metrics report one number, so `thresholds` "
                                 "takes one value (a number, or a list of one). Received: "
                                 f"thresholds={thresholds!r}")
            t = _check_probability(cls, "thresholds", thresholds[0])
            self.init_thresholds = [t]
        elif thresholds is None:
            t, self.init_thresholds = 0.5, None
        else:
            t = self.init_thresholds = _check_probability(cls, "thresholds", thresholds)
        self.thresholds = [t]  # as Keras: the thresholds in use
        self.class_id = _check_class_id(cls, class_id)
        self.from_logits = _check_from_logits(cls, from_logits)
        self.reset_state()

    def reset_state(self):
        self.true_positives = 0.0
        self.false_positives = 0.0
        self.false_negatives = 0.0
        self.true_negatives = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = self._inputs(y_true, y_pred, sample_weight)
        actual, score = self._positive_class(
            y_true, y_pred, self.class_id,
            "pass class_id=c to score class c (one-vs-rest).")
        t = self.thresholds[0]
        predicted = score > (_logit(t) if self._logits else t)
        self.true_positives += float(w[actual & predicted].sum())
        self.false_positives += float(w[~actual & predicted].sum())
        self.false_negatives += float(w[actual & ~predicted].sum())
        self.true_negatives += float(w[~actual & ~predicted].sum())

    def _config(self):
        return {"thresholds": self.init_thresholds, "class_id": self.class_id,
                "from_logits": self.from_logits}


class Precision(_ThresholdedCounts):
    """The fraction of predicted positives that are positive.

        precision = TP / (TP + FP)      (0 when TP + FP = 0)

    A sample is predicted positive when its positive-class probability p > threshold (with
    logits, compared in logit space); TP and FP are sums of sample weights.

    Args:
        thresholds: a probability in [0, 1] (or a list of one); default 0.5.
        class_id: for (B, K) outputs, the class scored one-vs-rest (its probability column is
            thresholded, as Keras does); default 1 when K = 2, required when K > 2. Must be
            None for a binary (B, 1) output.
        name: logged name (default "precision").
        from_logits: None (as the compiled loss; probabilities when used alone), True, False.

    Input shape: y_pred (B,) or (B, 1) with 0/1 labels; (B, K) with class ids.

    Example:
        >>> Precision()([0, 1, 1, 1], [1, 0, 1, 1])
        0.6666666666666666
    """

    def __init__(self, thresholds=None, class_id=None, name=None, from_logits=None):
        super().__init__(thresholds, class_id, name, from_logits)

    def result(self) -> float:
        return float(_ratio(self.true_positives, self.true_positives + self.false_positives))


class Recall(_ThresholdedCounts):
    """The fraction of positives that are predicted positive.

        recall = TP / (TP + FN)      (0 when TP + FN = 0)

    Arguments and shapes as Precision (default name "recall").

    Example:
        >>> Recall()([0, 1, 1, 1], [1, 0, 1, 1])
        0.6666666666666666
    """

    def __init__(self, thresholds=None, class_id=None, name=None, from_logits=None):
        super().__init__(thresholds, class_id, name, from_logits)

    def result(self) -> float:
        return float(_ratio(self.true_positives, self.true_positives + self.false_negatives))


# --------------------------------------------------------------------------- F1
class F1Score(Metric):
    """The harmonic mean of precision and recall, per class, then averaged.

        F1_k = 2 P_k R_k / (P_k + R_k) = 2 TP_k / (2 TP_k + FP_k + FN_k)   (0 when TP_k = 0)

    Averages over the K classes (support_k = sum of weights of samples labelled k):
        "macro"     mean_k F1_k
        "weighted"  sum_k support_k F1_k / sum_k support_k
        "micro"     F1 of TP, FP, FN summed over classes (= accuracy with argmax decisions)
        None        the positive class's F1: column 0 of (B, 1), class 1 of (B, 2); K > 2
                    raises (a metric reports one number): choose an average.

    Decisions: a binary (B, 1) output predicts positive when p > threshold (default 0.5;
    logits compared in logit space). A (B, K) output with threshold None predicts the
    argmax class; with a threshold, every class whose (softmax) probability exceeds it.

    Args:
        average: None, "micro", "macro" or "weighted".
        threshold: None or a probability in (0, 1].
        name: logged name (default "f1_score").
        from_logits: None (as the compiled loss; probabilities when used alone), True, False.

    Input shape: y_pred (B,) or (B, 1) with 0/1 labels; (B, K) with class ids in [0, K).

    Example:
        >>> F1Score(average="macro")([0, 1, 2, 2], [[.8, .1, .1], [.1, .8, .1], [.1, .5, .4],
        ...                                           [.1, .1, .8]])
        0.7777777777777777
    """

    def __init__(self, average=None, threshold=None, name="f1_score", from_logits=None):
        super().__init__(name)
        self.average = _check_choice("F1Score", "average", average,
                                     (None, "micro", "macro", "weighted"))
        self.threshold = (None if threshold is None else
                          _check_probability("F1Score", "threshold", threshold, low_open=True))
        self.from_logits = _check_from_logits("F1Score", from_logits)
        self.reset_state()

    def reset_state(self):
        self.num_classes = None  # K, fixed by the first batch
        self.true_positives = self.false_positives = self.false_negatives = None  # (K,)
        self.support = None  # (K,)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, w = self._inputs(y_true, y_pred, sample_weight)
        k = y_pred.shape[1]
        if self.average is None and k > 2:
            raise ValueError(f"{self._what()}: average=None gives the positive class's F1, but "
                             f"y_pred of shape {y_pred.shape} has K = {k} classes: use "
                             "average='macro', 'weighted' or 'micro' (or "
                             "Precision/Recall with class_id).")
        if self.num_classes is not None and k != self.num_classes:
            raise ValueError(f"{self._what()}: expected predictions of shape (B, "
                             f"{self.num_classes}) as in earlier batches; received "
                             f"{y_pred.shape}. Call reset_state() before a new stream.")
        if k == 1:
            self._check_binary_labels(y_true)
            actual = (y_true == 1)[:, None]  # (B, 1)
            t = 0.5 if self.threshold is None else self.threshold
            predicted = y_pred > (_logit(t) if self._logits else t)
        else:
            self._check_class_ids(y_true, y_pred)
            actual = y_true[:, None] == np.arange(k)  # one-hot (B, K)
            if self.threshold is None:
                predicted = np.argmax(y_pred, axis=1)[:, None] == np.arange(k)
            else:
                probs = _softmax(y_pred) if self._logits else y_pred
                predicted = probs > self.threshold
        if self.num_classes is None:
            self.num_classes = k
            self.true_positives, self.false_positives = np.zeros(k), np.zeros(k)
            self.false_negatives, self.support = np.zeros(k), np.zeros(k)
        w = w[:, None]
        self.true_positives += np.sum(w * (actual & predicted), axis=0)
        self.false_positives += np.sum(w * (~actual & predicted), axis=0)
        self.false_negatives += np.sum(w * (actual & ~predicted), axis=0)
        self.support += np.sum(w * actual, axis=0)

    def result(self) -> float:
        if self.num_classes is None:
            return 0.0
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        if self.average is None:
            return float(f1[-1])  # K = 1: column 0; K = 2: class 1
        if self.average == "weighted":
            return float(_ratio(np.dot(f1, self.support), self.support.sum()))
        return float(np.mean(f1))

    def _config(self):
        return {"average": self.average, "threshold": self.threshold,
                "from_logits": self.from_logits}
