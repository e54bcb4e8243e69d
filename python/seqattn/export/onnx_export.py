"""A built seqattn model -> one ONNX graph (plus the vocabulary file of its vectorizers).

Walks the same nodes the C++ graph runs (`Model._core_nodes`, composite blocks already
expanded into their sub-layers' calls), in call order, giving each node's output and padding
mask an ONNX name; a converter per layer class (registry.py) writes the nodes.
"""

from __future__ import annotations

import numpy as np

from . import converters_attention, converters_core, converters_ops  # noqa: F401 (register)
from .files import write_bytes_atomically
from .onnx_graph import GraphBuilder
from .registry import LayerCall, find
from .vocabulary import vocabulary_document, vocabulary_path

_DTYPES = {"float32": "FLOAT", "int32": "INT32"}


class Exporter:
    def __init__(self, model, opset):
        self.model = model
        self.g = GraphBuilder(opset)
        self.notes = {}
        self._weights = {}  # id(layer) -> get_weights()
        self._consts = {}   # (id(layer), i, tag) -> initializer name

    def layer_weights(self, layer):
        if id(layer) not in self._weights:
            self._weights[id(layer)] = layer.get_weights()
        return self._weights[id(layer)]

    def weight_const(self, layer, i, tag, transform):
        key = (id(layer), i, tag)
        if key not in self._consts:
            w = self.layer_weights(layer)[i]
            w = np.asarray(transform(w) if transform else w, dtype=np.float32)
            self._consts[key] = self.g.const(w, f"{layer.name}/w{i}{tag and '_' + tag}")
        return self._consts[key]

    def _value_info(self, name, t, what):
        onnx = self.g.onnx
        if t.dtype not in _DTYPES:
            raise ValueError(f"ONNX export: {what} {t.name!r} holds {t.dtype} values; the graph "
                             "takes and gives float32 or int32 tensors.")
        dims = ["batch"] + [d if d is not None else f"{name}_{k + 1}"
                            for k, d in enumerate(t.shape[1:])]
        return onnx.helper.make_tensor_value_info(
            name, getattr(onnx.TensorProto, _DTYPES[t.dtype]), dims)

    def build(self):
        model = self.model
        if getattr(model, "inputs", None) is None:
            raise ValueError(f"Model '{model.name}' is not built yet, so it cannot be exported: "
                             "give it an Input first, or call fit/predict on data.")
        graph_inputs, sources = model._graph_inputs()
        env, inputs, vocab = {}, [], {}
        for i, (t, (source, vectorizer)) in enumerate(zip(graph_inputs, sources)):
            # The user's Input name, even for ids; a second vectorizer of the same Input (word
            # pairs beside words) names its graph input after itself.
            name = model.inputs[source].name if i < len(model.inputs) else (
                f"{model.inputs[source].name}_{vectorizer.name}")
            name = self.g.reserve(name)
            inputs.append(self._value_info(name, t, "input"))
            env[id(t)] = (name, None)
            if vectorizer is not None:
                vocab[name] = vectorizer
        # Output names first, so that no converter's tensor takes a name the user chose.
        out_names = [self.g.reserve(t.name) for t in model.outputs]
        for node in model._core_nodes():
            convert = find(node.layer)
            if convert is None:
                raise ValueError(f"ONNX export: layer '{node.layer.name}' "
                                 f"({type(node.layer).__name__}) has no ONNX converter; "
                                 "seqattn exports its built-in layers and the ops of "
                                 "seqattn.ops.")
            names = [None if t is None else env[id(t)][0] for t in node.inputs]
            masks = [None if t is None else env[id(t)][1] for t in node.inputs]
            env[id(node.output)] = convert(LayerCall(self, node, names, masks))
        outputs = []
        for t, name in zip(model.outputs, out_names):
            self.g.rename(env[id(t)][0], name)
            outputs.append(self._value_info(name, t, "output"))
        proto = self.g.model(inputs, outputs, model.name,
                             doc=f"seqattn model '{model.name}' (inference: dropout off)")
        self.g.onnx.checker.check_model(proto)
        return proto, vocab


def export_model(model, path, opset):
    from . import DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < DEFAULT_OPSET:
        raise ValueError(f"ONNX export needs opset >= {DEFAULT_OPSET} (LayerNormalization is "
                         f"an ONNX op from 17); received opset={opset!r}")
    proto, vocab = Exporter(model, opset).build()
    document = vocabulary_document(vocab) if vocab else None  # may refuse: before writing
    written = [write_bytes_atomically(path, proto.SerializeToString())]
    if document is not None:
        written.append(write_bytes_atomically(vocabulary_path(path), document))
    return written
