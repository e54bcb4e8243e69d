"""Which tokens a text classifier's attention looked at: numbers only (no matplotlib), shared
by `seqattn.plot.plot_token_importance` and `python -m seqattn predict`."""

from __future__ import annotations

import numpy as np


def token_importance(model, text, layer=None):
    """How much attention each token of `text` receives: a heuristic for which words mattered.

    Args:
        model: a seqattn Model whose first stage is a ``TextVectorization`` on a string
            ``Input`` (as ``python -m seqattn train`` builds) with at least one
            ``MultiHeadAttention`` (also inside ``TransformerEncoder`` blocks).
        text: one str.
        layer: the attention layer, by the name ``model.attention_scores`` uses
            (``"encoder_0/self_attention"`` inside a TransformerEncoder); default the LAST one.

    Returns ``(tokens, importances, probability)``:
        tokens: the tokens the vectorizer sees, in sentence order (lowercased, punctuation
            stripped, ``"[UNK]"`` for words outside the vocabulary, cut at
            ``output_sequence_length``); padding is left out.
        importances: (len(tokens),) float64 summing to 1. For key token s:
            ``mean over heads h and real queries t of scores[h, t, s]``, then divided by the
            sum over real tokens (a no-op when the padding mask reached the attention, since
            each real query's row then sums to 1 over the real keys).
        probability: the model's output for the text: a float (the positive-class
            probability) for a one-unit sigmoid output, else the (K,) class probabilities.

    A caution: attention weights show where a layer looked, not why the model decided.
    Jain & Wallace, "Attention is not Explanation" (NAACL 2019), found weights that barely
    correlate with gradient-based importance and alternative weights giving the same
    prediction; Wiegreffe & Pinter, "Attention is not not Explanation" (EMNLP 2019), answered
    that whether they explain depends on the model and on the test. Later layers mix tokens,
    so a position also carries its neighbours. Read these bars as a hint, not a proof.
    """
    from .layers.attention import MultiHeadAttention
    from .text import TextVectorization
    if not hasattr(model, "attention_scores") or not hasattr(model, "layers"):
        raise TypeError(f"`model` must be a seqattn Model. Received: {type(model).__name__}")
    if not isinstance(text, str):
        raise TypeError(f"`text` must be one str. Received: {text!r}")
    vectorizers = [l for l in model.layers if isinstance(l, TextVectorization)]
    if not vectorizers or (model.inputs is not None and model.inputs[0].dtype != "string"):
        raise ValueError(f"Model '{model.name}' reads token ids, not text: token_importance "
                         "needs a model whose first stage is a TextVectorization on "
                         "seqattn.Input(shape=(), dtype=\"string\").")
    vectorizer = vectorizers[0]
    ids = vectorizer([text])[0]                                   # (T,)
    real = ids != 0
    if not real.any():
        raise ValueError(f"`text` has no token once vectorized (empty or only punctuation): "
                         f"{text!r}")
    output = model.predict([text], verbose=0)  # (this builds a Sequential not built yet)
    if isinstance(output, list):
        raise ValueError(f"Model '{model.name}' has {len(output)} outputs; "
                         "token_importance needs a classifier with one output.")
    names = [n.layer.name for n in model._nodes if isinstance(n.layer, MultiHeadAttention)]
    if not names:
        raise ValueError(f"Model '{model.name}' has no MultiHeadAttention layer: there is no "
                         "attention to read.")
    if layer is None:
        layer = names[-1]
    elif layer not in names:
        raise ValueError(f"Received an unknown attention layer: layer={layer!r}. The model's "
                         f"attention layers: {names}")
    scores = model.attention_scores([text])[layer][0].astype(np.float64)   # (H, T, S)
    if scores.shape[-1] != ids.shape[0]:
        raise ValueError(f"Attention layer {layer!r} attends over {scores.shape[-1]} keys, not "
                         f"the text's {ids.shape[0]} token positions: its keys are not the "
                         "text's tokens.")
    rows = real if scores.shape[1] == ids.shape[0] else slice(None)
    received = scores.mean(axis=0)[rows][:, real].mean(axis=0)             # (S_real,)
    total = received.sum()
    importances = received / total if total > 0 else np.full(received.shape,
                                                              1.0 / received.size)
    vocab = vectorizer.get_vocabulary()
    tokens = [vocab[i] for i in ids[real]]
    output = np.asarray(output, dtype=np.float64)[0]
    probability = float(output[0]) if output.shape == (1,) else output
    return tokens, importances, probability
