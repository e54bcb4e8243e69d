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

Loading trusts nothing in the file: every field is checked for type and range before it is
used (the counters against the C++ integers they go into), the architecture is replayed only
while the weights it creates fit in the weight arrays the file holds (so a crafted config
cannot make the loader allocate more than the file's size), and every problem is a
FileFormatError naming the file, the member and the field (see "file checks" below).
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np

from . import _formats
from . import archive
from . import layers as layers_mod
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .text import TextVectorization
from .layers.base import Layer, SymbolicTensor, is_symbolic
from .layers.input import Input
from .models import Model, Sequential
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


# ------------------------------------------------------------------ file checks
# A file is checked field by field before anything is built from it, and what it can make the
# loader allocate is bounded by what it holds: the weights an architecture would create must
# fit in the file's weight arrays (a config cannot ask for a 10**12-row embedding backed by 30
# rows of data). The limits below are far above any real model; they bound memory, time and
# stack depth for a crafted file.
_MAX_LAYERS = 10_000          # layer calls in one architecture
_MAX_NESTING = 64             # JSON depth of config.json and state.json (ours stay under 12)
_MAX_DIM = 2**31 - 1          # an Input axis (and their product), a vectorizer's output length
_MAX_NGRAM = 64               # a TextVectorization n-gram size (each costs O(n) per text)
_MAX_AUC_THRESHOLDS = 2**20   # an AUC metric keeps counts per threshold
_INT64, _UINT64 = 2**63, 2**64
_MISSING = object()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    """A finite JSON number (ints are bounded to 64 bits before this is asked)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _join(path, key) -> str:
    """`model.layers[2].config.units`: the field's place in its JSON member."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{archive.brief(key)}]"


def _cut(text, limit=500) -> str:
    """An error text shortened for a message (it may quote a crafted megabyte value)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + " [...]"


class _Reader:
    """Type and range checks on the fields of one JSON member; each failure is a
    FileFormatError naming the file, the member and the field, e.g.
    "m.seqattn: state.json: `iterations` must be an integer in [0, 2**63), received -3"."""

    def __init__(self, where, member=None):
        self.where, self.member = where, member

    def error(self, problem) -> archive.FileFormatError:
        place = self.where if self.member is None else f"{self.where}: {self.member}"
        return archive.FileFormatError(f"{place}: {problem}")

    def fail(self, field, problem):
        raise self.error(f"`{field or '(top level)'}` {problem}")

    def require(self, field, value, ok, what):
        if not ok:
            self.fail(field, f"must be {what}, received {archive.brief(value)}")
        return value

    def get(self, field, container, key, default=_MISSING):
        """container[key]; a missing key is an error unless a default is given."""
        if key in container:
            return container[key]
        if default is _MISSING:
            self.fail(_join(field, key), "is missing")
        return default

    def object(self, field, value) -> dict:
        return self.require(field, value, isinstance(value, dict), "an object")

    def list(self, field, value, length=None) -> list:
        what = "a list" if length is None else f"a list of {length}"
        return self.require(field, value, isinstance(value, list)
                            and (length is None or len(value) == length), what)

    def string(self, field, value) -> str:
        return self.require(field, value, isinstance(value, str), "a string")

    def boolean(self, field, value) -> bool:
        return self.require(field, value, isinstance(value, bool), "true or false")

    def integer(self, field, value, low, high) -> int:
        """low <= value < high; the bounds of C++ integers read as 2**63, 2**64."""
        shown = f"2**{high.bit_length() - 1}" if high >= 2**16 and high & (high - 1) == 0 \
            else str(high)
        return self.require(field, value, _is_int(value) and low <= value < high,
                            f"an integer in [{low}, {shown})")

    def number(self, field, value) -> float:
        return self.require(field, value, _is_number(value), "a finite number")

    def tree(self, value, field="", numbers=True):
        """The whole JSON value: nested at most _MAX_NESTING deep (recursive consumers, such
        as a layer's from_config, then cannot overflow the stack) and, with `numbers`, every
        float finite (our configs never hold inf or nan) and every integer within 64 bits
        (the C++ core's widest). Iterative, so a crafted depth cannot overflow the check
        itself. (state.json's fields are each checked for their own range instead.)"""
        stack = [(value, field, 0)]
        while stack:
            value, field, depth = stack.pop()
            if isinstance(value, (dict, list)):
                if depth >= _MAX_NESTING:
                    self.fail(field, f"is nested more than {_MAX_NESTING} levels deep")
                items = value.items() if isinstance(value, dict) else enumerate(value)
                stack.extend((v, _join(field, k), depth + 1) for k, v in items)
            elif not numbers:
                continue
            elif isinstance(value, float) and not math.isfinite(value):
                self.fail(field, f"is {value}: the numbers of a model config are finite")
            elif _is_int(value) and not -_INT64 <= value < _UINT64:
                self.fail(field, f"is {archive.brief(value)}, beyond the 64-bit integers that "
                                 f"every number of a model config fits in")


def _tensor_ref(reader, field, ref):
    """[producing layer name, output index]."""
    ok = (isinstance(ref, list) and len(ref) == 2 and isinstance(ref[0], str)
          and _is_int(ref[1]) and 0 <= ref[1] < 2)
    reader.require(field, ref, ok, "a tensor reference [layer name, output index 0 or 1]")
    return ref[0], ref[1]


# --------------------------------------------------------------- weight budget
def _last_axis(shape) -> int:
    return shape[-1] if shape and _is_int(shape[-1]) else 0


def _mha_weights(layer, shapes):
    q = shapes[0]
    v = shapes[1] if len(shapes) > 1 and shapes[1] is not None else q
    k = shapes[2] if len(shapes) > 2 and shapes[2] is not None else v
    C, Cv, Ck = _last_axis(q), _last_axis(v), _last_axis(k)
    H, Dk = layer.num_heads, layer.key_dim
    Dv, Cout = layer.value_dim or Dk, layer.output_shape or C
    biases = 2 * H * Dk + H * Dv + Cout if layer.use_bias else 0
    return C * H * Dk + Ck * H * Dk + Cv * H * Dv + H * Dv * Cout + biases


def _encoder_weights(layer, shapes):
    C, H, I = _last_axis(shapes[0]), layer.num_heads, layer.intermediate_dim
    Dk = C // H
    attention = 4 * C * H * Dk + 3 * H * Dk + C
    return attention + 4 * C + (C * I + I) + (I * C + C)  # + 2 LayerNorms + 2 Dense


# Weight values each layer class creates when called on inputs of the given shapes, computed
# from its (validated) constructor arguments without building it: Keras's weight shapes, as
# the layers' _initial_weights create them. test_file_fuzz checks that every class in
# _LAYER_CLASSES has an entry and that the counts agree with built layers.
_WEIGHT_COUNTS = {
    "Dense": lambda l, s: _last_axis(s[0]) * l.units + (l.units if l.use_bias else 0),
    "Embedding": lambda l, s: l.input_dim * l.output_dim,
    "TokenAndPositionEmbedding": lambda l, s: (l.vocabulary_size + l.sequence_length)
    * l.embedding_dim,
    "PositionEmbedding": lambda l, s: l.sequence_length * _last_axis(s[0]),
    "LayerNormalization": lambda l, s: _last_axis(s[0]) * (int(l.center) + int(l.scale)),
    "MultiHeadAttention": _mha_weights,
    "TransformerEncoder": _encoder_weights,
    **{name: None for name in ("Activation", "Add", "Dropout", "Flatten",
                               "GlobalAveragePooling1D", "GlobalMaxPooling1D",
                               "SinePositionEncoding", "TextVectorization")},
}


def _planned_weights(layer, args, kwargs):
    """How many weight values calling `layer` with these arguments will allocate; 0 for a
    layer without weights, None for a class without an entry in _WEIGHT_COUNTS."""
    name = type(layer).__name__
    if name not in _WEIGHT_COUNTS:
        return None
    count = _WEIGHT_COUNTS[name]
    if count is None:
        return 0
    if name == "TransformerEncoder":
        inputs = list(args[:1]) or [kwargs.get("inputs")]
    else:
        try:
            inputs, _ = layer._input_list(*args, **kwargs)
        except (TypeError, ValueError):
            return 0  # the call itself raises the same error, before building anything
    shapes = [getattr(x, "shape", None) for x in inputs] or [None]
    return count(layer, shapes)


class _WeightBudget:
    """The weight values a file's arrays hold; each layer call takes its share before the
    layer is built, so an architecture that would need more is refused before the allocation
    (the C++ core allocates weights when a layer is built)."""

    def __init__(self, total, reader):
        self.total, self.used, self.reader = total, 0, reader

    def take(self, layer, args, kwargs, field):
        count = _planned_weights(layer, args, kwargs)
        if count is None:
            return
        before, self.used = self.used, self.used + count
        if self.used > self.total:
            taken = f", {before:,} of them by the layers before it" if before else ""
            raise self.reader.error(
                f"layer {archive.brief(layer.name)} ({type(layer).__name__}) at `{field}` "
                f"would create {count:,} weight values, but the file's weight arrays hold "
                f"{self.total:,} in all{taken}")


# --------------------------------------------------------------- rebuilding
def model_from_config(config: dict, where: str = "config"):
    """Rebuilds an (uncompiled) model from `model_config` output."""
    reader = _Reader(where)
    reader.tree(config)
    return _Builder(reader, "").build(config)


class _Builder:
    """Replays the layer calls of an architecture config, checking each field first."""

    def __init__(self, reader, prefix, budget=None):
        self.reader, self.prefix, self.budget = reader, prefix, budget
        self.tensors = {}

    def field(self, *keys) -> str:
        path = self.prefix
        for key in keys:
            path = _join(path, key)
        return path

    def attempt(self, what, thunk):
        """thunk(), with the TypeError/ValueError a layer or model raises on bad arguments
        turned into a FileFormatError saying `what` failed."""
        try:
            return thunk()
        except (TypeError, ValueError) as e:
            if isinstance(e, archive.FileFormatError):
                raise
            raise self.reader.error(f"{what}: {_cut(e)}") from None

    def build(self, config):
        r = self.reader
        r.object(self.field(), config)
        kind = r.get(self.prefix, config, "class_name")
        r.require(self.field("class_name"), kind, kind in ("Functional", "Sequential"),
                  "'Functional' or 'Sequential'")
        name = r.get(self.prefix, config, "name", None)
        if name is not None:
            r.string(self.field("name"), name)
        entries = r.list(self.field("layers"), r.get(self.prefix, config, "layers"))
        if len(entries) > _MAX_LAYERS:
            r.fail(self.field("layers"), f"holds {len(entries):,} layer calls; seqattn "
                                         f"rebuilds at most {_MAX_LAYERS:,}")
        inputs_config = r.get(self.prefix, config, "inputs", None)
        if kind == "Sequential" and inputs_config is None:
            layers = [self.layer(entry, i) for i, entry in enumerate(entries)]
            return self.attempt("cannot rebuild the Sequential model",
                                lambda: Sequential(layers, name=name))
        r.require(self.field("inputs"), inputs_config,
                  isinstance(inputs_config, list) and inputs_config, "a non-empty list")
        inputs = [self.input(c, i) for i, c in enumerate(inputs_config)]
        if kind == "Sequential":
            r.require(self.field("inputs"), inputs_config, len(inputs) == 1,
                      "a list of one input (a Sequential model)")
            model = self.attempt("cannot rebuild the Sequential model",
                                 lambda: Sequential(inputs, name=name))
            for i, entry in enumerate(entries):
                layer = self.layer(entry, i)
                self.call(layer, (model.outputs[0],), {}, i, lambda: model.add(layer))
            return model
        for i, entry in enumerate(entries):
            layer = self.layer(entry, i)
            args = self.decode(r.get(self.field("layers", i), entry, "args"),
                               self.field("layers", i, "args"))
            kwargs = self.decode(r.get(self.field("layers", i), entry, "kwargs"),
                                 self.field("layers", i, "kwargs"))
            r.list(self.field("layers", i, "args"), args)
            r.object(self.field("layers", i, "kwargs"), kwargs)
            self.check_call(args, kwargs, i)
            out = self.call(layer, args, kwargs, i, lambda: layer(*args, **kwargs))
            for j, t in enumerate(out if isinstance(out, tuple) else (out,)):
                self.tensors[(layer.name, j)] = t
        refs = r.list(self.field("outputs"), r.get(self.prefix, config, "outputs"))
        r.require(self.field("outputs"), refs, refs, "a non-empty list")
        outputs = [self.decode({"__tensor__": ref}, self.field("outputs", i))
                   for i, ref in enumerate(refs)]
        single = r.boolean(self.field("single_output"),
                           r.get(self.prefix, config, "single_output", True))
        if single and len(outputs) != 1:
            r.fail(self.field("single_output"), f"is true, but the model has {len(outputs)} "
                                                f"outputs")
        return self.attempt("cannot rebuild the model", lambda: Model(
            inputs, outputs[0] if single else outputs, name=name))

    def input(self, config, i):
        r, field = self.reader, self.field("inputs", i)
        r.object(field, config)
        name = r.string(_join(field, "name"), r.get(field, config, "name"))
        shape = r.list(_join(field, "shape"), r.get(field, config, "shape"))
        r.require(_join(field, "shape"), shape, len(shape) <= archive._MAX_NDIM,
                  f"a list of at most {archive._MAX_NDIM} axes")
        for j, d in enumerate(shape):
            if d is not None:
                r.integer(_join(field, "shape") + f"[{j}]", d, 1, _MAX_DIM + 1)
        if math.prod(d for d in shape if d is not None) > _MAX_DIM:
            r.fail(_join(field, "shape"), f"holds more than {_MAX_DIM:,} values per sample")
        dtype = r.get(field, config, "dtype")
        r.require(_join(field, "dtype"), dtype, dtype in ("int32", "float32", "string"),
                  "'int32', 'float32' or 'string'")
        t = self.attempt(f"`{field}` is not a valid Input",
                         lambda: Input(shape=tuple(shape), dtype=dtype, name=name))
        self.tensors[(t.name, 0)] = t
        return t

    def layer(self, entry, i) -> Layer:
        r, field = self.reader, self.field("layers", i)
        r.object(field, entry)
        name = r.get(field, entry, "class_name")
        cls = _LAYER_CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            r.fail(_join(field, "class_name"), "must name a seqattn layer ("
                   + ", ".join(sorted(_LAYER_CLASSES)) + f"), received {archive.brief(name)}")
        config = r.object(_join(field, "config"), r.get(field, entry, "config"))
        if cls is TextVectorization:
            _check_vectorizer_config(r, _join(field, "config"), config, self.budget is not None)
        article = "an" if name[0] in "AEIOU" else "a"
        return self.attempt(f"`{field}`: cannot rebuild {article} {name} layer from its config",
                            lambda: cls.from_config(config))

    def check_call(self, args, kwargs, i):
        """A saved call passes tensors (alone or in a list, as Add takes them) and scalar
        options (use_causal_mask=True) only. Data in their place would make the layer run
        eagerly on whatever the file holds, at whatever cost, so it is refused."""
        values = [(self.field("layers", i, "args", j), v) for j, v in enumerate(args)]
        values += [(self.field("layers", i, "kwargs", k), v) for k, v in kwargs.items()]
        tensors = 0
        for field, value in values:
            if isinstance(value, list) and value and all(is_symbolic(t) for t in value):
                tensors += len(value)
            elif is_symbolic(value):
                tensors += 1
            elif value is not None and not isinstance(value, (bool, int, float, str)):
                self.reader.fail(field, f"must be a tensor reference, a list of them or an "
                                        f"option value, received {archive.brief(value)}")
        if not tensors:
            self.reader.fail(self.field("layers", i, "args"),
                             "passes no tensor: a saved layer call reads the output of an "
                             "input or of an earlier layer")

    def call(self, layer, args, kwargs, i, thunk):
        field = self.field("layers", i)
        if self.budget is not None:
            self.budget.take(layer, args, kwargs, field)
        return self.attempt(f"`{field}`: layer {archive.brief(layer.name)} "
                            f"({type(layer).__name__}) cannot be called on its saved inputs",
                            thunk)

    def decode(self, value, field):
        """Call arguments with {"__tensor__": ref} replaced by the tensors made so far (the
        tree is at most _MAX_NESTING deep: checked before, so the recursion is bounded)."""
        if isinstance(value, dict):
            if set(value) == {"__tensor__"}:
                key = _tensor_ref(self.reader, _join(field, "__tensor__"), value["__tensor__"])
                if key not in self.tensors:
                    self.reader.fail(field, f"refers to {archive.brief(list(key))}, which is not "
                                            f"an output of an input or of a layer called before "
                                            f"it")
                return self.tensors[key]
            return {k: self.decode(v, _join(field, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.decode(v, _join(field, j)) for j, v in enumerate(value)]
        return value


def _check_vectorizer_config(reader, field, config, in_model_file):
    """What TextVectorization's own checks leave unbounded: its output length (the (B, L)
    id array it allocates per call) and n-gram sizes (each costs O(n) per text). In a model
    file it must have its vocabulary: the weights were trained on those ids (save_model
    refuses a vectorizer without one)."""
    if in_model_file:
        reader.list(_join(field, "vocabulary"), config.get("vocabulary"))
    length = config.get("output_sequence_length")
    if length is not None:
        reader.integer(_join(field, "output_sequence_length"), length, 1, _MAX_DIM + 1)
    ngrams = config.get("ngrams")
    sizes = ngrams if isinstance(ngrams, list) else [] if ngrams is None else [ngrams]
    for size in sizes:
        reader.integer(_join(field, "ngrams"), size, 1, _MAX_NGRAM + 1)
    if len(sizes) > _MAX_NGRAM:
        reader.fail(_join(field, "ngrams"), f"lists more than {_MAX_NGRAM} sizes")


def compile_config(model):
    """Losses, loss weights, optimizer and metrics of a compiled model, or None."""
    if model._losses is None or model._optimizer is None:
        return None
    opt = model._optimizer
    return {"optimizer": {"class_name": type(opt).__name__, "config": opt.get_config()},
            "loss": [None if l is None else l.get_config() for l in model._losses],
            "loss_weights": list(model._loss_weights),
            "metrics": [[m.get_config() for m in ms] for ms in model._metrics]}


_OPTIMIZERS = {"SGD": optimizers_mod.SGD, "Adam": optimizers_mod.Adam,
               "AdamW": optimizers_mod.AdamW}


def _compile_from_config(model, config, reader):
    """model.compile() with config.json's "compile" settings, each field checked first."""
    r, n = reader, len(model.outputs)
    r.object("compile", config)
    entry = r.object("compile.optimizer", r.get("compile", config, "optimizer"))
    class_name = r.get("compile.optimizer", entry, "class_name")
    r.require("compile.optimizer.class_name", class_name,
              isinstance(class_name, str) and class_name in _OPTIMIZERS,
              "'SGD', 'Adam' or 'AdamW'")
    opt_config = r.object("compile.optimizer.config", r.get("compile.optimizer", entry, "config"))
    rate = opt_config.get("learning_rate")
    if not isinstance(rate, dict):  # a dict is a schedule's config, checked by its class
        r.require("compile.optimizer.config.learning_rate", rate,
                  _is_number(rate) and rate > 0, "a positive finite number")
    losses = r.list("compile.loss", r.get("compile", config, "loss"), n)
    for i, c in enumerate(losses):
        if c is not None:
            field = f"compile.loss[{i}]"
            r.object(field, c)
            name = r.get(field, c, "name")
            r.require(field + ".name", name, isinstance(name, str) and name in losses_mod._BY_NAME,
                      "one of " + ", ".join(map(repr, sorted(losses_mod._BY_NAME))))
            r.boolean(field + ".from_logits", r.get(field, c, "from_logits"))
    loss_weights = r.list("compile.loss_weights", r.get("compile", config, "loss_weights"), n)
    for i, w in enumerate(loss_weights):
        r.number(f"compile.loss_weights[{i}]", w)
    metrics = r.list("compile.metrics", r.get("compile", config, "metrics"), n)
    for i, ms in enumerate(metrics):
        for j, c in enumerate(r.list(f"compile.metrics[{i}]", ms)):
            field = f"compile.metrics[{i}][{j}]"
            r.object(field, c)
            if c.get("class_name") == "AUC" and _is_int(c.get("num_thresholds")):
                r.integer(field + ".num_thresholds", c["num_thresholds"], 2,
                          _MAX_AUC_THRESHOLDS + 1)

    def build():
        optimizer = _OPTIMIZERS[class_name].from_config(opt_config)
        loss_objects = [None if c is None else losses_mod._BY_NAME[c["name"]](
            from_logits=c["from_logits"]) for c in losses]
        metric_objects = [[metrics_mod.from_config(c) for c in ms] for ms in metrics]
        model.compile(optimizer=optimizer, loss=loss_objects, loss_weights=loss_weights,
                      metrics=metric_objects)

    try:
        build()
    except (TypeError, ValueError) as e:
        raise r.error(f"`compile`: cannot compile the model with these settings: {_cut(e)}") \
            from None


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
                  isinstance(class_name, str) and class_name in _LAYER_CLASSES,
                  "the name of a seqattn layer class")
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
    return [{"layer": l.name, "class_name": type(l).__name__,
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
        if entry["class_name"] != type(layer).__name__ or entry["shapes"] != expected:
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
    """`model.save(path)`: architecture, weights, optimizer and training state, atomically."""
    _check_suffix(path, MODEL_SUFFIX, "model.save()", other=WEIGHTS_SUFFIX)
    _check_overwrite(path, overwrite)
    model._require_built("save")
    for layer in model.layers:
        if isinstance(layer, TextVectorization) and layer.get_config()["vocabulary"] is None:
            raise ValueError(f"Model '{model.name}' cannot be saved: its TextVectorization "
                             f"'{layer.name}' has no vocabulary yet (call `adapt(texts)` or "
                             f"`set_vocabulary(tokens)` first). A saved model must be able to "
                             f"read texts.")
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
    executes anything from the file, and leaves seqattn's global random generator as it was.

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
    for node in model._nodes:
        if node.layer._core is not None and node.layer.name in state["seeds"]:
            node.layer._core.seed = state["seeds"][node.layer.name]
    model._epoch = state["epoch"]
    if state["shuffle_rng"] is not None:
        model._rng = np.random.default_rng()
        model._rng.bit_generator.state = state["shuffle_rng"]
    if compile and compiled is not None:
        _compile_from_config(model, compiled, config)
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
    return model


# The models find this format here (they never import this module: it imports them).
_formats.register("seqattn", sys.modules[__name__])
