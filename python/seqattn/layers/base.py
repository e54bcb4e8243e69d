"""The Layer base class: Keras life cycle (init validates, build creates weights, call computes).

A layer owns one C++ object (`self._core`) holding its weights and gradients. Called on a
symbolic tensor (from `seqattn.Input`) it records a node of the model graph; called on a NumPy
array it runs eagerly in inference mode and returns a NumPy array.
"""

from __future__ import annotations

import itertools

import re
import warnings
from collections import defaultdict

import numpy as np

_NAME_COUNTS: dict[str, int] = defaultdict(int)


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    """Keras naming: 'dense', 'dense_1', 'dense_2', ..."""
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


class SymbolicTensor:
    """A placeholder flowing through layer calls while a model is being defined.

    `shape` includes the batch axis as None; `node` is the call that produced it (None for
    an Input). `has_mask` says whether a padding mask travels with it at run time (the C++
    graph carries the mask itself; this flag lets model definition warn where one is lost).
    """

    # False for a tensor without a batch axis (a Constant from ops.arange, or what a layer
    # makes of one): its shape is fully known and broadcasts against batched tensors.
    batched = True
    constant = None  # the values of a Constant's output

    def __init__(self, shape, dtype, node=None, name=None, has_mask=False):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.name = name
        self.has_mask = bool(has_mask)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # Keras tensors take arithmetic operators; each call adds an op node (seqattn.ops).
    def __add__(self, other):
        from .. import ops
        return ops.add(self, other)

    def __radd__(self, other):
        from .. import ops
        return ops.add(other, self)

    def __sub__(self, other):
        from .. import ops
        return ops.subtract(self, other)

    def __rsub__(self, other):
        from .. import ops
        return ops.subtract(other, self)

    def __mul__(self, other):
        from .. import ops
        return ops.multiply(self, other)

    def __rmul__(self, other):
        from .. import ops
        return ops.multiply(other, self)

    def __truediv__(self, other):
        from .. import ops
        return ops.divide(self, other)

    def __rtruediv__(self, other):
        from .. import ops
        return ops.divide(other, self)

    def __neg__(self):
        from .. import ops
        return ops.negative(self)

    def __pow__(self, other):
        from .. import ops
        return ops.power(self, other)

    def __bool__(self):
        raise TypeError(f"A symbolic tensor ({self.name}, shape {self.shape}) has no truth "
                        "value while a model is being defined: its values exist only when the "
                        "model runs. Branch on Python settings instead, or use ops.where.")


class Node:
    """One call of a layer: its (possibly absent) symbolic inputs and its output."""

    _created = itertools.count()  # next() is atomic under the GIL: threads may define models

    def __init__(self, layer, inputs, call_args=None):
        # Creation order is call order: a model lists its layers and runs its nodes in it.
        self.index = next(Node._created)
        self.layer = layer
        self.inputs = list(inputs)  # SymbolicTensor or None (absent optional input)
        self.call_args = dict(call_args or {})
        self.call_structure = None  # (args, kwargs) of the user's call, for get_config
        self.output = None
        self.owner = None  # the composite block this call belongs to, if any
        self.owner_call = None  # that block's call (tracing.CompositeCall)
        from .tracing import record
        record(self)


def is_symbolic(x) -> bool:
    return isinstance(x, SymbolicTensor)


def _holds_layers(value) -> bool:
    """A layer, a model, or a non-empty list/tuple of them (what Keras tracks)."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return bool(items) and all(hasattr(v, "_weight_layers") and hasattr(v, "get_weights")
                               for v in items)


class Layer:
    """Base class of every seqattn layer."""

    # Internal graph nodes (attention-score outputs) that model.layers and summary() skip.
    hidden = False

    # Keras's flag: the layer can take a padding mask. Such a layer uses it or passes it on
    # (see _output_has_mask); one that cannot warns when a mask reaches it, as Keras 3 does.
    supports_masking = True

    # True for preprocessing layers (TextVectorization): they run in Python on the caller's
    # whole array before the C++ graph, which starts at their output; no C++ core.
    _preprocessing = False

    # True for layers that read float features (never token ids): an int32 symbolic input
    # raises at model definition. (Arrays are converted in C++, by the C++ layer's id_limit.)
    _float_inputs = False

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        # What __init__ receives: Keras 3's automatic config of a custom layer (get_config).
        layer.__dict__["_init_arguments"] = (args, kwargs)
        return layer

    def __init__(self, name=None, **kwargs):
        from . import weight_options
        weight_arguments = weight_options.pop_arguments(type(self), kwargs)
        # Keras accepts these on every layer; seqattn computes in float32 and trains every
        # weight, so only their Keras defaults are accepted.
        for key, default in (("dtype", ("float32", None)), ("trainable", (True,)),
                             ("autocast", (True,))):
            if key in kwargs and kwargs.pop(key) not in default:
                raise ValueError(f"{type(self).__name__}: seqattn layers compute in float32 "
                                 f"and train every weight; `{key}` can only be "
                                 f"{default[0]!r}.")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): "
                            + ", ".join(sorted(kwargs)))
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Expected a string for `name`. Received: name={name!r}")
        self.name = name or unique_name(_snake(type(self).__name__))
        weight_options.apply(self, weight_arguments)
        self.built = False
        self._core = None
        self._nodes: list[Node] = []

    def __setattr__(self, key, value):
        # Keras tracks the layers a custom layer keeps as attributes: their weights are its
        # weights, in the order they were assigned.
        if _holds_layers(value):
            tracked = self.__dict__.setdefault("_tracked", [])
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if all(v is not t for t in tracked):
                    tracked.append(v)
        object.__setattr__(self, key, value)

    def _is_composite(self) -> bool:
        """A Keras-style custom layer: a subclass that defines `call`."""
        return type(self).call is not Layer.call

    def call(self, *args, **kwargs):
        """What a custom layer computes, written with seqattn layers and `seqattn.ops`
        (override it in a subclass, as in Keras)."""
        raise NotImplementedError(
            f"Layer '{self.name}' ({type(self).__name__}) defines no `call`: a custom layer "
            "subclasses seqattn.layers.Layer, creates its sub-layers in __init__ (or build) and "
            "composes them and seqattn.ops in `call(self, inputs)`.")

    # ----------------------------------------------------------------- life cycle
    def build(self, input_shapes):
        """Creates the C++ layer and its initial weights for the given input shapes."""
        try:
            self._core = self._make_core(input_shapes)
        except ValueError as e:
            if "more than this machine's memory" in str(e):
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) cannot be built "
                                 f"with {self._size_arguments(str(e))}: {e}.") from None
            if f"'{self.name}'" in str(e):
                raise
            # A C++ constructor's message names no layer (it has no name yet).
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) cannot be built for "
                             f"input shapes {input_shapes}: {e}") from None
        self._core.name = self.name
        from . import weight_options
        self._drawn_roles = []
        weights = self._initial_weights()
        if weights:
            self._core.set_weights(weights)
        weight_options.regularize(self)
        self.built = True

    def _size_arguments(self, message):
        """The constructor arguments behind a weight too large to allocate: the integer
        settings whose values appear in the weight's shape in `message`."""
        shape = message[message.find("of shape (") + 9:message.find(")", message.find("of shape ("))]
        dims = {d.strip() for d in shape.strip("()").split(",") if d.strip()}
        config = self.get_config()
        named = [f"{k}={v}" for k, v in config.items()
                 if isinstance(v, int) and not isinstance(v, bool) and str(v) in dims and v > 1]
        return ", ".join(named) if named else "its input shape"

    def _input_spec(self):
        """(shape, dtype) of the Input this layer needs when it is the first layer of a
        Sequential without one (None: taken from the first data, as Keras does)."""
        return None

    def _make_core(self, input_shapes):  # pragma: no cover - every layer overrides it
        raise NotImplementedError

    def _initial_weights(self):
        return []

    # Keras's per-weight arguments this layer takes (weight_options.WeightOption rows).
    _weight_options = ()

    def _draw(self, role, shape):
        """The initial value of one weight of `role` (a row of _weight_options), drawn by the
        initializer its argument names; call it in the order of the C++ layer's weights."""
        from .weight_options import draw
        return draw(self, role, shape)

    def _shared_copy(self, node, k):
        """The C++ layer that runs call k >= 1 of this layer in one graph (layer sharing): a
        fresh core for the call's input shapes, tied to this layer's weights by the graph
        (graph.hpp). Its dropout stream is derived from this layer's seed and k, and the
        global generator is left as it was (building a graph draws nothing)."""
        from ..utils import global_rng
        rng_state = global_rng().bit_generator.state
        try:
            core = self._make_core([None if x is None else x.shape for x in node.inputs])
        finally:
            global_rng().bit_generator.state = rng_state
        core.name = self.name
        core.seed = (int(self._core.seed) + k * 0x9E3779B97F4A7C15) % 2**64
        return core

    def compute_output_shape(self, input_shapes):
        """Output shape (batch axis None) for the given input shapes."""
        core = self._core if self.built else self._make_core(input_shapes)

        def with_unknown_as(value):
            concrete = [[value if d is None else d for d in s] if s is not None else []
                        for s in input_shapes]
            return core.output_shape(concrete)

        # An axis the C++ layer maps from an unknown (None) input axis changes with it.
        one, two = with_unknown_as(1), with_unknown_as(2)
        return (None,) + tuple(a if a == b else None for a, b in zip(one[1:], two[1:]))

    # --------------------------------------------------------------------- calls
    def _input_list(self, *args, **kwargs):
        """The layer's inputs in the C++ order; single-input layers take one tensor."""
        if len(args) != 1 or kwargs:
            raise TypeError(f"Layer '{self.name}' takes exactly one input.")
        return [args[0]], {}

    def __call__(self, *args, **kwargs):
        if self._is_composite():
            from .composite import call_composite
            return call_composite(self, args, kwargs)
        if kwargs.get("training", False) is None:
            kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        inputs, call_args = self._input_list(*args, **kwargs)
        present = [x for x in inputs if x is not None]
        if present and all(is_symbolic(x) for x in present):
            output = self._call_symbolic(inputs, call_args)
            # The call as the user wrote it, so a saved model can replay it (models' get_config).
            self._nodes[-1].call_structure = (args, kwargs)
            return output
        if any(is_symbolic(x) for x in present):
            raise TypeError(f"Layer '{self.name}' received a mix of symbolic tensors and arrays.")
        return self._call_eager(inputs, call_args)

    def _call_symbolic(self, inputs, call_args):
        if self._float_inputs:
            for i, x in enumerate(inputs):
                if x is not None and x.dtype != "float32":
                    raise ValueError(
                        f"Input {i} of layer '{self.name}' must hold float32 features; received "
                        f"a {x.dtype} tensor of shape {x.shape} (token ids go through an "
                        "Embedding first).")
        shapes = [x.shape if x is not None else None for x in inputs]
        limit = getattr(self, "token_limit", None)
        for x in inputs:  # ids made by ops.arange: checked here, as the boundary checks arrays
            if x is not None and x.constant is not None and limit is not None and x.constant.size \
                    and (x.constant.min() < 0 or x.constant.max() >= limit):
                raise ValueError(f"Layer '{self.name}' received ids in [{x.constant.min()}, "
                                 f"{x.constant.max()}] from {x.name}; they must lie in "
                                 f"[0, {limit}) (input_dim={limit}).")
        if not self.built:
            self.build(shapes)
        batched = any(x.batched for x in inputs if x is not None)
        out_shape = (self.compute_output_shape(shapes) if batched
                     else tuple(self._core.output_shape([list(s) for s in shapes])))
        node = Node(self, inputs, call_args)
        masked = [x is not None and x.has_mask for x in inputs]
        if not self.supports_masking and any(masked):
            warnings.warn(
                f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a "
                "mask attached to it. However, this layer does not support masking and will "
                "therefore destroy the mask information. Downstream layers will not see the "
                "mask.", UserWarning, stacklevel=3)
        node.output = SymbolicTensor(out_shape, "float32", node=node, name=self.name,
                                     has_mask=self.supports_masking and self._output_has_mask(masked))
        if not batched:
            node.output.batched = False
        self._nodes.append(node)
        return node.output

    def _output_has_mask(self, input_has_mask):
        """Whether the output carries a padding mask, given which inputs carry one. Mirrors the
        C++ forward (tests/test_masking.py checks the two agree): by default the first
        input's mask passes through."""
        return bool(input_has_mask and input_has_mask[0])

    def _call_eager(self, inputs, call_args):
        # The arrays go to C++ as they are: the boundary (cpp/check.cpp) checks and converts
        # them by the layer's rule, exactly as it does for a model's inputs.
        arrays = [None if x is None else self._as_array(x) for x in inputs]
        if not self.built:
            self.build([None if a is None else (None,) + a.shape[1:] for a in arrays])
        from .. import _core
        result = _core.run_layer(self._core, arrays, self._eager_masks(call_args, len(arrays)),
                                 causal=self._call_options(call_args).get("causal", False),
                                 scores=bool(call_args.get("return_attention_scores", False)))
        return self._eager_result(result, call_args)

    def _call_options(self, call_args) -> dict:
        """Per-call options for the C++ layer ({"causal": bool} for MultiHeadAttention), given
        with each eager call and kept per node in a model's graph."""
        return {}

    def _eager_masks(self, call_args, n):
        """Padding masks for an eager call (only MultiHeadAttention takes them)."""
        return [None] * n

    def _eager_result(self, result, call_args):
        return result["y"]

    def _as_array(self, x):
        try:
            a = np.asarray(x)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"Layer '{self.name}' expects a rectangular array; received ragged "
                             f"nested sequences ({e}). Pad them to one length first.") from None
        if a.ndim < 1:
            raise ValueError(f"Layer '{self.name}' expects a batch of samples (rank >= 1 with "
                             f"the batch axis first); received a scalar {a!r}.")
        return a

    # ------------------------------------------------------------------- weights
    def _weight_layers(self):
        """The layers whose weights make up this layer's, in get_weights order (a composite
        block lists its sub-layers; a custom layer, the layers it keeps as attributes, in
        the order they were assigned, as Keras orders them)."""
        if self._is_composite():
            return [w for sub in self.__dict__.get("_tracked", []) for w in sub._weight_layers()]
        return [self]

    @property
    def weights(self):
        return self.get_weights()

    def get_weights(self):
        """Weights as NumPy arrays, in Keras 3 order and shapes."""
        if self._is_composite():
            return [w for sub in self._weight_layers() for w in sub.get_weights()]
        return self._core.get_weights() if self.built else []

    def set_weights(self, weights):
        if self._is_composite():
            from .composite import set_composite_weights
            return set_composite_weights(self, weights)
        if not self.built:
            raise ValueError(f"Layer '{self.name}' has no weights yet: build it (call it on an "
                             "input or add it to a model) before set_weights.")
        if not isinstance(weights, (list, tuple)):
            raise TypeError(f"Layer '{self.name}': set_weights expects a list of arrays, "
                            f"received {type(weights).__name__}")
        self._core.set_weights(list(weights))  # checked in C++: numeric, finite, shapes

    def count_params(self) -> int:
        return int(sum(w.size for w in self.get_weights()))

    def get_config(self) -> dict:
        """The constructor arguments, JSON-serialisable: `type(layer).from_config(config)`
        makes an unbuilt copy (no weights), as in Keras. A custom layer that does not define
        it gets the arguments its __init__ received (Keras 3's automatic config)."""
        if self._is_composite() and type(self).get_config is Layer.get_config:
            from .composite import auto_config
            return auto_config(self)
        from .weight_options import config
        return {"name": self.name, **config(self)}

    @classmethod
    def from_config(cls, config):
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config expects a dict (the output of "
                            f"get_config()). Received: config={config!r}")
        if cls.call is not Layer.call:
            from .composite import composite_from_config
            return composite_from_config(cls, config)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
