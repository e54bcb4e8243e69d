"""The public API over files: `save_model`, `load_model`, `save_weights`, `load_weights`
(atomic writes through archive.py; every read checked by `checks`)."""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .. import _formats, archive
from ..layers import TextVectorization
from ..utils import global_rng
from .config import MODEL_SUFFIX, WEIGHTS_SUFFIX, compile_config, model_config
from .checks import _Reader, _cut
from .registry import custom_object_scope
from .budget import _WeightBudget
from .builder import _Builder, _compile_from_config
from .state import (
    _check_manifest, _check_state, _check_vectorizer_ids, _set_weights_from, _weight_arrays,
    _weight_manifest
)


def _check_suffix(path, suffix, what, other=None, also=""):
    text = os.fspath(path)
    if not isinstance(text, str) or not text.endswith(suffix) or (
            other is not None and text.endswith(other)):
        raise ValueError(f"Invalid filepath extension for {what}: {text!r}. The file name must "
                         f"end in `{suffix}`{also}.")


def save_weights(model, path, overwrite=True):
    """Writes the model's weights (only) to a `.weights.seqattn` file, atomically."""
    _check_suffix(path, WEIGHTS_SUFFIX, "save_weights")
    _check_overwrite(path, overwrite)
    model._require_built("save_weights")
    archive.write_archive(path, kind="weights", config={"model_name": model.name},
                          arrays=_weight_arrays(model), state={"weights": _weight_manifest(model)})


def load_weights(model, path):
    """Loads weights saved by `save_weights` or `save` into a model of the same architecture.
    A Keras 3 `.keras` or `.weights.h5` file is read in Keras's layout (keras_format)."""
    if _is_keras_path(path) or (isinstance(os.fspath(path), str)
                                and os.fspath(path).endswith(".weights.h5")):
        return _formats.get("keras").load_weights(model, path)
    shown = os.fspath(path)
    arch = archive.read_archive(path)
    model._require_built("load_weights")
    reader = _Reader(shown, "state.json")
    reader.tree(arch.state, numbers=False)
    manifest = _check_manifest(arch, reader)
    if arch.kind == "weights":
        config = _Reader(shown, "config.json")
        config.string("model_name", config.get("", arch.config, "model_name"))
        other = [name for name in arch.arrays if not name.startswith("weights/")]
        if other:
            raise reader.error(f"the file holds {len(other)} array(s) besides the weights, "
                               f"such as {archive.brief(other[0])}")
    _set_weights_from(model, arch, shown, manifest, in_model_file=False)


def _check_overwrite(path, overwrite):
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{os.fspath(path)!r} exists and overwrite=False.")


# ------------------------------------------------------------------ whole model
def save_model(model, path, overwrite=True):
    """`model.save(path)`: architecture, weights, optimizer and training state, atomically.
    A `.keras` path writes a Keras 3 file instead (keras_format)."""
    if _is_keras_path(path):
        return _formats.get("keras").save_model(model, path, overwrite)
    _check_suffix(path, MODEL_SUFFIX, "model.save()", other=WEIGHTS_SUFFIX,
                  also=" (or `.keras` for a Keras 3 file)")
    _check_overwrite(path, overwrite)
    model._require_built("save")
    for layer in model.layers:
        if isinstance(layer, TextVectorization) and layer.get_config()["vocabulary"] is None:
            raise ValueError(f"Model '{model.name}' cannot be saved: its TextVectorization "
                             f"'{layer.name}' has no vocabulary yet (call `adapt(texts)` or "
                             f"`set_vocabulary(tokens)` first). A saved model must be able to "
                             f"read texts.")
        if isinstance(layer, TextVectorization) and getattr(layer.split, "trained", True) is False:
            raise ValueError(f"Model '{model.name}' cannot be saved: the SubwordTokenizer of its "
                             f"TextVectorization '{layer.name}' is not trained yet (call "
                             f"`adapt(texts)` first).")
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


def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """Rebuilds a model saved by `model.save`: same architecture, weights, optimizer state and
    training state (so `fit(..., initial_epoch=...)` continues the run exactly). Loading never
    executes anything from the file, and leaves seqattn's global random generator as it was.
    A `.keras` path reads a Keras 3 file instead (uncompiled; see saving/keras_format).

    custom_objects: {"Name": class} for custom layers the file names that were not registered
    with `seqattn.saving.register_keras_serializable` (Keras's argument). safe_mode is accepted
    for Keras code: a seqattn file holds no code, so loading is always safe.
    """
    if _is_keras_path(path):  # a Keras 3 file (keras_format)
        return _formats.get("keras").load_model(path, custom_objects, compile, safe_mode)
    with custom_object_scope(custom_objects):
        return _load_model(path, compile)


def _is_keras_path(path):
    text = os.fspath(path)
    return isinstance(text, str) and text.endswith(".keras")


def _load_model(path, compile):
    """load_model, within the custom objects' scope.

    Every field of the file is checked (type and range) before it is used, and the weights the
    architecture would create must be those the file holds, so a malformed or crafted file
    raises FileFormatError (naming the file and the field) before any large allocation."""
    shown = os.fspath(path)
    arch = archive.read_archive(path, expected_kind="model")
    config = _Reader(shown, "config.json")
    config.tree(arch.config)
    architecture = config.get("", arch.config, "model")
    compiled = config.get("", arch.config, "compile", None)
    manifest, state = _check_state(arch, _Reader(shown, "state.json"), compiled is not None)
    total = sum(math.prod(shape) for entry in manifest for shape in entry["shapes"])
    builder = _Builder(config, "model", _WeightBudget(total, config))
    rng_state = global_rng().bit_generator.state  # building draws initial weights: undo it
    try:
        model = builder.build(architecture)
    except RecursionError:
        # Model wiring walks the graph recursively: a chain deeper than the interpreter's
        # stack allows cannot be rebuilt (_MAX_LAYERS bounds the time spent finding out).
        raise config.error(f"`model.layers`: the architecture is too deep to rebuild (a chain "
                           f"of layer calls longer than Python's recursion limit, "
                           f"{sys.getrecursionlimit()}, allows)") from None
    finally:
        global_rng().bit_generator.state = rng_state
    if model.inputs is None:
        raise config.error("`model.inputs` is null, but a model file holds a built model")
    _check_vectorizer_ids(model, config)
    _set_weights_from(model, arch, shown, manifest, in_model_file=True)
    _apply_training_state(model, state)
    if compile and compiled is not None:
        _compile_from_config(model, compiled, config)
        _apply_optimizer_state(model, arch, shown, state)
    return model


def _apply_training_state(model, state):
    """Dropout seeds, epochs done and fit's shuffling generator, from checked state."""
    for node in model._nodes:
        if node.layer._core is not None and node.layer.name in state["seeds"]:
            node.layer._core.seed = state["seeds"][node.layer.name]
    model._epoch = state["epoch"]
    if state["shuffle_rng"] is not None:
        model._rng = np.random.default_rng()
        model._rng.bit_generator.state = state["shuffle_rng"]


def _apply_optimizer_state(model, arch, shown, state):
    """The graph's step (dropout stream), the optimizer's iterations and slots."""
    graph = model._core_graph()
    graph.step = state["graph_step"]
    opt = model._optimizer.core
    opt.iterations = state["iterations"]
    graph.init_optimizer_slots()
    try:
        opt.set_slots([arch.arrays[f"optimizer/{i:04d}"]
                       for i in range(state["optimizer_slots"])])
    except (TypeError, ValueError) as e:
        raise archive.FileFormatError(f"{shown}: the optimizer state does not fit the "
                                      f"model ({_cut(e)})") from None


def restore_training_state(model, path):
    """Puts the state a model file holds into `model` itself (same architecture, compiled
    the same way): weights, dropout streams, epochs done, fit's shuffling generator, the
    optimizer's counters and slots and its learning rate (a ReduceLROnPlateau may have changed
    it). What BackupAndRestore resumes from; every field is checked as by load_model."""
    shown = os.fspath(path)
    arch = archive.read_archive(path, expected_kind="model")
    config = _Reader(shown, "config.json")
    config.tree(arch.config)
    compiled = config.get("", arch.config, "compile", None)
    if (compiled is None) != (compile_config(model) is None):
        raise ValueError(f"{shown} was saved from a model that was "
                         f"{'not ' if compiled is None else ''}compiled; model "
                         f"'{model.name}' is{'' if compiled is None else ' not'}.")
    manifest, state = _check_state(arch, _Reader(shown, "state.json"), compiled is not None)
    rate = None
    if compiled is not None:  # checked before anything in the model changes
        entry = config.object("compile.optimizer", config.get("compile", compiled, "optimizer"))
        ours = type(model.optimizer).__name__
        if entry.get("class_name") != ours:
            theirs = archive.brief(entry.get("class_name"))
            raise ValueError(f"{shown} holds the state of the optimizer {theirs}; model "
                             f"'{model.name}' is compiled with '{ours}'.")
        opt_config = config.object("compile.optimizer.config",
                                   config.get("compile.optimizer", entry, "config"))
        rate = opt_config.get("learning_rate")
        if not isinstance(rate, dict) and getattr(model.optimizer, "_schedule", None) is None:
            config.require("compile.optimizer.config.learning_rate", rate,
                           isinstance(rate, (int, float)) and not isinstance(rate, bool)
                           and math.isfinite(rate) and rate > 0, "a positive finite number")
        else:
            rate = None
    _set_weights_from(model, arch, shown, manifest, in_model_file=False)
    _apply_training_state(model, state)
    if compiled is not None:
        if rate is not None:
            model.optimizer.learning_rate = float(rate)
        _apply_optimizer_state(model, arch, shown, state)
