"""A small builder of ONNX graphs: unique names, constants as initializers, one call per op.

Converters (converters_*.py) speak in tensor names; this module owns the `onnx` protobufs.
"""

from __future__ import annotations

import numpy as np


def require_onnx():
    """The `onnx` module, or an ImportError that names the extra to install."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError("ONNX export needs the `onnx` package: pip install 'seqattn[onnx]' "
                          "(installs onnx and onnxruntime).") from e
    return onnx


LOWEST = float(np.finfo(np.float32).min)  # what a masked attention score becomes (C++ too)


class GraphBuilder:
    """Nodes and initializers of one ONNX graph under construction."""

    def __init__(self, opset):
        self.onnx = require_onnx()
        self.opset = opset
        self.nodes, self.initializers = [], []
        self._used: set[str] = set()
        self._constants: dict = {}  # (dtype, shape, bytes) -> name: shared small constants

    def fresh(self, base: str) -> str:
        """A tensor name not used yet, from a layer name ("dense/kernel", "dense/kernel_1")."""
        base = base or "t"
        name, i = base, 0
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        if name in self._used:
            raise ValueError(f"ONNX export: two graph inputs or outputs are named {name!r}; "
                             "give the seqattn Inputs and output layers distinct names.")
        self._used.add(name)
        return name

    def op(self, op_type, inputs, base=None, outputs=1, **attrs):
        """Adds one node; returns its output name (or a list when outputs > 1)."""
        base = base or op_type.lower()
        names = [self.fresh(base) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, ["" if x is None else x for x in inputs], names,
            name=self.fresh(f"{base}/{op_type}"), **attrs))
        return names[0] if outputs == 1 else names

    def rename(self, src, name):
        """An Identity giving `src` the graph-output name `name` (already reserved)."""
        self.nodes.append(self.onnx.helper.make_node("Identity", [src], [name],
                                                     name=self.fresh(f"{name}/Identity")))
        return name

    def const(self, value, base="const", dtype=None):
        """An initializer holding `value` (float32 unless `dtype`); equal small constants are
        shared."""
        a = np.asarray(value, dtype=dtype or np.float32)
        key = (a.dtype.str, a.shape, a.tobytes()) if a.size <= 64 else None
        if key is not None and key in self._constants:
            return self._constants[key]
        name = self.fresh(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(a, name))
        if key is not None:
            self._constants[key] = name
        return name

    def ints(self, values, base="shape"):
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1), base, np.int64)

    def scalar(self, v, base="scalar"):
        return self.const(np.float32(v), base)

    # ---------------------------------------------------------------- common pieces
    def dim(self, x, axis, base=None):
        """x's size on `axis` as a (1,) int64 tensor."""
        return self.op("Shape", [x], base or "dim", start=axis, end=axis + 1)

    def mask_and(self, a, b, base="mask"):
        if a is None:
            return b
        if b is None:
            return a
        return self.op("And", [a, b], base)

    def model(self, inputs, outputs, name, doc=""):
        onnx = self.onnx
        read = {x for node in self.nodes for x in node.input}
        used = [t for t in self.initializers if t.name in read]  # a converter's spare constant
        graph = onnx.helper.make_graph(self.nodes, name, inputs, outputs, used)
        model = onnx.helper.make_model(
            graph, opset_imports=[onnx.helper.make_opsetid("", self.opset)],
            producer_name="seqattn", doc_string=doc)
        # The lowest IR version the opset needs, not the onnx package's newest: an older
        # onnxruntime refuses IR versions newer than its own.
        model.ir_version = onnx.helper.find_min_ir_version_for(
            [onnx.helper.make_opsetid("", self.opset)])
        return model
