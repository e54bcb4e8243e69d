"""Metrics by name (Keras names; "accuracy" chosen by the loss) and as configs."""

from __future__ import annotations

from .base import Metric
from .accuracy import BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy
from .regression import MeanAbsoluteError, MeanSquaredError
from .confusion import F1Score, Precision, Recall
from .auc import AUC


# --------------------------------------------------------------------------- lookup, config
# Fixed registries: names and configs select from these, nothing is imported or evaluated.
_CLASSES = {cls.__name__: cls for cls in
            (BinaryAccuracy, SparseCategoricalAccuracy, Precision, Recall, F1Score, AUC,
             CategoricalAccuracy, MeanSquaredError, MeanAbsoluteError)}


_BY_NAME = {"binary_accuracy": BinaryAccuracy,
            "sparse_categorical_accuracy": SparseCategoricalAccuracy,
            "precision": Precision, "recall": Recall, "f1_score": F1Score, "auc": AUC,
            "categorical_accuracy": CategoricalAccuracy,
            "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
            "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError}

# Logged under the name asked for, as Keras logs metrics=["mae"] as "mae".
_NAMED = {"mse", "mae", "mean_squared_error", "mean_absolute_error"}


_NAMES = ("accuracy", "acc", *_BY_NAME)


def get(identifier, loss=None) -> Metric:
    """A metric for a Keras name or a Metric instance, reading outputs as `loss` does.

    "accuracy" (or "acc", which is also its logged name, as Keras) resolves from the loss:
    BinaryAccuracy for binary cross-entropy, SparseCategoricalAccuracy for sparse categorical
    cross-entropy, CategoricalAccuracy for categorical cross-entropy. With a loss, metrics whose from_logits is None read logits when
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
        elif loss_name == "categorical_crossentropy":
            metric = CategoricalAccuracy(name=identifier)
        else:
            raise ValueError(f"Metric {identifier!r} is chosen by the loss (binary, categorical or sparse "
                             f"categorical cross-entropy); received loss={loss!r}. Use "
                             "'binary_accuracy' or 'sparse_categorical_accuracy' instead.")
    elif isinstance(identifier, str) and identifier in _NAMED:
        metric = _BY_NAME[identifier](name=identifier)
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
