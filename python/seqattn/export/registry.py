"""Which converter turns a seqattn layer call into ONNX nodes (one per layer class).

A converter is `fn(call) -> (output name, mask name or None)`; `call` is a `LayerCall`. The
mask is the (B, T) bool padding mask the C++ layer would hand on (`out.mask` in cpp/*.cpp),
so the layers that read masks (attention, global pooling) see the same one as in seqattn.
"""

from __future__ import annotations

_CONVERTERS: dict[str, object] = {}


def converter(*class_names):
    def register(fn):
        for name in class_names:
            _CONVERTERS[name] = fn
        return fn
    return register


def find(layer):
    """The converter of `layer`'s class (or of the seqattn class it derives from), or None.
    The converter modules register themselves when imported (onnx_export.py imports them)."""
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("seqattn.") and cls.__name__ in _CONVERTERS:
            return _CONVERTERS[cls.__name__]
    return None


class LayerCall:
    """One node of the seqattn graph as a converter sees it: ONNX names of its inputs and
    their masks, the symbolic shapes, the layer and its weights as initializers."""

    def __init__(self, exporter, node, inputs, masks):
        self.g = exporter.g
        self.node, self.layer = node, node.layer
        self.x, self.masks = inputs, masks
        self.shapes = [None if t is None else tuple(t.shape) for t in node.inputs]
        self.out_shape = tuple(node.output.shape)
        self.base = node.layer.name
        self._exporter = exporter

    def weight(self, i, tag="", transform=None):
        """Weight i as an initializer (one per layer, weight and transform: a shared layer's
        calls read the same one)."""
        return self._exporter.weight_const(self.layer, i, tag, transform)

    def op(self, op_type, inputs, suffix="", **attrs):
        return self.g.op(op_type, inputs, f"{self.base}/{suffix or op_type.lower()}", **attrs)

    def exporter_note(self, what, name):
        """Records a tensor of this call (an attention call's probabilities) for a later
        node that reads it (`return_attention_scores`)."""
        self._exporter.notes[(what, id(self.node.output))] = name

    def exporter_lookup(self, what, tensor):
        return self._exporter.notes[(what, id(tensor))]

    def unsupported(self, why):
        return ValueError(f"ONNX export: layer '{self.layer.name}' ({type(self.layer).__name__}) "
                          f"cannot be exported: {why}")
