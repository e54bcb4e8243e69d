"""Models: `Model` (functional: any graph of layer calls) and `Sequential` (a chain)."""

from .functional import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential"]
