"""Saving and loading models: architecture (JSON), weights, optimizer state and training state
in one `.seqattn` file (see archive.py for the container: a zip of JSON and .npy members, read
without pickle, written atomically).

What a model file holds, and why each part is there:
    config  {"model": architecture, "compile": losses/optimizer/metrics or None}
            The architecture is the list of layer calls in model order, each with its layer's
            `get_config()` and the call's arguments, where tensors are references
            [producing layer name, output index]; loading replays the calls. Layer classes are
            looked up in a fixed table of seqattn layers: nothing is imported or evaluated.
    arrays  "weights/NNNN" in `model.get_weights()` order; "optimizer/NNNN" the optimizer's
            slots (momentum, or Adam's m and v per weight).
    state   the weights manifest (layer, class and shapes, to name what does not match), the
            optimizer's iteration count, the graph's step counter (the dropout stream), every
            dropout stream's seed, the epochs completed and fit's shuffling generator, so a
            run resumed from the file continues exactly as if it had not stopped.
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import archive
from . import layers as layers_mod
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .text import TextVectorization
from .layers.base import Layer, SymbolicTensor
from .layers.input import Input
from .utils import global_rng

MODEL_SUFFIX = ".seqattn"
WEIGHTS_SUFFIX = ".weights.seqattn"

# Every class a model file may name. Loading looks names up here and nowhere else.
_LAYER_CLASSES = {name: getattr(layers_mod, name) for name in layers_mod.__all__
                  if name not in ("Input", "InputLayer", "Layer")}
_LAYER_CLASSES["TextVectorization"] = TextVectorization


# --------------------------------------------------------------------- configs
def model_config(model) -> dict:
    """The architecture of `model` as a JSON-serialisable dict (see the module docstring)."""
    from .models import Sequential
    if isinstance(model, Sequential) and model.inputs is None:
        return {"class_name": "Sequential", "name": model.name, "inputs": None,
                "layers": [{"class_name": type(l).__name__, "config": _layer_config(l)}
                           for l in model.layers], "outputs": None}
    refs = {id(t): [t.name, 0] for t in model.inputs}
    entries = []
    for owner, first, last in model._layer_calls():
        args, kwargs = (owner._call_structure if owner is not first.layer
                        else first.call_structure)
        entries.append({"class_name": type(owner).__name__, "config": _layer_config(owner),
                        "args": _encode(args, refs, owner), "kwargs": _encode(kwargs, refs, owner)})
        refs[id(last.output)] = [owner.name, 0]
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


def model_from_config(config: dict, where: str = "config"):
    """Rebuilds an (uncompiled) model from `model_config` output."""
    from .models import Model, Sequential
    _expect(isinstance(config, dict), where, "a model config must be a dict")
    kind = config.get("class_name")
    _expect(kind in ("Functional", "Sequential"), where, f"unknown model class {kind!r}")
    layer_entries = config.get("layers")
    _expect(isinstance(layer_entries, list), where, "'layers' must be a list")
    if kind == "Sequential" and config.get("inputs") is None:
        return Sequential([_layer_from_entry(e, where) for e in layer_entries],
                          name=config.get("name"))
    inputs_config = config.get("inputs")
    _expect(isinstance(inputs_config, list) and inputs_config, where,
            "'inputs' must be a non-empty list")
    tensors = {}
    inputs = []
    for c in inputs_config:
        _expect(isinstance(c, dict), where, "an input config must be a dict")
        t = Input(shape=tuple(c.get("shape", ())), dtype=c.get("dtype", "float32"),
                  name=c.get("name"))
        tensors[(t.name, 0)] = t
        inputs.append(t)
    if kind == "Sequential":
        model = Sequential([inputs[0]], name=config.get("name"))
        for e in layer_entries:
            model.add(_layer_from_entry(e, where))
        return model
    for e in layer_entries:
        layer = _layer_from_entry(e, where)
        args = _decode(e.get("args", []), tensors, where)
        kwargs = _decode(e.get("kwargs", {}), tensors, where)
        _expect(isinstance(args, list) and isinstance(kwargs, dict), where,
                f"bad call arguments for layer {layer.name!r}")
        out = layer(*args, **kwargs)
        for i, t in enumerate(out if isinstance(out, tuple) else (out,)):
            tensors[(layer.name, i)] = t
    outputs = [_decode({"__tensor__": r}, tensors, where) for r in config.get("outputs") or []]
    _expect(outputs, where, "the model has no outputs")
    return Model(inputs, outputs[0] if config.get("single_output", True) else outputs,
                 name=config.get("name"))


def _layer_from_entry(entry, where) -> Layer:
    _expect(isinstance(entry, dict), where, "a layer entry must be a dict")
    name = entry.get("class_name")
    cls = _LAYER_CLASSES.get(name) if isinstance(name, str) else None
    _expect(cls is not None, where, f"unknown layer class {name!r} (known: "
            + ", ".join(sorted(_LAYER_CLASSES)) + ")")
    config = entry.get("config")
    _expect(isinstance(config, dict), where, f"the config of a {name} layer must be a dict")
    try:
        return cls.from_config(config)
    except (TypeError, ValueError) as e:
        raise archive.FileFormatError(f"{where}: cannot rebuild a {name} layer from its "
                                      f"config: {e}") from None


def _decode(value, tensors, where):
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            ref = value["__tensor__"]
            key = tuple(ref) if isinstance(ref, list) and len(ref) == 2 else None
            _expect(key in tensors, where, f"a layer call refers to an unknown tensor {ref!r}")
            return tensors[key]
        return {k: _decode(v, tensors, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, tensors, where) for v in value]
    return value


def _expect(condition, where, problem):
    if not condition:
        raise archive.FileFormatError(f"{where}: {problem}")


def compile_config(model):
    """Losses, loss weights, optimizer and metrics of a compiled model, or None."""
    if model._losses is None or model._optimizer is None:
        return None
    opt = model._optimizer
    return {"optimizer": {"class_name": type(opt).__name__, "config": opt.get_config()},
            "loss": [None if l is None else l.get_config() for l in model._losses],
            "loss_weights": list(model._loss_weights),
            "metrics": [[m.get_config() for m in ms] for ms in model._metrics]}


def _compile_from_config(model, config, where):
    _expect(isinstance(config, dict), where, "'compile' must be a dict")
    try:
        opt_entry = config["optimizer"]
        opt_cls = {"SGD": optimizers_mod.SGD, "Adam": optimizers_mod.Adam,
                   "AdamW": optimizers_mod.AdamW}[opt_entry["class_name"]]
        optimizer = opt_cls.from_config(opt_entry["config"])
        losses = [None if c is None else losses_mod._BY_NAME[c["name"]](
            from_logits=bool(c.get("from_logits", False))) for c in config["loss"]]
        metrics = [[metrics_mod.from_config(c) for c in ms] for ms in config["metrics"]]
        loss_weights = config["loss_weights"]
    except (KeyError, TypeError, ValueError) as e:
        raise archive.FileFormatError(f"{where}: bad compile settings ({type(e).__name__}: "
                                      f"{e})") from None
    model.compile(optimizer=optimizer, loss=losses, loss_weights=loss_weights, metrics=metrics)


# ---------------------------------------------------------------------- weights
def _weight_manifest(model):
    return [{"layer": l.name, "class_name": type(l).__name__,
             "shapes": [list(w.shape) for w in l.get_weights()]} for l in model.layers]


def _weight_arrays(model):
    return {f"weights/{i:04d}": w for i, w in enumerate(model.get_weights())}


def _set_weights_from(model, arch, shown):
    manifest = arch.state.get("weights")
    _expect(isinstance(manifest, list), shown, "the weights manifest is missing")
    ours = [l for l in model.layers]
    if len(manifest) != len(ours):
        raise ValueError(f"{shown}: the file holds weights for {len(manifest)} layers "
                         f"({', '.join(repr(m.get('layer')) for m in manifest)}); model "
                         f"'{model.name}' has {len(ours)} layers "
                         f"({', '.join(repr(l.name) for l in ours)}).")
    weights, k = [], 0
    for entry, layer in zip(manifest, ours):
        expected = [list(w.shape) for w in layer.get_weights()]
        if entry.get("class_name") != type(layer).__name__ or entry.get("shapes") != expected:
            raise ValueError(f"{shown}: layer {entry.get('layer')!r} ({entry.get('class_name')})"
                             f" in the file has weights of shapes {entry.get('shapes')}; layer "
                             f"'{layer.name}' ({type(layer).__name__}) of model '{model.name}' "
                             f"expects {expected}.")
        for _ in expected:
            key = f"weights/{k:04d}"
            _expect(key in arch.arrays, shown, f"array {key} is missing")
            weights.append(arch.arrays[key])
            k += 1
    model.set_weights(weights)


def _check_suffix(path, suffix, what, other=None):
    text = os.fspath(path)
    if not isinstance(text, str) or not text.endswith(suffix) or (
            other is not None and text.endswith(other)):
        raise ValueError(f"Invalid filepath extension for {what}: {text!r}. The file name must "
                         f"end in `{suffix}`.")


def save_weights(model, path, overwrite=True):
    """Writes the model's weights (only) to a `.weights.seqattn` file, atomically."""
    _check_suffix(path, WEIGHTS_SUFFIX, "save_weights")
    _check_overwrite(path, overwrite)
    model._require_built("save_weights")
    archive.write_archive(path, kind="weights", config={"model_name": model.name},
                          arrays=_weight_arrays(model), state={"weights": _weight_manifest(model)})


def load_weights(model, path):
    """Loads weights saved by `save_weights` or `save` into a model of the same architecture."""
    arch = archive.read_archive(path)
    model._require_built("load_weights")
    _set_weights_from(model, arch, os.fspath(path))


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{os.fspath(path)!r} exists and overwrite=False.")


# ------------------------------------------------------------------ whole model
def save_model(model, path, overwrite=True):
    """`model.save(path)`: architecture, weights, optimizer and training state, atomically."""
    _check_suffix(path, MODEL_SUFFIX, "model.save()", other=WEIGHTS_SUFFIX)
    _check_overwrite(path, overwrite)
    model._require_built("save")
    arrays = _weight_arrays(model)
    state = {"weights": _weight_manifest(model), "epoch": model._epoch,
             "shuffle_rng": None if model._rng is None else model._rng.bit_generator.state,
             "seeds": {n.layer.name: int(n.layer._core.seed) for n in model._nodes
                       if n.layer._core is not None}}
    compiled = compile_config(model)
    if compiled is not None:
        graph = model._core_graph()
        graph.init_optimizer_slots()
        slots = model._optimizer.core.get_slots()
        arrays.update({f"optimizer/{i:04d}": s for i, s in enumerate(slots)})
        state.update(graph_step=int(graph.step), iterations=int(model._optimizer.iterations),
                     optimizer_slots=len(slots))
    archive.write_archive(path, kind="model", config={"model": model_config(model),
                                                      "compile": compiled},
                          arrays=arrays, state=state)


def load_model(path, compile=True):
    """Rebuilds a model saved by `model.save`: same architecture, weights, optimizer state and
    training state (so `fit(..., initial_epoch=...)` continues the run exactly). Loading never
    executes anything from the file, and leaves seqattn's global random generator as it was."""
    shown = os.fspath(path)
    arch = archive.read_archive(path, expected_kind="model")
    rng_state = global_rng().bit_generator.state  # building draws initial weights: undo it
    try:
        model = model_from_config(arch.config.get("model"), shown)
    finally:
        global_rng().bit_generator.state = rng_state
    if model.inputs is None:
        return model
    _set_weights_from(model, arch, shown)
    state = arch.state
    seeds = state.get("seeds", {})
    for node in model._nodes:
        if node.layer._core is not None and node.layer.name in seeds:
            node.layer._core.seed = int(seeds[node.layer.name])
    model._epoch = int(state.get("epoch", 0))
    if state.get("shuffle_rng") is not None:
        model._rng = np.random.default_rng()
        try:
            model._rng.bit_generator.state = state["shuffle_rng"]
        except (TypeError, ValueError, KeyError) as e:
            raise archive.FileFormatError(f"{shown}: bad random-generator state ({e})") from None
    compiled = arch.config.get("compile")
    if compile and compiled is not None:
        _compile_from_config(model, compiled, shown)
        graph = model._core_graph()
        graph.step = int(state.get("graph_step", 0))
        opt = model._optimizer.core
        opt.iterations = int(state.get("iterations", 0))
        graph.init_optimizer_slots()
        n = int(state.get("optimizer_slots", 0))
        keys = [f"optimizer/{i:04d}" for i in range(n)]
        missing = [k for k in keys if k not in arch.arrays]
        _expect(not missing, shown, f"optimizer arrays {missing[:3]} are missing")
        try:
            opt.set_slots([arch.arrays[k] for k in keys])
        except ValueError as e:
            raise archive.FileFormatError(f"{shown}: the optimizer state does not fit the "
                                          f"model ({e})") from None
    return model
