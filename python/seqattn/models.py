"""Models: a graph of layer calls compiled to one C++ `Graph`.

`Sequential` is a `Model` whose graph is a chain; both share one execution path. A training
step (forward, loss, backward, update) is one C++ call with the GIL released; Python only
slices batches, shuffles and reports progress.
"""

from __future__ import annotations

import copy
import functools
import threading

import numpy as np

from . import _validation as V
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .callbacks import CallbackList, History
from .layers.base import Layer, SymbolicTensor, is_symbolic, unique_name
from .layers.input import InputLayer
from ._usage import ModelUsage
from .progress import Progbar, resolve_verbose
from .utils import draw_seed


def _reads(what):
    """Marks a method that reads the model (inference): any number of threads at once."""
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            with self._usage.reading(what.strip("_")):
                return method(self, *args, **kwargs)
        return call
    return wrap


def _trains(what):
    """Marks a method that changes weights or training state: one thread, alone (_usage.py)."""
    def wrap(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            with self._usage.training(what):
                return method(self, *args, **kwargs)
        return call
    return wrap


class Model:
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

    def __init__(self, inputs, outputs, name=None):
        self._init_state(name or unique_name("functional"))
        self._set_graph(inputs, outputs)

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

    # ----------------------------------------------------------- graph wiring
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

    @staticmethod
    def _topological_nodes(outputs):
        """Nodes in call order (post-order from the outputs). Iterative: a recursive walk hit
        Python's recursion limit at about 1,000 chained layers."""
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
        return order

    @property
    def output_names(self) -> list[str]:
        return [t.name for t in self.outputs]

    @property
    def layers(self) -> list[Layer]:
        """The model's layers in call order; a composite block (TransformerEncoder) appears
        once, in place of the layers it is made of."""
        return [owner for owner, _, _ in self._layer_calls()]

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
        """(layer, first node, last node) per layer in `layers`: a composite block spans
        several nodes, from its first sub-layer call to the one producing its output."""
        calls = []
        for node in self._nodes:
            if node.layer.hidden:
                continue
            owner = node.owner or node.layer
            if calls and calls[-1][0] is owner:
                calls[-1][2] = node
            else:
                calls.append([owner, node, node])
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
            from . import _core
            graph_inputs, _ = self._graph_inputs()
            graph = _core.Graph(len(graph_inputs))
            ids = {id(t): i for i, t in enumerate(graph_inputs)}
            for node in self._core_nodes():
                refs = [-1 if x is None else ids[id(x)] for x in node.inputs]
                ids[id(node.output)] = graph.add_node(
                    node.layer._core, refs, **node.layer._call_options(node.call_args))
            graph.set_outputs([ids[id(t)] for t in self.outputs])
            self._graph = graph
            if self._losses is not None:
                self._compile_graph()
        return self._graph

    def _graph_inputs(self):
        """The C++ graph's inputs and the text vectorizers in front of it.

        A string Input read by a TextVectorization is turned into token ids in Python, once per
        call on the whole array (data preparation, not the training step); the C++ graph starts
        from the vectorizer's (B, L) int32 output. Returns (graph inputs, {input index:
        vectorizer})."""
        from .text import TextVectorization
        graph_inputs, vectorizers = list(self.inputs), {}
        for node in self._nodes:
            if isinstance(node.layer, TextVectorization):
                i = [id(t) for t in self.inputs].index(id(node.inputs[0]))
                graph_inputs[i], vectorizers[i] = node.output, node.layer
        return graph_inputs, vectorizers

    def _core_nodes(self):
        """The nodes that run in the C++ graph (all but the text vectorizers)."""
        return [n for n in self._nodes if not getattr(n.layer, "_python_only", False)]

    # ---------------------------------------------------------------- weights
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

    @_reads("_compute_gradients")
    def _compute_gradients(self, x, y, training=False):
        """(total loss, dL/dweight for every weight in get_weights order), without an update."""
        self._require_compiled("compute_gradients")
        xs = self._prepare_x(x)
        loss, flat = self._core_graph().compute_gradients(xs, self._prepare_ys(y, len(xs[0])),
                                                          training)
        # The C++ graph lists parameters in node order; regroup them per layer.
        by_layer, start = {}, 0
        for node in self._core_nodes():
            if id(node.layer) not in by_layer and not node.layer.hidden:
                n = len(node.layer.get_weights())
                by_layer[id(node.layer)] = flat[start:start + n]
                start += n
        return loss, [g for owner in self.layers for sub in owner._weight_layers()
                      for g in by_layer[id(sub)]]

    def count_params(self) -> int:
        return int(sum(layer.count_params() for layer in self.layers))

    # ---------------------------------------------------------------- compile
    @_trains("compile")
    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None):
        """Configures training.

        Args:
            optimizer: "sgd", "adam", "adamw" or an optimizer object. (Keras defaults to
                "rmsprop", which seqattn does not have; the default here is "adam".)
            loss: "sparse_categorical_crossentropy", "binary_crossentropy" or a loss object;
                for several outputs, one loss for all, a list (one per output) or a dict
                keyed by output name.
            loss_weights: for several outputs, a list or dict of floats (default 1 each).
            metrics: a list such as ["accuracy"] (applied to every output), or, for several
                outputs, a list of lists or a dict keyed by output name.
        """
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a `loss`, e.g. "
                             "loss='sparse_categorical_crossentropy'.")
        self._optimizer = optimizers_mod.get(optimizer)
        self._losses = [None if l is None else losses_mod.get(l)
                        for l in self._per_output(loss, "loss")]
        for l, t in zip(self._losses, self.outputs):
            if l is not None and t.node.layer.hidden:
                raise ValueError(f"Output {t.name!r} holds attention scores, which carry no "
                                 "gradient: give it no loss (None in a list, or leave it out "
                                 "of a loss dict).")
        if all(l is None for l in self._losses):
            raise ValueError(f"Model '{self.name}': compile() needs a loss for at least one "
                             "output.")
        self._loss_weights = [V.number("loss_weights", w) for w in
                              self._per_output(1.0 if loss_weights is None else loss_weights,
                                               "loss_weights")]
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(f"`metrics` must be a list, e.g. ['accuracy']. Received: "
                            f"metrics={metrics!r}")
        nested = isinstance(metrics, dict) or (metrics and isinstance(metrics[0], (list, tuple)))
        per_output = self._per_output(metrics, "metrics") if nested else [metrics] * len(
            self.outputs)
        self._metrics = [[metrics_mod.get(self._own_metric(m), l) for m in ms or []]
                         if l is not None else [] for ms, l in zip(per_output, self._losses)]
        self._check_metrics()
        self._compile_graph()

    @staticmethod
    def _own_metric(m):
        """A metric object given to compile is copied, so outputs never share counts."""
        return metrics_mod.from_config(m.get_config()) if isinstance(m, metrics_mod.Metric) else m

    def _check_metrics(self):
        """Each metric sees an empty batch of its output's shape now, so a metric that cannot
        read that output fails at compile, not mid-epoch; duplicate log names get a suffix
        ("precision_1"), as in Keras."""
        for ms, output in zip(self._metrics, self.outputs):
            shape = (0,) + tuple(1 if d is None else d for d in output.shape[1:])
            for m in ms:
                m.update_state(np.zeros(shape[:-1] if shape[-1] > 1 else shape, np.float32),
                               np.zeros(shape, np.float32))
                m.reset_state()
            seen = {}
            for m in ms:
                if m.name in seen:
                    seen[m.name] += 1
                    m.name = f"{m.name}_{seen[m.name]}"
                else:
                    seen[m.name] = 0

    def _per_output(self, value, what):
        """One entry per output from a single value, a list or a dict by output name."""
        n = len(self.outputs)
        if isinstance(value, dict):
            unknown = set(value) - set(self.output_names)
            if unknown:
                raise ValueError(f"`{what}` names unknown outputs {sorted(unknown)}; the outputs "
                                 f"are {self.output_names}.")
            return [value.get(name) for name in self.output_names]
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"`{what}` must have one entry per output ({n}), received "
                                 f"{len(value)}.")
            return list(value)
        return [value] * n

    def _compile_graph(self):
        if self._graph is None:
            self._core_graph()  # builds, then comes back here
            return
        self._graph.compile([None if l is None else l._core() for l in self._losses],
                            self._loss_weights,
                            self._optimizer.core)

    @property
    def optimizer(self):
        return self._optimizer

    @property
    def loss(self):
        """The loss (a list of losses for a model with several outputs)."""
        if self._losses is None:
            return None
        return self._losses[0] if len(self._losses) == 1 else list(self._losses)

    def _require_compiled(self, what):
        if self._losses is None:
            raise RuntimeError(f"You must call compile() before {what}() on model '{self.name}'.")

    # ------------------------------------------------------------ data checks
    def _prepare_x(self, x, what="x"):
        """The caller's input arrays as the C++ graph reads them (int32 ids or float32
        features), each checked whole by the C++ boundary (dtype, shape, token-id range), so an
        error gives the position in the caller's data."""
        arrays = x if isinstance(x, (list, tuple)) and len(self.inputs) > 1 else [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input arrays, "
                             f"received {len(arrays)}.")
        graph = self._core_graph()
        graph_inputs, vectorizers = self._graph_inputs()
        out = []
        for i, (a, inp) in enumerate(zip(arrays, graph_inputs)):
            if a is None:
                raise TypeError(f"`{what}` is None; expected an array of shape "
                                f"{self.inputs[i].shape}.")
            if i in vectorizers:  # raw strings -> (B, L) token ids
                a = vectorizers[i](a)
            try:
                arr = np.asarray(a)
            except ValueError as e:  # ragged nested lists
                raise ValueError(f"Input {i} of model '{self.name}' must be a rectangular array "
                                 "of shape (B, T); pad the sequences to one length first "
                                 f"(e.g. TextVectorization(output_sequence_length=T)). ({e})"
                                 ) from None
            if arr.ndim >= 1 and arr.shape[0] == 0:
                raise ValueError(f"`{what}` is empty: received an array of shape {arr.shape}.")
            out.append(graph.prepare_input(i, arr, [-1 if d is None else d for d in inp.shape],
                                           f"Input {i} of model '{self.name}'"))
        sizes = [len(a) for a in out]
        if len(set(sizes)) > 1:
            raise ValueError(f"Model '{self.name}': every input array must hold the same number "
                             f"of samples; received {sizes} for {what}.")
        return out

    def _prepare_ys(self, y, n):
        """Targets as one float32 array per output, checked against that output's loss."""
        if y is None:
            raise ValueError(f"Model '{self.name}': fit/evaluate need targets `y`.")
        trained = [name for name, l in zip(self.output_names, self._losses) if l is not None]
        if len(trained) == 1 and (not isinstance(y, (list, tuple, dict)) or (
                len(self.outputs) == 1 and not isinstance(y, dict))):
            y = {trained[0]: y}  # one output: a Python list of labels is its targets (Keras)
        if isinstance(y, dict):
            missing = [name for name in trained if name not in y]
            if missing:
                raise ValueError(f"`y` has no targets for outputs {missing}.")
            ys = [y.get(name) for name in self.output_names]
        elif isinstance(y, (list, tuple)) and len(y) == len(self.outputs):
            ys = list(y)
        else:
            raise ValueError(f"Model '{self.name}' has {len(self.outputs)} outputs "
                             f"{self.output_names}: give `y` as a list or a dict of as many "
                             "target arrays.")
        # Outputs without a loss take no targets (an empty placeholder for the C++ call).
        return [self._prepare_target(t, n, out, loss) if loss is not None
                else np.zeros(0, np.float32)
                for t, out, loss in zip(ys, self.outputs, self._losses)]

    def _prepare_target(self, y, n, output, loss):
        """One output's targets, checked whole by the C++ loss (numeric, one per prediction,
        labels in range) so errors give positions in the caller's array."""
        if isinstance(y, (list, tuple)):
            try:
                y = np.asarray(y)  # Keras takes Python lists of labels
            except ValueError as e:
                raise ValueError(f"`y` for output '{output.name}' of model '{self.name}' must be "
                                 f"a rectangular array; received ragged nested lists ({e})."
                                 ) from None
        pred_shape = [n] + [1 if d is None else d for d in output.shape[1:]]
        return loss._core().prepare_targets(y, pred_shape,
                                            f"output '{output.name}' of model '{self.name}'")

    @staticmethod
    def _batch_size(batch_size):
        return 32 if batch_size is None else V.positive_int("batch_size", batch_size)

    # ------------------------------------------------------------------- fit
    @_trains("fit")
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, validation_batch_size=None,
            validation_freq=1):
        """Trains the model; returns a `History` (also kept as `model.history`).

        Arguments and their order follow Keras 3:
            x, y: input arrays and targets (lists or dicts for several inputs/outputs).
            batch_size: default 32. epochs: train until this epoch index.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto".
            callbacks: a list of seqattn.callbacks.Callback.
            validation_split: fraction in [0, 1) of the data held out for validation: the
                LAST samples, taken before any shuffling. Ignored when validation_data is given.
            validation_data: (x_val, y_val) or (x_val, y_val, val_sample_weight).
            shuffle: reshuffle the training samples every epoch (the model's own seeded
                generator, saved with the model so a resumed run continues the sequence).
            class_weight: {class id: weight} for a single-output model; multiplies the loss
                of every sample of that class (classes not listed weigh 1).
            sample_weight: (B,) non-negative per-sample loss weights (times class_weight).
            initial_epoch: epoch to start from (to resume a run).
            validation_batch_size: default batch_size. validation_freq: validate every N epochs.

        Ctrl-C stops within one training step and leaves the model usable (KeyboardInterrupt
        propagates to the caller).
        """
        self._require_compiled("fit")
        xs = self._prepare_x(x)
        n = xs[0].shape[0]
        ys = self._prepare_ys(y, n)
        weights = self._sample_weights(sample_weight, class_weight, ys, n)
        batch_size = self._batch_size(batch_size)
        epochs = V.positive_int("epochs", epochs)
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
                or not 0 <= initial_epoch < epochs:
            raise ValueError(f"`initial_epoch` must be an int in [0, epochs); received "
                             f"initial_epoch={initial_epoch!r} with epochs={epochs}.")
        initial_epoch = int(initial_epoch)
        V.boolean("shuffle", shuffle)
        verbose = resolve_verbose(verbose)
        validation_freq = V.positive_int("validation_freq", validation_freq)
        val_batch_size = (batch_size if validation_batch_size is None
                          else V.positive_int("validation_batch_size", validation_batch_size))
        val = None
        if validation_data is not None:
            val = self._validation_arrays(validation_data)
        elif validation_split:
            xs, ys, weights, val = self._split_validation(xs, ys, weights, validation_split)
            n = xs[0].shape[0]
        self._core_graph()  # built before the loop: _train_batch steps self._graph
        steps = -(-n // batch_size)
        history = History()
        # History last, as in Keras 3: it records what other callbacks add (learning_rate).
        cbs = CallbackList(list(self._callback_list(callbacks)) + [history], model=self,
                           verbose=verbose, epochs=epochs, steps=steps,
                           validation_freq=validation_freq)  # plot_history places val_* by it
        rng = self._shuffle_rng()
        self.stop_training = False
        cbs.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            if verbose and epochs > 1:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            order = rng.permutation(n) if shuffle else np.arange(n)
            bar = Progbar(steps, verbose)
            tracker = self._tracker()
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                idx = order[step * batch_size:(step + 1) * batch_size]
                yb = [t[idx] if t.size else t for t in ys]  # empty: an output without loss
                self._train_batch([a[idx] for a in xs], yb,
                                  None if weights is None else weights[idx], tracker)
                batch_logs = tracker.logs()
                cbs.on_train_batch_end(step, batch_logs)
                bar.update(step + 1, batch_logs)
                if self.stop_training:
                    break
            logs = tracker.logs()
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(*val, val_batch_size, 0, cbs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)  # callbacks may add keys (learning_rate)
            bar.update(steps, logs, final=True)
            bar.epoch_line(logs)
            self._epoch = epoch + 1
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = history
        return history

    def _train_batch(self, xb, yb, wb, tracker):
        """One C++ training step (forward, loss, backward, update) and the running logs."""
        graph = self._graph
        self._optimizer._update_learning_rate()  # a schedule sets this step's rate
        loss, losses, outputs = graph.train_step(xb, yb, wb, tracker.needs_outputs)
        tracker.update(len(xb[0]), loss, losses, yb, outputs)

    @staticmethod
    def _callback_list(callbacks):
        if callbacks is None:
            return []
        if not isinstance(callbacks, (list, tuple)):
            raise TypeError("`callbacks` must be a list of seqattn.callbacks.Callback objects; "
                            f"received {callbacks!r}")
        return callbacks

    def _shuffle_rng(self):
        """The model's shuffling generator, drawn once from the global seeded generator. It is
        part of the saved state, so a resumed run shuffles as the uninterrupted one would."""
        if self._rng is None:
            self._rng = np.random.default_rng(draw_seed())
        return self._rng

    def _validation_arrays(self, validation_data):
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight); received {type(validation_data).__name__}"
                             + (f" of length {len(validation_data)}"
                                if isinstance(validation_data, (list, tuple)) else ""))
        vx = self._prepare_x(validation_data[0], "validation_data[0]")
        vn = vx[0].shape[0]
        vy = self._prepare_ys(validation_data[1], vn)
        vw = (self._sample_weights(validation_data[2], None, vy, vn, "validation sample_weight")
              if len(validation_data) == 3 else None)
        return vx, vy, vw

    def _split_validation(self, xs, ys, weights, split):
        """Keras: the last `split` fraction of the samples, before shuffling, validates."""
        split = V.number("validation_split", split, low=0.0, high=1.0, high_open=True)
        n = xs[0].shape[0]
        at = int(np.floor(n * (1.0 - split)))
        if at == 0 or at == n:
            raise ValueError(f"Training data contains {n} samples, which is not sufficient to "
                             f"split it into a validation and training set as specified by "
                             f"`validation_split={split}`. Either provide more data, or a "
                             "different value for the `validation_split` argument.")

        def cut(arrays, part):
            return [a[part] if a.size else a for a in arrays]

        head, tail = slice(0, at), slice(at, n)
        val = (cut(xs, tail), cut(ys, tail), None if weights is None else weights[tail])
        return cut(xs, head), cut(ys, head), None if weights is None else weights[head], val

    def _sample_weights(self, sample_weight, class_weight, ys, n, what="sample_weight"):
        """Per-sample loss weights (B,) float32 from sample_weight and class_weight, or None."""
        if sample_weight is None and class_weight is None:
            return None
        trained = [i for i, l in enumerate(self._losses) if l is not None]
        for i in trained:
            rows = int(np.prod(self.outputs[i].shape[1:-1] or (1,)))
            if rows != 1:
                raise ValueError(f"Model '{self.name}': {what}/class_weight weigh whole samples; "
                                 f"output {self.output_names[i]!r} has one prediction per time "
                                 f"step {self.outputs[i].shape}, which is not supported.")
        w = np.ones(n, np.float32)
        if sample_weight is not None:
            sw = np.asarray(sample_weight)
            if sw.dtype.kind not in "biuf":
                raise TypeError(f"`{what}` must be numeric; received dtype {sw.dtype}.")
            if sw.ndim == 2 and sw.shape[1] == 1:
                sw = sw[:, 0]
            if sw.shape != (n,):
                raise ValueError(f"`{what}` must have shape ({n},), one weight per sample; "
                                 f"received shape {sw.shape}.")
            bad = ~np.isfinite(sw) | (sw < 0)
            if bad.any():
                j = int(np.argmax(bad))
                raise ValueError(f"`{what}` must hold finite non-negative numbers; received "
                                 f"{sw[j].item()!r} at index {j}.")
            w *= sw.astype(np.float32)
        if class_weight is not None:
            w *= self._class_weights(class_weight, ys, trained)
        return np.ascontiguousarray(w)

    def _class_weights(self, class_weight, ys, trained):
        if not isinstance(class_weight, dict):
            raise TypeError(f"`class_weight` must be a dict {{class id: weight}}; received "
                            f"{class_weight!r}")
        if len(self.outputs) != 1 or len(trained) != 1:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        table = {}
        for k, v in class_weight.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise ValueError(f"`class_weight` keys must be class ids (non-negative ints); "
                                 f"received {k!r}")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                    or not np.isfinite(v) or v < 0:
                raise ValueError(f"`class_weight[{k}]` must be a finite non-negative number; "
                                 f"received {v!r}")
            table[int(k)] = float(v)
        labels = ys[trained[0]].reshape(len(ys[trained[0]]), -1)
        if labels.shape[1] != 1:
            raise ValueError("`class_weight` needs one class id per sample; received targets "
                             f"of shape {ys[trained[0]].shape}.")
        labels = labels[:, 0]
        if np.any(labels != np.round(labels)):
            raise ValueError("`class_weight` needs integer class labels (0/1 for "
                             "binary_crossentropy); received soft labels.")
        return np.array([table.get(int(c), 1.0) for c in labels], np.float32)

    def _tracker(self, own_metrics=False):
        """Running logs; with own_metrics, over copies of the compiled metrics, so evaluate
        calls in several threads never share counts (fit uses the model's own: it runs
        alone)."""
        metrics = ([[copy.deepcopy(m) for m in ms] for ms in self._metrics] if own_metrics
                   else self._metrics)
        return _EpochTracker(self.output_names, metrics,
                             [loss is not None for loss in self._losses])

    # ------------------------------------------------------ one-batch methods
    @_trains("train_on_batch")
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One training step on one batch. As in Keras 3, the returned loss and metrics are
        running means over the *_on_batch calls since the last `reset_metrics()`."""
        self._require_compiled("train_on_batch")
        xs = self._prepare_x(x)
        ys = self._prepare_ys(y, xs[0].shape[0])
        w = self._sample_weights(sample_weight, class_weight, ys, xs[0].shape[0])
        self._core_graph()
        if self._batch_tracker is None:
            self._batch_tracker = self._tracker()
        self._train_batch(xs, ys, w, self._batch_tracker)
        return self._logs_result(self._batch_tracker.logs(), return_dict)

    @_reads("test_on_batch")
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch in inference mode (running means since the last
        `reset_metrics()`, as Keras 3)."""
        self._require_compiled("test_on_batch")
        xs = self._prepare_x(x)
        ys = self._prepare_ys(y, xs[0].shape[0])
        w = self._sample_weights(sample_weight, None, ys, xs[0].shape[0])
        graph = self._core_graph()
        if self._batch_tracker is None:
            self._batch_tracker = self._tracker()
        loss, losses, outputs = graph.test_step(xs, ys, w)
        self._batch_tracker.update(len(xs[0]), loss, losses, ys, outputs)
        return self._logs_result(self._batch_tracker.logs(), return_dict)

    @_reads("predict_on_batch")
    def predict_on_batch(self, x):
        """Outputs for one batch in inference mode (no batching, no progress)."""
        outputs = self._core_graph().predict_step(self._prepare_x(x))
        return outputs[0] if self._single_output else outputs

    def reset_metrics(self):
        """Restarts the running means reported by train_on_batch / test_on_batch."""
        self._batch_tracker = None

    @staticmethod
    def _logs_result(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # -------------------------------------------------------- evaluate/predict
    def _evaluate_arrays(self, xs, ys, weights, batch_size, verbose=0, cbs=None):
        graph = self._core_graph()
        n = xs[0].shape[0]
        tracker = self._tracker(own_metrics=True)
        steps = -(-n // batch_size)
        bar = Progbar(steps, verbose)
        if cbs is not None:
            cbs.on_test_begin()
        for step in range(steps):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            sl = slice(step * batch_size, (step + 1) * batch_size)
            xb = [a[sl] for a in xs]
            yb = [t[sl] if t.size else t for t in ys]  # empty: an output without loss
            loss, losses, outputs = graph.test_step(xb, yb,
                                                    None if weights is None else weights[sl])
            tracker.update(len(xb[0]), loss, losses, yb, outputs)
            if cbs is not None:
                cbs.on_test_batch_end(step, tracker.logs())
            bar.update(step + 1, tracker.logs())
        logs = tracker.logs()
        bar.update(steps, logs, final=True)
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    @_reads("evaluate")
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 callbacks=None, return_dict=False):
        """Loss (and metrics) in inference mode: a float, a list in `logs` order (loss first),
        or a dict with return_dict=True. Arguments in Keras 3 order."""
        self._require_compiled("evaluate")
        xs = self._prepare_x(x)
        n = xs[0].shape[0]
        ys = self._prepare_ys(y, n)
        weights = self._sample_weights(sample_weight, None, ys, n)
        batch_size = self._batch_size(batch_size)
        verbose = resolve_verbose(verbose)
        cbs = CallbackList(list(self._callback_list(callbacks)), model=self, verbose=verbose,
                           epochs=1, steps=-(-n // batch_size))
        logs = self._evaluate_arrays(xs, ys, weights, batch_size, verbose, cbs)
        return self._logs_result(logs, return_dict)

    @_reads("predict")
    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """Outputs for `x` in inference mode, computed in batches (default 32): an array, or a
        list of arrays for a model with several outputs."""
        xs = self._prepare_x(x)
        batch_size = self._batch_size(batch_size)
        graph = self._core_graph()
        n = xs[0].shape[0]
        steps = -(-n // batch_size)
        verbose = resolve_verbose(verbose)
        cbs = CallbackList(list(self._callback_list(callbacks)), model=self, verbose=verbose,
                           epochs=1, steps=steps)
        bar = Progbar(steps, verbose if steps > 1 else 0)
        cbs.on_predict_begin()
        outs = []
        for step in range(steps):
            cbs.on_predict_batch_begin(step)
            sl = slice(step * batch_size, (step + 1) * batch_size)
            outs.append(graph.predict_step([a[sl] for a in xs]))
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
            bar.update(step + 1, {})
        bar.update(steps, {}, final=True)
        cbs.on_predict_end()
        merged = [np.concatenate(parts, axis=0) for parts in zip(*outs)]
        return merged[0] if self._single_output else merged

    @_reads("attention_scores")
    def attention_scores(self, x, batch_size=None):
        """Attention probabilities of every MultiHeadAttention layer, in inference mode.

        Returns a dict {layer name: (B, H, T, S) array}, the probabilities before dropout (rows
        of padded queries are zero). Computed in batches like `predict`.
        """
        from .layers.attention import MultiHeadAttention
        # Every attention call, also those inside composite blocks (TransformerEncoder's is
        # named "<block>/self_attention"), in model order.
        attention = [n.layer for n in self._nodes if isinstance(n.layer, MultiHeadAttention)]
        if not attention:
            raise ValueError(f"Model '{self.name}' has no MultiHeadAttention layer.")
        xs = self._prepare_x(x)
        batch_size = self._batch_size(batch_size)
        graph = self._core_graph()
        scores = {layer.name: [] for layer in attention}
        for start in range(0, xs[0].shape[0], batch_size):
            _, batch = graph.predict_step([a[start:start + batch_size] for a in xs],
                                          [layer._core for layer in attention])
            for layer, p in zip(attention, batch):
                scores[layer.name].append(p)
        return {name: np.concatenate(parts, axis=0) for name, parts in scores.items()}

    @_reads("__call__")
    def __call__(self, x):
        """Inference on one batch of arrays, like `predict` without batching or progress."""
        outputs = self._core_graph().predict_step(self._prepare_x(x))
        return outputs[0] if self._single_output else outputs

    # ----------------------------------------------------------- saving
    @_reads("save")
    def save(self, filepath, overwrite=True):
        """Writes the model to one `.seqattn` file: architecture, weights, optimizer state and
        training state (epochs done, dropout and shuffling streams). The write is atomic: an
        interrupted save leaves any previous file intact. `seqattn.load_model` reads it."""
        from .saving import save_model
        save_model(self, filepath, overwrite)

    @_reads("save_weights")
    def save_weights(self, filepath, overwrite=True):
        """Writes the weights only to a `.weights.seqattn` file (atomically)."""
        from .saving import save_weights
        save_weights(self, filepath, overwrite)

    @_trains("load_weights")
    def load_weights(self, filepath):
        """Loads weights from a `.weights.seqattn` (or `.seqattn`) file into this model, which
        must have the same layers and weight shapes."""
        from .saving import load_weights
        load_weights(self, filepath)

    def get_config(self):
        """The architecture as a JSON-serialisable dict; `Model.from_config` rebuilds it
        (fresh weights, not compiled)."""
        from .saving import model_config
        return model_config(self)

    @classmethod
    def from_config(cls, config):
        from .saving import model_from_config
        model = model_from_config(config)
        if not isinstance(model, cls):
            raise TypeError(f"{cls.__name__}.from_config received the config of a "
                            f"{config.get('class_name')} model.")
        return model

    def _require_built(self, what):
        if self.inputs is None:
            raise ValueError(f"Model '{self.name}' is not built yet, so it has no weights to "
                             f"{what}: give it an Input first, or call fit/predict on data.")

    # ---------------------------------------------------------------- summary
    def _summary_table(self):
        """(header, rows, total params): the table behind summary() and _repr_html_."""
        connected = not isinstance(self, Sequential)
        header = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected
                                                                 else ())
        rows = []
        for t in self.inputs:
            rows.append((f"{t.name} (InputLayer)", str(t.shape), "0", "-")[:len(header)])
        for layer, first, last in self._layer_calls():
            sources = ", ".join(self._sources(layer))
            rows.append((f"{layer.name} ({type(layer).__name__})", str(last.output.shape),
                         f"{layer.count_params():,}", sources)[:len(header)])
        return header, rows, self.count_params()

    def summary(self, print_fn=None):
        """Prints a table of layers, output shapes and parameter counts (and, for functional
        models, which layers feed each one)."""
        header, rows, total = self._summary_table()
        rows = [header] + rows
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(header))]
        line = "─" * (sum(widths) + 2)
        out = [f'Model: "{self.name}"', line]
        for j, r in enumerate(rows):
            text = f" {r[0]:<{widths[0]}}{r[1]:<{widths[1]}}{r[2]:>{widths[2]}}"
            if len(header) > 3:
                text += f"  {r[3]}"
            out.append(text.rstrip())
            if j == 0:
                out.append(line)
        out += [line, f" Total params: {total:,}", f" Trainable params: {total:,}",
                " Non-trainable params: 0", line]
        text = "\n".join(out)
        (print_fn or print)(text)
        return None

    def _repr_html_(self):
        """The summary as an HTML table, for Jupyter (`model` as a cell's last line)."""
        import html
        if self.inputs is None:
            return (f"<p><b>{html.escape(self.name)}</b> ({type(self).__name__}): not built "
                    "yet; call it on data or start it with seqattn.Input(...).</p>")
        header, rows, total = self._summary_table()
        cell = "<td style='text-align:{}'>{}</td>".format
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(cell("right" if i == 2 else "left", html.escape(v))
                                         for i, v in enumerate(r)) + "</tr>" for r in rows)
        compiled = ("" if self._losses is None or self._optimizer is None else
                    f"; optimizer {html.escape(type(self._optimizer).__name__)}, loss "
                    + html.escape(", ".join("-" if l is None else l.name for l in self._losses)))
        return (f"<div><b>Model: \"{html.escape(self.name)}\"</b> ({type(self).__name__})"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p>Total params: {total:,} (trainable {total:,}){compiled}</p></div>")


class Sequential(Model):
    """A linear stack of layers: `Sequential([Input(...), layer, layer, ...])`.

    Without an `Input`, the model is built from the first data it sees (as Keras does).
    """

    def __init__(self, layers=None, name=None):
        self._init_state(name or unique_name("sequential"))
        self._pending: list[Layer] = []
        self._deferred_compile = None
        self._single_output = True
        self.inputs = None
        self.outputs = None
        self._nodes = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer (or, first, an `Input`)."""
        if isinstance(layer, SymbolicTensor) and layer.node is None:
            if self.inputs is not None or self._pending:
                raise ValueError("An Input can only be the first element of a Sequential model.")
            self.inputs, self.outputs = [layer], [layer]
            return
        if isinstance(layer, InputLayer):
            return self.add(layer.output)
        from .text import TextVectorization
        if not isinstance(layer, (Layer, TextVectorization)):
            raise TypeError(f"Sequential.add expects a seqattn layer, received {layer!r}")
        if self.inputs is None:
            self._pending.append(layer)
            return
        self.outputs = [layer(self.outputs[0])]
        self._nodes = self._topological_nodes(self.outputs)
        self._graph = None

    @property
    def layers(self):
        return super().layers if self.inputs is not None else list(self._pending)

    def _ensure_built(self, x):
        with self._build_lock:
            self._build_from(x)

    def _build_from(self, x):
        if self.inputs is not None:
            return
        from .layers.input import Input
        from .text import TextVectorization
        pending, self._pending = self._pending, []
        if isinstance(pending[0], TextVectorization):  # raw strings come in
            self.add(Input(shape=(), dtype="string"))
            for layer in pending:
                self.add(layer)
            if self._deferred_compile is not None:
                Model.compile.__wrapped__(self, *self._deferred_compile)  # inside the caller's use
            return
        self._pending = pending
        try:  # one input: a list is the data itself (nested lists of ids), as Keras reads it
            arr = np.asarray(x)
        except ValueError as e:
            raise ValueError(f"Model '{self.name}' expects a rectangular array of samples; "
                             f"received ragged nested lists ({e}).") from None
        if arr.ndim < 2:
            raise ValueError(f"Model '{self.name}' expects a batch of samples (rank >= 2), "
                             f"received an array of shape {arr.shape}.")
        dtype = "int32" if arr.dtype.kind in "iu" else "float32"
        pending, self._pending = self._pending, []
        self.add(Input(shape=arr.shape[1:], dtype=dtype))
        for layer in pending:
            self.add(layer)
        if self._deferred_compile is not None:
            Model.compile.__wrapped__(self, *self._deferred_compile)  # inside the caller's use

    def _require_layers(self):
        if self.inputs is None and not self._pending:
            raise ValueError(f"Model '{self.name}' has no layers.")

    def _core_graph(self):
        if self.inputs is None:
            raise ValueError(f"Model '{self.name}' is not built yet: give it an Input first, "
                             "or call fit/predict on data.")
        if not self._nodes:
            raise ValueError(f"Model '{self.name}' has no layers.")
        return super()._core_graph()

    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None):
        self._require_layers()
        if self.inputs is not None:
            return super().compile(optimizer, loss, loss_weights, metrics)
        # Not built yet: check the settings now, apply them when the first data arrives.
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a `loss`.")
        loss, optimizer = losses_mod.get(loss), optimizers_mod.get(optimizer)
        for m in metrics or []:
            metrics_mod.get(m, loss)
        self._deferred_compile = (optimizer, loss, loss_weights, metrics)
        self._losses = [loss]  # compiled, as far as fit/evaluate are concerned

    def _prepare_x(self, x, what="x"):
        self._require_layers()
        if x is None:
            raise TypeError(f"`{what}` is None; expected an array of token ids.")
        self._ensure_built(x)
        return super()._prepare_x(x, what)

    def summary(self, print_fn=None):
        if self.inputs is None:
            raise ValueError(f"Model '{self.name}' is not built yet: call it on data or start "
                             "it with seqattn.Input(...) to see its summary.")
        return super().summary(print_fn)


class _EpochTracker:
    """Running means over an epoch: the total loss, each output's loss (several outputs) and
    each output's metrics, weighted by batch size as Keras does. Names follow Keras:
    "loss", "accuracy" for one output; "<output>_loss", "<output>_accuracy" for several."""

    def __init__(self, output_names, metrics, trained):
        self.names = output_names
        self.metrics = metrics
        self.trained = trained  # per output: has a loss
        for ms in metrics:
            for m in ms:
                m.reset_state()
        self.needs_outputs = any(metrics)
        self.total = 0.0
        self.per_output = np.zeros(len(output_names))
        self.seen = 0

    def update(self, n, loss, losses, ys, outputs):
        self.total += loss * n
        self.per_output += np.asarray(losses) * n
        self.seen += n
        if outputs is not None:
            for ms, y, out in zip(self.metrics, ys, outputs):
                for m in ms:  # outputs without a loss have no metrics
                    m.update(y, out)

    def logs(self) -> dict:
        logs = {"loss": self.total / max(self.seen, 1)}
        several = sum(self.trained) > 1
        if several:
            for name, value, trained in zip(self.names, self.per_output, self.trained):
                if trained:
                    logs[f"{name}_loss"] = value / max(self.seen, 1)
        for name, ms in zip(self.names, self.metrics):
            for m in ms:
                logs[f"{name}_{m.name}" if several else m.name] = m.result()
        return logs

