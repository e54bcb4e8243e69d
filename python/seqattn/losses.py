"""Losses (Keras names and defaults), computed in C++ (forward and gradient).

Every loss averages over samples (Keras's "sum_over_batch_size"): per sample, the mean over
the last axis of an elementwise loss (binary cross-entropy, mean squared/absolute error,
Huber) or one cross-entropy per row of K classes, then the weighted mean over the batch. With
`from_logits=False` and a model whose last layer is `Dense(activation="softmax")` (or
"sigmoid" for binary), the cross-entropy is computed from that layer's logits: exact and never
inf, as Keras does on TensorFlow. Otherwise probabilities are clipped to [1e-7, 1 - 1e-7] (and
categorical rows divided by their sum first) as in Keras.

The classes' `__call__` returns the mean loss; the functions (`mean_squared_error(y_true,
y_pred)`, ...) return one loss per sample as Keras's do.
"""

from __future__ import annotations

from . import _validation as V


class Loss:
    _core_class = ""
    name = ""
    from_logits = False  # regression losses read the outputs themselves

    def _core_args(self) -> tuple:
        return (self.from_logits,)

    def _core(self):
        from . import _core
        return getattr(_core, self._core_class)(*self._core_args())

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The mean loss as a Python float (NumPy in, no gradient)."""
        value, _ = self._core()(y_true, y_pred, sample_weight)  # checked and cast in C++
        return value

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        return cls(**{k: v for k, v in config.items() if k != "name"})

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SparseCategoricalCrossentropy(Loss):
    """-log p[y] for integer labels y in [0, K) and predictions (B, K) (or (B, T, K) with
    labels (B, T))."""

    _core_class = "SparseCategoricalCrossentropy"
    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False):
        self.from_logits = V.boolean("from_logits", from_logits)


class _SmoothedCrossentropy(Loss):
    def __init__(self, from_logits=False, label_smoothing=0.0):
        self.from_logits = V.boolean("from_logits", from_logits)
        self.label_smoothing = V.number("label_smoothing", label_smoothing, low=0.0, high=1.0)

    def _core_args(self):
        return (self.from_logits, self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(_SmoothedCrossentropy):
    """-Σ_k y_k log p_k for target rows y (B, K) (one-hot or probabilities) and predictions
    (B, K) (or (B, T, K) with targets (B, T, K)). label_smoothing s: y' = y (1 - s) + s / K."""

    _core_class = "CategoricalCrossentropy"
    name = "categorical_crossentropy"
    _targets_like_outputs = True


class BinaryCrossentropy(_SmoothedCrossentropy):
    """-(y log p + (1 - y) log(1 - p)) for labels in [0, 1] and predictions (B, 1) or (B,).
    label_smoothing s: y' = y (1 - s) + s / 2."""

    _core_class = "BinaryCrossentropy"
    name = "binary_crossentropy"


class MeanSquaredError(Loss):
    """mean((y_pred - y_true)²) over the last axis, then over samples. Predictions (B,),
    (B, 1) or (B, K); float targets of the same shape ((B,) and (B, 1) match)."""

    _core_class = "MeanSquaredError"
    name = "mean_squared_error"
    _targets_like_outputs = True

    def _core_args(self):
        return ()

    def get_config(self):
        return {"name": self.name}


class MeanAbsoluteError(MeanSquaredError):
    """mean(|y_pred - y_true|) over the last axis, then over samples (gradient 0 where equal)."""

    _core_class = "MeanAbsoluteError"
    name = "mean_absolute_error"


class Huber(Loss):
    """With e = y_pred - y_true: e²/2 where |e| <= delta, else delta (|e| - delta/2); the mean
    over the last axis, then over samples. Keras's name for it is "huber_loss"."""

    _core_class = "Huber"
    name = "huber_loss"
    _targets_like_outputs = True

    def __init__(self, delta=1.0):
        self.delta = V.number("delta", delta, low=0.0, low_open=True)

    def _core_args(self):
        return (self.delta,)

    def get_config(self):
        return {"name": self.name, "delta": self.delta}


_BY_NAME = {"sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
            "binary_crossentropy": BinaryCrossentropy,
            "categorical_crossentropy": CategoricalCrossentropy,
            "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
            "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
            "huber": Huber, "huber_loss": Huber}


# ----------------------------------------------------------------- Keras's loss functions
def _per_sample(loss, y_true, y_pred):
    return loss._core().sample_losses(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """One loss per sample, shape y_pred.shape[:-1]."""
    return _per_sample(SparseCategoricalCrossentropy(from_logits), y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """One loss per sample, shape y_pred.shape[:-1]."""
    return _per_sample(CategoricalCrossentropy(from_logits, label_smoothing), y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """One loss per sample (the mean over the last axis), shape y_pred.shape[:-1]."""
    return _per_sample(BinaryCrossentropy(from_logits, label_smoothing), y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    """One loss per sample (the mean over the last axis), shape y_pred.shape[:-1]."""
    return _per_sample(MeanSquaredError(), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """One loss per sample (the mean over the last axis), shape y_pred.shape[:-1]."""
    return _per_sample(MeanAbsoluteError(), y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """One loss per sample (the mean over the last axis), shape y_pred.shape[:-1]."""
    return _per_sample(Huber(delta), y_true, y_pred)


mse = mean_squared_error
mae = mean_absolute_error

# compile(loss=seqattn.losses.mse) as Keras takes its functions: the loss with default settings.
_BY_FUNCTION = {sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
                categorical_crossentropy: CategoricalCrossentropy,
                binary_crossentropy: BinaryCrossentropy, mean_squared_error: MeanSquaredError,
                mean_absolute_error: MeanAbsoluteError, huber: Huber}


def get(identifier) -> Loss:
    """A loss object from a name, one of this module's functions, or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if callable(identifier) and not isinstance(identifier, type) and identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    raise ValueError(f"Unknown loss {identifier!r}. Valid names: " + ", ".join(sorted(_BY_NAME))
                     + " (or pass a seqattn.losses object).")


def from_config(config) -> Loss:
    """A loss from get_config()'s dict (its "name" picks the class)."""
    name = config.get("name") if isinstance(config, dict) else None
    if name not in _BY_NAME:
        raise ValueError(f"Unknown loss config {config!r}; its 'name' must be one of "
                         + ", ".join(sorted(_BY_NAME)) + ".")
    return _BY_NAME[name].from_config(config)


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from ._keras_names import missing as _missing
    raise _missing("losses", name, globals())
