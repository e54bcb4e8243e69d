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
from .merge import Add
from .pooling import GlobalAveragePooling1D, GlobalMaxPooling1D
from .pooling import AveragePooling1D, MaxPooling1D
from .position import PositionEmbedding, SinePositionEncoding
from .text_vectorization import TextVectorization
from .transformer import TransformerEncoder
from .transformer_decoder import TransformerDecoder

__all__ = ["Activation", "Add", "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D",
           "GlobalMaxPooling1D", "Input", "InputLayer", "Lambda", "Layer", "LayerNormalization",
           "MultiHeadAttention", "PositionEmbedding", "SinePositionEncoding",
           "TextVectorization", "TokenAndPositionEmbedding", "TransformerDecoder",
           "TransformerEncoder"]
__all__ += ["AveragePooling1D", "Conv1D", "MaxPooling1D"]


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from .._keras_names import missing as _missing
    raise _missing("layers", name, globals())
