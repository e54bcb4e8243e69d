"""The file checks: limits, and `_Reader`, which reads a field of config.json or state.json
only after checking its type and range, and raises FileFormatError naming the file, the
member and the field. Everything that reads a model file goes through it."""

from __future__ import annotations

import math

from .. import archive


# ------------------------------------------------------------------ file checks
# A file is checked field by field before anything is built from it, and what it can make the
# loader allocate is bounded by what it holds: the weights an architecture would create must
# fit in the file's weight arrays (a config cannot ask for a 10**12-row embedding backed by 30
# rows of data). The limits below are far above any real model; they bound memory, time and
# stack depth for a crafted file.
_MAX_LAYERS = 10_000          # layer calls in one architecture


_MAX_NESTING = 64             # JSON depth of config.json and state.json (ours stay under 12)


_MAX_DIM = 2**31 - 1          # an Input axis (and their product), a vectorizer's output length


_MAX_NGRAM = 64               # a TextVectorization n-gram size (each costs O(n) per text)


_MAX_AUC_THRESHOLDS = 2**20   # an AUC metric keeps counts per threshold


_INT64, _UINT64 = 2**63, 2**64


_MISSING = object()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    """A finite JSON number (ints are bounded to 64 bits before this is asked)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _join(path, key) -> str:
    """`model.layers[2].config.units`: the field's place in its JSON member."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{archive.brief(key)}]"


def _cut(text, limit=500) -> str:
    """An error text shortened for a message (it may quote a crafted megabyte value)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + " [...]"


class _Reader:
    """Type and range checks on the fields of one JSON member; each failure is a
    FileFormatError naming the file, the member and the field, e.g.
    "m.seqattn: state.json: `iterations` must be an integer in [0, 2**63), received -3"."""

    def __init__(self, where, member=None):
        self.where, self.member = where, member

    def error(self, problem) -> archive.FileFormatError:
        place = self.where if self.member is None else f"{self.where}: {self.member}"
        return archive.FileFormatError(f"{place}: {problem}")

    def fail(self, field, problem):
        raise self.error(f"`{field or '(top level)'}` {problem}")

    def require(self, field, value, ok, what):
        if not ok:
            self.fail(field, f"must be {what}, received {archive.brief(value)}")
        return value

    def get(self, field, container, key, default=_MISSING):
        """container[key]; a missing key is an error unless a default is given."""
        if key in container:
            return container[key]
        if default is _MISSING:
            self.fail(_join(field, key), "is missing")
        return default

    def object(self, field, value) -> dict:
        return self.require(field, value, isinstance(value, dict), "an object")

    def list(self, field, value, length=None) -> list:
        what = "a list" if length is None else f"a list of {length}"
        return self.require(field, value, isinstance(value, list)
                            and (length is None or len(value) == length), what)

    def string(self, field, value) -> str:
        return self.require(field, value, isinstance(value, str), "a string")

    def boolean(self, field, value) -> bool:
        return self.require(field, value, isinstance(value, bool), "true or false")

    def integer(self, field, value, low, high) -> int:
        """low <= value < high; the bounds of C++ integers read as 2**63, 2**64."""
        shown = f"2**{high.bit_length() - 1}" if high >= 2**16 and high & (high - 1) == 0 \
            else str(high)
        return self.require(field, value, _is_int(value) and low <= value < high,
                            f"an integer in [{low}, {shown})")

    def number(self, field, value) -> float:
        return self.require(field, value, _is_number(value), "a finite number")

    def tree(self, value, field="", numbers=True):
        """The whole JSON value: nested at most _MAX_NESTING deep (recursive consumers, such
        as a layer's from_config, then cannot overflow the stack) and, with `numbers`, every
        float finite (our configs never hold inf or nan) and every integer within 64 bits
        (the C++ core's widest). Iterative, so a crafted depth cannot overflow the check
        itself. (state.json's fields are each checked for their own range instead.)"""
        stack = [(value, field, 0)]
        while stack:
            value, field, depth = stack.pop()
            if isinstance(value, (dict, list)):
                if depth >= _MAX_NESTING:
                    self.fail(field, f"is nested more than {_MAX_NESTING} levels deep")
                items = value.items() if isinstance(value, dict) else enumerate(value)
                stack.extend((v, _join(field, k), depth + 1) for k, v in items)
            elif not numbers:
                continue
            elif isinstance(value, float) and not math.isfinite(value):
                self.fail(field, f"is {value}: the numbers of a model config are finite")
            elif _is_int(value) and not -_INT64 <= value < _UINT64:
                self.fail(field, f"is {archive.brief(value)}, beyond the 64-bit integers that "
                                 f"every number of a model config fits in")


def _tensor_ref(reader, field, ref):
    """[producing layer name, output index] for a layer's first call, [name, index, k] for
    its call k >= 1 (a shared layer). The key the builder files the tensor under."""
    ok = (isinstance(ref, list) and len(ref) in (2, 3) and isinstance(ref[0], str)
          and _is_int(ref[1]) and 0 <= ref[1] < 2
          and (len(ref) == 2 or (_is_int(ref[2]) and 1 <= ref[2] <= _MAX_LAYERS)))
    reader.require(field, ref, ok, "a tensor reference [layer name, output index 0 or 1] or "
                                   "[layer name, output index, call number >= 1]")
    return tuple(ref)
