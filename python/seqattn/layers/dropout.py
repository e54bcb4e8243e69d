"""Dropout: random zeroing while training, identity otherwise."""

from __future__ import annotations

import numbers

from .. import _validation as V
from .base import Layer

_SEED_LIMIT = 2**64


def check_training(layer, training):
    """Eager and model-definition calls run in inference mode; only `fit` trains."""
    if training not in (None, False):
        raise ValueError(f"Layer '{layer.name}': eager and model-definition calls run in "
                         "inference mode; `fit` trains. Received: training=True")


class Dropout(Layer):
    """Inverted dropout: while training, each element is kept with probability 1 - rate and
    scaled by 1 / (1 - rate); at inference the layer is the identity.

    y = x · keep / (1 - rate),   keep = u(seed, step, i) >= rate

    u is a counter-based uniform number in [0, 1) for element i (flat index in the batch) of
    training step `step`: the decisions do not depend on the thread count, and the same seed
    replays the same masks.

    Args:
        rate: the fraction of elements to drop, in [0, 1).
        seed: a non-negative integer for a fixed dropout stream (like Keras, two layers with
            the same seed drop the same positions of same-shaped inputs); None draws one from
            the global generator when the layer is built (`seqattn.utils.set_random_seed`
            makes that repeatable).

    Input shape: any (B, ...); a padding mask passes through. Output shape: the input's.

    Example:
        h = seqattn.layers.Dropout(0.1)(attn)
    """

    _float_inputs = True

    def __init__(self, rate, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate = V.number("rate", rate, low=0.0, high=1.0, high_open=True, owner=self.name)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
                                 or not 0 <= seed < _SEED_LIMIT):
            raise ValueError(f"Received an invalid value for `seed` for layer '{self.name}', "
                             "expected None or a non-negative integer below 2**64. "
                             f"Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)

    def _make_core(self, input_shapes):
        from .. import _core
        from ..utils import draw_seed
        shape = input_shapes[0]
        if shape is None or len(shape) < 1:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected a batch of samples, received input with shape {shape}")
        core = _core.Dropout(self.rate)
        core.seed = draw_seed() if self.seed is None else self.seed
        return core

    def _input_list(self, inputs=None, training=None):
        if inputs is None:
            raise TypeError(f"Layer '{self.name}' takes exactly one input.")
        check_training(self, training)
        return [inputs], {}

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
