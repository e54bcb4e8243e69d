"""Datasets. `synthetic_sentiment` is embedded: it needs no download."""

from .synthetic import synthetic_sentiment

__all__ = ["synthetic_sentiment"]
