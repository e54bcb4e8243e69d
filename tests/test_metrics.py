"""Streaming metrics against an independent float64 NumPy reference (sklearn-style formulas,
the rank-based ROC AUC, explicit threshold comparisons), Keras parity when keras is present,
and Model.evaluate end to end."""

import json
import os

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn import metrics as M
from seqattn.losses import BinaryCrossentropy, SparseCategoricalCrossentropy

TIGHT = dict(rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- reference
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _div(a, b):
    return a / b if b > 0 else 0.0


def ref_counts(actual, predicted, w):
    """Weighted TP, FP, FN of boolean (B,) arrays."""
    return (np.sum(w * (actual & predicted)), np.sum(w * (~actual & predicted)),
            np.sum(w * (actual & ~predicted)))


def ref_precision(actual, predicted, w):
    tp, fp, _ = ref_counts(actual, predicted, w)
    return _div(tp, tp + fp)


def ref_recall(actual, predicted, w):
    tp, _, fn = ref_counts(actual, predicted, w)
    return _div(tp, tp + fn)


def ref_f1(labels, predicted, w, average):
    """sklearn-style F1 of sparse labels (B,) against boolean decisions (B, K)."""
    k = predicted.shape[1]
    actual = np.stack([labels == c for c in range(k)], axis=1) if k > 1 else (labels == 1)[:, None]
    per_class, support = [], []
    for c in range(k):
        p = ref_precision(actual[:, c], predicted[:, c], w)
        r = ref_recall(actual[:, c], predicted[:, c], w)
        per_class.append(_div(2 * p * r, p + r))
        support.append(np.sum(w * actual[:, c]))
    per_class, support = np.array(per_class), np.array(support)
    if average == "micro":
        p = ref_precision(actual.ravel(), predicted.ravel(), np.repeat(w, k))
        r = ref_recall(actual.ravel(), predicted.ravel(), np.repeat(w, k))
        return _div(2 * p * r, p + r)
    if average == "macro":
        return per_class.mean()
    if average == "weighted":
        return _div(np.sum(per_class * support), support.sum())
    return per_class[-1]


def ref_roc_auc_exact(actual, scores):
    """Mann-Whitney: P(score of a positive > score of a negative), ties counting 1/2, from
    average ranks."""
    n = len(scores)
    ranks = np.empty(n)
    ranks[np.argsort(scores, kind="mergesort")] = np.arange(1, n + 1)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]
    n_pos, n_neg = actual.sum(), (~actual).sum()
    return (ranks[actual].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def ref_thresholds(num_thresholds):
    n = num_thresholds
    return np.concatenate([[-1e-7], np.arange(1, n - 1) / (n - 1), [1 + 1e-7]])


def ref_curve_counts(actual, p, w, thresholds):
    """TP, FP, TN, FN (N,) by comparing every probability with every threshold: p > t."""
    predicted = np.clip(p, 0, 1)[None, :] > thresholds[:, None]  # (N, B)
    tp = (predicted & actual).astype(float) @ w
    fp = (predicted & ~actual).astype(float) @ w
    return tp, fp, np.sum(w * ~actual) - fp, np.sum(w * actual) - tp


def ref_auc(actual, p, w, num_thresholds=200, curve="ROC", method="interpolation"):
    tp, fp, tn, fn = ref_curve_counts(actual, p, w, ref_thresholds(num_thresholds))
    rate = lambda a, b: np.array([_div(x, y) for x, y in zip(a, b)])  # noqa: E731
    if curve == "PR" and method == "interpolation":
        return ref_pr_auc_quadrature(tp, fp, tp[0] + fn[0])
    x, y = (rate(fp, fp + tn), rate(tp, tp + fn)) if curve == "ROC" else \
        (rate(tp, tp + fn), rate(tp, tp + fp))
    area = 0.0
    for i in range(len(x) - 1):
        h = {"interpolation": (y[i] + y[i + 1]) / 2, "minoring": min(y[i], y[i + 1]),
             "majoring": max(y[i], y[i + 1])}[method]
        area += (x[i] - x[i + 1]) * h
    return area


def ref_pr_auc_quadrature(tp, fp, positives, points=4000):
    """Area under precision vs recall with TP and P = TP + FP linear between thresholds
    (Davis & Goadrich), integrated numerically: with P = e^v, precision d(recall) =
    (TP / P) (dTP / dP) dP / positives = TP(P) s dv / positives, smooth in v."""
    if positives == 0:
        return 0.0
    p = tp + fp
    area = 0.0
    for i in range(len(tp) - 1):
        d_tp, d_p = tp[i] - tp[i + 1], p[i] - p[i + 1]
        if d_p <= 0:
            continue
        s = d_tp / d_p
        if p[i + 1] == 0:  # precision is constant, s, over the first interval with positives
            area += s * d_tp / positives
            continue
        v_lo, v_hi = np.log(p[i + 1]), np.log(p[i])
        h = (v_hi - v_lo) / points
        v = v_lo + h * (np.arange(points) + 0.5)
        area += np.sum(tp[i + 1] + s * (np.exp(v) - p[i + 1])) * s * h / positives
    return area


# --------------------------------------------------------------------------- data
def binary_data(seed=0, n=400):
    """Labels (B,), logits (B,), probabilities (B,) that depend on the labels."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.float32)
    z = 1.2 * (2 * y - 1) + rng.normal(0, 1.5, n)
    return y, z, _sigmoid(z)


def multiclass_data(seed=0, n=400, k=4):
    """Labels (B,), logits (B, K), probabilities (B, K)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n).astype(np.float32)
    z = 1.5 * np.eye(k)[y.astype(int)] + rng.normal(0, 1.2, (n, k))
    return y, z, _softmax(z)


def weights(seed=0, n=400):
    return np.random.default_rng(seed + 100).random(n) * 2


def in_batches(metric, y, p, w=None, splits=(0, 37, 38, 200, 200, 311)):
    """Streams (y, p, w) through `metric` in uneven batches (one of size 1, one empty)."""
    bounds = [*splits, len(y)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        metric.update_state(y[a:b], p[a:b], None if w is None else w[a:b])
    return metric.result()


# --------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_accuracy_matches_reference(threshold):
    y, z, p = binary_data()
    w = weights()
    expected = np.sum(w * ((p > threshold) == (y == 1))) / w.sum()
    assert in_batches(M.BinaryAccuracy(threshold=threshold), y, p[:, None], w) == \
        pytest.approx(expected, **TIGHT)
    assert in_batches(M.BinaryAccuracy(threshold=threshold, from_logits=True), y, z, w) == \
        pytest.approx(expected, **TIGHT)


def test_sparse_categorical_accuracy_matches_reference():
    y, z, p = multiclass_data()
    w = weights()
    expected = np.sum(w * (p.argmax(1) == y)) / w.sum()
    assert in_batches(M.SparseCategoricalAccuracy(), y, p, w) == pytest.approx(expected, **TIGHT)
    assert in_batches(M.SparseCategoricalAccuracy(), y[:, None], z) == \
        pytest.approx(np.mean(p.argmax(1) == y), **TIGHT)


# --------------------------------------------------------------------------- precision/recall
@pytest.mark.parametrize("cls, ref", [(M.Precision, ref_precision), (M.Recall, ref_recall)])
@pytest.mark.parametrize("threshold", [None, 0.3, 0.8, 0.0, 1.0])
def test_precision_recall_binary_match_reference(cls, ref, threshold):
    y, z, p = binary_data()
    w = weights()
    t = 0.5 if threshold is None else threshold
    actual = y == 1
    assert in_batches(cls(thresholds=threshold), y, p) == \
        pytest.approx(ref(actual, p > t, np.ones_like(p)), **TIGHT)
    assert in_batches(cls(thresholds=threshold), y[:, None], p[:, None], w) == \
        pytest.approx(ref(actual, p > t, w), **TIGHT)
    # Logits give the same decisions: sigmoid(z) > t is z > logit(t).
    assert in_batches(cls(thresholds=threshold, from_logits=True), y, z, w) == \
        pytest.approx(ref(actual, p > t, w), **TIGHT)


@pytest.mark.parametrize("cls, ref", [(M.Precision, ref_precision), (M.Recall, ref_recall)])
@pytest.mark.parametrize("class_id, threshold", [(0, None), (2, 0.3), (3, 0.6)])
def test_precision_recall_class_id_match_reference(cls, ref, class_id, threshold):
    y, z, p = multiclass_data()
    w = weights()
    t = 0.5 if threshold is None else threshold
    expected = ref(y == class_id, p[:, class_id] > t, w)
    assert 0 < expected < 1
    assert in_batches(cls(threshold, class_id), y, p, w) == pytest.approx(expected, **TIGHT)
    assert in_batches(cls(threshold, class_id, from_logits=True), y, z, w) == \
        pytest.approx(expected, **TIGHT)


@pytest.mark.parametrize("cls", [M.Precision, M.Recall, M.AUC, M.F1Score])
def test_two_class_output_scores_class_1_like_a_binary_output(cls):
    y, z, p = binary_data()
    z2 = np.stack([np.zeros_like(z), z], axis=1)  # softmax(z2)[:, 1] = sigmoid(z)
    p2 = _softmax(z2)
    w = weights()
    binary = in_batches(cls(), y, p, w)
    assert 0 < binary < 1
    assert in_batches(cls(), y, p2, w) == pytest.approx(binary, rel=1e-10)
    assert in_batches(cls(from_logits=True), y, z2, w) == pytest.approx(binary, rel=1e-10)


# --------------------------------------------------------------------------- F1
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_f1_binary_matches_reference(average, threshold):
    y, z, p = binary_data()
    w = weights()
    t = 0.5 if threshold is None else threshold
    expected = ref_f1(y, (p > t)[:, None], w, None)  # one column: every average is its F1
    assert 0 < expected < 1
    assert in_batches(M.F1Score(average, threshold), y, p[:, None], w) == \
        pytest.approx(expected, **TIGHT)
    assert in_batches(M.F1Score(average, threshold, from_logits=True), y, z, w) == \
        pytest.approx(expected, **TIGHT)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_f1_multiclass_matches_reference(average, threshold):
    y, z, p = multiclass_data()
    w = weights()
    k = p.shape[1]
    predicted = (p.argmax(1)[:, None] == np.arange(k)) if threshold is None else p > threshold
    expected = ref_f1(y, predicted, w, average)
    assert 0 < expected < 1
    assert in_batches(M.F1Score(average, threshold), y, p, w) == pytest.approx(expected, **TIGHT)
    assert in_batches(M.F1Score(average, threshold, from_logits=True), y, z, w) == \
        pytest.approx(expected, **TIGHT)
    if threshold is None and average == "micro":  # one decision per sample: micro F1 = accuracy
        assert expected == pytest.approx(np.sum(w * (p.argmax(1) == y)) / w.sum(), **TIGHT)


def test_f1_averages_differ_on_imbalanced_classes():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 2])
    p = np.eye(3)[[0, 0, 0, 0, 0, 1, 1, 0]]  # class 2 never predicted
    f1 = [M.F1Score(a)(y, p) for a in ("micro", "macro", "weighted")]
    # class 0: TP 5, FP 1, FN 1 -> 5/6; class 1: TP 1, FP 1 -> 2/3; class 2: 0.
    # supports 6, 1, 1; summed TP 6, FP 2, FN 2.
    assert f1 == pytest.approx([6 / 8, (5 / 6 + 2 / 3) / 3, (6 * 5 / 6 + 2 / 3) / 8], **TIGHT)


# --------------------------------------------------------------------------- AUC
def test_auc_roc_close_to_exact_and_equal_to_trapezoid_at_its_thresholds():
    y, z, p = binary_data(n=2000)
    actual = y == 1
    auc = in_batches(M.AUC(), y, p)
    assert auc == pytest.approx(ref_roc_auc_exact(actual, p), abs=1e-2)
    assert auc == pytest.approx(ref_auc(actual, p, np.ones_like(p)), abs=1e-6)
    assert in_batches(M.AUC(from_logits=True), y, z) == pytest.approx(auc, abs=1e-12)
    assert M.AUC(num_thresholds=2000)(y, p) == pytest.approx(ref_roc_auc_exact(actual, p),
                                                              abs=1e-3)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
@pytest.mark.parametrize("num_thresholds", [200, 37, 2])
def test_auc_matches_reference_at_thresholds(curve, method, num_thresholds):
    y, z, p = binary_data()
    w = weights()
    expected = ref_auc(y == 1, p, w, num_thresholds, curve, method)
    metric = M.AUC(num_thresholds, curve, method)
    assert in_batches(metric, y, p[:, None], w) == pytest.approx(expected, abs=1e-6)
    assert len(metric.thresholds) == num_thresholds
    np.testing.assert_allclose(metric.thresholds, ref_thresholds(num_thresholds), rtol=1e-15)
    assert in_batches(M.AUC(num_thresholds, curve, method, from_logits=True), y, z, w) == \
        pytest.approx(expected, abs=1e-6)


def test_auc_keras_docstring_example_and_probability_edges():
    assert M.AUC(num_thresholds=3)([0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == pytest.approx(0.75)
    m = M.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert m.result() == pytest.approx(1.0)
    # p = 0 counts as above t_0 = -eps, p = 1 as below t_{N-1} = 1 + eps, values outside
    # [0, 1] are clipped: one positive at 1 and one negative at 0 separate perfectly.
    m = M.AUC(num_thresholds=5)
    m.update_state([1, 0, 1, 0], [1.0, 0.0, 3.0, -2.0])
    np.testing.assert_array_equal(m.true_positives, [2, 2, 2, 2, 0])
    np.testing.assert_array_equal(m.false_positives, [2, 0, 0, 0, 0])
    assert m.result() == 1.0


# --------------------------------------------------------------------------- stream, weights
def _cases():
    """(metric factory, kind) pairs covering every metric and output kind."""
    return [
        (lambda: M.BinaryAccuracy(), "binary"),
        (lambda: M.Precision(thresholds=0.3), "binary"),
        (lambda: M.Recall(), "binary"),
        (lambda: M.F1Score(), "binary"),
        (lambda: M.AUC(), "binary"),
        (lambda: M.AUC(curve="PR"), "binary"),
        (lambda: M.SparseCategoricalAccuracy(), "multiclass"),
        (lambda: M.Precision(class_id=1), "multiclass"),
        (lambda: M.Recall(class_id=3, thresholds=0.2), "multiclass"),
        (lambda: M.F1Score("macro"), "multiclass"),
        (lambda: M.F1Score("weighted", threshold=0.25), "multiclass"),
    ]


def _data(kind, seed=0):
    y, _, p = binary_data(seed) if kind == "binary" else multiclass_data(seed)
    return y, (p[:, None] if kind == "binary" else p)


@pytest.mark.parametrize("make, kind", _cases())
def test_streaming_equals_one_shot_and_reset_state(make, kind):
    y, p = _data(kind)
    w = weights()
    one_shot = make()
    one_shot.update_state(y, p, w)
    streamed = make()
    assert in_batches(streamed, y, p, w) == pytest.approx(one_shot.result(), **TIGHT)
    assert 0 < one_shot.result() < 1
    # reset_state forgets everything: other data afterwards gives that data's result.
    y2, p2 = _data(kind, seed=5)
    fresh = make()
    fresh.update_state(y2, p2)
    streamed.reset_state()
    assert streamed.result() == 0.0
    streamed.update_state(y2, p2)
    assert streamed.result() == pytest.approx(fresh.result(), **TIGHT)


@pytest.mark.parametrize("make, kind", _cases())
def test_integer_weights_equal_repeated_samples(make, kind):
    y, p = _data(kind)
    w = np.random.default_rng(3).integers(0, 4, len(y))  # 0 drops a sample, 3 triples it
    weighted = make()
    weighted.update_state(y, p, w)
    repeated = make()
    repeated.update_state(np.repeat(y, w), np.repeat(p, w, axis=0))
    assert weighted.result() == pytest.approx(repeated.result(), **TIGHT)
    scalar = make()
    scalar.update_state(y, p, sample_weight=2.5)
    unweighted = make()
    unweighted.update_state(y, p)
    assert scalar.result() == pytest.approx(unweighted.result(), **TIGHT)
    column = make()
    column.update_state(y, p, w[:, None].astype(np.float32))
    assert column.result() == pytest.approx(weighted.result(), **TIGHT)


@pytest.mark.parametrize("make, kind", _cases())
def test_logits_and_probabilities_give_the_same_result(make, kind):
    y, z, p = binary_data() if kind == "binary" else multiclass_data()
    probs, logits = make(), make()
    probs.update_state(y, p if p.ndim == 2 else p[:, None])
    logits._bind_loss(BinaryCrossentropy(from_logits=True))  # what get(m, loss) does
    logits.update_state(y, z if z.ndim == 2 else z[:, None])
    assert logits.result() == pytest.approx(probs.result(), **TIGHT)


# --------------------------------------------------------------------------- edge cases
@pytest.mark.parametrize("make, kind", _cases())
def test_empty_metric_is_zero(make, kind):
    metric = make()
    assert metric.result() == 0.0
    k = 1 if kind == "binary" else 4
    metric.update_state(np.zeros(0), np.zeros((0, k)))
    assert metric.result() == 0.0
    metric.update_state([1], np.full((1, k), 0.9), sample_weight=[0.0])
    assert metric.result() == 0.0


def test_no_positive_labels_give_zero():
    y = np.zeros(6)
    p = np.array([0.1, 0.7, 0.9, 0.2, 0.6, 0.3])
    for metric in (M.Precision(), M.Recall(), M.F1Score(), M.AUC(), M.AUC(curve="PR")):
        assert metric(y, p) == 0.0, metric
    assert M.BinaryAccuracy()(y, p) == pytest.approx(0.5)


def test_one_class_only():
    y = np.ones(5)
    p = np.array([0.1, 0.7, 0.9, 0.2, 0.6])
    assert M.Precision()(y, p) == 1.0
    assert M.Recall()(y, p) == pytest.approx(3 / 5)
    assert M.F1Score()(y, p) == pytest.approx(2 * 0.6 / 1.6)
    assert M.AUC()(y, p) == 0.0  # no negatives: the false-positive rate is 0 everywhere (Keras)
    assert M.AUC(curve="PR")(y, p) == pytest.approx(1.0)
    assert M.Precision()(y, np.full(5, 0.2)) == 0.0  # nothing predicted positive
    perfect = M.F1Score("macro")
    assert perfect([0, 1, 2], np.eye(3)) == 1.0


# --------------------------------------------------------------------------- get()
def test_get_resolves_names_from_the_loss():
    bce, scce = BinaryCrossentropy(), SparseCategoricalCrossentropy()
    acc = M.get("accuracy", bce)
    assert type(acc) is M.BinaryAccuracy and acc.name == "accuracy"
    acc = M.get("acc", scce)
    assert type(acc) is M.SparseCategoricalAccuracy and acc.name == "acc"
    expected = {"binary_accuracy": M.BinaryAccuracy,
                "sparse_categorical_accuracy": M.SparseCategoricalAccuracy,
                "precision": M.Precision, "recall": M.Recall, "f1_score": M.F1Score,
                "auc": M.AUC}
    for name, cls in expected.items():
        metric = M.get(name, bce)
        assert type(metric) is cls and metric.name == name
    with pytest.raises(ValueError, match="chosen by the loss"):
        M.get("accuracy")


@pytest.mark.parametrize("bad", ["f1", "Accuracy", "", 3, None, M.AUC])
def test_get_unknown_names_list_the_valid_ones(bad):
    with pytest.raises(ValueError, match=r"Unknown metric .*Valid names: accuracy, acc, "
                                         r"binary_accuracy, .*f1_score, auc"):
        M.get(bad, BinaryCrossentropy())


def test_get_binds_from_logits_of_the_loss():
    y, z, p = binary_data()
    logits_loss = BinaryCrossentropy(from_logits=True)
    for name in ("accuracy", "precision", "recall", "f1_score", "auc"):
        from_probs = M.get(name, BinaryCrossentropy())
        from_logits = M.get(name, logits_loss)
        assert from_logits(y, z) == pytest.approx(from_probs(y, p), **TIGHT), name
    instance = M.AUC()
    assert M.get(instance, logits_loss) is instance
    assert instance(y, z) == pytest.approx(M.AUC()(y, p), **TIGHT)
    explicit = M.get(M.Precision(from_logits=False), logits_loss)  # an explicit value wins
    assert explicit(y, p) == pytest.approx(M.Precision()(y, p), **TIGHT)
    scce_logits = SparseCategoricalCrossentropy(from_logits=True)
    z2 = np.stack([np.zeros_like(z), z], axis=1)  # (B, 2) softmax logits, column 1 = class 1
    for name in ("accuracy", "precision", "recall", "f1_score", "auc"):
        from_probs = M.get(name, SparseCategoricalCrossentropy())
        from_logits = M.get(name, scce_logits)
        assert from_logits(y, z2) == pytest.approx(from_probs(y, _softmax(z2)), **TIGHT), name
    ym, zm, pm = multiclass_data()
    macro = M.get(M.F1Score("macro", threshold=0.3), scce_logits)  # softmax, then threshold
    assert macro(ym, zm) == pytest.approx(M.F1Score("macro", 0.3)(ym, pm), **TIGHT)


def test_update_is_an_alias_of_update_state():
    y, _, p = binary_data()
    a, b = M.AUC(), M.AUC()
    a.update(y, p)
    b.update_state(y, p)
    assert a.result() == b.result() and a.result() > 0.5


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("metric, y_pred, match", [
    (M.AUC(), np.full((6, 3), 1 / 3),
     r"AUC metric 'auc' scores one class, but y_pred of shape \(6, 3\) has K = 3 classes: "
     r"AUC needs a binary output, y_pred of shape \(B, 1\), or \(B, 2\)"),
    (M.Precision(), np.full((6, 3), 1 / 3),
     r"Precision metric 'precision' scores one class.*\(6, 3\).*pass class_id=c"),
    (M.Recall(class_id=3), np.full((6, 3), 1 / 3),
     r"Recall metric 'recall': class_id=3 is out of range .*\(6, 3\); expected class_id in "
     r"\[0, 3\)"),
    (M.Recall(class_id=0), np.full((6, 1), 0.5), r"class_id=0 selects a column .*leave "
                                                 r"class_id=None"),
    (M.F1Score(), np.full((6, 3), 1 / 3), r"F1Score metric 'f1_score': average=None .*K = 3 "
                                          r"classes: use average='macro'"),
    (M.BinaryAccuracy(), np.full((6, 3), 1 / 3), r"BinaryAccuracy metric 'binary_accuracy': "
                                                 r"expected a binary output.*\(6, 3\)"),
    (M.SparseCategoricalAccuracy(), np.full(6, 0.5), r"expected class scores of shape "
                                                     r"\(B, K\); received y_pred of shape "
                                                     r"\(6,\)"),
    (M.AUC(), np.full((6, 1, 1), 0.5), r"expected labels of shape \(6, 1\) .*per position.* "
                                       r"\(6, 1, 1\); received y_true of shape \(6,\)"),
])
def test_incompatible_outputs_raise_on_first_data(metric, y_pred, match):
    with pytest.raises(ValueError, match=match):
        metric.update_state(np.zeros(6), y_pred)


def test_bad_labels_and_weights_raise():
    p = np.full((4, 1), 0.5)
    with pytest.raises(ValueError, match=r"expected labels of shape \(B,\) or \(B, 1\) with "
                                         r"B = 4.*not one-hot.*\(4, 3\)"):
        M.Precision(class_id=1).update_state(np.eye(3)[[0, 1, 2, 0]], np.full((4, 3), 0.3))
    with pytest.raises(ValueError, match=r"Precision metric 'precision' counts true and false "
                                         r"positives, which needs labels 0 or 1.*0.7 at index 2"):
        M.Precision().update_state([0, 1, 0.7, 1], p)
    with pytest.raises(ValueError, match=r"label 3.0 at index 1 is not a class id in \[0, 3\)"):
        M.SparseCategoricalAccuracy().update_state([0, 3, 1, 1], np.full((4, 3), 0.3))
    with pytest.raises(ValueError, match=r"label 0.5 at index 0 is not a class id"):
        M.F1Score("macro").update_state([0.5, 1, 1, 1], np.full((4, 3), 0.3))
    with pytest.raises(ValueError, match=r"labels must be finite; received nan at index 1"):
        M.BinaryAccuracy().update_state([0, np.nan, 1, 1], p)
    with pytest.raises(ValueError, match=r"sample weights must be finite and >= 0; received "
                                         r"-1.0 at index 3"):
        M.AUC().update_state([0, 1, 1, 1], p, sample_weight=[1, 1, 1, -1])
    with pytest.raises(ValueError, match=r"expected sample_weight as a scalar, \(B,\) or "
                                         r"\(B, 1\) with B = 4; received shape \(3,\)"):
        M.Recall().update_state([0, 1, 1, 1], p, sample_weight=[1, 1, 1])
    with pytest.raises(TypeError, match=r"`y_pred` must be a numeric array"):
        M.Recall().update_state([0, 1, 1, 1], ["a", "b", "c", "d"])
    f1 = M.F1Score("macro")
    f1.update_state([0, 1], np.eye(3)[:2])
    with pytest.raises(ValueError, match=r"expected predictions of shape \(B, 3\) as in "
                                         r"earlier batches; received \(2, 4\)"):
        f1.update_state([0, 1], np.eye(4)[:2])
    f1.reset_state()
    f1.update_state([0, 1], np.eye(4)[:2])
    assert f1.result() == pytest.approx(0.5)  # classes 2 and 3 have F1 0


@pytest.mark.parametrize("make, match", [
    (lambda v: M.Precision(thresholds=v), "`thresholds`"),
    (lambda v: M.Recall(thresholds=v), "`thresholds`"),
    (lambda v: M.BinaryAccuracy(threshold=v), "`threshold`"),
    (lambda v: M.F1Score(threshold=v), "`threshold`"),
])
@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True, [0.3, 0.6]])
def test_bad_thresholds_raise(make, match, bad):
    with pytest.raises(ValueError, match=match):
        make(bad)


@pytest.mark.parametrize("make, match", [
    (lambda: M.Precision(class_id=-1), "`class_id`"),
    (lambda: M.Recall(class_id=2.5), "`class_id`"),
    (lambda: M.Recall(class_id=True), "`class_id`"),
    (lambda: M.AUC(num_thresholds=1), "`num_thresholds`, expected an integer > 1"),
    (lambda: M.AUC(num_thresholds=2.5), "`num_thresholds`"),
    (lambda: M.AUC(num_thresholds=True), "`num_thresholds`"),
    (lambda: M.AUC(num_thresholds="200"), "`num_thresholds`"),
    (lambda: M.AUC(num_thresholds=None), "`num_thresholds`"),
    (lambda: M.AUC(curve="PRGAIN"), r"`curve`, expected one of \['ROC', 'roc', 'PR', 'pr'\]"),
    (lambda: M.AUC(summation_method="trapezoid"), "`summation_method`"),
    (lambda: M.F1Score(average="samples"), "`average`"),
    (lambda: M.F1Score(threshold=0.0), r"`threshold`, expected a number in \(0, 1\]"),
    (lambda: M.Precision(name=""), "`name` must be a non-empty string"),
    (lambda: M.AUC(name=3), "`name`"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_from_logits_raises_type_error():
    for cls in (M.BinaryAccuracy, M.Precision, M.Recall, M.F1Score, M.AUC):
        with pytest.raises(TypeError, match=f"{cls.__name__}: `from_logits` must be None"):
            cls(from_logits="yes")


# --------------------------------------------------------------------------- config
CONFIGURED = [
    M.BinaryAccuracy(name="acc", threshold=0.3, from_logits=True),
    M.SparseCategoricalAccuracy(name="sca"),
    M.Precision(thresholds=0.7, class_id=1, name="p1", from_logits=False),
    M.Recall(thresholds=[0.2]),
    M.F1Score(average="weighted", threshold=0.4, name="f1w"),
    M.AUC(num_thresholds=50, curve="PR", summation_method="majoring", name="prauc",
          from_logits=True),
]


@pytest.mark.parametrize("metric", CONFIGURED, ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    config = metric.get_config()
    assert config["class_name"] == type(metric).__name__
    loaded = json.loads(json.dumps(config))
    rebuilt = M.from_config(loaded)
    assert type(rebuilt) is type(metric) and rebuilt.get_config() == config
    assert M.deserialize(M.serialize(metric)).get_config() == config
    y, z, p = binary_data()
    pred = z if config.get("from_logits") else p
    if type(metric) is M.SparseCategoricalAccuracy or getattr(metric, "class_id", None):
        pred = np.stack([np.zeros_like(pred), pred], axis=1)  # (B, 2), class 1 = label 1
    assert rebuilt(y, pred) == metric(y, pred)


@pytest.mark.parametrize("config, error, match", [
    ({"class_name": "os.system"}, ValueError, r"Unknown metric class_name 'os.system'.*known: "
                                              r"BinaryAccuracy"),
    ({"name": "auc"}, ValueError, r"Unknown metric class_name None"),
    ({"class_name": "Metric"}, ValueError, r"Unknown metric class_name 'Metric'"),
    ({"class_name": "AUC", "config": {}}, ValueError, r"Config of AUC has unknown keys "
                                                      r"\['config'\]"),
    ({"class_name": "Precision", "thresholds": 2}, ValueError, r"`thresholds`"),
    ("AUC", TypeError, r"must be a dict"),
])
def test_from_config_rejects_bad_configs(config, error, match):
    with pytest.raises(error, match=match):
        M.from_config(config)


# --------------------------------------------------------------------------- keras parity
def test_matches_keras_metrics():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # read when keras is first imported
    keras = pytest.importorskip("keras")
    y, z, p = binary_data(seed=7, n=600)
    w = weights(seed=7, n=600).astype(np.float32)
    p32 = p.astype(np.float32)[:, None]
    yk = y[:, None]

    def keras_value(metric, y_true, y_pred, sample_weight=None):
        bounds = [0, 150, 151, 400, len(y_true)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            metric.update_state(y_true[a:b], y_pred[a:b],
                                None if sample_weight is None else sample_weight[a:b])
        value = np.asarray(metric.result()).reshape(-1)  # F1Score(average=None): (1,)
        assert value.size == 1
        return float(value[0])

    pairs = [
        (keras.metrics.BinaryAccuracy(threshold=0.3), M.BinaryAccuracy(threshold=0.3)),
        (keras.metrics.Precision(), M.Precision()),
        (keras.metrics.Precision(thresholds=0.3), M.Precision(thresholds=0.3)),
        (keras.metrics.Recall(thresholds=0.7), M.Recall(thresholds=0.7)),
        (keras.metrics.F1Score(threshold=0.5), M.F1Score()),
        (keras.metrics.F1Score(average="macro", threshold=0.35), M.F1Score("macro", 0.35)),
    ]
    for curve in ("ROC", "PR"):
        for method in ("interpolation", "minoring", "majoring"):
            for n in (200, 37):
                pairs.append((keras.metrics.AUC(n, curve, method), M.AUC(n, curve, method)))
    for sw in (None, w):
        for theirs, ours in pairs:
            ours.reset_state()
            expected = keras_value(theirs, yk, p32, sw)
            theirs.reset_state()
            assert in_batches(ours, y, p32, sw) == pytest.approx(expected, abs=1e-6), ours
            assert 0 < expected < 1

    ym, zm, pm = multiclass_data(seed=7, n=600)
    pm32 = pm.astype(np.float32)
    one_hot = np.eye(pm.shape[1], dtype=np.float32)[ym.astype(int)]
    pairs = [
        (keras.metrics.SparseCategoricalAccuracy(), M.SparseCategoricalAccuracy(), ym[:, None]),
        (keras.metrics.Precision(class_id=2), M.Precision(class_id=2), one_hot),
        (keras.metrics.Recall(class_id=0, thresholds=0.3),
         M.Recall(class_id=0, thresholds=0.3), one_hot),
    ] + [(keras.metrics.F1Score(average=a, threshold=t), M.F1Score(a, t), one_hot)
         for a in ("micro", "macro", "weighted") for t in (None, 0.3)]
    for theirs, ours, keras_labels in pairs:
        expected = keras_value(theirs, keras_labels, pm32, w)
        assert in_batches(ours, ym, pm32, w) == pytest.approx(expected, abs=1e-6), ours
        assert 0 < expected < 1

    # AUC from logits, as keras.metrics.AUC(from_logits=True).
    expected = keras_value(keras.metrics.AUC(from_logits=True), yk, z.astype(np.float32)[:, None])
    assert in_batches(M.AUC(from_logits=True), y, z) == pytest.approx(expected, abs=1e-6)


# --------------------------------------------------------------------------- end to end
def _tiny_model(units, activation):
    seqattn.utils.set_random_seed(3)
    return seqattn.Sequential([
        seqattn.Input(shape=(6,), dtype="int32"),
        layers.Embedding(30, 8, mask_zero=True),
        layers.GlobalAveragePooling1D(),
        layers.Dense(units, activation=activation),
    ])


def _tokens(n=150):
    rng = np.random.default_rng(11)
    x = rng.integers(1, 30, (n, 6))
    return x, rng


@pytest.mark.parametrize("from_logits", [False, True])
def test_evaluate_binary_metrics_match_reference_on_predict(from_logits):
    x, rng = _tokens()
    y = ((x.mean(axis=1) >= 15) ^ (rng.random(len(x)) < 0.15)).astype(np.float32)  # noisy
    model = _tiny_model(1, None if from_logits else "sigmoid")
    model.compile(optimizer=seqattn.optimizers.Adam(0.02),
                  loss=BinaryCrossentropy(from_logits=from_logits),
                  metrics=["accuracy", "precision", "recall", "auc"])
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    logs = model.evaluate(x, y, batch_size=32, return_dict=True, verbose=0)
    out = model.predict(x, batch_size=32, verbose=0).astype(np.float64)[:, 0]
    p = _sigmoid(out) if from_logits else out
    actual, ones = y == 1, np.ones(len(y))
    assert set(logs) == {"loss", "accuracy", "precision", "recall", "auc"}
    assert logs["accuracy"] == pytest.approx(np.mean((p > 0.5) == actual), abs=1e-6)
    assert logs["precision"] == pytest.approx(ref_precision(actual, p > 0.5, ones), abs=1e-6)
    assert logs["recall"] == pytest.approx(ref_recall(actual, p > 0.5, ones), abs=1e-6)
    assert logs["auc"] == pytest.approx(ref_auc(actual, p, ones), abs=1e-6)
    assert logs["auc"] == pytest.approx(ref_roc_auc_exact(actual, p), abs=1e-2)
    assert 0.5 < logs["auc"] < 1 and 0 < logs["precision"] < 1 and 0 < logs["recall"] < 1


def test_evaluate_multiclass_metrics_match_reference_on_predict():
    x, rng = _tokens()
    y = (x[:, 0] % 3).astype(np.float32)
    model = _tiny_model(3, "softmax")
    model.compile(optimizer=seqattn.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", M.F1Score(average="macro"), M.Precision(class_id=2)])
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    logs = model.evaluate(x, y, batch_size=32, return_dict=True, verbose=0)
    p = model.predict(x, batch_size=32, verbose=0).astype(np.float64)
    ones = np.ones(len(y))
    assert logs["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y), abs=1e-6)
    assert logs["f1_score"] == pytest.approx(
        ref_f1(y, p.argmax(1)[:, None] == np.arange(3), ones, "macro"), abs=1e-6)
    assert logs["precision"] == pytest.approx(ref_precision(y == 2, p[:, 2] > 0.5, ones),
                                              abs=1e-6)
