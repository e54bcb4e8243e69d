"""Models: a graph of layer calls compiled to one C++ `Graph`.

`Sequential` is a `Model` whose graph is a chain; both share one execution path. A training
step (forward, loss, backward, update) is one C++ call with the GIL released; Python only
slices batches, shuffles and reports progress.
"""

from __future__ import annotations

import numpy as np

from . import _validation as V
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .callbacks import History
from .layers.base import Layer, SymbolicTensor, is_symbolic, unique_name
from .layers.input import InputLayer
from .progress import Progbar, resolve_verbose
from .utils import global_rng

_INT32 = np.iinfo(np.int32)


class Model:
    """A model from symbolic inputs to an output: `Model(inputs, outputs)`.

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
        self._graph = None  # the C++ graph, built on first use
        self._loss = None
        self._optimizer = None
        self._metrics = []
        self.stop_training = False
        self.history = None

    # ----------------------------------------------------------- graph wiring
    def _set_graph(self, inputs, outputs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ValueError(f"Model '{self.name}': this version supports one output, "
                                 f"received {len(outputs)}.")
            outputs = outputs[0]
        for t in inputs + [outputs]:
            if not is_symbolic(t):
                raise TypeError(f"Model '{self.name}': inputs and outputs must be symbolic "
                                f"tensors (from seqattn.Input and layer calls), received {t!r}")
        for t in inputs:
            if t.node is not None:
                raise ValueError(f"Model '{self.name}': every input must come from seqattn.Input.")
        self.inputs, self.output = inputs, outputs
        self._nodes = self._topological_nodes(outputs)
        used = {id(x) for n in self._nodes for x in n.inputs if x is not None and x.node is None}
        for x in used:
            if x not in {id(t) for t in inputs}:
                raise ValueError(f"Model '{self.name}': the graph reads an Input that is not in "
                                 "`inputs`.")
        self._graph = None  # the C++ graph is built on first use

    @staticmethod
    def _topological_nodes(output):
        order, seen = [], set()

        def visit(t):
            node = t.node
            if node is None or id(node) in seen:
                return
            seen.add(id(node))
            for x in node.inputs:
                if x is not None:
                    visit(x)
            order.append(node)

        visit(output)
        return order

    @property
    def layers(self) -> list[Layer]:
        return [n.layer for n in self._nodes]

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
        if self._graph is None:
            from . import _core
            graph = _core.Graph(len(self.inputs))
            ids = {id(t): i for i, t in enumerate(self.inputs)}
            for node in self._nodes:
                refs = [-1 if x is None else ids[id(x)] for x in node.inputs]
                node.layer._apply_call_args(node.call_args)
                ids[id(node.output)] = graph.add_node(node.layer._core, refs)
            graph.set_output(ids[id(self.output)])
            if self._loss is not None:
                graph.compile(self._loss._core(), self._optimizer.core)
            self._graph = graph
        return self._graph

    # ---------------------------------------------------------------- weights
    def get_weights(self):
        """All weights, layer after layer in model order (Keras `get_weights()` order)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        weights = list(weights)
        expected = sum(len(layer.get_weights()) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays, received "
                             f"{len(weights)}.")
        i = 0
        for layer in self.layers:
            n = len(layer.get_weights())
            if n:
                layer.set_weights(weights[i:i + n])
            i += n

    def count_params(self) -> int:
        return int(sum(layer.count_params() for layer in self.layers))

    # ---------------------------------------------------------------- compile
    def compile(self, optimizer="adam", loss=None, metrics=None):
        """Configures training.

        Args:
            optimizer: "sgd", "adam", "adamw" or an optimizer object. (Keras defaults to
                "rmsprop", which seqattn does not have; the default here is "adam".)
            loss: "sparse_categorical_crossentropy", "binary_crossentropy" or a loss object.
            metrics: a list such as ["accuracy"].
        """
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a `loss`, e.g. "
                             "loss='sparse_categorical_crossentropy'.")
        self._loss = losses_mod.get(loss)
        self._optimizer = optimizers_mod.get(optimizer)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise TypeError(f"`metrics` must be a list, e.g. ['accuracy']. Received: "
                            f"metrics={metrics!r}")
        self._metrics = [metrics_mod.get(m, self._loss) for m in metrics]
        self._core_graph().compile(self._loss._core(), self._optimizer.core)

    @property
    def optimizer(self):
        return self._optimizer

    @property
    def loss(self):
        return self._loss

    def _require_compiled(self, what):
        if self._loss is None:
            raise RuntimeError(f"You must call compile() before {what}() on model '{self.name}'.")

    # ------------------------------------------------------------ data checks
    def _prepare_x(self, x, what="x"):
        arrays = x if isinstance(x, (list, tuple)) and len(self.inputs) > 1 else [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input arrays, "
                             f"received {len(arrays)}.")
        out = []
        for i, (a, inp) in enumerate(zip(arrays, self.inputs)):
            if a is None:
                raise TypeError(f"`{what}` is None; expected an array of shape {inp.shape}.")
            arr = np.asarray(a)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"Input {i} of model '{self.name}' must be numeric "
                                f"({inp.dtype}); received an array of dtype {arr.dtype}.")
            if arr.ndim != len(inp.shape) or any(
                    d is not None and d != s for d, s in zip(inp.shape[1:], arr.shape[1:])):
                raise ValueError(f"Input {i} of model '{self.name}' is incompatible: expected "
                                 f"shape {inp.shape}, received {arr.shape}.")
            if arr.shape[0] == 0:
                raise ValueError(f"`{what}` is empty: received an array of shape {arr.shape}.")
            out.append(self._cast_input(arr, inp, i))
        self._check_token_ids(out)
        return out

    def _check_token_ids(self, arrays):
        """Checks every id against the embedding that reads it, over the whole array, so the
        error names the position in the caller's data (the C++ check sees one batch)."""
        for node in self._nodes:
            size = getattr(node.layer, "token_limit", None)  # embeddings only
            source = node.inputs[0]
            if size is None or source is None or source.node is not None:
                continue
            ids = arrays[[id(t) for t in self.inputs].index(id(source))]
            bad = (ids < 0) | (ids >= size)
            if bad.any():
                pos = tuple(int(p) for p in np.argwhere(bad)[0])
                raise ValueError(
                    f"Layer '{node.layer.name}' received token id {int(ids[pos])} at position "
                    f"{pos}, outside [0, {size}). Token ids must be in [0, input_dim); raise "
                    "input_dim or check the vectorizer's vocabulary size.")

    def _cast_input(self, arr, inp, i):
        if inp.dtype == "float32":
            return np.ascontiguousarray(arr, np.float32)
        if arr.dtype.kind == "f":
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
            if bad.any():
                pos = tuple(int(p) for p in np.argwhere(bad)[0])
                raise TypeError(f"Input {i} of model '{self.name}' holds token ids, which must be "
                                f"integers; received {arr[pos].item()!r} at position {pos} "
                                f"(dtype {arr.dtype}).")
        if arr.size and (arr.min() < _INT32.min or arr.max() > _INT32.max):
            raise ValueError(f"Input {i} of model '{self.name}': token ids must fit in int32.")
        return np.ascontiguousarray(arr, np.int32)

    def _prepare_y(self, y, n):
        if y is None:
            raise ValueError(f"Model '{self.name}': fit/evaluate need targets `y`.")
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"`y` must be numeric; received an array of dtype {y.dtype}.")
        if y.ndim == 0 or y.shape[0] != n:
            raise ValueError(f"`x` and `y` must have the same number of samples; received "
                             f"{n} inputs and y of shape {y.shape}.")
        given = y.reshape(-1)
        y = np.ascontiguousarray(y, np.float32)
        k = self.output.shape[-1]
        flat = y.reshape(-1)
        if self._loss.name == "sparse_categorical_crossentropy":
            bad = ~np.isfinite(flat) | (flat < 0) | (flat >= k) | (flat != np.round(flat))
            if bad.any():
                j = int(np.argmax(bad))
                raise ValueError(f"Label {given[j].item()!r} at index {j} is not a class id in [0, {k}) "
                                 f"for model '{self.name}', whose output has {k} classes.")
        else:
            bad = ~np.isfinite(flat) | (flat < 0) | (flat > 1)
            if bad.any():
                j = int(np.argmax(bad))
                raise ValueError(f"binary_crossentropy labels must lie in [0, 1]; received "
                                 f"{given[j].item()!r} at index {j}.")
        return y

    @staticmethod
    def _batch_size(batch_size):
        return 32 if batch_size is None else V.positive_int("batch_size", batch_size)

    # ------------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
            validation_data=None, shuffle=True, initial_epoch=0):
        """Trains the model; returns a `History`.

        Args follow Keras: batch_size (default 32), epochs, verbose (0, 1, 2, "auto"),
        validation_data=(x_val, y_val), shuffle (each epoch, from the seeded global
        generator), initial_epoch. Ctrl-C stops within one training step and leaves the model
        usable (KeyboardInterrupt propagates to the caller).
        """
        self._require_compiled("fit")
        xs = self._prepare_x(x)
        n = xs[0].shape[0]
        y = self._prepare_y(y, n)
        batch_size = self._batch_size(batch_size)
        epochs = V.positive_int("epochs", epochs)
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, int) \
                or not 0 <= initial_epoch < epochs:
            raise ValueError(f"`initial_epoch` must be an int in [0, epochs); received "
                             f"initial_epoch={initial_epoch!r} with epochs={epochs}.")
        V.boolean("shuffle", shuffle)
        verbose = resolve_verbose(verbose)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
                raise ValueError("`validation_data` must be a tuple (x_val, y_val).")
            vx = self._prepare_x(validation_data[0], "validation_data[0]")
            val = (vx, self._prepare_y(validation_data[1], vx[0].shape[0]))
        graph = self._core_graph()
        history = History()
        history.model = self
        steps = -(-n // batch_size)
        self.stop_training = False
        for epoch in range(initial_epoch, epochs):
            if verbose and epochs > 1:
                print(f"Epoch {epoch + 1}/{epochs}", flush=True)
            order = global_rng().permutation(n) if shuffle else np.arange(n)
            bar = Progbar(steps, verbose)
            loss_sum, seen = 0.0, 0
            for m in self._metrics:
                m.reset_state()
            for step in range(steps):
                idx = order[step * batch_size:(step + 1) * batch_size]
                yb = y[idx]
                loss = graph.train_step([a[idx] for a in xs], yb)
                loss_sum += loss * len(idx)
                seen += len(idx)
                if self._metrics:
                    pred = graph.output()
                    for m in self._metrics:
                        m.update(yb, pred)
                bar.update(step + 1, self._logs(loss_sum / seen))
            logs = self._logs(loss_sum / seen)
            if val is not None:
                logs.update({f"val_{k}": v for k, v in
                             self._evaluate_arrays(*val, batch_size).items()})
            bar.update(steps, logs, final=True)
            bar.epoch_line(logs)
            history.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self.history = history
        return history

    def _logs(self, mean_loss):
        logs = {"loss": mean_loss}
        for m in self._metrics:
            logs[m.name] = m.result()
        return logs

    # -------------------------------------------------------- evaluate/predict
    def _evaluate_arrays(self, xs, y, batch_size, verbose=0):
        graph = self._core_graph()
        n = xs[0].shape[0]
        for m in self._metrics:
            m.reset_state()
        total = 0.0
        steps = -(-n // batch_size)
        bar = Progbar(steps, verbose)
        for step in range(steps):
            sl = slice(step * batch_size, (step + 1) * batch_size)
            loss, pred = graph.test_step([a[sl] for a in xs], y[sl])
            total += loss * pred.shape[0]
            for m in self._metrics:
                m.update(y[sl], pred)
            bar.update(step + 1, {})
        logs = self._logs(total / n)
        bar.update(steps, logs, final=True)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False):
        """Loss (and metrics) in inference mode: a float, a list, or a dict (return_dict)."""
        self._require_compiled("evaluate")
        xs = self._prepare_x(x)
        y = self._prepare_y(y, xs[0].shape[0])
        logs = self._evaluate_arrays(xs, y, self._batch_size(batch_size),
                                     resolve_verbose(verbose))
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto"):
        """Outputs for `x` in inference mode, computed in batches (default 32)."""
        xs = self._prepare_x(x)
        batch_size = self._batch_size(batch_size)
        graph = self._core_graph()
        n = xs[0].shape[0]
        steps = -(-n // batch_size)
        bar = Progbar(steps, resolve_verbose(verbose) if steps > 1 else 0)
        outs = []
        for step in range(steps):
            sl = slice(step * batch_size, (step + 1) * batch_size)
            outs.append(graph.predict_step([a[sl] for a in xs]))
            bar.update(step + 1, {})
        bar.update(steps, {}, final=True)
        return np.concatenate(outs, axis=0)

    def attention_scores(self, x, batch_size=None):
        """Attention probabilities of every MultiHeadAttention layer, in inference mode.

        Returns a dict {layer name: (B, H, T, S) array}, the probabilities before dropout (rows
        of padded queries are zero). Computed in batches like `predict`.
        """
        from .layers.attention import MultiHeadAttention
        attention = [layer for layer in self.layers if isinstance(layer, MultiHeadAttention)]
        if not attention:
            raise ValueError(f"Model '{self.name}' has no MultiHeadAttention layer.")
        xs = self._prepare_x(x)
        batch_size = self._batch_size(batch_size)
        graph = self._core_graph()
        scores = {layer.name: [] for layer in attention}
        for start in range(0, xs[0].shape[0], batch_size):
            graph.predict_step([a[start:start + batch_size] for a in xs])
            for layer in attention:
                scores[layer.name].append(layer._core.attention_scores())
        return {name: np.concatenate(parts, axis=0) for name, parts in scores.items()}

    def __call__(self, x):
        """Inference on one batch of arrays, like `predict` without batching or progress."""
        return self._core_graph().predict_step(self._prepare_x(x))

    # ---------------------------------------------------------------- summary
    def summary(self, print_fn=None):
        """Prints a table of layers, output shapes and parameter counts (and, for functional
        models, which layers feed each one)."""
        connected = not isinstance(self, Sequential)
        header = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected
                                                                 else ())
        rows = [header]
        for t in self.inputs:
            rows.append((f"{t.name} (InputLayer)", str(t.shape), "0", "-")[:len(header)])
        for node in self._nodes:
            layer = node.layer
            sources = ", ".join(x.name for x in node.inputs if x is not None)
            rows.append((f"{layer.name} ({type(layer).__name__})", str(node.output.shape),
                         f"{layer.count_params():,}", sources)[:len(header)])
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(len(header))]
        line = "─" * (sum(widths) + 2)
        out = [f'Model: "{self.name}"', line]
        for j, r in enumerate(rows):
            text = f" {r[0]:<{widths[0]}}{r[1]:<{widths[1]}}{r[2]:>{widths[2]}}"
            if connected:
                text += f"  {r[3]}"
            out.append(text.rstrip())
            if j == 0:
                out.append(line)
        total = self.count_params()
        out += [line, f" Total params: {total:,}", f" Trainable params: {total:,}",
                " Non-trainable params: 0", line]
        text = "\n".join(out)
        (print_fn or print)(text)
        return None


class Sequential(Model):
    """A linear stack of layers: `Sequential([Input(...), layer, layer, ...])`.

    Without an `Input`, the model is built from the first data it sees (as Keras does).
    """

    def __init__(self, layers=None, name=None):
        self._init_state(name or unique_name("sequential"))
        self._pending: list[Layer] = []
        self.inputs = None
        self.output = None
        self._nodes = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Appends a layer (or, first, an `Input`)."""
        if isinstance(layer, SymbolicTensor) and layer.node is None:
            if self.inputs is not None or self._pending:
                raise ValueError("An Input can only be the first element of a Sequential model.")
            self.inputs, self.output = [layer], layer
            return
        if isinstance(layer, InputLayer):
            return self.add(layer.output)
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a seqattn layer, received {layer!r}")
        if self.inputs is None:
            self._pending.append(layer)
            return
        self.output = layer(self.output)
        self._nodes = self._topological_nodes(self.output)
        self._graph = None

    @property
    def layers(self):
        return super().layers if self.inputs is not None else list(self._pending)

    def _ensure_built(self, x):
        if self.inputs is not None:
            return
        arr = np.asarray(x[0] if isinstance(x, (list, tuple)) else x)
        if arr.ndim < 2:
            raise ValueError(f"Model '{self.name}' expects a batch of samples (rank >= 2), "
                             f"received an array of shape {arr.shape}.")
        from .layers.input import Input
        dtype = "int32" if arr.dtype.kind in "iu" else "float32"
        pending, self._pending = self._pending, []
        self.add(Input(shape=arr.shape[1:], dtype=dtype))
        for layer in pending:
            self.add(layer)

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

    def compile(self, optimizer="adam", loss=None, metrics=None):
        self._require_layers()
        if self.inputs is None:
            # Defer: remember the settings, wire the graph when data arrives.
            if loss is None:
                raise ValueError(f"Model '{self.name}': compile() needs a `loss`.")
            self._loss = losses_mod.get(loss)
            self._optimizer = optimizers_mod.get(optimizer)
            self._metrics = [metrics_mod.get(m, self._loss) for m in (metrics or [])]
            return
        super().compile(optimizer, loss, metrics)

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
