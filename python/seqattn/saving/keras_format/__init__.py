"""Keras 3 `.keras` files, both ways: `model.save("m.keras")` writes one that
`keras.saving.load_model` reads, and `seqattn.load_model("m.keras")` reads one Keras wrote
from layers seqattn has. Reading never executes anything from the file: Lambda layers, custom
classes and any other code are refused by name. Needs h5py (`seqattn[keras]`), imported on use.
"""

from __future__ import annotations

import sys

from ... import _formats
from .reader import load_model, load_weights
from .writer import SUFFIX, keras_config, save_model

__all__ = ["SUFFIX", "keras_config", "load_model", "load_weights", "save_model"]

_formats.register("keras", sys.modules[__name__])
