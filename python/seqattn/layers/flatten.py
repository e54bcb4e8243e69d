"""Flatten: merges every axis after the batch axis into one."""

from __future__ import annotations

from .base import Layer


class Flatten(Layer):
    """Flattens each sample: (B, d1, d2, ...) -> (B, d1·d2·...), in row-major order.

    The classic bag-of-positions baseline: Embedding -> Flatten -> Dense. The time axis is
    merged into the features, so a padding mask cannot survive: like Keras 3, the layer warns
    when a mask reaches it (pool with GlobalAveragePooling1D instead to keep padding out).

    Input shape: (B, ...) float features. Output shape: (B, F) with F the product of the
    non-batch axes (None when one of them is unknown; a Dense after it needs them known).

    Example:
        h = seqattn.layers.Flatten()(seqattn.layers.Embedding(20000, 32)(ids))  # (B, T·32)
    """

    supports_masking = False
    _float_inputs = True  # ids must go through an Embedding first

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        if shape is None or len(shape) < 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected shape (B, ...) with at least one axis after the batch "
                             f"axis, received input with shape {shape}")
        return _core.Flatten()
