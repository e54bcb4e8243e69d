"""Decoding an encoder-decoder model: greedy search, beam search, and the decoder's
cross-attention map of one example.

The model is any two-input model (source ids (B, S), decoder ids (B, T)) -> per-token
probabilities (B, T, V), e.g. TokenAndPositionEmbedding -> TransformerEncoder for the source,
TokenAndPositionEmbedding -> TransformerDecoder(d, e) -> Dense(V, "softmax") for the decoder.

Cost: there is no key/value cache here. Step t calls `model.predict` on the whole prefix
(t tokens) and re-encodes the source, so decoding L tokens costs L encoder passes and
1 + 2 + ... + L = L(L+1)/2 decoder positions per sequence (a cache would need L). For the
short outputs these functions are meant for (tens of tokens) that is a few predict calls of
a few milliseconds each; all sequences of a batch (and all beams) go through one call per step.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["greedy_decode", "beam_search", "cross_attention"]


def _int(caller, name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        kind = "positive" if low == 1 else "non-negative"
        raise ValueError(f"{caller}: `{name}` must be a {kind} integer. Received: "
                         f"{name}={value!r}")
    return int(value)


def _check_common(caller, model, source, start_token, end_token, max_length):
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"{caller}: `model` must be a model with `predict` (two inputs: source "
                        f"ids and decoder ids). Received: {type(model).__name__}")
    src = np.asarray(source)
    if src.ndim != 2 or src.shape[0] < 1 or src.shape[1] < 1 or \
            not np.issubdtype(src.dtype, np.integer):
        raise ValueError(f"{caller}: `source` must be a 2-D integer array of token ids (B, S), "
                         f"padded with 0; one sequence is source[None]. Received: dtype "
                         f"{src.dtype}, shape {src.shape}")
    if src.min() < 0:
        raise ValueError(f"{caller}: `source` ids must be >= 0. Received: {int(src.min())}")
    start_token = _int(caller, "start_token", start_token, 0)
    end_token = _int(caller, "end_token", end_token, 0)
    max_length = _int(caller, "max_length", max_length, 1)
    return src.astype(np.int32), start_token, end_token, max_length


def _next_token_probs(caller, model, src, prefix, tokens, batch_size):
    """The model's distribution over the next token after each prefix: (n, V) float64."""
    out = np.asarray(model.predict([src, prefix], batch_size=batch_size, verbose=0))
    if out.ndim != 3 or out.shape[:2] != prefix.shape:
        raise ValueError(f"{caller}: the model must map (source (B, S), decoder ids (B, T)) to "
                         f"probabilities (B, T, V). For decoder ids of shape {prefix.shape} it "
                         f"returned shape {out.shape}")
    p = out[:, -1, :].astype(np.float64)
    if not np.all(np.isfinite(p)) or p.min() < 0 or np.abs(p.sum(-1) - 1).max() > 1e-3:
        raise ValueError(f"{caller}: the model's outputs must be probabilities (a softmax; "
                         "finite, >= 0, summing to 1 over V); received values that are not "
                         "(logits? end the model with Dense(V, activation='softmax')).")
    V = p.shape[1]
    for name, token in tokens.items():
        if token >= V:
            raise ValueError(f"{caller}: `{name}`={token} is not a token of the model's "
                             f"vocabulary of {V}")
    return p


def greedy_decode(model, source, start_token, end_token, max_length, batch_size=None):
    """The most likely token at each step, until `end_token` or `max_length` tokens.

    Args:
        model: (source ids (B, S), decoder ids (B, T)) -> probabilities (B, T, V).
        source: (B, S) int ids, padded with 0 (the encoder's mask_zero padding).
        start_token: the id the decoder starts from (not part of the output).
        end_token: the id that ends a sequence (kept as its last token).
        max_length: L, the most tokens generated per sequence (end token included); the
            decoder then reads up to L ids, so its position embedding needs L positions.
        batch_size: passed to `model.predict`.

    Returns:
        A list of B int32 arrays: the generated tokens, ending with `end_token` where the
        model produced it within `max_length` tokens. Ties go to the smaller id.
    """
    caller = "greedy_decode"
    src, start_token, end_token, max_length = _check_common(caller, model, source, start_token,
                                                            end_token, max_length)
    B = len(src)
    ids = np.full((B, max_length + 1), start_token, np.int32)
    lengths = np.zeros(B, np.int64)  # tokens generated so far
    done = np.zeros(B, bool)
    for t in range(max_length):
        active = np.flatnonzero(~done)
        if active.size == 0:
            break
        p = _next_token_probs(caller, model, src[active], ids[active, :t + 1],
                              {"start_token": start_token, "end_token": end_token}, batch_size)
        nxt = p.argmax(-1)
        ids[active, t + 1] = nxt
        lengths[active] += 1
        done[active[nxt == end_token]] = True
    return [ids[i, 1:1 + lengths[i]].copy() for i in range(B)]


def beam_search(model, source, start_token, end_token, max_length, beam_width=4,
                length_penalty=0.0, batch_size=None, return_scores=False):
    """The highest-scoring sequences found by keeping `beam_width` hypotheses per step.

    A finished sequence y_1..y_n (ending with `end_token`, or cut at `max_length`) scores

        score = sum_i log p(y_i | source, y_<i) / n ** length_penalty

    (length_penalty 0: the sequence's log-probability; > 0 favours longer sequences, as
    Hugging Face's `length_penalty`). Each step ranks all one-token extensions of the live
    hypotheses by log-probability: extensions ending with `end_token` among the first
    `beam_width` finish, and the best `beam_width` others stay live. A sequence stops being
    searched once no live hypothesis can beat its best finished one (exact: log-probabilities
    only fall). With beam_width=1 and length_penalty=0 this is `greedy_decode`; with a
    beam_width of at least V ** max_length it is exhaustive.

    Args:
        model, source, start_token, end_token, max_length, batch_size: as `greedy_decode`.
        beam_width: K, the hypotheses kept per sequence (one predict call per step runs all
            B * K of them).
        length_penalty: the exponent above (a finite number).
        return_scores: also return the (B,) float64 scores.

    Returns:
        A list of B int32 arrays (as `greedy_decode`), and the scores with return_scores=True.
    """
    caller = "beam_search"
    src, start_token, end_token, max_length = _check_common(caller, model, source, start_token,
                                                            end_token, max_length)
    beam_width = _int(caller, "beam_width", beam_width, 1)
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real) or \
            not math.isfinite(length_penalty):
        raise ValueError(f"{caller}: `length_penalty` must be a finite number. Received: "
                         f"length_penalty={length_penalty!r}")
    if not isinstance(return_scores, bool):
        raise TypeError(f"{caller}: `return_scores` must be True or False. Received: "
                        f"return_scores={return_scores!r}")
    alpha = float(length_penalty)
    B = len(src)
    live = np.full((B, 1), start_token, np.int32)  # (n, t+1) live hypotheses, all examples
    owner = np.arange(B)                             # (n,) which example each belongs to
    logp = np.zeros(B)                               # (n,) their log-probabilities
    best = [(-math.inf, None)] * B                   # best finished (score, tokens) per example
    with np.errstate(divide="ignore"):
        for t in range(max_length):
            if len(live) == 0:
                break
            n_tokens = t + 1  # each extension has this many generated tokens
            p = _next_token_probs(caller, model, src[owner], live,
                                  {"start_token": start_token, "end_token": end_token},
                                  batch_size)
            candidates = logp[:, None] + np.log(p)   # (n, V)
            V = p.shape[1]
            keep_rows, keep_tokens, keep_logp = [], [], []
            for b in np.unique(owner):
                rows = np.flatnonzero(owner == b)
                flat = candidates[rows].ravel()
                # stable: ties go to the earlier hypothesis, then the smaller id (as argmax)
                order = np.argsort(-flat, kind="stable")
                kept, final = [], n_tokens == max_length
                for rank, k in enumerate(order):
                    if len(kept) == beam_width or (final and rank >= beam_width) or \
                            not np.isfinite(flat[k]):
                        break
                    r, token = divmod(int(k), V)
                    if final or token == end_token:
                        # HF's rule: only extensions ranked within the beam may finish
                        if rank < beam_width:
                            score = flat[k] / n_tokens ** alpha
                            if score > best[b][0]:
                                best[b] = (score, np.append(live[rows[r], 1:], token))
                    else:
                        kept.append((rows[r], token, flat[k]))
                if kept and best[b][1] is not None:
                    # the best any extension of a live hypothesis (log-probability l <= 0,
                    # n_tokens < n' <= max_length tokens) can score
                    bound = max(max(k[2] / (n_tokens + 1) ** alpha, k[2] / max_length ** alpha)
                                for k in kept)
                    if best[b][0] >= bound:
                        kept = []
                for row, token, lp in kept:
                    keep_rows.append(row)
                    keep_tokens.append(token)
                    keep_logp.append(lp)
            rows = np.asarray(keep_rows, np.int64)
            live = np.concatenate([live[rows], np.asarray(keep_tokens, np.int32)[:, None]], 1) \
                if len(rows) else np.zeros((0, t + 2), np.int32)
            owner, logp = owner[rows] if len(rows) else owner[:0], np.asarray(keep_logp)
    sequences = [seq.astype(np.int32) for _, seq in best]
    if return_scores:
        return sequences, np.array([score for score, _ in best], np.float64)
    return sequences


def cross_attention(model, source, decoder_ids, layer=None):
    """A TransformerDecoder's cross-attention probabilities for one example: (H, T, S).

    Row t is how decoder step t (reading decoder_ids[:t+1]) spreads its attention over the
    source tokens, per head, in inference mode. To see what a generated output attended to,
    pass decoder_ids = [start_token] + output[:-1] (the ids the decoder read when it
    produced each output token).

    Args:
        model: a seqattn model with a TransformerDecoder called with an encoder sequence.
        source: (S,) the source ids of one example (no padding needed).
        decoder_ids: (T,) the decoder's input ids.
        layer: the decoder block's name (e.g. "transformer_decoder") or the attention's name
            as `model.attention_scores` lists it ("transformer_decoder/cross_attention");
            default the last decoder block.

    Returns:
        (H, T, S) float32 probabilities (each row sums to 1 over the source's real tokens).
        The same numbers as `model.attention_scores([source[None], decoder_ids[None]])`.
        Draw it with `seqattn.plot.plot_attention(scores, source_words,
        query_tokens=decoder_words)`.
    """
    caller = "cross_attention"
    if not callable(getattr(model, "attention_scores", None)):
        raise TypeError(f"{caller}: `model` must be a seqattn model. Received: "
                        f"{type(model).__name__}")
    n_inputs = len(getattr(model, "inputs", ()))
    if n_inputs != 2:
        raise ValueError(f"{caller}: `model` must be an encoder-decoder with two inputs (source "
                         f"ids, decoder ids); model '{model.name}' has {n_inputs} input(s).")
    arrays = []
    for name, value in (("source", source), ("decoder_ids", decoder_ids)):
        a = np.asarray(value)
        if a.ndim != 1 or a.size == 0 or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{caller}: `{name}` must be a non-empty 1-D integer array of one "
                             f"example's ids. Received: dtype {a.dtype}, shape {a.shape}")
        arrays.append(a.astype(np.int32)[None])
    scores = model.attention_scores(arrays)
    names = [n for n in scores if n.endswith("/cross_attention")]
    if not names:
        raise ValueError(f"{caller}: model '{model.name}' has no decoder cross-attention (a "
                         "TransformerDecoder called as decoder(decoder_sequence, "
                         f"encoder_sequence)); its attention layers: {list(scores)}")
    if layer is None:
        name = names[-1]
    elif layer in names:
        name = layer
    elif isinstance(layer, str) and f"{layer}/cross_attention" in names:
        name = f"{layer}/cross_attention"
    else:
        raise ValueError(f"{caller}: received an unknown decoder: layer={layer!r}. The model's "
                         f"cross-attentions: {names}")
    return scores[name][0]
