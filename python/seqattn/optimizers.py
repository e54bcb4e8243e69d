"""Optimizers with Keras 3 names, defaults and update formulas, applied by fused C++ kernels.

Every optimizer takes Keras 3's common arguments:
- `weight_decay`: decoupled decay, w -= w·weight_decay·lr before each update (after clipping),
  on every weight, as Keras does for every optimizer (AdamW is Adam with a default of 0.004).
- `clipnorm` clips all gradients together by their global L2 norm (Keras calls this
  `global_clipnorm`; Keras's own `clipnorm` clips each variable separately). `global_clipnorm`
  is accepted as a synonym.
- `clipvalue` clips each gradient element to [-clipvalue, clipvalue].
As in Keras, only one of `clipnorm`, `clipvalue` and `global_clipnorm` may be set.

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
    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None):
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
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            # Keras's message (seqattn's clipnorm is the global norm, but the rule is the same).
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        name = "clipnorm" if clipnorm is not None else "global_clipnorm"
        clip = clipnorm if clipnorm is not None else global_clipnorm
        self.clipnorm = None if clip is None else V.number(name, clip, low=0.0, low_open=True)
        self.clipvalue = (None if clipvalue is None
                          else V.number("clipvalue", clipvalue, low=0.0, low_open=True))
        self._weight_decay = (None if weight_decay is None
                              else V.number("weight_decay", weight_decay, low=0.0))
        self._core_obj = None

    def _make_core(self):  # pragma: no cover - subclasses override
        raise NotImplementedError

    @property
    def core(self):
        """The C++ optimizer (created on first use, reused by the model's graph)."""
        if self._core_obj is None:
            core = self._make_core()
            core.clipvalue = 0.0 if self.clipvalue is None else self.clipvalue
            core.weight_decay = 0.0 if self._weight_decay is None else self._weight_decay
            self._core_obj = core
        return self._core_obj

    @property
    def weight_decay(self):
        """The decoupled weight decay (None: none), as Keras's `optimizer.weight_decay`."""
        return self._weight_decay

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
                "weight_decay": self._weight_decay, "clipnorm": self.clipnorm,
                "clipvalue": self.clipvalue}

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

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm)
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

    Keras's `amsgrad` is not implemented, so the common arguments are keyword-only here.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm)
        self.beta_1 = V.number("beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = V.number("beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = V.number("epsilon", epsilon, low=0.0, low_open=True)

    def _make_core(self):
        from . import _core
        return _core.Adam(self._learning_rate, self.beta_1, self.beta_2, self.epsilon,
                          self._clip())

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras): w -= w·weight_decay·lr, then the Adam step.

    As in Keras, the decay applies to every weight (biases and embeddings included).
    """

    def __init__(self, learning_rate=1e-3, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, *, clipnorm=None, clipvalue=None, global_clipnorm=None):
        if weight_decay is None:  # Keras's check: AdamW needs a decay
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm)


class RMSprop(Optimizer):
    """RMSprop, Keras formula (plain momentum, epsilon inside the square root):

    v = ρ·v + (1 - ρ)·g²; centered: a = ρ·a + (1 - ρ)·g, d = v - a² + ε, else d = v + ε;
    inc = lr·g / sqrt(d); momentum > 0: m = momentum·m + inc, w -= m; else w -= inc.
    """

    def __init__(self, learning_rate=1e-3, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm)
        self.rho = V.number("rho", rho, low=0.0, high=1.0)
        self.momentum = V.number("momentum", momentum, low=0.0, high=1.0)
        self.epsilon = V.number("epsilon", epsilon, low=0.0, low_open=True)
        self.centered = V.boolean("centered", centered)

    def _make_core(self):
        from . import _core
        return _core.RMSprop(self._learning_rate, self.rho, self.momentum, self.epsilon,
                             self.centered, self._clip())

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    """Adagrad, Keras formula: acc += g² (acc starts at initial_accumulator_value);
    w -= lr·g / sqrt(acc + ε)."""

    def __init__(self, learning_rate=1e-3, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm)
        self.initial_accumulator_value = V.number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0)
        self.epsilon = V.number("epsilon", epsilon, low=0.0, low_open=True)

    def _make_core(self):
        from . import _core
        return _core.Adagrad(self._learning_rate, self.initial_accumulator_value, self.epsilon,
                             self._clip())

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


# Keras's base-optimizer arguments seqattn does not implement, with the value that makes them
# a no-op: a Keras config holding these values loads; any other value is refused by name.
_KERAS_NO_OPS = {"use_ema": False, "ema_overwrite_frequency": None, "loss_scale_factor": None,
                 "gradient_accumulation_steps": None, "amsgrad": False}


def _from_keras_config(config: dict) -> dict:
    """A Keras 3 `get_config()` made into constructor arguments here: its no-op entries
    dropped, its `global_clipnorm` given as seqattn's `clipnorm` (the same global norm)."""
    config = dict(config)
    for key, off in _KERAS_NO_OPS.items():
        if key in config:
            value = config.pop(key)
            if value != off:
                raise ValueError(f"seqattn's optimizers do not implement `{key}`. "
                                 f"Received: {key}={value!r}")
    config.pop("ema_momentum", None)  # only read with use_ema, refused above
    config.pop("name", None)  # a free-form name in Keras ("rm_sprop"); class_name decides
    if config.get("global_clipnorm", 0) is None:
        config.pop("global_clipnorm")
    return config


def serialize(optimizer) -> dict:
    """{"class_name": ..., "config": optimizer.get_config()}, Keras's layout."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError("Expected a seqattn.optimizers.Optimizer. Received: "
                        f"optimizer={optimizer!r}")
    return {"module": "seqattn.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config()}


def deserialize(config) -> Optimizer:
    """An optimizer from `serialize()` output or from Keras's `keras.optimizers.serialize`
    (its arguments seqattn lacks must hold their no-op defaults)."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise TypeError("`config` must be a dict with a 'class_name' entry (the output of "
                        f"optimizers.serialize()). Received: config={config!r}")
    cls = _BY_NAME.get(config["class_name"].lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer class_name {config['class_name']!r}. Valid names: "
                         + ", ".join(sorted(c.__name__ for c in _BY_NAME.values())) + ".")
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise TypeError(f"The 'config' entry of an optimizer must be a dict. Received: {inner!r}")
    return cls.from_config(_from_keras_config(inner))


def get(identifier) -> Optimizer:
    """An optimizer object from a name ("sgd", "adam", "adamw", "rmsprop", "adagrad"), a
    `serialize()` dict (Keras's too) or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}. Valid names: "
                     + ", ".join(sorted(_BY_NAME)) + " (or pass a seqattn.optimizers object).")


def __getattr__(name):
    # A Keras name seqattn lacks: say what to use instead (_keras_names.py).
    from ._keras_names import missing as _missing
    raise _missing("optimizers", name, globals())
