"""Keras-style layers backed by the C++ core."""

from .activation_layer import Activation
from .attention import MultiHeadAttention
from .base import Layer
from .conv import Conv1D
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding, TokenAndPositionEmbedding
from .flatten import Flatten
from .input import Input, InputLayer
from .lambda_layer import Lambda
from .layer_norm import LayerNormalization
from .merge import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add,
                    average, concatenate, maximum, minimum, multiply, subtract)
from .pooling import (AveragePooling1D, GlobalAveragePooling1D, GlobalMaxPooling1D,
                      MaxPooling1D)
from .position import PositionEmbedding, SinePositionEncoding
from .reshaping import Permute, RepeatVector, Reshape
from .text_vectorization import TextVectorization
from .transformer import TransformerEncoder
from .transformer_decoder import TransformerDecoder

# Layers, then Keras's functional forms of the merge layers (layers.add, ...).
__all__ = ["Activation", "Add", "Average", "AveragePooling1D", "Concatenate", "Conv1D", "Dense",
           "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
           "Input", "InputLayer", "Lambda", "Layer", "LayerNormalization", "MaxPooling1D",
           "Maximum", "Minimum", "MultiHeadAttention", "Multiply", "Permute", "PositionEmbedding",
           "RepeatVector", "Reshape", "SinePositionEncoding", "Subtract", "TextVectorization",
           "TokenAndPositionEmbedding", "TransformerDecoder", "TransformerEncoder", "add",
           "average", "concatenate", "maximum", "minimum", "multiply", "subtract"]


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from .._keras_names import missing as _missing
    raise _missing("layers", name, globals())
