"""`seqattn.Input`: the symbolic entry point of a model."""

from __future__ import annotations

import numbers

from .base import SymbolicTensor, unique_name

_DTYPES = ("int32", "float32", "string")
_ALIASES = {**{f"{k}{b}": "int32" for k in ("int", "uint") for b in (8, 16, 32, 64)},
            "float16": "float32", "bfloat16": "float32", "float64": "float32", "str": "string"}


class InputLayer:
    """Holds an input's shape and dtype; has no weights."""

    def __init__(self, shape, dtype="float32", name=None):
        if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or not all(
                d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool)
                              and 0 < d <= 2 ** 62)
                for d in shape):
            raise ValueError("Received an invalid value for `shape`, expected a tuple of positive "
                             f"integers or None (without the batch axis). Received: shape={shape!r}")
        # Keras code often says int64 (keras.io) or float64: seqattn's ids are int32 and its
        # features float32, so the integer and float names map onto those.
        dtype = _ALIASES.get(dtype, dtype) if isinstance(dtype, str) else dtype
        if dtype not in _DTYPES:
            raise ValueError(f"Unknown dtype {dtype!r} for `Input`. Valid dtypes: "
                             + ", ".join(_DTYPES) + ".")
        if dtype == "string" and tuple(shape) not in ((), (1,)):
            raise ValueError("A string Input holds one text per sample: shape=() or (1,) "
                             f"(Keras style); received shape={shape!r}")
        self.name = name or unique_name("input_layer")
        self.dtype = dtype
        self.output = SymbolicTensor((None,) + tuple(shape), dtype, node=None, name=self.name)
        self.output.input_layer = self
        self.built = True

    def get_weights(self):
        return []

    def count_params(self):
        return 0

    def get_config(self):
        return {"name": self.name, "shape": self.output.shape[1:], "dtype": self.dtype}


def Input(shape, dtype="float32", name=None):
    """A symbolic model input: `x = seqattn.Input(shape=(T,), dtype="int32")`.

    Args:
        shape: the shape of one sample, without the batch axis, e.g. `(200,)` for token ids.
        dtype: "int32" for token ids, "float32" for features, "string" for raw texts (one
            per sample, shape () or (1,)), to be read by a `seqattn.text.TextVectorization`.
            Other integer names ("int64", as keras.io writes) mean int32 ids; "float64" and
            "float16" mean float32 (seqattn computes in float32).
        name: optional name.
    """
    return InputLayer(shape, dtype, name).output
