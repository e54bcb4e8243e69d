"""Keras 3 random initializers.

Without a seed they draw from seqattn's global generator (`utils.set_random_seed`), in the
order the layers are built, so a seeded program builds the same model every run. With
`seed=` an initializer draws from its own generator made from that seed at every call: the
same values each call, whatever the global generator did (Keras 3's rule for seeded
initializers).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .constant import Initializer, compute_fans


def _check_seed(seed, owner):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{owner}: `seed` must be None or a non-negative integer; received "
                        f"seed={seed!r} (lowercase names such as initializers.glorot_uniform "
                        "are Keras's aliases of the classes: draw with "
                        "initializers.GlorotUniform()(shape))")
    return int(seed)


def _check_number(name, value, owner, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or (positive and value <= 0):
        what = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{owner}: `{name}` must be {what}; received {name}={value!r}")
    return float(value)


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = _check_seed(seed, type(self).__name__)

    def _rng(self):
        if self.seed is not None:
            return np.random.default_rng(self.seed)
        from ..utils import global_rng
        return global_rng()


def _truncated_normal(rng, shape, mean, stddev):
    """Normal draws, those beyond two standard deviations redrawn (Keras's truncated normal)."""
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2.0
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2.0
    return mean + stddev * x


class RandomUniform(_Random):
    """Uniform on [minval, maxval) (Keras `RandomUniform`, aliases "random_uniform",
    "uniform"; Keras's Embedding default)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = _check_number("minval", minval, "RandomUniform")
        self.maxval = _check_number("maxval", maxval, "RandomUniform")
        if self.maxval < self.minval:
            raise ValueError(f"RandomUniform: `maxval` must be >= `minval`; received "
                             f"minval={minval!r}, maxval={maxval!r}")

    def _draw(self, shape):
        return self._rng().uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Random):
    """Normal(mean, stddev) (Keras `RandomNormal`, aliases "random_normal", "normal")."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = _check_number("mean", mean, type(self).__name__)
        self.stddev = _check_number("stddev", stddev, type(self).__name__, positive=True)

    def _draw(self, shape):
        return self.mean + self.stddev * self._rng().standard_normal(shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal(mean, stddev) with values beyond 2·stddev redrawn (Keras `TruncatedNormal`)."""

    def _draw(self, shape):
        return _truncated_normal(self._rng(), shape, self.mean, self.stddev)


class VarianceScaling(_Random):
    """Keras `VarianceScaling`: n = fan_in, fan_out or their mean (compute_fans), then
    uniform on ±sqrt(3·scale/n), or a normal of stddev sqrt(scale/n) (truncated at two
    standard deviations and divided by 0.8796..., the truncated normal's own stddev, as Keras
    does for distribution="truncated_normal")."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        super().__init__(seed)
        owner = type(self).__name__
        if input_axes is not None or output_axes is not None:
            # Keras 3.10+'s fan axes for einsum kernels; seqattn uses compute_fans' rule
            raise ValueError(f"{owner}: seqattn computes fans with compute_fans (the leading "
                             "axes form the receptive field); `input_axes`/`output_axes` can "
                             f"only be None. Received: input_axes={input_axes!r}, "
                             f"output_axes={output_axes!r}")
        self.scale = _check_number("scale", scale, owner, positive=True)
        if mode not in self._MODES:
            raise ValueError(f"{owner}: `mode` must be one of {', '.join(self._MODES)}; "
                             f"received mode={mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"{owner}: `distribution` must be one of "
                             f"{', '.join(self._DISTRIBUTIONS)}; received "
                             f"distribution={distribution!r}")
        self.mode, self.distribution = mode, distribution

    def _draw(self, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        # 3·scale/n in one division: for GlorotUniform exactly the sqrt(6 / (fan_in + fan_out))
        # seqattn always drew with, so default-initialized models keep their weights bit for bit
        variance = 3.0 * self.scale / max(1.0, n) if self.distribution == "uniform" \
            else self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = np.sqrt(variance)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return math.sqrt(variance) * rng.standard_normal(shape)
        return _truncated_normal(rng, shape, 0.0, math.sqrt(variance) / 0.87962566103423978)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _fixed_variance_scaling(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__})


GlorotUniform = _fixed_variance_scaling(
    "GlorotUniform", 1.0, "fan_avg", "uniform",
    "Uniform on ±sqrt(6 / (fan_in + fan_out)) (Keras's default kernel initializer).")
GlorotNormal = _fixed_variance_scaling(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal",
    "Truncated normal, stddev sqrt(2 / (fan_in + fan_out)).")
HeUniform = _fixed_variance_scaling("HeUniform", 2.0, "fan_in", "uniform",
                                    "Uniform on ±sqrt(6 / fan_in).")
HeNormal = _fixed_variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal",
                                   "Truncated normal, stddev sqrt(2 / fan_in).")
LecunUniform = _fixed_variance_scaling("LecunUniform", 1.0, "fan_in", "uniform",
                                       "Uniform on ±sqrt(3 / fan_in).")
LecunNormal = _fixed_variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal",
                                      "Truncated normal, stddev sqrt(1 / fan_in).")


class Orthogonal(_Random):
    """gain · an orthogonal matrix from the QR decomposition of a normal one; shapes of rank
    >= 2 are flattened to (prod(shape[:-1]), shape[-1]) (Keras `Orthogonal`)."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = _check_number("gain", gain, "Orthogonal")

    def _draw(self, shape):
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}
