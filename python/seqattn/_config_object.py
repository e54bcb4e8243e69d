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
