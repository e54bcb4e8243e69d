"""What Keras's small configurable objects (initializers, regularizers) share: a config that
rebuilds them, and equality and repr by that config."""

from __future__ import annotations


class ConfigObject:
    """Subclasses return their constructor arguments from get_config."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = object.__hash__


def serialize_object(obj, kind, module, classes, allowed):
    """Keras's form of a registered object: {"module", "class_name", "config",
    "registered_name"}; None stays None. Anything else raises (`allowed` says what can be
    saved)."""
    if obj is None:
        return None
    if isinstance(obj, ConfigObject) and type(obj).__name__ in classes:
        return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
                "registered_name": None}
    raise ValueError(f"Cannot serialize the {kind} {obj!r}: only {allowed} can be saved in a "
                     "config.")


def deserialize_object(config, kind, classes, aliases, valid):
    """The object a Keras config ({"class_name": ..., "config": {...}}) describes; every
    malformed part raises a ValueError naming it (`valid`: the class names, for the message)."""
    article = "An" if kind[0] in "aeiou" else "A"
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"{article} {kind} config is a dict with 'class_name' and 'config'; "
                         f"received {config!r}")
    name = config["class_name"]
    cls = classes.get(name) or aliases.get(name)
    if cls is None:
        raise ValueError(f"Unknown {kind} class {name!r}. Valid names: {valid}")
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"The 'config' of {kind} {name} must be a dict; received {inner!r}")
    try:
        return cls.from_config(dict(inner))
    except TypeError as e:
        raise ValueError(f"Bad config for {kind} {name}: {e}") from None
