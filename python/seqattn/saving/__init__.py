"""Saving and loading models: architecture (JSON), weights, optimizer state and training state
in one `.seqattn` file (see archive.py for the container: a zip of JSON and .npy members, read
without pickle, written atomically).

What a model file holds, and why each part is there:
    config  {"model": architecture, "compile": losses/optimizer/metrics or None}
            The architecture is the list of layer calls in model order, each with its layer's
            `get_config()` and the call's arguments, where tensors are references
            [producing layer name, output index]; loading replays the calls. Layer classes are
            looked up in a fixed table of seqattn layers: nothing is imported or evaluated.
    arrays  "weights/NNNN" in `model.get_weights()` order; "optimizer/NNNN" the optimizer's
            slots (momentum, or Adam's m and v per weight).
    state   the weights manifest (layer, class and shapes, to name what does not match), the
            optimizer's iteration count, the graph's step counter (the dropout stream), every
            dropout stream's seed, the epochs completed and fit's shuffling generator, so a
            run resumed from the file continues exactly as if it had not stopped.

Loading trusts nothing in the file: every field is checked for type and range before it is
used (the counters against the C++ integers they go into), the architecture is replayed only
while the weights it creates fit in the weight arrays the file holds (so a crafted config
cannot make the loader allocate more than the file's size), and every problem is a
FileFormatError naming the file, the member and the field (see "file checks" below).
"""

from __future__ import annotations

import sys

from .. import _formats
from .budget import _WEIGHT_COUNTS, _planned_weights  # noqa: F401  (tests read the table)
from .builder import model_from_config
from .config import MODEL_SUFFIX, WEIGHTS_SUFFIX, _LAYER_CLASSES, model_config  # noqa: F401
from .files import load_model, load_weights, restore_training_state, save_model, save_weights
from .registry import custom_object_scope, get_registered_name, register_keras_serializable

__all__ = ["MODEL_SUFFIX", "WEIGHTS_SUFFIX", "custom_object_scope", "get_registered_name",
           "load_model", "load_weights", "model_config", "model_from_config",
           "register_keras_serializable", "save_model", "save_weights"]

# The models find this format here (they never import this package: it imports them).
_formats.register("seqattn", sys.modules[__name__])
from . import keras_format  # noqa: E402,F401  (registers the Keras `.keras` format)
