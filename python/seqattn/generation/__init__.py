"""Generating sequences with a trained model.

- `greedy_decode`, `beam_search`: decode an encoder-decoder (source ids, decoder ids) ->
  probabilities model, a batch at a time (seq2seq.py; no key/value cache).
- `cross_attention`: a TransformerDecoder's cross-attention map for one example.
"""

from .seq2seq import beam_search, cross_attention, greedy_decode

__all__ = ["beam_search", "cross_attention", "greedy_decode"]
