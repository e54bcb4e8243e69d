"""Causal language models: next-token training pairs and generation.

    x, y = next_token_pairs(ids)                     # ids (N, T+1) -> x, y (N, T)
    model.fit(x, y)                                  # per-token sparse cross-entropy
    out = seqattn.generate(model, prompts, max_new_tokens=50, temperature=0.8, top_k=20,
                           seed=0)                   # prompt + generated ids per row

With use_cache=True (the default) generation runs the model incrementally in C++ with a
key/value cache (cpp/kv_cache.hpp): the prompt once, then one token per step at O(T) per
attention layer. use_cache=False runs a full forward pass over the whole sequence for every
token (any model; slower); for the same seed both give the same tokens.
"""

from __future__ import annotations

import numbers

import numpy as np

from .sampling import check_sampling, sample_tokens


def next_token_pairs(ids):
    """Inputs and next-token targets of a causal LM: x = ids[:, :-1], y = ids[:, 1:].

    ids: (N, T+1) integer token ids, right-padded with 0. Returns int32 x, y (N, T). Where a
    target is padding (y == 0), x is set to 0 too, so an embedding with mask_zero=True masks
    that position and the loss skips it (keras-hub's CausalLMPreprocessor gives
    sample_weight = padding_mask[:, 1:] instead; position t of a causal model never reads
    later positions, so the zeroed inputs change no other prediction).
    """
    a = np.asarray(ids)
    if a.ndim != 2 or a.shape[1] < 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError("next_token_pairs: expected integer token ids of shape (N, T+1) with "
                         f"T >= 1, received {a.dtype} array of shape {a.shape}")
    x = a[:, :-1].astype(np.int32)
    y = a[:, 1:].astype(np.int32)
    x[y == 0] = 0
    return x, y


def _check_int(name, value, minimum, allow_none):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "None or " if allow_none else ""
        raise ValueError(f"Received an invalid value for `{name}`, expected {what}an integer "
                         f">= {minimum}. Received: {name}={value!r}")


def _prompt_array(prompt):
    """(ids (B, Tp) int32 right-padded, lengths (B,), how to return: 'list' | '1d' | '2d')."""
    if isinstance(prompt, (list, tuple)) and prompt and all(
            isinstance(r, (list, tuple, np.ndarray)) for r in prompt):
        rows = [np.asarray(r) for r in prompt]
        for i, r in enumerate(rows):
            if r.ndim != 1 or r.size == 0 or (r.dtype != object and not
                                               np.issubdtype(r.dtype, np.integer)):
                raise ValueError("Received an invalid value for `prompt`: row "
                                 f"{i} must be a non-empty list of integer token ids. "
                                 f"Received: {prompt[i]!r}")
        a = np.zeros((len(rows), max(r.size for r in rows)), np.int64)
        for i, r in enumerate(rows):
            a[i, :r.size] = r
        kind = "list"
    else:
        a = np.asarray(prompt)
        kind = "1d" if a.ndim == 1 else "2d"
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.size == 0 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError("Received an invalid value for `prompt`, expected integer token ids "
                             "(B, Tp) right-padded with 0, or a list of lists of ids. Received: "
                             f"{getattr(a, 'dtype', type(prompt).__name__)} array of shape "
                             f"{getattr(a, 'shape', None)}")
    if (a < 0).any():
        raise ValueError("Received an invalid value for `prompt`: token ids must be >= 0 "
                         f"(0 = padding). Received a minimum of {a.min()}")
    nonzero = a != 0
    lengths = nonzero.sum(axis=1)
    if (lengths == 0).any():
        raise ValueError(f"Received an invalid value for `prompt`: row {int(np.argmin(lengths))} "
                         "is empty (all padding); every row needs at least one token.")
    after_padding = (np.cumsum(~nonzero, axis=1) > 0) & nonzero
    if after_padding.any():
        b = int(np.argmax(after_padding.any(axis=1)))
        raise ValueError(f"Received an invalid value for `prompt`: row {b} has a token after "
                         "padding (0); prompts are right-padded with 0 (token 0 is padding).")
    return a[:, :lengths.max()].astype(np.int32), lengths.astype(np.int64), kind


def _output_is_probability(model):
    node = getattr(model.outputs[0], "node", None) if getattr(model, "outputs", None) else None
    return getattr(getattr(node, "layer", None), "activation", None) == "softmax"


def generate(model, prompt, max_new_tokens, temperature=None, top_k=None, top_p=None,
             seed=None, stop_token=None, use_cache=True):
    """Continues each prompt row with up to max_new_tokens tokens; see Model.generate."""
    if not callable(getattr(model, "generate", None)) or not hasattr(model, "_core_graph"):
        raise TypeError("seqattn.generate: `model` must be a seqattn Model (a causal language "
                        f"model). Received: model={model!r}")
    return model.generate(prompt, max_new_tokens, temperature=temperature, top_k=top_k,
                          top_p=top_p, seed=seed, stop_token=stop_token, use_cache=use_cache)


class _Cached:
    """Next-token logits from the C++ key/value cache."""

    def __init__(self, model, graph, B, capacity):
        from .. import _core
        self.decoder = _core.IncrementalDecoder(graph)
        if self.decoder.max_length and capacity > self.decoder.max_length:
            raise ValueError(
                f"Received an invalid value for `max_new_tokens`: the longest prompt plus "
                f"max_new_tokens is {capacity} positions, and model '{model.name}' encodes "
                f"positions up to sequence_length={self.decoder.max_length}.")
        self.decoder.reset(B, capacity)
        self.K = int(model.outputs[0].shape[-1])
        self.out1 = np.zeros((B, 1, self.K), np.float32)
        self.ids1 = np.zeros((B, 1), np.int32)

    def prompt(self, ids, lengths):
        out = np.zeros(ids.shape + (self.K,), np.float32)
        self.decoder.step(ids, np.zeros(len(ids), np.int64), out)
        return out[np.arange(len(ids)), lengths - 1]

    def next(self, seq, cur):
        self.ids1[:, 0] = seq[np.arange(len(seq)), cur - 1]
        self.decoder.step(self.ids1, cur - 1, self.out1)
        return self.out1[:, 0]


class _Uncached:
    """Next-token logits from a full forward pass over the whole sequence (any model)."""

    def __init__(self, model, graph, total):
        self.graph = graph
        shape = model.inputs[0].shape if model.inputs else ()
        fixed = shape[1] if len(shape) > 1 else None  # Input(shape=(T,)): pad to T
        self.width = fixed
        if fixed is not None and total > fixed:
            raise ValueError(
                f"Received an invalid value for `max_new_tokens`: the longest prompt plus "
                f"max_new_tokens is {total} tokens, and model '{model.name}' reads sequences of "
                f"length {fixed}.")

    def _logits(self, seq, cur):
        width = self.width or int(cur.max())
        out = self.graph.predict_step([np.ascontiguousarray(seq[:, :width])])[0]
        return out[np.arange(len(seq)), cur - 1]

    def prompt(self, ids, lengths):
        seq = np.zeros((len(ids), self.width or ids.shape[1]), np.int32)
        seq[:, :ids.shape[1]] = ids
        return self._logits(seq, lengths)

    def next(self, seq, cur):
        return self._logits(seq, cur)


def run_generation(model, prompt, max_new_tokens, temperature, top_k, top_p, seed, stop_token,
                   use_cache):
    _check_int("max_new_tokens", max_new_tokens, 1, False)
    check_sampling(temperature, top_k, top_p)
    _check_int("seed", seed, 0, True)
    _check_int("stop_token", stop_token, 1, True)
    if not isinstance(use_cache, bool):
        raise ValueError(f"Received an invalid value for `use_cache`, expected True or False. "
                         f"Received: use_cache={use_cache!r}")
    ids, lengths, kind = _prompt_array(prompt)
    B = len(ids)
    total = int(lengths.max()) + max_new_tokens
    graph = model._core_graph()
    source = _Cached(model, graph, B, total) if use_cache else _Uncached(model, graph, total)
    probability = _output_is_probability(model)
    rng = np.random.default_rng(seed)
    seq = np.zeros((B, total), np.int32)
    seq[:, :ids.shape[1]] = ids
    cur = lengths.copy()
    done = np.zeros(B, bool)
    rows = np.arange(B)
    logits = source.prompt(ids, lengths)
    for step in range(max_new_tokens):
        if probability:
            with np.errstate(divide="ignore"):
                logits = np.log(logits)
        u = rng.random(B)
        tok = sample_tokens(logits, u, temperature, top_k, top_p)
        live = rows[~done]
        seq[live, cur[live]] = tok[live]
        cur[live] += 1
        if stop_token is not None:
            done |= tok == stop_token
        if done.all() or step == max_new_tokens - 1:
            break
        logits = source.next(seq, cur)
    seq = seq[:, :int(cur.max())]
    if kind == "list":
        return [seq[b, :cur[b]].tolist() for b in range(B)]
    return seq[0] if kind == "1d" else seq
