"""`Sequential`: a `Model` whose graph is a chain of layers, built from its first `Input` or,
without one, from the first data it sees (as Keras does)."""

from __future__ import annotations

from ..layers.base import Layer, SymbolicTensor, unique_name
from ..layers.input import InputLayer
from .functional import Model
from .nesting import input_like


class Sequential(Model):
    """A linear stack of layers: `Sequential([Input(...), layer, layer, ...])`.

    Without an `Input`, the model is built from the first data it sees (as Keras does).
    """

    _summary_connected = False  # a chain: each layer is fed by the one above it

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
        if not isinstance(layer, (Layer, Model)):
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
        from ..layers.input import Input
        pending, self._pending = self._pending, []
        spec = pending[0]._input_spec()
        if spec is not None:  # the first layer says what comes in (raw strings)
            self.add(Input(shape=spec[0], dtype=spec[1]))
            for layer in pending:
                self.add(layer)
            if self._deferred_compile is not None:
                Model.compile.__wrapped__(self, *self._deferred_compile)  # inside the caller's use
            return
        self._pending = pending
        # one input: a list is the data itself (nested lists of ids), as Keras reads it
        first = input_like(x, self.name)
        pending, self._pending = self._pending, []
        self.add(first)
        for layer in pending:
            self.add(layer)
        if self._deferred_compile is not None:
            Model.compile.__wrapped__(self, *self._deferred_compile)  # inside the caller's use

    def _build_on(self, inputs):
        """Built for symbolic inputs (this model called inside another one)."""
        pending, self._pending = self._pending, []
        self.add(inputs[0])
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

    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None):
        self._require_layers()
        if self.inputs is not None:
            return super().compile(optimizer, loss, loss_weights, metrics)
        self._defer_compile(optimizer, loss, loss_weights, metrics)

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
