"""The file formats models save to and load from, registered by the modules that implement them.

`saving` (the native `.seqattn` format) imports the models to rebuild them from a file, so the
models must not import it: `Model.save` and friends look their format up here. `import seqattn`
imports `saving`, which registers itself, before any model can exist. Other formats (Keras
files, ONNX) register under their own names the same way.
"""

from __future__ import annotations

_FORMATS: dict = {}


def register(name: str, implementation) -> None:
    """Makes `implementation` (a module or object with save_model, load_weights, ...) the
    format called `name`."""
    _FORMATS[name] = implementation


def get(name: str):
    try:
        return _FORMATS[name]
    except KeyError:
        raise RuntimeError(f"The {name!r} file format is not registered; `import seqattn` "
                           "registers the built-in ones.") from None


def native():
    """The `.seqattn` format (seqattn.saving)."""
    return get("seqattn")
