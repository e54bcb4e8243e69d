"""The training state of a model file: the weights manifest (which arrays belong to which
layer), the optimizer's counters and slots, dropout seeds, the epochs done and fit's
shuffling generator, checked before any of it is applied."""

from __future__ import annotations

import numpy as np

from .. import archive
from ..layers import TextVectorization
from .config import layer_class
from .registry import get_registered_name
from .checks import _INT64, _UINT64, _cut, _is_int, _join


# ---------------------------------------------------------------------- state
def _check_manifest(arch, reader) -> list:
    """state.json's "weights" (per layer: name, class and weight shapes), checked against the
    arrays: its shapes in order are those of weights/0000, weights/0001, ..., exactly the
    weight arrays the file holds, all float32 (what seqattn writes)."""
    r = reader
    manifest = r.list("weights", r.get("", arch.state, "weights"))
    shapes = []
    for i, entry in enumerate(manifest):
        field = f"weights[{i}]"
        r.object(field, entry)
        r.string(field + ".layer", r.get(field, entry, "layer"))
        class_name = r.get(field, entry, "class_name")
        r.require(field + ".class_name", class_name,
                  layer_class(class_name) is not None,
                  "the name of a seqattn layer class, or of a custom layer registered with "
                  "seqattn.saving.register_keras_serializable or given in "
                  "load_model(custom_objects=...)")
        for j, shape in enumerate(r.list(field + ".shapes", r.get(field, entry, "shapes"))):
            r.require(f"{field}.shapes[{j}]", shape, isinstance(shape, list)
                      and len(shape) <= archive._MAX_NDIM
                      and all(_is_int(d) and d >= 0 for d in shape), "a list of axis lengths")
            shapes.append(shape)
    held = sum(1 for name in arch.arrays if name.startswith("weights/"))
    if held != len(shapes) or any(f"weights/{k:04d}" not in arch.arrays
                                  for k in range(len(shapes))):
        r.fail("weights", f"lists {len(shapes)} weight arrays, but the file holds {held} "
                          f"(weights/0000 to weights/{max(len(shapes) - 1, 0):04d} expected)")
    for k, shape in enumerate(shapes):
        array = arch.arrays[f"weights/{k:04d}"]
        if list(array.shape) != shape or array.dtype != np.float32:
            r.fail("weights", f"lists shape {shape} for array weights/{k:04d}, which holds a "
                              f"{array.dtype} array of shape {list(array.shape)}")
    return manifest


def _check_rng_state(reader, state):
    """fit's shuffling generator: NumPy's PCG64 state, as bit_generator.state gives it."""
    r, field = reader, "shuffle_rng"
    keys = {"bit_generator", "state", "has_uint32", "uinteger"}
    r.require(field, state, isinstance(state, dict) and set(state) == keys,
              "a PCG64 generator state (an object with keys " + ", ".join(sorted(keys)) + ")")
    r.require(field + ".bit_generator", state["bit_generator"],
              state["bit_generator"] == "PCG64", "'PCG64'")
    inner = state["state"]
    r.require(field + ".state", inner, isinstance(inner, dict) and set(inner) == {"state", "inc"},
              "an object with keys inc, state")
    for key in ("state", "inc"):
        r.integer(f"{field}.state.{key}", inner[key], 0, 2**128)
    r.integer(field + ".has_uint32", state["has_uint32"], 0, 2)
    r.integer(field + ".uinteger", state["uinteger"], 0, 2**32)


def _check_state(arch, reader, compiled) -> tuple:
    """(manifest, state values) of a model file's state.json, every field checked: the
    ranges are those of the C++ counters they are written to (Optimizer.iterations is int64,
    Graph.step and Layer.seed are uint64)."""
    r, state = reader, arch.state
    r.tree(state, numbers=False)  # each field's range is checked below
    manifest = _check_manifest(arch, r)
    values = {"epoch": r.integer("epoch", r.get("", state, "epoch"), 0, _INT64)}
    rng = r.get("", state, "shuffle_rng")
    if rng is not None:
        _check_rng_state(r, rng)
    values["shuffle_rng"] = rng
    seeds = r.object("seeds", r.get("", state, "seeds"))
    for name, seed in seeds.items():
        r.integer(_join("seeds", name), seed, 0, _UINT64)
    values["seeds"] = seeds
    held = sorted(name for name in arch.arrays if name.startswith("optimizer/"))
    slots = 0
    if compiled:
        values["graph_step"] = r.integer("graph_step", r.get("", state, "graph_step"), 0,
                                         _UINT64)
        values["iterations"] = r.integer("iterations", r.get("", state, "iterations"), 0,
                                         _INT64)
        slots = r.integer("optimizer_slots", r.get("", state, "optimizer_slots"), 0, _INT64)
    if slots != len(held) or set(held) != {f"optimizer/{i:04d}" for i in range(slots)}:
        r.fail("optimizer_slots", f"is {slots}, but the file holds {len(held)} optimizer "
                                  f"arrays" + (" (and no optimizer)" if not compiled else ""))
    values["optimizer_slots"] = slots
    other = [name for name in arch.arrays if not name.startswith(("weights/", "optimizer/"))]
    if other:
        raise r.error(f"the file holds {len(other)} array(s) that no part of the model uses, "
                      f"such as {archive.brief(other[0])}")
    return manifest, values


# ---------------------------------------------------------------------- weights
def _weight_manifest(model):
    return [{"layer": l.name, "class_name": get_registered_name(type(l)),
             "shapes": [list(w.shape) for w in l.get_weights()]} for l in model.layers]


def _weight_arrays(model):
    return {f"weights/{i:04d}": w for i, w in enumerate(model.get_weights())}


def _set_weights_from(model, arch, shown, manifest, in_model_file):
    """Copies the file's weights into `model`, layer by layer as the (checked) manifest lists
    them. A mismatch is the model's (ValueError) when loading weights into another
    architecture, the file's (FileFormatError) when its own config and state disagree."""
    def mismatch(problem):
        if in_model_file:
            return archive.FileFormatError(f"{shown}: state.json: the weights do not match "
                                           f"the architecture in config.json: {problem}")
        return ValueError(f"{shown}: {problem}")

    ours = model.layers
    if len(manifest) != len(ours):
        raise mismatch(_cut(
            f"the file holds weights for {len(manifest)} layers "
            f"({', '.join(archive.brief(m['layer']) for m in manifest)}); model "
            f"'{model.name}' has {len(ours)} layers ({', '.join(repr(l.name) for l in ours)}).",
            1000))
    weights, k = [], 0
    for entry, layer in zip(manifest, ours):
        expected = [list(w.shape) for w in layer.get_weights()]
        if entry["class_name"] != get_registered_name(type(layer)) or entry["shapes"] != expected:
            raise mismatch(_cut(
                f"layer {archive.brief(entry['layer'])} "
                f"({archive.brief(entry['class_name'], quote=False)}) in the file has weights "
                f"of shapes {entry['shapes']}; layer '{layer.name}' ({type(layer).__name__}) "
                f"of model '{model.name}' expects {expected}.", 1000))
        for _ in expected:
            weights.append(arch.arrays[f"weights/{k:04d}"])
            k += 1
    try:
        model.set_weights(weights)
    except (TypeError, ValueError) as e:  # values the C++ core refuses (e.g. not finite)
        raise archive.FileFormatError(f"{shown}: the weights cannot be loaded: {_cut(e)}") \
            from None


def _check_vectorizer_ids(model, reader):
    """Each TextVectorization's ids (its vocabulary's indices) must be valid for the embeddings
    reading them; otherwise the model would load, then fail on the first text."""
    for node in model._nodes:
        if not isinstance(node.layer, TextVectorization):
            continue
        size = node.layer.vocabulary_size()
        for user in model._nodes:
            limit = getattr(user.layer, "token_limit", None)
            if limit is not None and any(x is node.output for x in user.inputs) and size > limit:
                raise reader.error(
                    f"TextVectorization {archive.brief(node.layer.name)} has a vocabulary of "
                    f"{size:,} tokens, but layer {archive.brief(user.layer.name)} "
                    f"({type(user.layer).__name__}) it feeds takes ids below {limit:,}")
