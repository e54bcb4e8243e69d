"""Optimizers with Keras 3 names, defaults and update formulas, applied by fused C++ kernels.

`clipnorm` clips all gradients together by their global L2 norm (Keras calls this
`global_clipnorm`; Keras's own `clipnorm` clips each variable separately). `global_clipnorm`
is accepted as a synonym.

`learning_rate` is a number or a `schedules.LearningRateSchedule` (also reachable as
`seqattn.optimizers.schedules`, the Keras path). With a schedule, the rate of each step is
`schedule(optimizer.iterations)`, set on the C++ optimizer by `_update_learning_rate()`, which
the training loop calls before every step (Keras evaluates the schedule at the current
iteration count before the update).
"""

from __future__ import annotations

import math
import numbers

from . import _validation as V
from . import schedules
from .schedules import LearningRateSchedule

_SCHEDULE_NOT_SETTABLE = (
    "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
    "constructor argument, hence its learning rate is not settable. If you need the learning "
    "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
    "argument.")


def _schedule_value(schedule, step) -> float:
    """schedule(step) as a Python float, checked: finite and >= 0 (a schedule may reach 0)."""
    value = schedule(step)
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = None
    if rate is None or isinstance(value, bool) or not math.isfinite(rate) or rate < 0:
        raise ValueError(f"The learning rate schedule {schedule!r} returned {value!r} at step "
                         f"{step}; expected a finite number >= 0.")
    return rate


class Optimizer:
    def __init__(self, learning_rate, clipnorm=None, global_clipnorm=None):
        self._schedule = None
        if isinstance(learning_rate, LearningRateSchedule):
            self._schedule = learning_rate
            self._learning_rate = _schedule_value(learning_rate, 0)
        elif callable(learning_rate) and not isinstance(learning_rate, numbers.Real):
            raise TypeError("`learning_rate` must be a number or a "
                            "seqattn.schedules.LearningRateSchedule (subclass it to wrap a "
                            f"function of the step). Received: learning_rate={learning_rate!r}")
        else:
            self._learning_rate = V.number("learning_rate", learning_rate, low=0.0,
                                           low_open=True)
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("Pass only one of `clipnorm` and `global_clipnorm` (they are the "
                             "same in seqattn: clipping by the global norm).")
        clip = clipnorm if clipnorm is not None else global_clipnorm
        self.clipnorm = None if clip is None else V.number("clipnorm", clip, low=0.0,
                                                           low_open=True)
        self._core_obj = None

    def _make_core(self):  # pragma: no cover - subclasses override
        raise NotImplementedError

    @property
    def core(self):
        """The C++ optimizer (created on first use, reused by the model's graph)."""
        if self._core_obj is None:
            self._core_obj = self._make_core()
        return self._core_obj

    @property
    def learning_rate(self) -> float:
        """The rate of the next update, a float: with a schedule, `schedule(iterations)`
        (as Keras)."""
        if self._schedule is not None:
            return _schedule_value(self._schedule, self.iterations)
        return self.core.learning_rate if self._core_obj is not None else self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        """A number > 0, or a LearningRateSchedule (which then drives the rate). Assigning a
        number to a schedule-driven optimizer raises TypeError, as in Keras."""
        if isinstance(value, LearningRateSchedule):
            rate = _schedule_value(value, self.iterations)
            self._schedule = value
        elif self._schedule is not None:
            raise TypeError(_SCHEDULE_NOT_SETTABLE)
        else:
            rate = V.number("learning_rate", value, low=0.0, low_open=True)
        self._learning_rate = rate
        if self._core_obj is not None:
            self._core_obj.learning_rate = rate

    def _update_learning_rate(self):
        """Sets the C++ optimizer's rate to schedule(iterations) when a schedule is in use
        (a no-op otherwise). The training loop calls this before every update."""
        if self._schedule is not None:
            self._learning_rate = _schedule_value(self._schedule, self.iterations)
            if self._core_obj is not None:
                self._core_obj.learning_rate = self._learning_rate

    @property
    def iterations(self) -> int:
        return self._core_obj.iterations if self._core_obj is not None else 0

    def _clip(self):
        return 0.0 if self.clipnorm is None else self.clipnorm

    def get_config(self):
        """Constructor arguments; a schedule is stored as its config (with "class_name")."""
        rate = (schedules.serialize(self._schedule) if self._schedule is not None
                else self.learning_rate)
        return {"name": type(self).__name__.lower(), "learning_rate": rate,
                "clipnorm": self.clipnorm}

    @classmethod
    def from_config(cls, config):
        """The optimizer of `get_config()` output (a fresh one: no iterations, no moments)."""
        if not isinstance(config, dict):
            raise TypeError(f"{cls.__name__}.from_config expects a dict (the output of "
                            f"get_config()). Received: config={config!r}")
        config = dict(config)
        name = config.pop("name", cls.__name__.lower())
        if name != cls.__name__.lower():
            raise ValueError(f"{cls.__name__}.from_config received the config of optimizer "
                             f"{name!r}.")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    Keras formula: v = momentum·v - lr·g; w += v (nesterov: w += momentum·v - lr·g).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, clipnorm=None,
                 global_clipnorm=None):
        super().__init__(learning_rate, clipnorm, global_clipnorm)
        self.momentum = V.number("momentum", momentum, low=0.0, high=1.0)
        self.nesterov = V.boolean("nesterov", nesterov)

    def _make_core(self):
        from . import _core
        return _core.SGD(self._learning_rate, self.momentum, self.nesterov, self._clip())

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, Keras formula (epsilon "hat", outside the bias correction):

    m += (g - m)(1 - β1); v += (g² - v)(1 - β2);
    w -= lr·sqrt(1 - β2^t)/(1 - β1^t) · m / (sqrt(v) + ε)
    """

    _weight_decay = 0.0

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, global_clipnorm=None):
        super().__init__(learning_rate, clipnorm, global_clipnorm)
        self.beta_1 = V.number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = V.number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = V.number("epsilon", epsilon, low=0.0, low_open=True)

    def _make_core(self):
        from . import _core
        return _core.Adam(self._learning_rate, self.beta_1, self.beta_2, self.epsilon,
                          self._weight_decay, self._clip())

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras): w -= w·weight_decay·lr, then the Adam step.

    As in Keras, the decay applies to every weight (biases and embeddings included).
    """

    def __init__(self, learning_rate=1e-3, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, clipnorm=None, global_clipnorm=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, global_clipnorm)
        self._weight_decay = V.number("weight_decay", weight_decay, low=0.0)

    @property
    def weight_decay(self):
        return self._weight_decay

    def get_config(self):
        return {**super().get_config(), "weight_decay": self._weight_decay}


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


def get(identifier) -> Optimizer:
    """An optimizer object from a name ("sgd", "adam", "adamw") or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}. Valid names: "
                     + ", ".join(sorted(_BY_NAME)) + " (or pass a seqattn.optimizers object).")


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from ._keras_names import missing as _missing
    raise _missing("optimizers", name, globals())
