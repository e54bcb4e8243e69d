"""Keras 3 initializers: classes, their lowercase aliases, `get`, `serialize`, `deserialize`.

    layers.Dense(64, kernel_initializer="he_normal")
    layers.Dense(64, kernel_initializer=initializers.RandomNormal(stddev=0.02, seed=1))
    layers.Dense(64, kernel_initializer=lambda shape, dtype=None: np.full(shape, 0.1))

Every initializer returns a float32 NumPy array of the requested shape. Unseeded ones draw
from seqattn's global generator (`seqattn.utils.set_random_seed`); seeded ones from their own.
"""

from __future__ import annotations

from .._config_object import deserialize_object, serialize_object
from .constant import Constant, Identity, Initializer, Ones, Zeros, compute_fans
from .random import (GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal,
                     LecunUniform, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
                     VarianceScaling)

_CLASSES = {c.__name__: c for c in (
    Constant, Identity, Ones, Zeros, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
    LecunNormal, LecunUniform, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling)}

# Keras 3's lowercase aliases (keras.initializers.glorot_uniform is the class GlorotUniform).
constant, identity, ones, zeros = Constant, Identity, Ones, Zeros
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, \
    HeUniform
lecun_normal, lecun_uniform, orthogonal = LecunNormal, LecunUniform, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling = VarianceScaling
normal, uniform = RandomNormal, RandomUniform

_ALIASES = {
    "constant": Constant, "identity": Identity, "ones": Ones, "zeros": Zeros,
    "glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "normal": RandomNormal, "uniform": RandomUniform,
}

__all__ = ["Initializer", "compute_fans", "get", "serialize", "deserialize", *_CLASSES,
           *_ALIASES]


def serialize(initializer):
    """Keras's form: {"class_name": ..., "config": {...}} (None stays None). A plain callable
    cannot be written to a file, so it raises."""
    return serialize_object(initializer, "initializer", "keras.initializers", _CLASSES,
                            f"seqattn/Keras initializers ({', '.join(sorted(_CLASSES))})")


def deserialize(config):
    return deserialize_object(config, "initializer", _CLASSES, _ALIASES,
                              ", ".join(sorted(_CLASSES)))


def get(identifier):
    """Keras `initializers.get`: a name ("glorot_uniform", "GlorotUniform"), a config dict,
    an Initializer, or any callable `f(shape, dtype=None)` returning an array of that shape.
    None gives None."""
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier) or _CLASSES.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                             "Valid names: " + ", ".join(sorted(_ALIASES)) + ".")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r} (expected a "
                     "name, a config dict, an Initializer or a callable(shape, dtype=None)).")


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from .._keras_names import missing as _missing
    raise _missing("initializers", name, globals())
