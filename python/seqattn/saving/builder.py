"""Rebuilding a model from its architecture: the layer calls replayed in order, every config
checked and budgeted first; and the compile settings (losses, optimizer, metrics)."""

from __future__ import annotations

import math

from .. import archive
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from ..layers import TextVectorization
from ..layers.base import Layer, is_symbolic
from ..layers.input import Input
from ..layers.math_ops import Constant
from ..models import Model, Sequential
from .config import _LAYER_CLASSES, layer_class
from .checks import (
    _MAX_AUC_THRESHOLDS, _MAX_DIM, _MAX_LAYERS, _MAX_NGRAM, _Reader, _cut, _is_int, _is_number,
    _join, _tensor_ref
)


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
        built, calls = {}, {}  # layers by name, and how often each was called
        for i, entry in enumerate(entries):
            layer = self.shared(entry, i, built) if isinstance(entry, dict) and \
                "shared" in entry else self.layer(entry, i)
            if layer.name in built and built[layer.name] is not layer:
                r.fail(self.field("layers", i, "config", "name"), f"repeats the layer name "
                       f"{archive.brief(layer.name)}; a later call of the same layer is an "
                       "entry with \"shared\"")
            built[layer.name] = layer
            args = self.decode(r.get(self.field("layers", i), entry, "args"),
                               self.field("layers", i, "args"))
            kwargs = self.decode(r.get(self.field("layers", i), entry, "kwargs"),
                                 self.field("layers", i, "kwargs"))
            r.list(self.field("layers", i, "args"), args)
            r.object(self.field("layers", i, "kwargs"), kwargs)
            if not isinstance(layer, Constant):  # a graph constant reads no tensor
                self.check_call(args, kwargs, i)
            k = calls[layer.name] = calls.get(layer.name, -1) + 1
            out = self.call(layer, args, kwargs, i, lambda: layer(*args, **kwargs),
                            budget=k == 0)
            for j, t in enumerate(out if isinstance(out, tuple) else (out,)):
                self.tensors[(layer.name, j) + ((k,) if k else ())] = t
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
        cls = layer_class(name)
        if cls is None:
            r.fail(_join(field, "class_name"), "must name a seqattn layer ("
                   + ", ".join(sorted(_LAYER_CLASSES)) + ") or a custom layer registered with "
                   "seqattn.saving.register_keras_serializable or given in "
                   f"load_model(custom_objects=...), received {archive.brief(name)}")
        config = r.object(_join(field, "config"), r.get(field, entry, "config"))
        if cls is TextVectorization:
            _check_vectorizer_config(r, _join(field, "config"), config, self.budget is not None)
        article = "an" if name[:1] in "AEIOU" else "a"
        return self.attempt(f"`{field}`: cannot rebuild {article} {name} layer from its config",
                            lambda: cls.from_config(config))

    def shared(self, entry, i, built) -> Layer:
        """A later call of a layer built by an earlier entry (layer sharing)."""
        field = self.field("layers", i, "shared")
        name = entry["shared"]
        if not isinstance(name, str) or name not in built:
            self.reader.fail(field, f"must name a layer built by an earlier entry, received "
                                    f"{archive.brief(name)}")
        extra = set(entry) - {"shared", "args", "kwargs"}
        if extra:
            self.reader.fail(self.field("layers", i), "a shared call holds only shared, args and "
                             "kwargs; received " + ", ".join(sorted(map(str, extra))))
        return built[name]

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

    def call(self, layer, args, kwargs, i, thunk, budget=True):
        field = self.field("layers", i)
        if self.budget is not None and budget:  # a shared layer's weights exist already
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
        split = config.get("split")
        if isinstance(split, dict) and isinstance(split.get("config"), dict):
            # A SubwordTokenizer's (SubwordTokenizer.from_config checks the rest): trained.
            reader.string(_join(field, "split.config.tokenizer"), split["config"].get("tokenizer"))
    length = config.get("output_sequence_length")
    if length is not None:
        reader.integer(_join(field, "output_sequence_length"), length, 1, _MAX_DIM + 1)
    ngrams = config.get("ngrams")
    sizes = ngrams if isinstance(ngrams, list) else [] if ngrams is None else [ngrams]
    for size in sizes:
        reader.integer(_join(field, "ngrams"), size, 1, _MAX_NGRAM + 1)
    if len(sizes) > _MAX_NGRAM:
        reader.fail(_join(field, "ngrams"), f"lists more than {_MAX_NGRAM} sizes")


_OPTIMIZERS = {"SGD": optimizers_mod.SGD, "Adam": optimizers_mod.Adam,
               "AdamW": optimizers_mod.AdamW, "RMSprop": optimizers_mod.RMSprop,
               "Adagrad": optimizers_mod.Adagrad}


def _compile_from_config(model, config, reader):
    """model.compile() with config.json's "compile" settings, each field checked first."""
    r, n = reader, len(model.outputs)
    r.object("compile", config)
    entry = r.object("compile.optimizer", r.get("compile", config, "optimizer"))
    class_name = r.get("compile.optimizer", entry, "class_name")
    r.require("compile.optimizer.class_name", class_name,
              isinstance(class_name, str) and class_name in _OPTIMIZERS,
              "'SGD', 'Adam', 'AdamW', 'RMSprop' or 'Adagrad'")
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
            if "from_logits" in losses_mod._BY_NAME[name]().get_config():  # cross-entropies
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
        loss_objects = [None if c is None else losses_mod.from_config(c) for c in losses]
        metric_objects = [[metrics_mod.from_config(c) for c in ms] for ms in metrics]
        model.compile(optimizer=optimizer, loss=loss_objects, loss_weights=loss_weights,
                      metrics=metric_objects)

    try:
        build()
    except (TypeError, ValueError) as e:
        raise r.error(f"`compile`: cannot compile the model with these settings: {_cut(e)}") \
            from None
