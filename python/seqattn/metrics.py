"""Streaming metrics with Keras 3 names, defaults and formulas, in float64 NumPy.

Every metric follows one protocol (Model.fit/evaluate use it):

    metric.reset_state()
    metric.update_state(y_true, y_pred, sample_weight=None)   # alias: update(y_true, y_pred)
    metric.result() -> float                                  # 0.0 before any data (Keras)
    metric.get_config() -> dict                               # JSON; from_config() rebuilds it

Shapes (B samples, K classes):
    y_pred         (B,) or (B, 1): a binary output, the probability (or logit) of class 1;
                   (B, K): class probabilities (or logits) of a sparse categorical output.
    y_true         (B,) or (B, 1): 0/1 for a binary output, a class id in [0, K) for (B, K).
                   Labels are sparse, never one-hot, as the losses take them.
    sample_weight  None, a scalar, (B,) or (B, 1); finite and >= 0. Every count is a sum of
                   weights (weight 0 drops a sample, weight 2 counts it twice).

Logits. A metric built from a name by `get(identifier, loss)` reads the outputs as the loss
does: with `from_logits=True` they are logits. Metrics take `from_logits=None` ("as the loss
says"; False when used alone, which is Keras's behaviour). True or False overrides the loss.
With logits, a threshold t on a probability is applied in logit space, which is the same
decision without float saturation: sigmoid(z) > t  <=>  z > log(t / (1 - t)), and for column c
of a softmax, p_c > t  <=>  z_c - logsumexp(z_j, j != c) > log(t / (1 - t)).

Differences from Keras, and why:
- `result()` is always one float (seqattn logs and progress bars show numbers). So Precision
  and Recall take one threshold, not a list, and F1Score(average=None) is the positive class's
  score; on K > 2 classes it asks for an average or class_id instead of returning a vector.
- (B, K) outputs take sparse labels. Precision/Recall score one class (`class_id`, default 1
  when K = 2), thresholding that class's probability as Keras does with `class_id`. AUC needs
  a binary output: (B, 1), or (B, 2) with column 1 as the positive class.
- F1Score on a binary (B, 1) output thresholds at 0.5 when `threshold=None`. Keras takes the
  argmax over the last axis, which for one column marks every sample positive. Every
  `average` of a (B, 1) output is the positive class's F1, as in Keras on a (B, 1) output;
  a (B, 2) softmax output gives sklearn's two-class averages. On (B, K) with threshold None,
  ties go to the first maximal class (np.argmax), where Keras marks every tied class.
- Binary Precision/Recall/F1Score/AUC need hard 0/1 labels (Keras casts any non-zero label to
  1 in some metrics and weights by it in others); a soft label raises a ValueError.
  BinaryAccuracy keeps seqattn's rule: label > 0.5 is class 1.
- No `top_k`, multi-label AUC, `label_weights`, explicit AUC `thresholds` or "PRGAIN" curve.
- F1Score divides exactly (0 when a denominator is 0) instead of adding Keras's epsilon 1e-7.
"""

from __future__ import annotations

import numbers

import numpy as np

# Keras's backend.epsilon(): AUC's end thresholds are -eps and 1 + eps.
_EPSILON = 1e-7


# --------------------------------------------------------------------------- helpers
def _logit(t: float) -> float:
    """log(t / (1 - t)): -inf at 0, +inf at 1, 0 at 0.5 exactly."""
    with np.errstate(divide="ignore"):
        return float(np.log(t) - np.log1p(-t))


def _logsumexp(z, axis):
    """log(sum(exp(z))) along `axis`, shifted by the maximum (finite for finite z)."""
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True)), axis)


def _softmax(z):
    """Row-wise softmax of (B, K) logits."""
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _ratio(a, b):
    """a / b where b > 0, else 0 (Keras's divide_no_nan), elementwise."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b > 0)


def _check_name(cls: str, name):
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls}: `name` must be a non-empty string. Received: name={name!r}")
    return name


def _check_probability(cls: str, arg: str, value, *, low_open=False):
    lo = "(" if low_open else "["
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value <= 1
            or not (value > 0 if low_open else value >= 0)):
        raise ValueError(f"{cls}: received an invalid value for `{arg}`, expected a number in "
                         f"{lo}0, 1]. Received: {arg}={value!r}")
    return float(value)


def _check_from_logits(cls: str, value):
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{cls}: `from_logits` must be None (follow the loss), True or False. "
                        f"Received: from_logits={value!r}")
    return value


def _check_class_id(cls: str, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or value < 0):
        raise ValueError(f"{cls}: received an invalid value for `class_id`, expected None or a "
                         f"class index >= 0. Received: class_id={value!r}")
    return None if value is None else int(value)


def _check_choice(cls: str, arg: str, value, choices):
    if value not in choices:
        raise ValueError(f"{cls}: received an invalid value for `{arg}`, expected one of "
                         f"{list(choices)}. Received: {arg}={value!r}")
    return value


# --------------------------------------------------------------------------- base
class Metric:
    """A streaming metric: accumulate with update_state(), read with result().

    Subclasses implement reset_state, update_state, result and _config (their constructor
    arguments besides `name`).
    """

    def __init__(self, name):
        self.name = _check_name(type(self).__name__, name)
        self._loss_from_logits = False  # set by get(identifier, loss)

    def update(self, y_true, y_pred, sample_weight=None):
        """The same as update_state (the name Model.fit/evaluate call)."""
        self.update_state(y_true, y_pred, sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """update_state, then result(), as Keras's Metric.__call__."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        """JSON-serialisable: "class_name", "name" and every constructor argument."""
        return {"class_name": type(self).__name__, "name": self.name, **self._config()}

    def _config(self) -> dict:
        return {}

    def _bind_loss(self, loss):
        """Reads outputs as logits when the compiled loss does (unless from_logits is set)."""
        self._loss_from_logits = bool(getattr(loss, "from_logits", False))

    @property
    def _logits(self) -> bool:
        explicit = getattr(self, "from_logits", None)
        return self._loss_from_logits if explicit is None else explicit

    def _what(self) -> str:
        return f"{type(self).__name__} metric '{self.name}'"

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "class_name")
        return f"{type(self).__name__}({args})"

    # ---- input checks shared by every metric
    def _inputs(self, y_true, y_pred, sample_weight):
        """(y_true (B,), y_pred (B, K), weights (B,)) as float64, shapes checked."""
        y_pred = self._numeric("y_pred", y_pred)
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        if y_pred.ndim != 2 or y_pred.shape[1] == 0:
            raise ValueError(f"{self._what()}: expected predictions of shape (B,), (B, 1) or "
                             f"(B, K); received y_pred of shape {np.shape(y_pred)}.")
        B = y_pred.shape[0]
        y_true = self._numeric("y_true", y_true)
        if y_true.shape not in ((B,), (B, 1)):
            raise ValueError(f"{self._what()}: expected labels of shape (B,) or (B, 1) with "
                             f"B = {B}, the batch of y_pred {y_pred.shape} (class ids or 0/1, "
                             f"not one-hot); received y_true of shape {y_true.shape}.")
        y_true = y_true.reshape(B)
        if not np.isfinite(y_true).all():
            j = int(np.argmax(~np.isfinite(y_true)))
            raise ValueError(f"{self._what()}: labels must be finite; received "
                             f"{y_true[j].item()!r} at index {j}.")
        if sample_weight is None:
            return y_true, y_pred, np.ones(B)
        w = self._numeric("sample_weight", sample_weight)
        if w.ndim == 0:
            w = np.full(B, float(w))
        elif w.shape in ((B,), (B, 1)):
            w = w.reshape(B)
        else:
            raise ValueError(f"{self._what()}: expected sample_weight as a scalar, (B,) or "
                             f"(B, 1) with B = {B}; received shape {w.shape}.")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"{self._what()}: sample weights must be finite and >= 0; "
                             f"received {w[j].item()!r} at index {j}.")
        return y_true, y_pred, w

    def _numeric(self, what, x):
        a = np.asarray(x)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{self._what()}: `{what}` must be a numeric array; received dtype "
                            f"{a.dtype}.")
        return a.astype(np.float64)

    def _check_binary_labels(self, y_true):
        bad = (y_true != 0) & (y_true != 1)
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"{self._what()} counts true and false positives, which needs "
                             f"labels 0 or 1 for a binary (B, 1) output; received "
                             f"{y_true[j].item()!r} at index {j}.")

    def _check_class_ids(self, y_true, y_pred):
        k = y_pred.shape[1]
        bad = (y_true < 0) | (y_true >= k) | (y_true != np.round(y_true))
        if bad.any():
            j = int(np.argmax(bad))
            raise ValueError(f"{self._what()}: label {y_true[j].item()!r} at index {j} is not "
                             f"a class id in [0, {k}) for predictions of shape (B, K) = "
                             f"{y_pred.shape}.")

    def _positive_class(self, y_true, y_pred, class_id, hint):
        """(actual (B,) bool, score (B,)): is each sample of the positive class, and the
        positive class's probability (a logit when self._logits).

        (B, 1): the positive class is label 1. (B, K): class `class_id`, by default 1 when
        K = 2; the logit of a softmax column c is z_c - logsumexp(z_j, j != c).
        """
        k = y_pred.shape[1]
        if k == 1:
            if class_id is not None:
                raise ValueError(f"{self._what()}: class_id={class_id} selects a column of "
                                 f"(B, K) predictions, but y_pred of shape {y_pred.shape} is a "
                                 "binary output (one column, positive = label 1): leave "
                                 "class_id=None.")
            self._check_binary_labels(y_true)
            return y_true == 1, y_pred[:, 0]
        if class_id is None:
            if k != 2:
                raise ValueError(f"{self._what()} scores one class, but y_pred of shape "
                                 f"{y_pred.shape} has K = {k} classes: {hint}")
            class_id = 1
        if class_id >= k:
            raise ValueError(f"{self._what()}: class_id={class_id} is out of range for "
                             f"predictions of shape (B, K) = {y_pred.shape}; expected "
                             f"class_id in [0, {k}).")
        self._check_class_ids(y_true, y_pred)
        score = y_pred[:, class_id]
        if self._logits:
            score = score - _logsumexp(np.delete(y_pred, class_id, axis=1), axis=1)
        return y_true == class_id, score


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

    Input shape: y_pred (B, K); y_true (B,) or (B, 1), class ids in [0, K).

    Example:
        >>> SparseCategoricalAccuracy()([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(name)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        if np.ndim(y_pred) != 2:
            raise ValueError(f"{self._what()}: expected class scores of shape (B, K); "
                             f"received y_pred of shape {np.shape(y_pred)}.")
        y_true, y_pred, w = self._inputs(y_true, y_pred, sample_weight)
        self._check_class_ids(y_true, y_pred)
        self._accumulate(np.argmax(y_pred, axis=1) == y_true, w)


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


# --------------------------------------------------------------------------- lookup, config
# Fixed registries: names and configs select from these, nothing is imported or evaluated.
_CLASSES = {cls.__name__: cls for cls in
            (BinaryAccuracy, SparseCategoricalAccuracy, Precision, Recall, F1Score, AUC)}
_BY_NAME = {"binary_accuracy": BinaryAccuracy,
            "sparse_categorical_accuracy": SparseCategoricalAccuracy,
            "precision": Precision, "recall": Recall, "f1_score": F1Score, "auc": AUC}
_NAMES = ("accuracy", "acc", *_BY_NAME)


def get(identifier, loss=None) -> Metric:
    """A metric for a Keras name or a Metric instance, reading outputs as `loss` does.

    "accuracy" (or "acc", which is also its logged name, as Keras) resolves from the loss:
    BinaryAccuracy for binary cross-entropy, SparseCategoricalAccuracy for sparse categorical
    cross-entropy. With a loss, metrics whose from_logits is None read logits when
    loss.from_logits is True. An instance is returned itself (bound to the loss), so its state
    can be read after fit/evaluate.
    """
    if isinstance(identifier, Metric):
        metric = identifier
    elif isinstance(identifier, str) and identifier in ("accuracy", "acc"):
        loss_name = getattr(loss, "name", None)
        if loss_name == "binary_crossentropy":
            metric = BinaryAccuracy(name=identifier)
        elif loss_name == "sparse_categorical_crossentropy":
            metric = SparseCategoricalAccuracy(name=identifier)
        else:
            raise ValueError(f"Metric {identifier!r} is chosen by the loss (binary or sparse "
                             f"categorical cross-entropy); received loss={loss!r}. Use "
                             "'binary_accuracy' or 'sparse_categorical_accuracy' instead.")
    elif isinstance(identifier, str) and identifier in _BY_NAME:
        metric = _BY_NAME[identifier]()
    else:
        raise ValueError(f"Unknown metric {identifier!r}. Valid names: " + ", ".join(_NAMES)
                         + " (or pass a seqattn.metrics.Metric instance).")
    if loss is not None:
        metric._bind_loss(loss)
    return metric


def serialize(metric: Metric) -> dict:
    """metric.get_config(): a JSON-serialisable dict with its "class_name"."""
    if not isinstance(metric, Metric):
        raise TypeError(f"Expected a seqattn.metrics.Metric; received {metric!r}.")
    return metric.get_config()


def from_config(config: dict) -> Metric:
    """Rebuilds a metric from get_config()'s dict (class_name from a fixed list)."""
    if not isinstance(config, dict):
        raise TypeError(f"A metric config must be a dict from get_config(); received "
                        f"{type(config).__name__}.")
    class_name = config.get("class_name")
    cls = _CLASSES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise ValueError(f"Unknown metric class_name {class_name!r} in config; known: "
                         + ", ".join(_CLASSES) + ".")
    kwargs = {k: v for k, v in config.items() if k != "class_name"}
    expected = set(cls(**{}).get_config()) - {"class_name"}  # the constructor's arguments
    unknown = sorted(set(kwargs) - expected)
    if unknown:
        raise ValueError(f"Config of {class_name} has unknown keys {unknown}; expected some of "
                         f"{sorted(expected)}.")
    return cls(**kwargs)


deserialize = from_config
