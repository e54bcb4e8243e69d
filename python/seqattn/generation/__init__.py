"""Text generation: causal language models (`causal_lm`) and their samplers (`sampling`)."""

from .causal_lm import generate, next_token_pairs
from .sampling import sample_tokens

__all__ = ["generate", "next_token_pairs", "sample_tokens"]
