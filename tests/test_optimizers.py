"""Each optimizer's first steps against its formula (tests/reference.py), the common
arguments (weight_decay, clipvalue, clipnorm), Keras 3 parity and bad hyperparameters."""

import os

import numpy as np
import pytest

import reference as ref
from seqattn import _core, layers, optimizers


def _layer_with_grads(rng):
    layer = layers.Dense(3)
    layer(np.zeros((1, 4), np.float32))
    x = rng.standard_normal((5, 4)).astype(np.float32)
    dy = rng.standard_normal((5, 3)).astype(np.float32)
    return layer, x, dy


def _step(opt, layer, x, dy):
    """Backward once (fills the grads), then one optimizer update; returns the grads used."""
    r = _core.run_layer(layer._core, [x], [], dy)
    opt.core.apply_to([layer._core])
    return r["grads"]


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_steps(rng, momentum, nesterov):
    layer, x, dy = _layer_with_grads(rng)
    opt = optimizers.SGD(learning_rate=0.1, momentum=momentum, nesterov=nesterov)
    w = [a.astype(np.float64) for a in layer.get_weights()]
    state = [None] * len(w)
    for _ in range(3):
        grads = _step(opt, layer, x, dy)
        for i, g in enumerate(grads):
            w[i], state[i] = ref.sgd_step(w[i], g, state[i], 0.1, momentum, nesterov)
        for got, want in zip(layer.get_weights(), w):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert opt.iterations == 3


@pytest.mark.parametrize("cls,kw", [(optimizers.Adam, {}),
                                    (optimizers.AdamW, {"weight_decay": 0.1}),
                                    (optimizers.Adam, {"beta_1": 0.5, "epsilon": 1e-3})])
def test_adam_and_adamw_steps(rng, cls, kw):
    layer, x, dy = _layer_with_grads(rng)
    opt = cls(learning_rate=0.01, **kw)
    w = [a.astype(np.float64) for a in layer.get_weights()]
    m = [None] * len(w)
    v = [None] * len(w)
    hp = dict(lr=0.01, beta_1=kw.get("beta_1", 0.9), epsilon=kw.get("epsilon", 1e-7))
    for t in range(1, 4):
        grads = _step(opt, layer, x, dy)
        for i, g in enumerate(grads):
            if cls is optimizers.AdamW:
                w[i], m[i], v[i] = ref.adamw_step(w[i], g, m[i], v[i], t, weight_decay=0.1, **hp)
            else:
                w[i], m[i], v[i] = ref.adam_step(w[i], g, m[i], v[i], t, **hp)
        for got, want in zip(layer.get_weights(), w):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.AdamW])
def test_clipnorm_clips_by_the_global_norm(rng, cls):
    layer, x, dy = _layer_with_grads(rng)
    w0 = [a.astype(np.float64) for a in layer.get_weights()]
    opt = cls(learning_rate=0.1, clipnorm=0.5)
    grads = _step(opt, layer, x, dy)
    assert ref.global_norm(grads) > 0.5  # so clipping happens
    clipped = ref.clip_by_global_norm(grads, 0.5)
    for i, (got, g) in enumerate(zip(layer.get_weights(), clipped)):
        if cls is optimizers.SGD:
            want, _ = ref.sgd_step(w0[i], g, None, 0.1)
        elif cls is optimizers.Adam:
            want, _, _ = ref.adam_step(w0[i], g, None, None, 1, lr=0.1)
        else:
            want, _, _ = ref.adamw_step(w0[i], g, None, None, 1, lr=0.1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras_defaults():
    assert optimizers.SGD().learning_rate == pytest.approx(0.01)
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == pytest.approx(
        (1e-3, 0.9, 0.999, 1e-7))
    assert optimizers.AdamW().weight_decay == pytest.approx(0.004)


def test_unknown_optimizer_lists_valid_names():
    with pytest.raises(ValueError, match="adagrad, adam, adamw, rmsprop, sgd"):
        optimizers.get("adadelta")


@pytest.mark.parametrize("name,cls", [("rmsprop", optimizers.RMSprop),
                                      ("Adagrad", optimizers.Adagrad),
                                      ("sgd", optimizers.SGD)])
def test_get_by_name(name, cls):
    assert type(optimizers.get(name)) is cls


# ------------------------------------------------------------- RMSprop and Adagrad
def _grads_per_step(rng, layer, steps):
    """(x, dy) per step: dy changes, so each step's gradients differ."""
    x = rng.standard_normal((5, 4)).astype(np.float32)
    return [(x, rng.standard_normal((5, 3)).astype(np.float32)) for _ in range(steps)]


def _check_steps(rng, opt, ref_step, steps=4, tol=1e-5):
    """`steps` updates of a Dense layer by `opt` against ref_step(w, g, state) -> (w, state),
    the reference run in float64 on the same gradients."""
    layer, _, _ = _layer_with_grads(rng)
    w = [a.astype(np.float64) for a in layer.get_weights()]
    state = [None] * len(w)
    for x, dy in _grads_per_step(rng, layer, steps):
        grads = _step(opt, layer, x, dy)
        for i, g in enumerate(grads):
            w[i], state[i] = ref_step(w[i], g, state[i])
        for got, want in zip(layer.get_weights(), w):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert opt.iterations == steps


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"centered": True},
                                {"centered": True, "momentum": 0.5, "rho": 0.8},
                                {"epsilon": 1e-3}])
def test_rmsprop_steps(rng, kw):
    opt = optimizers.RMSprop(learning_rate=0.01, **kw)
    _check_steps(rng, opt, lambda w, g, s: ref.rmsprop_step(w, g, s, lr=0.01, **kw))
    # Keras's slots: velocity, then momentum only with momentum > 0, average only if centered
    per_param = 1 + (kw.get("momentum", 0) > 0) + bool(kw.get("centered"))
    assert len(opt.core.get_slots()) == 2 * per_param  # a Dense: kernel and bias


@pytest.mark.parametrize("kw", [{}, {"initial_accumulator_value": 0.0},
                                {"initial_accumulator_value": 1.0, "epsilon": 1e-3}])
def test_adagrad_steps(rng, kw):
    opt = optimizers.Adagrad(learning_rate=0.1, **kw)
    _check_steps(rng, opt, lambda w, g, s: ref.adagrad_step(w, g, s, lr=0.1, **kw))


# ------------------------------------------------------------- the common arguments
def _with_common(step, lr, weight_decay=None, clipvalue=None):
    """A reference step preceded by Keras's clipvalue, then weight decay (Keras's order)."""
    def run(w, g, s):
        if clipvalue is not None:
            g = ref.clip_by_value(g, clipvalue)
        if weight_decay is not None:
            w = ref.decay_weights(w, lr, weight_decay)
        return step(w, g, s)
    return run


def _adam_ref(lr):
    def step(w, g, s):
        m, v, t = s if s is not None else (None, None, 0)
        w, m, v = ref.adam_step(w, g, m, v, t + 1, lr=lr)
        return w, (m, v, t + 1)
    return step


_REF_STEPS = {
    "sgd": lambda lr: (lambda w, g, s: ref.sgd_step(w, g, s, lr, momentum=0.9)),
    "adam": _adam_ref,
    "rmsprop": lambda lr: (lambda w, g, s: ref.rmsprop_step(w, g, s, lr=lr)),
    "adagrad": lambda lr: (lambda w, g, s: ref.adagrad_step(w, g, s, lr=lr)),
}
_MAKE = {
    "sgd": lambda lr, **kw: optimizers.SGD(lr, momentum=0.9, **kw),
    "adam": lambda lr, **kw: optimizers.Adam(lr, **kw),
    "rmsprop": lambda lr, **kw: optimizers.RMSprop(lr, **kw),
    "adagrad": lambda lr, **kw: optimizers.Adagrad(lr, **kw),
}


@pytest.mark.parametrize("name", sorted(_MAKE))
@pytest.mark.parametrize("common", [{"weight_decay": 0.1}, {"clipvalue": 0.3},
                                    {"weight_decay": 0.05, "clipvalue": 0.2}])
def test_weight_decay_and_clipvalue_on_every_optimizer(rng, name, common):
    lr = 0.05
    opt = _MAKE[name](lr, **common)
    _check_steps(rng, opt, _with_common(_REF_STEPS[name](lr), lr, **common))


def test_clipvalue_really_clips_and_weight_decay_really_decays(rng):
    # the gradients of _layer_with_grads exceed 0.3 somewhere, so clipping changes the step
    layer, x, dy = _layer_with_grads(rng)
    grads = _core.run_layer(layer._core, [x], [], dy)["grads"]
    assert max(float(np.max(np.abs(g))) for g in grads) > 0.3
    results = []
    for kw in [{}, {"clipvalue": 0.3}, {"weight_decay": 0.1}]:
        layer.set_weights([np.ones_like(a) for a in layer.get_weights()])
        _step(optimizers.SGD(0.1, **kw), layer, x, dy)
        results.append(layer.get_weights()[0])
    assert not np.allclose(results[0], results[1])
    assert not np.allclose(results[0], results[2])


def test_a_schedule_drives_the_weight_decay(rng):
    # Keras decays with the current rate: lr_t · weight_decay
    rates = [0.1, 0.05, 0.025]
    schedule = optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = optimizers.SGD(schedule, weight_decay=0.2)
    layer, x, dy = _layer_with_grads(rng)
    w = [a.astype(np.float64) for a in layer.get_weights()]
    for lr in rates:
        opt._update_learning_rate()
        grads = _step(opt, layer, x, dy)
        w = [ref.sgd_step(ref.decay_weights(wi, lr, 0.2), g, None, lr)[0]
             for wi, g in zip(w, grads)]
    for got, want in zip(layer.get_weights(), w):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_clipvalue_keeps_nan():
    # a NaN gradient is not hidden by clipping: the weight becomes NaN, as in Keras
    layer = layers.Dense(1)
    layer(np.zeros((1, 2), np.float32))
    x = np.array([[np.nan, 1.0]], np.float32)
    _step(optimizers.SGD(0.1, clipvalue=1.0), layer, x, np.ones((1, 1), np.float32))
    kernel = layer.get_weights()[0]
    assert np.isnan(kernel[0, 0]) and np.isfinite(kernel[1, 0])


@pytest.mark.parametrize("kw", [{"clipnorm": 1.0, "clipvalue": 1.0},
                                {"clipvalue": 1.0, "global_clipnorm": 1.0},
                                {"clipnorm": 1.0, "global_clipnorm": 1.0}])
@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop, optimizers.Adagrad,
                                 optimizers.Adam, optimizers.AdamW])
def test_only_one_clipping_argument(cls, kw):
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and "
                                         "`global_clipnorm` can be set"):
        cls(**kw)


@pytest.mark.parametrize("cls,kw,arg", [
    (optimizers.RMSprop, {"rho": -0.1}, "rho"),
    (optimizers.RMSprop, {"rho": 1.5}, "rho"),
    (optimizers.RMSprop, {"momentum": -1.0}, "momentum"),
    (optimizers.RMSprop, {"epsilon": 0.0}, "epsilon"),
    (optimizers.RMSprop, {"epsilon": float("nan")}, "epsilon"),
    (optimizers.RMSprop, {"learning_rate": -1e-3}, "learning_rate"),
    (optimizers.Adagrad, {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    (optimizers.Adagrad, {"epsilon": -1e-7}, "epsilon"),
    (optimizers.SGD, {"weight_decay": -0.01}, "weight_decay"),
    (optimizers.Adam, {"clipvalue": 0.0}, "clipvalue"),
    (optimizers.Adagrad, {"clipvalue": float("inf")}, "clipvalue"),
    (optimizers.SGD, {"global_clipnorm": -1.0}, "global_clipnorm"),
    (optimizers.AdamW, {"weight_decay": None}, "weight_decay"),
])
def test_bad_hyperparameters_name_the_argument(cls, kw, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        cls(**kw)


@pytest.mark.parametrize("cls,kw", [(optimizers.RMSprop, {"centered": "yes"}),
                                    (optimizers.Adagrad, {"epsilon": "1e-7"})])
def test_wrong_types_raise_type_error(cls, kw):
    with pytest.raises(TypeError, match=f"`{next(iter(kw))}`"):
        cls(**kw)


def test_keras_defaults_of_rmsprop_and_adagrad():
    r = optimizers.RMSprop()
    assert (r.learning_rate, r.rho, r.momentum, r.epsilon, r.centered) == pytest.approx(
        (1e-3, 0.9, 0.0, 1e-7, False))
    a = optimizers.Adagrad()
    assert (a.learning_rate, a.initial_accumulator_value, a.epsilon) == pytest.approx(
        (1e-3, 0.1, 1e-7))
    assert r.weight_decay is None and r.clipvalue is None and r.clipnorm is None


@pytest.mark.parametrize("opt", [
    optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, epsilon=1e-6, centered=True,
                       weight_decay=0.01, clipvalue=2.0),
    optimizers.Adagrad(0.02, initial_accumulator_value=0.5, epsilon=1e-5, clipnorm=1.0),
    optimizers.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.001),
    optimizers.Adam(1e-3, weight_decay=0.02, global_clipnorm=3.0),
    optimizers.AdamW(1e-3, weight_decay=0.1, clipvalue=0.5)])
def test_config_round_trips(opt):
    config = opt.get_config()
    again = type(opt).from_config(config)
    assert again.get_config() == config
    assert again.core.weight_decay == pytest.approx(opt.weight_decay or 0.0)
    assert again.core.clipvalue == pytest.approx(opt.clipvalue or 0.0)


# ------------------------------------------------------------------------- Keras 3
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


_KERAS_CASES = [
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "rho": 0.8}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.1, "clipvalue": 0.5}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-4,
                 "global_clipnorm": 1.0}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.2}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.1, "clipvalue": 0.3}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("name,kw", _KERAS_CASES)
def test_matches_keras(rng, keras, name, kw):
    # the same weights and gradients for five steps; Keras's `global_clipnorm` is seqattn's
    # `clipnorm` (given here by the synonym, so one config serves both)
    layer, _, _ = _layer_with_grads(rng)
    opt = getattr(optimizers, name)(**kw)
    theirs = getattr(keras.optimizers, name)(**kw)
    variables = [keras.Variable(w) for w in layer.get_weights()]
    for x, dy in _grads_per_step(rng, layer, 5):
        grads = _step(opt, layer, x, dy)
        theirs.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
        for got, want in zip(layer.get_weights(), variables):
            np.testing.assert_allclose(got, keras.ops.convert_to_numpy(want), rtol=2e-5,
                                       atol=2e-6)


@pytest.mark.parametrize("name", ["rmsprop", "adagrad"])
def test_compile_by_name(name):
    from seqattn import Input, Model
    inp = Input(shape=(4,))
    model = Model(inp, layers.Dense(2)(inp))
    model.compile(optimizer=name, loss="sparse_categorical_crossentropy")
    assert type(model.optimizer) is optimizers.get(name).__class__
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    model.fit(x, np.arange(8) % 2, epochs=1, batch_size=4, verbose=0)
    assert model.optimizer.iterations == 2


# ------------------------------------------------------- get / serialize / deserialize
def test_serialize_deserialize_and_get_with_a_dict():
    opt = optimizers.RMSprop(0.01, momentum=0.5, centered=True, clipvalue=1.0)
    config = optimizers.serialize(opt)
    assert config["class_name"] == "RMSprop"
    again = optimizers.deserialize(config)
    assert type(again) is optimizers.RMSprop and again.get_config() == opt.get_config()
    assert optimizers.get(config).get_config() == opt.get_config()
    assert optimizers.get(opt) is opt


@pytest.mark.parametrize("config,error,says", [
    ({"class_name": "Adadelta", "config": {}}, ValueError, "Adadelta"),
    ({"config": {}}, TypeError, "class_name"),
    ({"class_name": "Adam", "config": {"use_ema": True}}, ValueError, "use_ema"),
    ({"class_name": "Adam", "config": {"amsgrad": True}}, ValueError, "amsgrad"),
    ({"class_name": "SGD", "config": {"momentum": -1.0}}, ValueError, "momentum"),
])
def test_deserialize_refuses_what_it_cannot_build(config, error, says):
    with pytest.raises(error, match=says):
        optimizers.deserialize(config)


@pytest.mark.parametrize("name,kw", [
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "clipvalue": 0.5}),
    ("Adagrad", {"learning_rate": 0.1, "global_clipnorm": 2.0}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1})])
def test_deserialize_reads_keras_configs(keras, name, kw):
    theirs = keras.optimizers.serialize(getattr(keras.optimizers, name)(**kw))
    ours, want = (optimizers.deserialize(theirs).get_config(),
                  getattr(optimizers, name)(**kw).get_config())
    # Keras keeps the rate in a float32 variable
    assert ours.pop("learning_rate") == pytest.approx(want.pop("learning_rate"), rel=1e-7)
    assert ours == want
