"""Metric (the streaming protocol and its input checks) and the helpers every metric uses:
logits, ratios, argument checks with Keras's messages."""

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
        """(y_true (B,), y_pred (B, K), weights (B,)) as float64, shapes checked. Per-token
        predictions (B, T, K) count each of the B·T positions as one sample (labels (B, T),
        weights (B, T), such as the output's padding mask, or (B,) per sequence)."""
        y_pred = self._numeric("y_pred", y_pred)
        if y_pred.ndim >= 3:
            y_true, y_pred, sample_weight = self._flatten_positions(y_true, y_pred,
                                                                    sample_weight)
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

    def _flatten_positions(self, y_true, y_pred, sample_weight):
        lead = y_pred.shape[:-1]  # (B, T, ...)
        y_true = self._numeric("y_true", y_true)
        if y_true.shape not in (lead, lead + (1,)) and not (
                y_pred.shape[-1] > 1 and y_true.shape == y_pred.shape):
            raise ValueError(f"{self._what()}: expected labels of shape {lead} (class ids or "
                             f"0/1 per position) for predictions of shape {y_pred.shape}; "
                             f"received y_true of shape {y_true.shape}.")
        if y_true.shape == y_pred.shape and y_pred.shape[-1] > 1:
            y_true = np.argmax(y_true, axis=-1)  # one-hot rows: their class ids
        if sample_weight is not None:
            w = self._numeric("sample_weight", sample_weight)
            if w.shape == lead[:1]:
                w = np.broadcast_to(w.reshape(lead[:1] + (1,) * (len(lead) - 1)), lead)
            elif w.shape not in (lead, lead + (1,)) and w.ndim != 0:
                raise ValueError(f"{self._what()}: expected sample_weight of shape {lead} or "
                                 f"{lead[:1]} for predictions of shape {y_pred.shape}; "
                                 f"received shape {w.shape}.")
            sample_weight = w.reshape(-1) if w.ndim else w
        return y_true.reshape(-1), y_pred.reshape(-1, y_pred.shape[-1]), sample_weight

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
