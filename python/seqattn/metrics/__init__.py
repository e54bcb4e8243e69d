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
                   Labels are sparse, as the losses take them, except for
                   CategoricalAccuracy (one-hot (B, K), as categorical_crossentropy) and
                   MeanSquaredError/MeanAbsoluteError (targets shaped like y_pred).
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

from .base import Metric
from .accuracy import BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy
from .regression import MeanAbsoluteError, MeanSquaredError
from .confusion import F1Score, Precision, Recall
from .auc import AUC
from .registry import deserialize, from_config, get, serialize

__all__ = ["Metric", "BinaryAccuracy", "SparseCategoricalAccuracy", "Precision", "Recall",
           "F1Score", "AUC", "CategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "get", "serialize", "deserialize", "from_config"]
