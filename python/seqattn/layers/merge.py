"""Merge layers: combine a list of same-shaped tensors."""

from __future__ import annotations

from .base import Layer


class Add(Layer):
    """Element-wise sum of a list of tensors (a residual connection).

    y = x_0 + x_1 + ... + x_{k-1}

    Called on a list of k >= 2 tensors of one shape (Keras style): `Add()([x, attn])`.
    The output mask is the logical AND of the inputs' masks that exist (Keras Merge), so a
    padding mask from the embedding survives the residual branch.

    Input shape: a list of (B, ...) tensors, all the same shape. Output shape: that shape.

    Example:
        h = seqattn.layers.Add()([tokens, seqattn.layers.PositionEmbedding(200)(tokens)])
    """

    _float_inputs = True

    def _input_list(self, *args, **kwargs):
        if len(args) != 1 or kwargs or not isinstance(args[0], (list, tuple)):
            received = args[0] if len(args) == 1 else args
            raise ValueError(f"Layer '{self.name}' (a merge layer) should be called on a list of "
                             f"inputs, e.g. Add()([a, b]). Received: inputs={received!r}")
        inputs = list(args[0])
        if len(inputs) < 2 or any(x is None for x in inputs):
            raise ValueError(f"Layer '{self.name}' (a merge layer) should be called on a list of "
                             f"at least 2 inputs. Received: {len(inputs)} input(s)"
                             + (" including None" if any(x is None for x in inputs) else ""))
        return inputs, {}

    def _make_core(self, input_shapes):
        from .. import _core
        first = tuple(input_shapes[0])
        for i, s in enumerate(input_shapes):
            if tuple(s) != first or len(s) < 1:
                raise ValueError(f"Layer '{self.name}': inputs must all have the same shape; "
                                 f"received {first} (input 0) and {tuple(s)} (input {i})")
        return _core.Add()

    def _output_has_mask(self, input_has_mask):
        return any(input_has_mask)
