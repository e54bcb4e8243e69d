"""Built-in sequence-to-sequence tasks with a known answer, for encoder-decoder models.

- ``"reverse"``: the source words in reverse order (words may repeat). The classic copy-task
  variant: each output step must find one source position, so the model needs positions.
- ``"sort"``: the source words (all different) in alphabetical order. The next output word is
  the smallest source word after the previous output word, a rule that holds at any length:
  a model that reads content rather than positions can sort sequences longer than any it saw.

Both draw words from the same vocabulary of 26 words, listed alphabetically so that sorting
ids sorts words. Id 0 is padding, 1 the start token, 2 the end token (targets carry neither:
`teacher_forcing` adds them).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["synthetic_seq2seq", "teacher_forcing", "SEQ2SEQ_TASKS", "START_TOKEN", "END_TOKEN"]

SEQ2SEQ_TASKS = ("reverse", "sort")
START_TOKEN, END_TOKEN = 1, 2
_WORDS = ("apple", "bear", "cat", "dog", "eagle", "fox", "goat", "horse", "ibis", "jay",
          "kiwi", "lion", "mole", "newt", "owl", "pig", "quail", "rat", "seal", "tiger",
          "urchin", "vole", "wolf", "yak", "zebu", "zorilla")
_VOCABULARY = ("", "[start]", "[end]") + _WORDS
_FIRST_WORD = 3


def _count(name, value, low, caller="synthetic_seq2seq"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        kind = "positive" if low == 1 else "non-negative" if low == 0 else f">= {low}"
        raise ValueError(f"{caller}: `{name}` must be a {kind} integer. Received: "
                         f"{name}={value!r}")
    return int(value)


def synthetic_seq2seq(task="reverse", n_samples=4000, seed=0, min_len=1, max_len=8):
    """Source and target word-id sequences of a task whose answer is known.

    Args:
        task: "reverse" or "sort" (see the module docstring).
        n_samples: N, the number of pairs.
        seed: the generator's seed (the same arguments give the same pairs).
        min_len, max_len: each source has a length drawn uniformly from [min_len, max_len]
            (at most 26 for "sort", whose words are all different). The target has the
            source's length.

    Returns:
        `(sources, targets, vocabulary)`: two lists of N int32 arrays of word ids (no padding,
        no start or end token) and the vocabulary, a tuple of strings indexed by id
        ("" padding, "[start]", "[end]", then the words alphabetically).

    Example:
        >>> src, tgt, vocab = synthetic_seq2seq("reverse", n_samples=2, seed=1)
        >>> [vocab[i] for i in src[0]] == [vocab[i] for i in tgt[0][::-1]]
        True
    """
    if not isinstance(task, str) or task not in SEQ2SEQ_TASKS:
        raise ValueError(f"synthetic_seq2seq: `task` must be one of {list(SEQ2SEQ_TASKS)}. "
                         f"Received: task={task!r}")
    n_samples = _count("n_samples", n_samples, 1)
    seed = _count("seed", seed, 0)
    min_len = _count("min_len", min_len, 1)
    max_len = _count("max_len", max_len, 1)
    if max_len < min_len:
        raise ValueError(f"synthetic_seq2seq: `max_len` must be >= `min_len`. Received: "
                         f"min_len={min_len}, max_len={max_len}")
    if task == "sort" and max_len > len(_WORDS):
        raise ValueError(f"synthetic_seq2seq: task 'sort' draws different words, so `max_len` "
                         f"can be at most {len(_WORDS)}. Received: max_len={max_len}")
    rng = np.random.default_rng(seed)
    sources, targets = [], []
    for _ in range(n_samples):
        n = int(rng.integers(min_len, max_len + 1))
        if task == "reverse":
            src = rng.integers(_FIRST_WORD, len(_VOCABULARY), n)
            tgt = src[::-1]
        else:
            src = rng.choice(np.arange(_FIRST_WORD, len(_VOCABULARY)), n, replace=False)
            tgt = np.sort(src)
        sources.append(src.astype(np.int32))
        targets.append(np.ascontiguousarray(tgt, dtype=np.int32))
    return sources, targets, _VOCABULARY


def teacher_forcing(sources, targets, source_length=None, target_length=None,
                    start_token=START_TOKEN, end_token=END_TOKEN):
    """The three padded arrays that train an encoder-decoder with teacher forcing.

    The decoder reads the target shifted right behind the start token and learns to predict
    the target followed by the end token:

        decoder_inputs[i]  = [start, t1, ..., tn]      (padded with 0 to target_length)
        decoder_targets[i] = [t1, ..., tn, end]

    so `model.fit([encoder_inputs, decoder_inputs], decoder_targets)` with an embedding that
    has mask_zero=True weights the loss on real steps only.

    Args:
        sources, targets: sequences of 1-D int arrays (as `synthetic_seq2seq` returns).
        source_length: S, the encoder length (default: the longest source).
        target_length: T, the decoder length (default: the longest target + 1).
        start_token, end_token: ids (defaults 1 and 2, this module's vocabulary).

    Returns:
        `(encoder_inputs (N, S), decoder_inputs (N, T), decoder_targets (N, T))`, int32.
    """
    caller = "teacher_forcing"
    if len(sources) != len(targets):
        raise ValueError(f"{caller}: `sources` and `targets` must have the same length. "
                         f"Received: {len(sources)} sources and {len(targets)} targets")
    start_token = _count("start_token", start_token, 1, caller)
    end_token = _count("end_token", end_token, 1, caller)
    longest_source = max((len(s) for s in sources), default=0)
    longest_target = max((len(t) for t in targets), default=0) + 1
    S = longest_source if source_length is None else _count("source_length", source_length, 1,
                                                            caller)
    T = longest_target if target_length is None else _count("target_length", target_length, 1,
                                                            caller)
    if S < longest_source or T < longest_target:
        raise ValueError(f"{caller}: the longest source has {longest_source} tokens and the "
                         f"longest target needs {longest_target} steps (with start/end). "
                         f"Received: source_length={S}, target_length={T}")
    N = len(sources)
    enc, dec_in, dec_out = (np.zeros((N, S), np.int32), np.zeros((N, T), np.int32),
                            np.zeros((N, T), np.int32))
    for i, (s, t) in enumerate(zip(sources, targets)):
        s, t = np.asarray(s), np.asarray(t)
        if s.ndim != 1 or t.ndim != 1:
            raise ValueError(f"{caller}: sources and targets must be 1-D id sequences. "
                             f"Received: shapes {s.shape} and {t.shape} at index {i}")
        enc[i, :len(s)] = s
        dec_in[i, 0], dec_in[i, 1:len(t) + 1] = start_token, t
        dec_out[i, :len(t)], dec_out[i, len(t)] = t, end_token
    return enc, dec_in, dec_out
