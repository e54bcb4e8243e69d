"""The weight budget: how many weights a layer's config implies, computed before the layer is
built, so that a file can never make the loader allocate more weights than the arrays it
holds (a crafted `vocabulary_size=10**12` is refused without allocating). A new layer class
needs a row in `_WEIGHT_COUNTS` (tests/test_file_fuzz.py fails without one)."""

from __future__ import annotations

from .. import archive
from .checks import _is_int


# --------------------------------------------------------------- weight budget
def _last_axis(shape) -> int:
    return shape[-1] if shape and _is_int(shape[-1]) else 0


def _mha_weights(layer, shapes):
    q = shapes[0]
    v = shapes[1] if len(shapes) > 1 and shapes[1] is not None else q
    k = shapes[2] if len(shapes) > 2 and shapes[2] is not None else v
    C, Cv, Ck = _last_axis(q), _last_axis(v), _last_axis(k)
    H, Dk = layer.num_heads, layer.key_dim
    Dv, Cout = layer.value_dim or Dk, layer.output_shape or C
    biases = 2 * H * Dk + H * Dv + Cout if layer.use_bias else 0
    return C * H * Dk + Ck * H * Dk + Cv * H * Dv + H * Dv * Cout + biases


def _encoder_weights(layer, shapes):
    C, H, I = _last_axis(shapes[0]), layer.num_heads, layer.intermediate_dim
    Dk = C // H
    attention = 4 * C * H * Dk + 3 * H * Dk + C
    return attention + 4 * C + (C * I + I) + (I * C + C)  # + 2 LayerNorms + 2 Dense


def _decoder_weights(layer, shapes):
    encoder = _encoder_weights(layer, shapes[:1])
    if len(shapes) < 2 or shapes[1] is None:
        return encoder
    C, Ce, H = _last_axis(shapes[0]), _last_axis(shapes[1]), layer.num_heads
    Dk = C // H
    cross = 2 * C * H * Dk + 2 * Ce * H * Dk + 3 * H * Dk + C  # q, k, v, output kernels, biases
    return encoder + cross + 2 * C  # + its LayerNorm


# Weight values each layer class creates when called on inputs of the given shapes, computed
# from its (validated) constructor arguments without building it: Keras's weight shapes, as
# the layers' _initial_weights create them. test_file_fuzz checks that every class in
# _LAYER_CLASSES has an entry and that the counts agree with built layers.
_WEIGHT_COUNTS = {
    "Dense": lambda l, s: _last_axis(s[0]) * l.units + (l.units if l.use_bias else 0),
    "Embedding": lambda l, s: l.input_dim * l.output_dim,
    "TokenAndPositionEmbedding": lambda l, s: (l.vocabulary_size + l.sequence_length)
    * l.embedding_dim,
    "PositionEmbedding": lambda l, s: l.sequence_length * _last_axis(s[0]),
    "LayerNormalization": lambda l, s: _last_axis(s[0]) * (int(l.center) + int(l.scale)),
    "MultiHeadAttention": _mha_weights,
    "TransformerEncoder": _encoder_weights,
    "TransformerDecoder": _decoder_weights,
    "Conv1D": lambda l, s: l.kernel_size * _last_axis(s[0]) * l.filters
    + (l.filters if l.use_bias else 0),
    "MaxPooling1D": None, "AveragePooling1D": None,
    **{name: None for name in ("Activation", "Add", "BinaryOp", "Constant", "Dropout",
                               "Flatten", "MatMul", "Reduce", "UnaryOp", "Where",
                               "GlobalAveragePooling1D", "GlobalMaxPooling1D",
                               "SinePositionEncoding", "TextVectorization")},
    **{name: None for name in ("Subtract", "Multiply", "Average", "Maximum", "Minimum",
                               "Concatenate", "Reshape", "Permute", "RepeatVector")},
}


def _planned_weights(layer, args, kwargs):
    """How many weight values calling `layer` with these arguments will allocate; 0 for a
    layer without weights, None for a class without an entry in _WEIGHT_COUNTS."""
    name = type(layer).__name__
    if name not in _WEIGHT_COUNTS:
        return None
    count = _WEIGHT_COUNTS[name]
    if count is None:
        return 0
    if name == "TransformerEncoder":
        inputs = list(args[:1]) or [kwargs.get("inputs")]
    elif name == "TransformerDecoder":
        inputs = (list(args[:2]) + [kwargs.get("decoder_sequence"),
                                    kwargs.get("encoder_sequence")][len(args[:2]):])
    else:
        try:
            inputs, _ = layer._input_list(*args, **kwargs)
        except (TypeError, ValueError):
            return 0  # the call itself raises the same error, before building anything
    shapes = [getattr(x, "shape", None) for x in inputs] or [None]
    return count(layer, shapes)


class _WeightBudget:
    """The weight values a file's arrays hold; each layer call takes its share before the
    layer is built, so an architecture that would need more is refused before the allocation
    (the C++ core allocates weights when a layer is built)."""

    def __init__(self, total, reader):
        self.total, self.used, self.reader = total, 0, reader

    def take(self, layer, args, kwargs, field):
        count = _planned_weights(layer, args, kwargs)
        if count is None:
            return
        before, self.used = self.used, self.used + count
        if self.used > self.total:
            taken = f", {before:,} of them by the layers before it" if before else ""
            raise self.reader.error(
                f"layer {archive.brief(layer.name)} ({type(layer).__name__}) at `{field}` "
                f"would create {count:,} weight values, but the file's weight arrays hold "
                f"{self.total:,} in all{taken}")
