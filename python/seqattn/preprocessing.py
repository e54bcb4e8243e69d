"""Sequence preprocessing: ``pad_sequences`` (``keras.utils.pad_sequences``)."""

import numbers

import numpy as np

__all__ = ["pad_sequences"]

_SIDES = ("pre", "post")


def _describe(value):
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (of type {type(value).__name__})"


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (and truncate) a list of sequences to one length: a (B, maxlen) array.

    Same arguments, defaults and results as ``keras.utils.pad_sequences``:
    sequence ``b`` of length ``n`` becomes row ``b``; if ``n > maxlen`` it is
    truncated to its LAST ``maxlen`` values (``truncating="pre"``) or its FIRST
    ``maxlen`` values (``"post"``); if ``n < maxlen`` it is filled with ``value``
    before (``padding="pre"``) or after (``"post"``) the values. Values are
    converted with ``np.asarray(values, dtype=dtype)`` (so ``2.7`` becomes ``2``
    in an int dtype, as in Keras).

    Args:
        sequences: a list (or tuple, or array) of B sequences: lists, tuples or
            arrays of values, of any lengths (empty ones give a row of
            ``value``). The values may themselves be arrays of one shape S:
            then the result is (B, maxlen) + S, as in Keras.
        maxlen: None (the length of the longest sequence; 0 if there are
            none) or an int >= 0.
        dtype: the NumPy dtype of the result (default ``"int32"``). For
            strings use ``object`` (as Keras advises) or ``str``: an unsized
            string dtype (``str``, ``"U"``, ``bytes``, ``"S"``) is sized to fit
            the longest value (Keras sizes it from ``value`` alone and so cuts
            ``"hello"`` to ``"h"``); a sized one (``"<U3"``) truncates as NumPy
            does.
        padding: ``"pre"`` (default) or ``"post"``.
        truncating: ``"pre"`` (default) or ``"post"``.
        value: the padding value (default 0.0), converted to ``dtype``. A str
            value needs a string or object dtype (as in Keras).

    Returns:
        A NumPy array of shape (B, maxlen) (or (B, maxlen) + S) and ``dtype``.

    Raises:
        ValueError: naming the argument, for an invalid ``maxlen``, ``dtype``,
            ``padding``, ``truncating`` or ``value``, for ``sequences`` that is
            not a list of sequences (a str, a number, a sequence of numbers),
            and for values that cannot be converted to ``dtype`` or whose
            shapes differ.

    Differences from Keras (which fails or misbehaves in these cases):
    ``sequences=[]`` with ``maxlen=None`` gives shape (0, 0) (Keras: a NumPy
    reduction error); ``maxlen=0`` gives (B, 0) for every ``truncating``
    (Keras: a broadcast error with ``"pre"``); ``padding``/``truncating`` are
    checked even if every sequence is empty; a str element is an error, not a
    sequence of characters; unsized string dtypes fit the values (above).

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]]).tolist()
        [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post",
        ...               truncating="post").tolist()
        [[1, 0], [2, 3], [4, 5]]
    """
    for name, side in (("padding", padding), ("truncating", truncating)):
        if not (isinstance(side, str) and side in _SIDES):
            raise ValueError(f"Received an invalid value for `{name}`, expected 'pre' or 'post'. "
                             f"Received: {name}={side!r}")
    if maxlen is not None and (isinstance(maxlen, (bool, np.bool_))
                               or not isinstance(maxlen, numbers.Integral) or maxlen < 0):
        raise ValueError("Received an invalid value for `maxlen`, expected None or an integer "
                         f">= 0. Received: maxlen={maxlen!r}")
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as e:
        raise ValueError(f"Received an invalid value for `dtype`, expected a NumPy dtype "
                         f"(e.g. 'int32', 'float32', object). Received: dtype={dtype!r} ({e})"
                         ) from None
    is_text = np_dtype.kind in "USO"
    if isinstance(value, (str, bytes)) and not is_text:
        # Keras: "`dtype` int32 is not compatible with `value`'s type: <class 'str'>"
        raise ValueError(f"`dtype` {np_dtype} is not compatible with `value`'s type: "
                         f"{type(value)}. Use dtype=object (or str) to pad with a string. "
                         f"Received: value={value!r}, dtype={dtype!r}")

    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__") or not hasattr(
            sequences, "__iter__"):
        raise ValueError("`sequences` must be a list of sequences (lists or arrays of values). "
                         f"Received: sequences={_describe(sequences)}")
    sequences = list(sequences)
    lengths = []
    sample_shape = None  # from the first non-empty sequence, as in Keras
    for i, seq in enumerate(sequences):
        if isinstance(seq, (str, bytes)):
            raise ValueError(f"`sequences` must be a list of sequences: element {i} is a "
                             f"{type(seq).__name__} ({_describe(seq)}); wrap it in a list, or "
                             "split it into tokens first.")
        try:
            length = len(seq)
        except TypeError:
            raise ValueError("`sequences` must be a list of iterables (lists or arrays of "
                             f"values). Found non-iterable: element {i} is "
                             f"{_describe(seq)}") from None
        lengths.append(length)
        if sample_shape is None and length:
            try:
                sample_shape = np.asarray(seq).shape[1:]
            except ValueError as e:  # ragged values inside one sequence
                raise ValueError(f"`sequences`: the values of the sequence at position {i} "
                                 f"do not have one shape: {e}") from None
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)

    pieces = []  # (row, values) for the non-empty rows
    for i, seq in enumerate(sequences):
        if not lengths[i]:
            continue
        if maxlen == 0:
            trunc = seq[:0]
        elif truncating == "pre":
            trunc = seq[-maxlen:]
        else:
            trunc = seq[:maxlen]
        try:
            trunc = np.asarray(trunc, dtype=np_dtype)
        except (TypeError, ValueError, OverflowError) as e:
            raise ValueError(f"`sequences`: the sequence at position {i} cannot be converted "
                             f"to dtype {np_dtype}: {e}") from None
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} "
                             f"is different from expected shape {sample_shape}")
        if len(trunc):
            pieces.append((i, trunc))

    out_dtype = np_dtype
    if np_dtype.kind in "US" and np_dtype.itemsize == 0:  # unsized str/bytes: fit the values
        sizes = [np.asarray(value, dtype=np_dtype).dtype] + [t.dtype for _, t in pieces]
        out_dtype = max(sizes, key=lambda d: d.itemsize)
    try:
        out = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=out_dtype)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"Received an invalid value for `value`: it cannot fill an array of "
                         f"dtype {np_dtype}. Received: value={_describe(value)} ({e})") from None
    for i, trunc in pieces:
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out
