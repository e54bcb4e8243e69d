"""Text preprocessing: `seqattn.text.TextVectorization` (the same class as
`seqattn.layers.TextVectorization`) turns raw strings into padded integer id arrays;
`seqattn.text.SubwordTokenizer` splits them into WordPiece or BPE pieces
(`TextVectorization(split=SubwordTokenizer(...))`, needs `pip install "seqattn[subword]"`)."""

from ._subword import SubwordTokenizer
from .layers.text_vectorization import TextVectorization

__all__ = ["SubwordTokenizer", "TextVectorization"]
