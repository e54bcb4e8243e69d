"""Generating sequences with a trained model.

- `generate`, `next_token_pairs`, `sample_tokens`: causal language models (causal_lm.py; a C++
  key/value cache) and their sampler (sampling.py).
- `greedy_decode`, `beam_search`: decode an encoder-decoder (source ids, decoder ids) ->
  probabilities model, a batch at a time (seq2seq.py; no key/value cache).
- `cross_attention`: a TransformerDecoder's cross-attention map for one example.
"""

from .causal_lm import generate, next_token_pairs
from .sampling import sample_tokens
from .seq2seq import beam_search, cross_attention, greedy_decode

__all__ = ["beam_search", "cross_attention", "generate", "greedy_decode", "next_token_pairs",
           "sample_tokens"]
