"""Keras 3 weight regularizers: L1, L2, L1L2 (aliases l1, l2, l1_l2), `get`, `serialize`.

    layers.Dense(64, kernel_regularizer=regularizers.L2(1e-4))   # or "l2" (l2=0.01)

A regularized weight w adds l1·Σ|w| + l2·Σw² to the loss (Keras: no factor 1/2), in fit's
reported loss and in evaluate's, as Keras adds the layers' losses to the total loss. The
penalty and its gradient l1·sign(w) + 2·l2·w are computed in C++ inside the training step
(cpp/graph.cpp Graph::regularize): this module only carries the coefficients.
"""

from __future__ import annotations

import math
import numbers

from ._config_object import ConfigObject, deserialize_object, serialize_object


def _coefficient(name, value, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: `{name}` must be a non-negative finite number; received "
                         f"{name}={value!r}")
    return float(value)


class Regularizer(ConfigObject):
    """Base class. Subclasses are the L1L2 family: `coefficients()` gives (l1, l2)."""

    def coefficients(self):  # pragma: no cover - every regularizer overrides it
        raise NotImplementedError

    def __call__(self, x):
        """The penalty of an array, in float64 (the training step computes it in C++)."""
        import numpy as np
        x = np.asarray(x, np.float64)
        l1, l2 = self.coefficients()
        return l1 * float(np.abs(x).sum()) + l2 * float(np.square(x).sum())


class L1(Regularizer):
    """l1 · Σ|w| (Keras `L1`, alias "l1")."""

    def __init__(self, l1=0.01):
        self.l1 = _coefficient("l1", l1, "L1")

    def coefficients(self):
        return self.l1, 0.0

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """l2 · Σw² (Keras `L2`, alias "l2"; no factor 1/2, unlike weight decay conventions)."""

    def __init__(self, l2=0.01):
        self.l2 = _coefficient("l2", l2, "L2")

    def coefficients(self):
        return 0.0, self.l2

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """l1 · Σ|w| + l2 · Σw² (Keras 3 `L1L2`, alias "l1_l2": both default to 0, unlike
    Keras 2's l1_l2 function, whose defaults were 0.01). None counts as 0, as in Keras."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _coefficient("l1", 0.0 if l1 is None else l1, "L1L2")
        self.l2 = _coefficient("l2", 0.0 if l2 is None else l2, "L1L2")

    def coefficients(self):
        return self.l1, self.l2

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras 3's lowercase aliases of the classes

_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_ALIASES = {"l1": L1, "l2": L2, "l1_l2": l1_l2}

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def serialize(regularizer):
    return serialize_object(regularizer, "regularizer", "keras.regularizers", _CLASSES,
                            "L1, L2 and L1L2")


def deserialize(config):
    return deserialize_object(config, "regularizer", _CLASSES, _ALIASES, "L1, L2, L1L2.")


def get(identifier):
    """Keras `regularizers.get`: "l1", "l2" (coefficient 0.01), "l1_l2" (both 0),
    "L1"/"L2"/"L1L2", a config dict or a Regularizer; None gives None. seqattn computes
    penalties in C++, so arbitrary callables are refused (a ValueError says so)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        make = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if make is None:
            raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}. "
                             "Valid names: l1, l2, l1_l2, L1, L2, L1L2.")
        return make()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}: seqattn "
                     "computes weight penalties in C++ inside the training step, so it takes "
                     "L1, L2 or L1L2 (or their names / configs), not arbitrary callables.")


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from ._keras_names import missing as _missing
    raise _missing("regularizers", name, globals())
