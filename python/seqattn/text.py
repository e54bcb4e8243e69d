"""Text preprocessing: `seqattn.text.TextVectorization` (the same class as
`seqattn.layers.TextVectorization`) turns raw strings into padded integer id arrays."""

from .layers.text_vectorization import TextVectorization

__all__ = ["TextVectorization"]
