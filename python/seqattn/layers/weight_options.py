"""Keras's per-weight arguments (`kernel_initializer`, `bias_regularizer`, ...) for any layer.

A layer class declares which weights take which arguments, once:

    class Dense(Layer):
        _weight_options = (WeightOption("kernel", "glorot_uniform"),
                           WeightOption("bias", "zeros"))

and draws each initial weight through its role, in the order of its C++ weights:

    def _initial_weights(self):
        return [self._draw("kernel", (C, U)), self._draw("bias", (U,))]

Layer.__init__ then accepts `kernel_initializer`, `kernel_regularizer`, `kernel_constraint`
(None only), ... (validated, errors naming the layer and the argument), sets them as the
attributes Keras has (`layer.kernel_initializer`, ...), get_config writes them as Keras does
({"class_name": ..., "config": ...}), and build() hands each drawn weight's regularizer
coefficients to its C++ Param, where the training step adds the penalty (cpp/graph.cpp).
A layer with several weights of one role (MultiHeadAttention's four kernels) draws each through
it. An unseeded default initializer draws from the global generator exactly as before.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import initializers, regularizers


class WeightOption(NamedTuple):
    role: str                    # "kernel": the weights drawn with self._draw("kernel", ...)
    default: str                 # the default initializer's Keras name
    initializer: str = ""        # argument names; "" means f"{role}_initializer", ...
    regularizer: str | None = ""  # None: the layer takes no such argument (keras-hub layers)
    constraint: str | None = ""

    def argument(self, kind):
        name = getattr(self, kind)
        return f"{self.role}_{kind}" if name == "" else name


def pop_arguments(cls, kwargs):
    """Removes the declared arguments (and Keras's `activity_regularizer`) from kwargs, before
    Layer.__init__ refuses unknown ones; `apply` validates them once the layer has a name."""
    taken = {}
    for option in getattr(cls, "_weight_options", ()):
        for kind in ("initializer", "regularizer", "constraint"):
            arg = option.argument(kind)
            if arg is not None and arg in kwargs:
                taken[arg] = kwargs.pop(arg)
    if "activity_regularizer" in kwargs:
        taken["activity_regularizer"] = kwargs.pop("activity_regularizer")
    return taken


def _interpret(layer, arg, value, get):
    try:
        return get(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): invalid `{arg}`: "
                         f"{e}") from None


def apply(layer, taken):
    """Validates the arguments and stores them: layer._initializers / _regularizers by role,
    and the Keras attribute of each argument."""
    if taken.get("activity_regularizer") is not None:
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): seqattn does not "
                         "implement `activity_regularizer` (a penalty on the layer's outputs); "
                         "use kernel_regularizer/bias_regularizer (penalties on weights). "
                         f"Received: activity_regularizer={taken['activity_regularizer']!r}")
    layer._initializers, layer._regularizers = {}, {}
    for option in getattr(type(layer), "_weight_options", ()):
        arg = option.argument("initializer")
        init = _interpret(layer, arg, taken.get(arg, option.default), initializers.get)
        if init is None:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): `{arg}` cannot "
                             "be None; pass an initializer name, object or callable.")
        layer._initializers[option.role] = init
        setattr(layer, arg, init)
        arg = option.argument("regularizer")
        if arg is not None:
            reg = _interpret(layer, arg, taken.get(arg), regularizers.get)
            layer._regularizers[option.role] = reg
            setattr(layer, arg, reg)
        arg = option.argument("constraint")
        if arg is not None:
            if taken.get(arg) is not None:
                raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): seqattn does "
                                 f"not implement weight constraints; `{arg}` can only be None. "
                                 f"Received: {arg}={taken[arg]!r}")
            setattr(layer, arg, None)


def draw(layer, role, shape):
    """The initial values of one weight of `role`, recorded so build() can regularize it."""
    init = layer._initializers[role]
    arg = next(o.argument("initializer") for o in type(layer)._weight_options if o.role == role)
    shape = tuple(int(d) for d in shape)
    try:
        value = init(shape, dtype="float32")
    except Exception as e:  # a user's callable: say which layer and argument called it
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): `{arg}` failed for "
                         f"shape {shape}: {type(e).__name__}: {e}") from None
    try:
        value = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        value = None
    if value is None or value.shape != shape:
        got = "a non-numeric value" if value is None else f"shape {value.shape}"
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): `{arg}` must return "
                         f"an array of shape {shape}; it returned {got}")
    if not np.isfinite(value).all():
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): `{arg}` returned "
                         f"non-finite values (NaN or inf) for shape {shape}")
    layer._drawn_roles.append(role)
    return value


def regularize(layer):
    """Gives each drawn weight's regularizer coefficients to its C++ Param (weights in the
    order they were drawn, which is the C++ layer's weight order)."""
    for i, role in enumerate(getattr(layer, "_drawn_roles", ())):
        reg = layer._regularizers.get(role)
        if reg is not None:
            l1, l2 = reg.coefficients()
            layer._core.set_regularization(i, l1, l2)


def config(layer):
    """The arguments as Keras's get_config writes them."""
    out = {}
    for option in getattr(type(layer), "_weight_options", ()):
        arg = option.argument("initializer")
        init = layer._initializers[option.role]
        out[arg] = initializers.serialize(init) if isinstance(init, initializers.Initializer) \
            else init  # a plain callable: saving refuses it with its own message
        for kind, store in (("regularizer", layer._regularizers), ("constraint", None)):
            arg = option.argument(kind)
            if arg is not None:
                out[arg] = regularizers.serialize(store.get(option.role)) if store else None
    return out
