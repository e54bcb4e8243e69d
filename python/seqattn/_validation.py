"""Argument checks with Keras-style messages, used at every public boundary."""

from __future__ import annotations

import numbers


def _received(name, value):
    return f"Received: {name}={value!r}"


# Sizes go to C++ as int64; anything near that is beyond any machine's memory anyway.
_MAX_SIZE = 2 ** 62


def positive_int(name: str, value, *, owner: str | None = None) -> int:
    """An int in [1, 2**62] (bools and floats such as 2.5 or 2.0 are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not \
            1 <= value <= _MAX_SIZE:
        where = f" for layer '{owner}'" if owner else ""
        raise ValueError(
            f"Received an invalid value for `{name}`{where}, expected a positive integer. "
            + _received(name, value))
    return int(value)


def optional_positive_int(name: str, value, *, owner: str | None = None):
    return None if value is None else positive_int(name, value, owner=owner)


def boolean(name: str, value, *, owner: str | None = None) -> bool:
    if not isinstance(value, (bool,)) and not (hasattr(value, "dtype") and value.dtype == bool):
        where = f" for layer '{owner}'" if owner else ""
        raise TypeError(f"Expected a boolean for `{name}`{where}. " + _received(name, value))
    return bool(value)


def number(name: str, value, *, low=None, high=None, low_open=False, high_open=False,
           owner: str | None = None, finite: bool = True) -> float:
    """A real number in [low, high] (or open at either end); finite unless finite=False."""
    where = f" for layer '{owner}'" if owner else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Expected a number for `{name}`{where}. " + _received(name, value))
    v = float(value)
    bad = (v != v or (finite and v in (float("inf"), float("-inf")))
           or (low is not None and (v <= low if low_open else v < low))
           or (high is not None and (v >= high if high_open else v > high)))
    if bad:
        lo = "(" if low_open or (finite and low is None) else "["
        hi = ")" if high_open or (finite and high is None) else "]"
        rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"Received an invalid value for `{name}`{where}, expected {kind} in "
                         f"{rng}. " + _received(name, value))
    return v


def one_of(name: str, value, choices, *, what: str = "value"):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"Unknown {what} {value!r} for `{name}`. Valid names: "
                         + ", ".join(sorted(choices)) + ".")
    return value
