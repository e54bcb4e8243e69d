"""Models: `Model` (functional: any graph of layer calls) and `Sequential` (a chain), and
Keras's `keras.models.load_model` / `save_model` (the `.seqattn` format of `seqattn.saving`)."""

from .. import _formats
from .functional import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "load_model", "save_model"]


# seqattn.saving imports the models, so these look the format up when called (_formats).
def save_model(model, filepath, overwrite=True):
    """`model.save(filepath)` as a function (Keras's `keras.models.save_model`): one
    `.seqattn` file with architecture, weights, optimizer and training state, atomically
    (or a Keras 3 `.keras` file, for a path ending in `.keras`)."""
    if not isinstance(model, Model):
        raise TypeError(f"save_model expects a seqattn Model. Received: model of type "
                        f"{type(model).__name__}")
    model.save(filepath, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """`seqattn.load_model` (Keras's `keras.models.load_model`): rebuilds a model saved by
    `model.save`, or a Keras 3 `.keras` file made of layers seqattn has. custom_objects:
    {"Name": class} for custom layers; compile=False leaves it uncompiled; safe_mode is
    accepted for Keras code (a seqattn file holds no code)."""
    return _formats.native().load_model(filepath, custom_objects=custom_objects,
                                        compile=compile, safe_mode=safe_mode)
