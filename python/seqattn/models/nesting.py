"""Models inside models, and models written as subclasses (Keras's three ways to make one).

- A model called on symbolic tensors replays its layer calls on them (as Keras calls a
  functional model): the caller's graph gets the same layers, so the weights are shared with
  the inner model, which keeps working on its own. The calls belong to the model (one row in
  `summary()`; its weights are its layers').
- A `Model` subclass with layers in `__init__` and a `call` is built from the first data it
  sees (or from `build(input_shape)`): one trace of `call` on an `Input` of that shape makes
  its graph, which then trains in C++ like any functional model.
"""

from __future__ import annotations

import numpy as np

from ..layers.base import SymbolicTensor, is_symbolic
from ..layers.tracing import Trace, claim, paused


def _remap(value, mapping):
    if isinstance(value, SymbolicTensor):
        return mapping[id(value)]
    if isinstance(value, (list, tuple)):
        return type(value)(_remap(v, mapping) for v in value)
    if isinstance(value, dict):
        return {k: _remap(v, mapping) for k, v in value.items()}
    return value


def call_on_tensors(model, x):
    """model(x) for symbolic x: the model's layer calls replayed on x."""
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    if not all(is_symbolic(t) for t in xs):
        raise TypeError(f"Model '{model.name}' received a mix of symbolic tensors and arrays.")
    if model.inputs is None:
        with paused():  # its own graph, from an Input shaped like x (not part of the caller's)
            model._build_symbolic(xs)
    if len(xs) != len(model.inputs):
        raise ValueError(f"Model '{model.name}' expects {len(model.inputs)} input(s), received "
                         f"{len(xs)}.")
    for t, inp in zip(xs, model.inputs):
        if tuple(t.shape[1:]) != tuple(inp.shape[1:]) and None not in inp.shape[1:]:
            raise ValueError(f"Model '{model.name}' expects input shape {inp.shape}, received "
                             f"{t.shape}.")
    mapping = {id(inp): t for inp, t in zip(model.inputs, xs)}
    with Trace() as trace:
        for owner, first, last in model._layer_calls():
            args, kwargs = ((first.owner_call.args, first.owner_call.kwargs)
                            if first.owner_call is not None else first.call_structure)
            out = owner(*_remap(args, mapping), **_remap(kwargs, mapping))
            outs = out if isinstance(out, tuple) else (out,)
            mapping[id(last.output)] = outs[0]
            for node in model._nodes:  # the attention-score output of this call, if any
                if node.layer.hidden and getattr(node.layer, "attention", None) is owner:
                    mapping[id(node.output)] = outs[1]
    outputs = [mapping[id(t)] for t in model.outputs]
    claim(trace.nodes, model, (x,), {}, outputs[0].node)
    return outputs[0] if model._single_output else outputs


def input_like(data, name_hint):
    """An Input for one array of the first data a deferred model sees."""
    from ..layers.input import Input
    try:
        arr = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"Model '{name_hint}' expects a rectangular array of samples; received "
                         f"ragged nested lists ({e}).") from None
    if arr.ndim < 2:
        raise ValueError(f"Model '{name_hint}' expects a batch of samples (rank >= 2), received "
                         f"an array of shape {arr.shape}.")
    dtype = "int32" if arr.dtype.kind in "iu" else "float32"
    return Input(shape=arr.shape[1:], dtype=dtype)


def trace_subclass(model, inputs):
    """Builds a subclassed model's graph from `inputs` (symbolic) by one call of `call`."""
    args = inputs if len(inputs) > 1 else inputs[:1]
    outputs = model.call(args if len(inputs) > 1 else args[0])
    flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if not flat or not all(is_symbolic(o) for o in flat):
        raise TypeError(f"Model '{model.name}' ({type(model).__name__}): `call` must return "
                        "tensors computed from its inputs by seqattn layers and seqattn.ops.")
    model._set_graph(inputs if len(inputs) > 1 else inputs[0], outputs)
