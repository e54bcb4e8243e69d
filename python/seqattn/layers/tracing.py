"""Which layer calls happen inside a composite layer's `call`.

A subclass of `Layer` with a `call` method (a Keras custom layer) runs that method once on
symbolic tensors; every node its sub-layers and ops add to the graph meanwhile is recorded
here, so the composite can own them (one row in `summary()`, one entry in `model.layers`).
Traces nest (a custom block inside a custom block): each enclosing trace sees the nodes.
Thread-local, so two threads defining models at once never see each other's nodes.
"""

from __future__ import annotations

import contextlib
import threading

_state = threading.local()


def _stack() -> list:
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


class Trace:
    """A context manager collecting the nodes created while it is open (`nodes`)."""

    def __init__(self):
        self.nodes = []

    def __enter__(self):
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        _stack().remove(self)
        return False


def record(node) -> None:
    """Called for every new graph node: every open trace of this thread gets it."""
    for trace in _stack():
        trace.nodes.append(node)


@contextlib.contextmanager
def paused():
    """No trace records the nodes made inside (a sub-model building its own graph)."""
    saved, _state.stack = _stack(), []
    try:
        yield
    finally:
        _state.stack = saved


class CompositeCall:
    """One call of a composite block (TransformerEncoder, a custom layer, a model used as a
    layer): the arguments as the user wrote them (to replay it: saving, nesting) and the node
    producing its output."""

    def __init__(self, layer, args, kwargs, output_node):
        self.layer, self.args, self.kwargs, self.output_node = layer, args, kwargs, output_node


def claim(nodes, layer, args, kwargs, output_node) -> CompositeCall:
    """Marks `nodes` as made by this call of `layer`; an enclosing block claims them again
    later, so the outermost block owns them."""
    call = CompositeCall(layer, args, kwargs, output_node)
    for node in nodes:
        node.owner, node.owner_call = layer, call
    return call
