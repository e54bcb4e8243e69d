"""A model's architecture and compile settings as JSON: the list of layer calls, each with its
layer's `get_config()` and the call's arguments (tensors as [producing layer, output index]).
Layer classes come from one fixed table, `_LAYER_CLASSES`: loading looks names up there and
nowhere else."""

from __future__ import annotations

import json

from .. import layers as layers_mod
from ..layers.base import SymbolicTensor
from ..layers.math_ops import BinaryOp, Constant, MatMul, Reduce, UnaryOp, Where
from ..models import Sequential
from .registry import get_registered_name, lookup


MODEL_SUFFIX = ".seqattn"


WEIGHTS_SUFFIX = ".weights.seqattn"


# Every class a model file may name. Loading looks names up here and nowhere else.
_LAYER_CLASSES = {name: getattr(layers_mod, name) for name in layers_mod.__all__
                  if name not in ("Input", "InputLayer", "Layer", "Lambda")
                  and isinstance(getattr(layers_mod, name), type)}  # not layers.add & co.
_LAYER_CLASSES.update({"BinaryOp": BinaryOp, "UnaryOp": UnaryOp, "Constant": Constant,
                       "MatMul": MatMul, "Reduce": Reduce, "Where": Where})


def layer_class(name):
    """The class a file names: a seqattn layer, else a registered or scoped custom class."""
    if isinstance(name, str) and name in _LAYER_CLASSES:
        return _LAYER_CLASSES[name]
    return lookup(name)


# --------------------------------------------------------------------- configs
def model_config(model) -> dict:
    """The architecture of `model` as a JSON-serialisable dict (see the module docstring)."""
    if isinstance(model, Sequential) and model.inputs is None:
        return {"class_name": "Sequential", "name": model.name, "inputs": None,
                "layers": [{"class_name": get_registered_name(type(l)), "config": _layer_config(l)}
                           for l in model.layers], "outputs": None}
    refs = {id(t): [t.name, 0] for t in model.inputs}
    entries, calls = [], {}
    for owner, first, last in model._layer_calls():
        args, kwargs = ((first.owner_call.args, first.owner_call.kwargs)
                        if first.owner_call is not None else first.call_structure)
        k = calls[id(owner)] = calls.get(id(owner), -1) + 1
        # a shared layer's later calls name the layer of its first entry (not a new layer)
        entry = ({"class_name": get_registered_name(type(owner)), "config": _layer_config(owner)}
                 if k == 0 else {"shared": owner.name})
        entries.append({**entry, "args": _encode(args, refs, owner),
                        "kwargs": _encode(kwargs, refs, owner)})
        refs[id(last.output)] = [owner.name, 0] + ([k] if k else [])
        for node in model._nodes:  # the attention-score output of this call, if any
            if node.layer.hidden and getattr(node.layer, "attention", None) is owner:
                refs[id(node.output)] = [owner.name, 1]
    return {"class_name": "Sequential" if isinstance(model, Sequential) else "Functional",
            "name": model.name,
            "inputs": [t.input_layer.get_config() for t in model.inputs],
            "layers": entries,
            "outputs": [refs[id(t)] for t in model.outputs],
            "single_output": model._single_output}


def _layer_config(layer):
    config = layer.get_config()
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError):
        bad = [k for k, v in config.items() if callable(v)]
        raise ValueError(f"Layer '{layer.name}' cannot be saved: its config holds "
                         + (f"a Python callable ({', '.join(bad)})" if bad else
                            "values that are not JSON data")
                         + ". A seqattn model file holds data only, never code; use the "
                         "built-in options (e.g. standardize='lower_and_strip_punctuation').") \
            from None
    return config


def _encode(value, refs, layer):
    if isinstance(value, SymbolicTensor):
        return {"__tensor__": refs[id(value)]}
    if isinstance(value, (list, tuple)):
        return [_encode(v, refs, layer) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v, refs, layer) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"Layer '{layer.name}' was called with an argument of type "
                    f"{type(value).__name__}, which cannot be saved in a model config.")


def compile_config(model):
    """Losses, loss weights, optimizer and metrics of a compiled model, or None."""
    if model._losses is None or model._optimizer is None:
        return None
    opt = model._optimizer
    return {"optimizer": {"class_name": type(opt).__name__, "config": opt.get_config()},
            "loss": [None if l is None else l.get_config() for l in model._losses],
            "loss_weights": list(model._loss_weights),
            "metrics": [[m.get_config() for m in ms] for ms in model._metrics]}
