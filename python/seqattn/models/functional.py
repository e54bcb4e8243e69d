"""The functional model: a graph of layer calls from symbolic inputs to outputs, compiled to
one C++ `Graph`.

This module wires the graph and owns the weights; training, evaluation and prediction come
from `trainers.Trainer`, the conversion of user arrays from `trainers.DataAdapter`, the summary
from `models.summary`, and files from the format that `saving` registers (`_formats`), so
that saving imports the models and never the reverse.
"""

from __future__ import annotations

import threading

import numpy as np

from .. import _formats as formats
from .._usage import ModelUsage, reads as _reads, trains as _trains
from ..layers.base import Layer, _snake, is_symbolic, unique_name
from ..trainers.data_adapter import DataAdapter
from ..trainers.trainer import Trainer
from .summary import print_summary, summary_html


class Model(Trainer, DataAdapter):
    """A model from symbolic inputs to one or more outputs: `Model(inputs, outputs)`.

    Any DAG of layer calls works: a tensor used twice gets the sum of both gradients, `Add`
    merges residual branches, and a model may have several inputs and several outputs (one
    loss per output; the training loss is their weighted sum).

    Example:
        x = seqattn.Input(shape=(200,), dtype="int32")
        h = seqattn.layers.TokenAndPositionEmbedding(20000, 200, 32, mask_zero=True)(x)
        h = seqattn.layers.MultiHeadAttention(num_heads=2, key_dim=16)(h)
        y = seqattn.layers.Dense(2, activation="softmax")(
            seqattn.layers.GlobalAveragePooling1D()(h))
        model = seqattn.Model(x, y)
    """

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        subclassed = type(self).call is not Model.call
        if kwargs:
            raise TypeError("Model got unexpected keyword argument(s): "
                            + ", ".join(sorted(kwargs)))
        if subclassed and inputs is None and outputs is None:
            # Keras model subclassing: layers come in __init__, the graph from `call` on the
            # first data (nesting.trace_subclass).
            self._init_state(name or unique_name(_snake(type(self).__name__)))
            self.inputs = self.outputs = None
            self._nodes = []
            self._single_output = True
            return
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs) needs both: symbolic inputs from "
                            "seqattn.Input and the outputs computed from them (or subclass "
                            "Model and define `call`).")
        self._init_state(name or unique_name("functional"))
        self._set_graph(inputs, outputs)

    def call(self, inputs, training=None):
        """A subclassed model's forward computation, on symbolic tensors (override it)."""
        raise NotImplementedError(f"Model '{self.name}' defines no `call`.")

    def __setattr__(self, key, value):
        # Keras tracks a subclassed model's layers; seqattn orders weights by the graph, so
        # only the name matters here: attributes are stored as given.
        object.__setattr__(self, key, value)

    def __call__(self, x, training=None):
        """On symbolic tensors: this model's layer calls on them (a model used as a layer).
        On arrays: inference on one batch, like `predict` without batching or progress."""
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        if any(is_symbolic(t) for t in xs):
            from .nesting import call_on_tensors
            return call_on_tensors(self, x)
        return Trainer.__call__(self, x)

    def _build_symbolic(self, xs):
        """Builds a deferred model (Sequential without Input, subclassed) for symbolic `xs`."""
        from ..layers.input import Input
        inputs = [Input(shape=t.shape[1:], dtype=t.dtype) for t in xs]
        self._build_on(inputs)

    def _build_on(self, inputs):
        from .nesting import trace_subclass
        trace_subclass(self, inputs)

    def _ensure_built(self, x):
        with self._build_lock:
            if self.inputs is not None:
                return
            from .nesting import input_like
            arrays = x if isinstance(x, (list, tuple)) and x and isinstance(
                x[0], (list, tuple, np.ndarray)) and np.ndim(x[0]) >= 2 else [x]
            self._build_on([input_like(a, self.name) for a in arrays])
            if self._deferred_compile is not None:
                Model.compile.__wrapped__(self, *self._deferred_compile)

    def build(self, input_shape):
        """Builds a subclassed model for `input_shape` (with the batch axis, as Keras:
        (None, T)); token ids when the shape is 2-D, else float features."""
        if self.inputs is not None:
            return
        from ..layers.input import Input
        shape = tuple(input_shape)
        self._build_on([Input(shape=shape[1:], dtype="int32" if len(shape) == 2 else "float32")])

    def _prepare_x(self, x, what="x"):
        if self.inputs is None:
            if x is None:
                raise TypeError(f"`{what}` is None; expected an array.")
            self._ensure_built(x)
        return super()._prepare_x(x, what)

    @_trains("compile")
    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None):
        if self.inputs is not None:
            return Trainer.compile(self, optimizer, loss, loss_weights, metrics)
        self._defer_compile(optimizer, loss, loss_weights, metrics)

    def _defer_compile(self, optimizer, loss, loss_weights, metrics):
        """Not built yet: check the settings now, apply them when the first data arrives."""
        from .. import losses as losses_mod, metrics as metrics_mod, optimizers as optimizers_mod
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a `loss`.")
        loss, optimizer = losses_mod.get(loss), optimizers_mod.get(optimizer)
        for m in metrics or []:
            metrics_mod.get(m, loss)
        self._deferred_compile = (optimizer, loss, loss_weights, metrics)
        self._losses = [loss]  # compiled, as far as fit/evaluate are concerned

    def _init_state(self, name):
        self.name = name
        self._usage = ModelUsage(self)  # the threading rule (_usage.py)
        self._build_lock = threading.RLock()  # the C++ graph is built once, by one thread
        self._graph = None  # the C++ graph, built on first use
        self._losses = None  # one per output
        self._loss_weights = None
        self._optimizer = None
        self._metrics = []  # per output: a list of metric objects
        self.stop_training = False
        self.history = None
        self._rng = None  # fit's shuffling generator (see _shuffle_rng)
        self._epoch = 0  # epochs completed by fit (saved with the model)
        self._batch_tracker = None  # running logs of train_on_batch/test_on_batch
        self._deferred_compile = None  # compile() arguments of a model not built yet

    def _set_graph(self, inputs, outputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._single_output = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if self._single_output else list(outputs)
        if not inputs or not outputs:
            raise ValueError(f"Model '{self.name}' needs at least one input and one output.")
        for t in inputs + outputs:
            if not is_symbolic(t):
                raise TypeError(f"Model '{self.name}': inputs and outputs must be symbolic "
                                f"tensors (from seqattn.Input and layer calls), received {t!r}")
        for t in inputs:
            if t.node is not None:
                raise ValueError(f"Model '{self.name}': every input must come from seqattn.Input.")
        for t in outputs:
            if t.node is None:
                raise ValueError(f"Model '{self.name}': output {t.name!r} is an Input itself; "
                                 "outputs must be produced by layers.")
        self.inputs, self.outputs = inputs, outputs
        self._nodes = self._topological_nodes(outputs)
        self._check_single_use()
        read = [x for n in self._nodes for x in n.inputs if x is not None and x.node is None]
        given = {id(t) for t in inputs}
        for x in read:
            if id(x) not in given:
                raise ValueError(
                    f"Model '{self.name}': the outputs depend on Input {x.name!r}, which is not "
                    "among the model's inputs (a tensor from another model's graph?). Inputs: "
                    + ", ".join(repr(t.name) for t in inputs) + ".")
        for t in inputs:
            if all(x is not t for x in read):
                raise ValueError(f"Model '{self.name}': Input {t.name!r} is not connected to "
                                 "the outputs.")
        self._graph = None  # the C++ graph is built on first use

    def _check_single_use(self):
        """Layer sharing runs a second call on a tied copy (graph.hpp); attention scores of
        such a call would come from the copy, which no AttentionScores node reads."""
        seen = set()
        for node in self._nodes:
            if node.layer.hidden:
                attention = node.layer.attention
                if id(attention) in seen and node.inputs and \
                        node.inputs[0].node.layer is not attention:  # pragma: no cover
                    pass
                continue
            if id(node.layer) in seen and node.call_args.get("return_attention_scores"):
                raise ValueError(
                    f"Layer '{node.layer.name}' is called twice in model '{self.name}' with "
                    "return_attention_scores=True on a later call; seqattn returns the scores of "
                    "a shared MultiHeadAttention's first call only. Ask for them there, or use "
                    "a second layer.")
            seen.add(id(node.layer))

    def _weight_layers(self):
        """This model's weight-holding layers in get_weights order (a model used as a layer
        inside a custom layer or another model)."""
        return [sub for layer in self.layers for sub in layer._weight_layers()]

    @staticmethod
    def _topological_nodes(outputs):
        """The nodes the outputs depend on, in call order (the order the user's code created
        them, as Keras lists a model's layers in the order they were called; any creation order
        is topological). Iterative: a recursive walk hit Python's recursion limit at about
        1,000 chained layers."""
        order, seen = [], set()
        for output in outputs:
            if output.node is None or id(output.node) in seen:
                continue
            seen.add(id(output.node))
            stack = [(output.node, iter(output.node.inputs))]
            while stack:
                node, pending = stack[-1]
                for x in pending:
                    if x is not None and x.node is not None and id(x.node) not in seen:
                        seen.add(id(x.node))
                        stack.append((x.node, iter(x.node.inputs)))
                        break
                else:
                    stack.pop()
                    order.append(node)
        return sorted(order, key=lambda node: node.index)

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    @property
    def layers(self) -> list[Layer]:
        """The model's layers in call order, each once (a shared layer too); a composite
        block (TransformerEncoder, a custom layer) appears once, in place of its layers."""
        seen, out = set(), []
        for owner, _, _ in self._layer_calls():
            if id(owner) not in seen:
                seen.add(id(owner))
                out.append(owner)
        return out

    def _sources(self, layer):
        """Names of the layers (or Inputs) feeding `layer`, each once, in order; for a
        composite block, what feeds it from outside."""
        names = []
        for node in self._nodes:
            if (node.owner or node.layer) is not layer:
                continue
            for t in node.inputs:
                producer = None if t is None or t.node is None else (t.node.owner or t.node.layer)
                if t is None or producer is layer:
                    continue
                name = t.name if producer is None else producer.name
                if name not in names:
                    names.append(name)
        return names

    def _layer_calls(self):
        """(layer, first node, output node) per call of a layer, in call order (a shared
        layer has one entry per call): a composite block (TransformerEncoder, a custom
        layer, a model used as a layer) spans several nodes, from its first sub-layer call to
        the one producing its output. Its nodes need not be adjacent (a second input of a
        custom layer may be computed between them)."""
        calls, index = [], {}
        for node in self._nodes:
            if node.layer.hidden:
                continue
            owner = node.owner or node.layer
            key = id(node.owner_call) if node.owner is not None else id(node)
            if key in index:
                calls[index[key]][2] = node
            else:
                index[key] = len(calls)
                calls.append([owner, node, node])
        for call in calls:
            out = getattr(call[1].owner_call, "output_node", None)
            if out is not None:
                call[2] = out
        return calls

    def get_layer(self, name=None, index=None):
        """A layer by name (or position in `model.layers`)."""
        if index is not None:
            if not isinstance(index, int) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Model '{self.name}' has {len(self.layers)} layers; received "
                                 f"index={index!r}")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         + ", ".join(repr(l.name) for l in self.layers) + ".")

    def _core_graph(self):
        with self._build_lock:
            return self._build_core_graph()

    def _build_core_graph(self):
        if self._graph is None:
            from .. import _core
            graph_inputs, _ = self._graph_inputs()
            graph = _core.Graph(len(graph_inputs))
            ids = {id(t): i for i, t in enumerate(graph_inputs)}
            calls = {}  # layer -> how many of its calls were added (layer sharing)
            for node in self._core_nodes():
                refs = [-1 if x is None else ids[id(x)] for x in node.inputs]
                k = calls[id(node.layer)] = calls.get(id(node.layer), -1) + 1
                core, shares = node.layer._core, None
                if k:  # a second call runs on a copy tied to the layer's weights (graph.hpp)
                    core, shares = node.layer._shared_copy(node, k), node.layer._core
                ids[id(node.output)] = graph.add_node(
                    core, refs, shares=shares, **node.layer._call_options(node.call_args))
            graph.set_outputs([ids[id(t)] for t in self.outputs])
            self._graph = graph
            if self._losses is not None:
                self._compile_graph()
        return self._graph

    def _graph_inputs(self):
        """The C++ graph's inputs and the preprocessing layers in front of it.

        An Input read by a preprocessing layer (a TextVectorization on raw strings) is turned
        into the layer's output in Python, once per call on the whole array (data preparation,
        not the training step); the C++ graph starts from that output. An Input read by
        several preprocessing layers (words and word pairs of one text) gives the graph one
        input per layer, the first in the Input's place and the others after all Inputs.
        Returns (graph inputs, sources): sources[k] = (index of the model Input that graph
        input k comes from, the preprocessing layer applied to it or None)."""
        graph_inputs = list(self.inputs)
        sources = [(i, None) for i in range(len(graph_inputs))]
        positions = {id(t): i for i, t in enumerate(self.inputs)}
        for node in self._nodes:
            if node.layer._preprocessing:
                i = positions[id(node.inputs[0])]
                if sources[i][1] is None:
                    graph_inputs[i], sources[i] = node.output, (i, node.layer)
                else:
                    graph_inputs.append(node.output)
                    sources.append((i, node.layer))
        return graph_inputs, sources

    def _core_nodes(self):
        """The nodes that run in the C++ graph (all but the preprocessing layers)."""
        return [n for n in self._nodes if not n.layer._preprocessing]

    @_reads("generate")
    def generate(self, prompt, max_new_tokens, temperature=None, top_k=None, top_p=None,
                 seed=None, stop_token=None, use_cache=True):
        """Continues each prompt with up to `max_new_tokens` tokens (a causal language model).

        prompt: token ids (B, Tp) right-padded with 0, one row (Tp,), or a list of lists.
        temperature: None or 0 = greedy; else softmax(logits / temperature) sampling, limited
        to the `top_k` most likely tokens and/or the smallest set of mass `top_p`.
        seed: same seed, same tokens. stop_token: a row ends after emitting it.
        use_cache: True runs the C++ key/value cache (position-wise layers and causal
        self-attention only; other models raise ValueError naming the layer); False runs a
        full forward pass per token (any model). Token 0 (padding) is never generated.
        Returns the prompt + generated ids per row: an int32 array right-padded with 0 (the
        prompt's shape kind), or a list of lists for a list prompt.
        """
        from ..generation.causal_lm import run_generation
        return run_generation(self, prompt, max_new_tokens, temperature, top_k, top_p, seed,
                              stop_token, use_cache)

    @_reads("get_weights")
    def get_weights(self):
        """All weights, layer after layer in model order (Keras `get_weights()` order)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    @_trains("set_weights")
    def set_weights(self, weights):
        """Sets every weight (get_weights order). All arrays are checked (count, shapes,
        numeric and finite) before any is copied in, so a refused list changes nothing."""
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"Model '{self.name}': set_weights expects a list of arrays (as "
                            f"get_weights returns), received {type(weights).__name__}.")
        weights = list(weights)
        expected = sum(len(layer.get_weights()) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays, received "
                             f"{len(weights)}.")
        parts, i = [], 0
        for layer in self.layers:
            for sub in layer._weight_layers():
                n = len(sub.get_weights())
                if n:
                    parts.append((sub, weights[i:i + n]))
                i += n
        for sub, part in parts:
            sub._core.check_weights(part)
        for sub, part in parts:
            sub.set_weights(part)

    def count_params(self) -> int:
        return int(sum(layer.count_params() for layer in self.layers))

    @_reads("save")
    def save(self, filepath, overwrite=True):
        """Writes the model to one `.seqattn` file: architecture, weights, optimizer state and
        training state (epochs done, dropout and shuffling streams). The write is atomic: an
        interrupted save leaves any previous file intact. `seqattn.load_model` reads it.
        A path ending in `.keras` writes a Keras 3 file instead (architecture and weights,
        uncompiled), which `keras.saving.load_model` reads."""
        formats.native().save_model(self, filepath, overwrite)

    @_reads("save_weights")
    def save_weights(self, filepath, overwrite=True):
        """Writes the weights only to a `.weights.seqattn` file (atomically)."""
        formats.native().save_weights(self, filepath, overwrite)

    @_trains("load_weights")
    def load_weights(self, filepath):
        """Loads weights from a `.weights.seqattn` (or `.seqattn`) file into this model, which
        must have the same layers and weight shapes."""
        formats.native().load_weights(self, filepath)

    @_reads("export")
    def export(self, filepath, format="onnx", verbose=None, *, opset=17):
        """Writes the model for another runtime: `format="onnx"` (the only one) writes a
        standard ONNX graph (dynamic batch axis, inference mode, padding masks computed as
        seqattn does) and, for a model starting with a TextVectorization, its vocabulary as
        `<name>.vocabulary.json` beside it. Keras 3's `export` defaults to a TensorFlow
        SavedModel, which seqattn cannot write. `verbose`: print the files written. Needs the
        extra `seqattn[onnx]`. Returns the paths written."""
        if format != "onnx":
            raise ValueError(f"Model '{self.name}': export supports format='onnx' only (Keras's "
                             f"'tf_saved_model' needs TensorFlow); received format={format!r}")
        from ..export import to_onnx
        written = to_onnx(self, filepath, opset=opset)
        if verbose:
            print(f"Exported model '{self.name}' to " + ", ".join(written))
        return written

    def get_config(self):
        """The architecture as a JSON-serialisable dict; `Model.from_config` rebuilds it
        (fresh weights, not compiled)."""
        return formats.native().model_config(self)

    @classmethod
    def from_config(cls, config):
        model = formats.native().model_from_config(config)
        if not isinstance(model, cls):
            raise TypeError(f"{cls.__name__}.from_config received the config of a "
                            f"{config.get('class_name')} model.")
        return model

    def _require_built(self, what):
        if self.inputs is None:
            raise ValueError(f"Model '{self.name}' is not built yet, so it has no weights to "
                             f"{what}: give it an Input first, or call fit/predict on data.")

    # ---------------------------------------------------------------- summary
    _summary_connected = True  # functional models show which layers feed each one

    def summary(self, print_fn=None):
        """Prints a table of layers, output shapes and parameter counts (and, for functional
        models, which layers feed each one)."""
        print_summary(self, print_fn)

    def _repr_html_(self):
        """The summary as an HTML table, for Jupyter (`model` as a cell's last line)."""
        return summary_html(self)
