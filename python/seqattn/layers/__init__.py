"""Keras-style layers backed by the C++ core."""

from .attention import MultiHeadAttention
from .base import Layer
from .dense import Dense
from .embedding import Embedding, TokenAndPositionEmbedding
from .input import Input, InputLayer
from .pooling import GlobalAveragePooling1D, GlobalMaxPooling1D

__all__ = ["Dense", "Embedding", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Input",
           "InputLayer", "Layer", "MultiHeadAttention", "TokenAndPositionEmbedding"]
