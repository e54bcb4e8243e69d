"""Keras-style layers backed by the C++ core."""

from .activation_layer import Activation
from .attention import MultiHeadAttention
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding, TokenAndPositionEmbedding
from .flatten import Flatten
from .input import Input, InputLayer
from .lambda_layer import Lambda
from .layer_norm import LayerNormalization
from .merge import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                    average, concatenate, maximum, minimum, multiply, subtract)
from .pooling import GlobalAveragePooling1D, GlobalMaxPooling1D
from .position import PositionEmbedding, SinePositionEncoding
from .reshaping import Permute, RepeatVector, Reshape
from .text_vectorization import TextVectorization
from .transformer import TransformerEncoder

__all__ = ["Activation", "Add", "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D", "Input", "InputLayer", "Lambda", "Layer", "LayerNormalization",
           "MultiHeadAttention", "PositionEmbedding", "SinePositionEncoding",
           "TextVectorization", "TokenAndPositionEmbedding", "TransformerEncoder"]
# Shape and merge layers, and Keras's functional forms of the merge layers.
__all__ += ["Average", "Concatenate", "Maximum", "Minimum", "Multiply", "Permute",
            "RepeatVector", "Reshape", "Subtract", "add", "average", "concatenate", "maximum",
            "minimum", "multiply", "subtract"]


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from .._keras_names import missing as _missing
    raise _missing("layers", name, globals())
