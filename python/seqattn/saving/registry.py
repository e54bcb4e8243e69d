"""Custom layer classes a model file may name, as Keras registers them: with the
`register_keras_serializable` decorator, or per call with `load_model(...,
custom_objects={...})` / `custom_object_scope`. A file names a class; loading looks the name up
in the built-in table, then in these, and never imports anything the file names."""

from __future__ import annotations

import contextlib
import threading

_REGISTERED: dict = {}  # "package>Name" -> class
_scopes = threading.local()


def register_keras_serializable(package="Custom", name=None):
    """Class decorator: model files may name this class as "package>Name" (Keras's key)."""
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(f"`package` must be a non-empty string without '>'; received "
                         f"{package!r}")

    def decorate(cls):
        key = f"{package}>{name or cls.__name__}"
        if not isinstance(cls, type):
            raise TypeError(f"register_keras_serializable decorates a class; received {cls!r}")
        _REGISTERED[key] = cls
        cls._registered_name = key
        return cls

    return decorate


def get_registered_name(cls) -> str:
    """The name a file stores for `cls`: "package>Name" when registered, else its name."""
    key = cls.__dict__.get("_registered_name")
    return key if key is not None and _REGISTERED.get(key) is cls else cls.__name__


@contextlib.contextmanager
def custom_object_scope(custom_objects):
    """Within it, loading resolves these names ({"Name": class}) too (Keras's scope)."""
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"`custom_objects` must be a dict of name -> class; received "
                        f"{type(custom_objects).__name__}")
    stack = _scopes.__dict__.setdefault("stack", [])
    stack.append(dict(custom_objects or {}))
    try:
        yield
    finally:
        stack.pop()


def lookup(name):
    """The custom class a file names, or None: the innermost scope first (by the stored name
    or its part after "package>"), then the registry."""
    if not isinstance(name, str):
        return None
    short = name.split(">", 1)[-1]
    for scope in reversed(_scopes.__dict__.get("stack", [])):
        for key in (name, short):
            if key in scope:
                return scope[key]
    return _REGISTERED.get(name)
