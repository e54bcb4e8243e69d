"""Learning-rate schedules with Keras 3 names, defaults, argument order and formulas.

A schedule maps the optimizer's iteration count (completed updates) to a learning rate:

    optimizer = seqattn.optimizers.Adam(
        learning_rate=seqattn.optimizers.schedules.ExponentialDecay(1e-3, 1000, 0.9))

Before every training step the optimizer sets its C++ core's rate to
`schedule(optimizer.iterations)`, as Keras evaluates the schedule at the current iteration
count before the update. Values are computed in float64 and returned as Python floats
(Keras computes in the dtype of `initial_learning_rate`, float32 by default, so the two
agree to about 1e-7 relative).

Serialisation: `get_config()` returns the constructor arguments plus "class_name";
`deserialize(config)` rebuilds a schedule from a fixed registry of the classes below (it
never imports or evaluates anything named in the config). It also accepts Keras's nested
form `{"class_name": ..., "config": {...}}`.
"""

from __future__ import annotations

import math
import numbers

from . import _validation as V

__all__ = ["LearningRateSchedule", "ExponentialDecay", "CosineDecay", "serialize",
           "deserialize"]


def _finite(name, value, *, positive=False, owner):
    """A finite real number, >= 0 (or > 0 with positive=True)."""
    v = V.number(name, value, low=0.0, low_open=positive)
    if math.isinf(v):
        raise ValueError(f"Received an invalid value for `{name}` of {owner}, expected a finite "
                         f"number. Received: {name}={value!r}")
    return v


def _steps(name, value, *, owner, allow_zero=False):
    """A step count: an int (or a finite real) > 0, or >= 0 with allow_zero; kept as given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value \
            or math.isinf(value) or (value < 0 if allow_zero else value <= 0):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"Argument `{name}` of {owner} must be a finite number {bound}. "
                         f"Received: {name}={value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


class LearningRateSchedule:
    """Base class of learning-rate schedules: `schedule(step) -> float`.

    Subclasses implement `_rate(step)` (step: a float >= 0, the optimizer's iteration
    count) and `get_config()`. A subclass may instead override `__call__` directly, as in
    Keras; the optimizer only needs `schedule(step)` to return a finite number >= 0.
    """

    def __call__(self, step) -> float:
        if isinstance(step, bool) or not isinstance(step, numbers.Real) or step != step \
                or step < 0:
            raise ValueError(f"{type(self).__name__} expects a step (the optimizer's iteration "
                             f"count), a number >= 0. Received: step={step!r}")
        return float(self._rate(float(step)))

    def _rate(self, step: float) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        """The schedule `cls(**config)`; a "class_name" entry, if present, must name `cls`."""
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config expects a dict (the output of "
                            f"get_config()). Received: config={config!r}")
        config = dict(config)
        name = config.pop("class_name", cls.__name__)
        if name != cls.__name__:
            raise ValueError(f"{cls.__name__}.from_config received a config of class "
                             f"{name!r}; use seqattn.schedules.deserialize(config) to build "
                             "a schedule of any registered class.")
        try:
            return cls(**config)
        except TypeError as e:  # an unexpected or missing key
            raise ValueError(f"Invalid config for {cls.__name__}: {e}. Received: "
                             f"config={config!r}") from None

    def __repr__(self):
        try:
            args = {k: v for k, v in self.get_config().items() if k != "class_name"}
        except NotImplementedError:
            return f"<{type(self).__name__}>"
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in args.items()) + ")"


class ExponentialDecay(LearningRateSchedule):
    """Exponential decay (Keras `ExponentialDecay`):

        rate(step) = initial_learning_rate * decay_rate ** (step / decay_steps)

    With `staircase=True`, `step / decay_steps` is floored (the rate drops every
    `decay_steps` steps).

    Args:
        initial_learning_rate: the rate at step 0, a finite number > 0.
        decay_steps: a number > 0 (usually an int).
        decay_rate: a finite number > 0 (< 1 decays, > 1 grows).
        staircase: floor the exponent.
        name: kept for Keras compatibility (config only).

    Example:
        ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)(200)  # 0.025
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        owner = "ExponentialDecay"
        self.initial_learning_rate = _finite("initial_learning_rate", initial_learning_rate,
                                             positive=True, owner=owner)
        self.decay_steps = _steps("decay_steps", decay_steps, owner=owner)
        self.decay_rate = _finite("decay_rate", decay_rate, positive=True, owner=owner)
        self.staircase = V.boolean("staircase", staircase)
        if not isinstance(name, str):
            raise TypeError(f"Expected a string for `name` of {owner}. Received: name={name!r}")
        self.name = name

    def _rate(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"class_name": "ExponentialDecay",
                "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warmup (Keras 3 `CosineDecay`).

    Without warmup (`warmup_target=None`), with s = min(step, decay_steps):

        rate = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
                                        + alpha)

    With warmup, s = min(step, warmup_steps + decay_steps):
        s < warmup_steps: a line from initial_learning_rate (step 0) towards warmup_target,
            rate = initial_learning_rate + (warmup_target - initial_learning_rate)
                   * s / warmup_steps;
        otherwise: the cosine decay above from `warmup_target` instead of
            `initial_learning_rate`, over (s - warmup_steps) / decay_steps.
    The rate ends at `alpha * (warmup_target or initial_learning_rate)` and stays there.

    Args:
        initial_learning_rate: a finite number >= 0 (0 is the usual start of a warmup).
        decay_steps: the length of the cosine decay, a number > 0.
        alpha: the final rate as a fraction of the decayed-from rate, in [0, 1].
        name: kept for Keras compatibility (config only); Keras's argument order.
        warmup_target: the rate reached at the end of the warmup (a finite number >= 0), or
            None for no warmup.
        warmup_steps: the length of the warmup, an int >= 0 (used only with warmup_target).
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        owner = "CosineDecay"
        self.initial_learning_rate = _finite("initial_learning_rate", initial_learning_rate,
                                             owner=owner)
        self.decay_steps = _steps("decay_steps", decay_steps, owner=owner)
        self.alpha = V.number("alpha", alpha, low=0.0, high=1.0)
        if not isinstance(name, str):
            raise TypeError(f"Expected a string for `name` of {owner}. Received: name={name!r}")
        self.name = name
        self.warmup_target = (None if warmup_target is None else
                              _finite("warmup_target", warmup_target, owner=owner))
        self.warmup_steps = _steps("warmup_steps", warmup_steps, owner=owner, allow_zero=True)

    def _cosine(self, step, decay_from):
        decayed = 0.5 * (1.0 + math.cos(math.pi * (step / self.decay_steps)))
        return decay_from * ((1.0 - self.alpha) * decayed + self.alpha)

    def _rate(self, step):
        if self.warmup_target is None:
            return self._cosine(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return ((self.warmup_target - self.initial_learning_rate) * fraction
                    + self.initial_learning_rate)
        return self._cosine(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"class_name": "CosineDecay", "initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_REGISTRY = {"ExponentialDecay": ExponentialDecay, "CosineDecay": CosineDecay}


def serialize(schedule) -> dict:
    """`schedule.get_config()` (a JSON-compatible dict with "class_name")."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError("Expected a seqattn.schedules.LearningRateSchedule. Received: "
                        f"schedule={schedule!r}")
    return schedule.get_config()


def deserialize(config) -> LearningRateSchedule:
    """A schedule from `get_config()` output, or from Keras's `{"class_name": ...,
    "config": {...}}`. Only the classes of this module can be built: Valid class names are
    ExponentialDecay and CosineDecay."""
    if not isinstance(config, dict):
        raise TypeError("`config` must be a dict with a 'class_name' entry (the output of "
                        f"get_config()). Received: config={config!r}")
    name = config.get("class_name")
    if name not in _REGISTRY:
        raise ValueError(f"Unknown learning rate schedule class_name {name!r}. Valid names: "
                         + ", ".join(sorted(_REGISTRY)) + ".")
    cls = _REGISTRY[name]
    if isinstance(config.get("config"), dict):  # Keras's nested form
        return cls.from_config(config["config"])
    return cls.from_config(config)
