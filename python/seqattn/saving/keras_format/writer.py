"""`model.save("m.keras")`: a Keras 3 file (zip of config.json, metadata.json and
model.weights.h5) that `keras.saving.load_model` rebuilds, on any backend, with the same
predictions. The model is written uncompiled and without optimizer state (Keras's
compile=False file): seqattn's optimizer slots do not map onto Keras's optimizer variables.
The write is atomic, as for `.seqattn` files."""

from __future__ import annotations

import datetime
import io
import json
import os

import numpy as np

from ...archive.write import _library_version, _replace_atomically
from ..config import model_config
from .graph import keras_layer_order
from .h5 import require_h5py
from .layer_maps import KERAS_NAMES, snake_case, weight_paths

SUFFIX = ".keras"


def save_model(model, path, overwrite=True):
    shown = os.fspath(path)
    if not isinstance(shown, str) or not shown.endswith(SUFFIX):
        raise ValueError(f"Invalid filepath extension for a Keras file: {shown!r}. The file "
                         f"name must end in `{SUFFIX}`.")
    h5py = require_h5py()
    if not overwrite and os.path.exists(shown):
        raise FileExistsError(f"{shown!r} exists and overwrite=False.")
    model._require_built("save")
    config, groups = keras_config(model)
    weights = _weights_h5(h5py, model, groups)
    # Keras writes its own version here and never reads it back; seqattn claims the first
    # Keras 3 release, whose file layout this is.
    metadata = {"keras_version": "3.0.0", "date_saved":
                datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "written_by": f"seqattn {_library_version()}"}

    def write_members(zf):
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights)

    _replace_atomically(shown, write_members)


def keras_config(model):
    """Keras's Functional config of `model`, and {layer name: h5 group} for its weights."""
    for layer in model.layers:  # before model_config, which refuses a Lambda its own way
        if type(layer).__name__ not in KERAS_NAMES:
            _layer_entry(model, {"class_name": type(layer).__name__,
                                 "config": {"name": layer.name}})
    ours = model_config(model)
    if ours["inputs"] is None:
        raise ValueError(f"Model '{model.name}' cannot be saved as a Keras file before it is "
                         f"built with an input shape.")
    layers, parents, calls, shapes = {}, {}, {}, _tensor_shapes(model)
    for spec in ours["inputs"]:
        if spec["dtype"] == "string":
            raise ValueError(f"Model '{model.name}' cannot be saved as a Keras file: input "
                             f"'{spec['name']}' reads strings (a TextVectorization model); "
                             "save it as .seqattn, or save the integer model.")
        layers[spec["name"]] = {
            "module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, *spec["shape"]], "dtype": spec["dtype"],
                       "sparse": False, "ragged": False, "name": spec["name"],
                       "optional": False},
            "registered_name": None, "name": spec["name"], "inbound_nodes": []}
    for entry in ours["layers"]:
        if "shared" in entry:
            name = entry["shared"]
        else:
            name = entry["config"]["name"]
            layers[name] = _layer_entry(model, entry)
        k = calls[name] = calls.get(name, -1) + 1
        found = []
        node = {"args": _tensors(entry["args"], found, shapes),
                "kwargs": _tensors(entry["kwargs"], found, shapes)}
        layers[name]["inbound_nodes"].append(node)
        parents[(name, k)] = found
    inputs = [(spec["name"], 0) for spec in ours["inputs"]]
    outputs = [_history(ref) for ref in ours["outputs"]]
    order = keras_layer_order(parents, inputs, [(h[0], h[1]) for h in outputs])
    input_layers = [[n, 0, 0] for n, _ in inputs]
    body = {"name": model.name, "trainable": True, "layers": [layers[n] for n in order],
            "input_layers": input_layers[0] if len(input_layers) == 1 else input_layers,
            "output_layers": outputs[0] if ours["single_output"] else outputs}
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": body, "registered_name": "Functional", "build_config": None,
              "compile_config": None}
    counts, groups = {}, {}
    for name in order:
        group = snake_case(layers[name]["class_name"])
        k = counts[group] = counts.get(group, -1) + 1
        groups[name] = group + (f"_{k}" if k else "")
    return config, groups


def _layer_entry(model, entry):
    cls, config = entry["class_name"], dict(entry["config"])
    if cls not in KERAS_NAMES:
        what = ("a Lambda layer (code)" if cls == "Lambda" else
                "TextVectorization (its vocabulary is a Keras asset)"
                if cls == "TextVectorization" else
                f"a nested model ({cls}); a Keras file from seqattn holds one flat model"
                if cls in ("Model", "Sequential", "Functional") else
                f"an op on tensors ({cls}: `x * 2`, `seqattn.ops...`); Keras files from "
                "seqattn hold layers only (layers.Add, layers.Multiply, ...)"
                if cls in ("BinaryOp", "UnaryOp", "Constant", "MatMul", "Reduce", "Where")
                else f"the layer class {cls!r}")
        raise ValueError(f"Model '{model.name}' cannot be saved as a Keras file: layer "
                         f"'{config.get('name')}' is {what}, which has no Keras 3 "
                         f"counterpart seqattn can write. Keras files written by seqattn hold "
                         f"these layers: {', '.join(sorted(KERAS_NAMES))}.")
    module, registered = KERAS_NAMES[cls]
    config.update(trainable=True, dtype="float32")
    return {"module": module, "class_name": cls, "config": config,
            "registered_name": registered, "name": config["name"], "inbound_nodes": []}


def _history(ref):
    """seqattn's [layer, output index, (call)] -> Keras's keras_history [layer, node, index]."""
    return [ref[0], ref[2] if len(ref) > 2 else 0, ref[1]]


def _tensor_shapes(model):
    """{(layer, output index, call): (shape, dtype)} of every tensor a config refers to,
    keyed as model_config's references are (Keras's config repeats them with each use)."""
    shapes = {(t.name, 0, 0): t for t in model.inputs}
    calls = {}
    for owner, _first, last in model._layer_calls():
        k = calls[id(owner)] = calls.get(id(owner), -1) + 1
        shapes[(owner.name, 0, k)] = last.output
        for node in model._nodes:  # the attention-score output of this call, if any
            if node.layer.hidden and getattr(node.layer, "attention", None) is owner:
                shapes[(owner.name, 1, 0)] = node.output
    return {key: ([None if d is None else int(d) for d in t.shape],
                  "int32" if str(getattr(t, "dtype", "float32")).startswith("int") else "float32")
            for key, t in shapes.items()}


def _tensors(value, found, shapes):
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            history = _history(value["__tensor__"])
            found.append((history[0], history[1]))
            shape, dtype = shapes[(history[0], history[2], history[1])]
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": shape, "dtype": dtype, "keras_history": history}}
        return {k: _tensors(v, found, shapes) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_tensors(v, found, shapes) for v in value]
    return value


def _weights_h5(h5py, model, groups) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("vars").attrs["name"] = model.name
        by_name = {layer.name: layer for layer in model.layers}
        for name, group in groups.items():
            vars_group = f.create_group(f"layers/{group}/vars")
            vars_group.attrs["name"] = name
            layer = by_name.get(name)
            if layer is None:  # an InputLayer
                continue
            weights = layer.get_weights()
            for path, w in zip(weight_paths(type(layer).__name__, len(weights)), weights):
                f.create_dataset(f"layers/{group}/{path}",
                                 data=np.ascontiguousarray(w, dtype=np.float32))
    return buffer.getvalue()


__all__ = ["SUFFIX", "keras_config", "save_model"]
