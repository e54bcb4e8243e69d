"""Custom layers, Keras style: a `Layer` subclass whose `call` composes seqattn layers and ops.

Called on symbolic tensors, `call` runs once (a trace): its sub-layers and ops add their nodes
to the model's graph, so the whole training step still runs in C++, and the custom layer owns
those nodes (one row in `summary()`, its weights are its sub-layers'). Called on arrays, `call`
runs eagerly: sub-layers compute in C++ and ops in NumPy, in inference mode.
"""

from __future__ import annotations

import inspect

import numpy as np

from .base import Layer, SymbolicTensor, is_symbolic
from .tracing import Trace, claim


def _flatten(value):
    if isinstance(value, (list, tuple)):
        return [y for v in value for y in _flatten(v)]
    if isinstance(value, dict):
        return [y for v in value.values() for y in _flatten(v)]
    return [value]


def _shape_of(value):
    """What Keras passes to build(): the first input's shape, or a list of shapes."""
    if isinstance(value, (list, tuple)):
        return [_shape_of(v) for v in value]
    if is_symbolic(value):
        return value.shape
    return (None,) + tuple(np.shape(value))[1:]


def _accepts(fn, name) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _keras_call_arguments(call, args, kwargs):
    """Keras fills `training` (and `mask`) when `call` names them and the caller did not:
    None here, since the C++ graph decides both at run time (fit trains, masks flow)."""
    try:
        params = list(inspect.signature(call).parameters.values())
    except (TypeError, ValueError):
        return kwargs
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:len(args)]
    filled = dict(kwargs)
    for name in ("training", "mask"):
        if any(p.name == name for p in params) and name not in kwargs and name not in positional:
            filled[name] = None
    return filled


def call_composite(layer, args, kwargs):
    if not args and not kwargs:
        raise TypeError(f"Layer '{layer.name}' was called without inputs.")
    if "training" in kwargs and not _accepts(layer.call, "training"):
        kwargs = {k: v for k, v in kwargs.items() if k != "training"}
    kwargs = _keras_call_arguments(layer.call, args, kwargs)
    first = args[0] if args else next(iter(kwargs.values()))
    values = _flatten(list(args) + list(kwargs.values()))
    if any(is_symbolic(v) for v in values):
        return _trace(layer, first, args, kwargs)
    if not layer.built:
        _build(layer, first)
    return layer.call(*args, **kwargs)


def _build(layer, first):
    if type(layer).build is not Layer.build:  # the user's build(input_shape), as Keras calls it
        layer.build(_shape_of(first))
    layer.built = True


def _trace(layer, first, args, kwargs):
    if not layer.built:
        _build(layer, first)
    with Trace() as trace:
        outputs = layer.call(*args, **kwargs)
    flat = _flatten(outputs)
    bad = [o for o in flat if not isinstance(o, SymbolicTensor)]
    if bad or not flat:
        raise TypeError(
            f"Layer '{layer.name}' ({type(layer).__name__}): `call` must return tensors computed "
            f"from its inputs by seqattn layers and seqattn.ops; it returned "
            f"{type(bad[0]).__name__ if bad else 'nothing'}. Math that no seqattn layer or op "
            "expresses cannot run in the C++ training step (see seqattn.ops for what can).")
    made = {id(n) for n in trace.nodes}
    for o in flat:
        if o.node is None or id(o.node) not in made:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}): `call` returned "
                             f"{o.name!r} unchanged; a custom layer must compute its output.")
    claim(trace.nodes, layer, args, kwargs, flat[0].node)
    return outputs


def set_composite_weights(layer, weights):
    if not layer.built:
        raise ValueError(f"Layer '{layer.name}' has no weights yet: call it on an input first.")
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"Layer '{layer.name}': set_weights expects a list of arrays, received "
                        f"{type(weights).__name__}")
    weights = list(weights)
    parts, start = [], 0
    for sub in layer._weight_layers():
        n = len(sub.get_weights())
        parts.append((sub, weights[start:start + n]))
        start += n
    if start != len(weights):
        raise ValueError(f"Layer '{layer.name}' expects {start} weight arrays, received "
                         f"{len(weights)}")
    for sub, part in parts:  # every array checked before any is copied in
        if part:
            sub._core.check_weights(part)
    for sub, part in parts:
        if part:
            sub.set_weights(part)


__all__ = ["Layer", "call_composite"]


def auto_config(layer) -> dict:
    """Keras 3's automatic config of a custom layer without get_config: the arguments its
    __init__ received (JSON data only: a model file holds no code)."""
    import json
    args, kwargs = layer.__dict__.get("_init_arguments", ((), {}))
    try:
        bound = inspect.signature(type(layer).__init__).bind(layer, *args, **kwargs)
    except TypeError:
        bound = None
    config = {}
    if bound is not None:
        for key, value in list(bound.arguments.items())[1:]:
            param = bound.signature.parameters[key]
            if param.kind == param.VAR_KEYWORD:
                config.update(value)
            elif param.kind != param.VAR_POSITIONAL:
                config[key] = value
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError):
        raise TypeError(
            f"Layer '{layer.name}' ({type(layer).__name__}) cannot be saved automatically: its "
            "__init__ arguments are not plain data. Define get_config() returning the "
            "arguments that rebuild it (and from_config if they need converting), as in "
            "Keras.") from None
    config["name"] = layer.name
    return config


def composite_from_config(cls, config):
    """cls(**config) for a custom layer, passing `name` only if its __init__ takes it (the
    keras.io layers call super().__init__() without one) and restoring it afterwards."""
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    name = config.get("name")
    kwargs = {k: v for k, v in config.items() if takes_any or k in params}
    layer = cls(**kwargs)
    if isinstance(name, str):
        layer.name = name
    return layer
