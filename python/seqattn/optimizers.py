"""Optimizers with Keras 3 names, defaults and update formulas, applied by fused C++ kernels.

`clipnorm` clips all gradients together by their global L2 norm (Keras calls this
`global_clipnorm`; Keras's own `clipnorm` clips each variable separately). `global_clipnorm`
is accepted as a synonym.
"""

from __future__ import annotations

from . import _validation as V


class Optimizer:
    def __init__(self, learning_rate, clipnorm=None, global_clipnorm=None):
        self._learning_rate = V.number("learning_rate", learning_rate, low=0.0, low_open=True)
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
        return self.core.learning_rate if self._core_obj is not None else self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = V.number("learning_rate", value, low=0.0, low_open=True)
        if self._core_obj is not None:
            self._core_obj.learning_rate = self._learning_rate

    @property
    def iterations(self) -> int:
        return self._core_obj.iterations if self._core_obj is not None else 0

    def _clip(self):
        return 0.0 if self.clipnorm is None else self.clipnorm

    def get_config(self):
        return {"name": type(self).__name__.lower(), "learning_rate": self.learning_rate,
                "clipnorm": self.clipnorm}


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
