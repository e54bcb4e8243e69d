"""Learning-rate schedules: values vs the formulas by hand and vs Keras, configs, errors, and
the optimizer driven by a schedule (its rate, config, and training bit-identical to setting
the rate by hand before each step)."""

import math
import os

import numpy as np
import pytest

import seqattn
from seqattn import optimizers, schedules
from seqattn.schedules import CosineDecay, ExponentialDecay, LearningRateSchedule


# ---------------------------------------------------------------- values by hand
def test_exponential_decay_values_by_hand():
    s = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
    assert s(0) == 0.1
    assert s(100) == pytest.approx(0.05, rel=1e-15)
    assert s(200) == pytest.approx(0.025, rel=1e-15)
    assert s(50) == pytest.approx(0.1 * math.sqrt(0.5), rel=1e-15)
    assert s(150) == pytest.approx(0.1 * 0.5 ** 1.5, rel=1e-15)
    assert isinstance(s(np.int64(7)), float)


def test_exponential_decay_staircase_by_hand():
    s = ExponentialDecay(0.2, decay_steps=10, decay_rate=0.1, staircase=True)
    assert [s(k) for k in (0, 9)] == [0.2, 0.2]
    assert s(10) == pytest.approx(0.02, rel=1e-15)
    assert s(19) == pytest.approx(0.02, rel=1e-15)
    assert s(25) == pytest.approx(0.002, rel=1e-15)


def test_cosine_decay_values_by_hand():
    s = CosineDecay(1.0, decay_steps=100)
    assert s(0) == 1.0
    assert s(50) == pytest.approx(0.5, abs=1e-15)  # 0.5 (1 + cos(pi/2))
    assert s(25) == pytest.approx(0.5 * (1 + math.sqrt(0.5)), rel=1e-15)
    assert s(100) == pytest.approx(0.0, abs=1e-16)
    assert s(1000) == s(100)  # clamped at decay_steps
    a = CosineDecay(0.4, decay_steps=100, alpha=0.25)
    # rate = lr ((1 - alpha) 0.5 (1 + cos) + alpha): step 50 -> 0.4 (0.75 * 0.5 + 0.25)
    assert a(50) == pytest.approx(0.4 * 0.625, rel=1e-15)
    assert a(100) == pytest.approx(0.1, rel=1e-15)
    assert a(10 ** 6) == pytest.approx(0.1, rel=1e-15)


def test_cosine_decay_warmup_by_hand():
    s = CosineDecay(0.0, decay_steps=100, warmup_target=1.0, warmup_steps=10)
    assert s(0) == 0.0
    assert s(5) == pytest.approx(0.5, rel=1e-15)  # linear from 0 to the target
    assert s(10) == pytest.approx(1.0, rel=1e-15)  # the cosine starts from warmup_target
    assert s(60) == pytest.approx(0.5, abs=1e-15)
    assert s(110) == pytest.approx(0.0, abs=1e-16)
    assert s(500) == s(110)
    w = CosineDecay(0.1, decay_steps=10, alpha=0.5, warmup_target=0.5, warmup_steps=4)
    assert w(1) == pytest.approx(0.1 + 0.4 * 0.25, rel=1e-15)
    assert w(9) == pytest.approx(0.5 * (0.5 * 0.5 * (1 + math.cos(math.pi * 0.5)) + 0.5),
                                 rel=1e-15)
    # warmup_target without warmup_steps: cosine decay from warmup_target straight away
    assert CosineDecay(0.1, 10, warmup_target=0.3)(0) == pytest.approx(0.3, rel=1e-15)


@pytest.mark.parametrize("make", [
    lambda: ExponentialDecay(0.01, 7, 0.8),
    lambda: ExponentialDecay(0.03, 3, 1.5, staircase=True),
    lambda: CosineDecay(0.02, 40, alpha=0.1),
    lambda: CosineDecay(0.0, 30, warmup_target=0.05, warmup_steps=8),
])
def test_schedules_vs_numpy_formula(make):
    s = make()
    steps = np.arange(0, 60, dtype=np.float64)
    c = s.get_config()
    if c["class_name"] == "ExponentialDecay":
        p = steps / c["decay_steps"]
        if c["staircase"]:
            p = np.floor(p)
        want = c["initial_learning_rate"] * np.power(c["decay_rate"], p)
    else:
        lr0, d, alpha = c["initial_learning_rate"], c["decay_steps"], c["alpha"]
        wt, ws = c["warmup_target"], c["warmup_steps"]

        def cos(k, top):
            return top * ((1 - alpha) * 0.5 * (1 + np.cos(np.pi * k / d)) + alpha)
        if wt is None:
            want = cos(np.minimum(steps, d), lr0)
        else:
            k = np.minimum(steps, d + ws)
            want = np.where(k < ws, (wt - lr0) * k / max(ws, 1) + lr0, cos(k - ws, wt))
    got = np.array([s(int(k)) for k in steps])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-16)


# ------------------------------------------------------------------------ Keras
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("kwargs", [
    dict(cls="ExponentialDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
    dict(cls="ExponentialDecay", initial_learning_rate=0.05, decay_steps=7, decay_rate=0.3,
         staircase=True),
    dict(cls="CosineDecay", initial_learning_rate=0.1, decay_steps=20),
    dict(cls="CosineDecay", initial_learning_rate=0.1, decay_steps=20, alpha=0.2),
    dict(cls="CosineDecay", initial_learning_rate=0.0, decay_steps=20, warmup_target=0.2,
         warmup_steps=5),
    dict(cls="CosineDecay", initial_learning_rate=0.01, decay_steps=9, alpha=0.1,
         warmup_target=0.3, warmup_steps=4),
])
def test_schedules_match_keras(keras, kwargs):
    kwargs = dict(kwargs)
    name = kwargs.pop("cls")
    ours = getattr(schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    for step in [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 19, 20, 24, 25, 29, 30, 100]:
        want = float(theirs(step))
        # Keras computes in float32: about 1e-7 relative
        assert ours(step) == pytest.approx(want, rel=2e-6, abs=1e-9), step


def test_keras_nested_config_deserializes(keras):
    k = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    nested = keras.optimizers.schedules.serialize(k)
    ours = schedules.deserialize(nested)
    assert isinstance(ours, ExponentialDecay)
    assert ours(25) == pytest.approx(0.1 * 0.25, rel=1e-15)


# ---------------------------------------------------------------------- configs
@pytest.mark.parametrize("s", [ExponentialDecay(0.1, 10, 0.5, staircase=True, name="ed"),
                               CosineDecay(0.0, 30, alpha=0.1, warmup_target=0.5,
                                           warmup_steps=3)])
def test_config_round_trip(s):
    c = s.get_config()
    assert c["class_name"] == type(s).__name__
    for again in (schedules.deserialize(c), type(s).from_config(c),
                  schedules.deserialize({"class_name": c["class_name"],
                                         "config": {k: v for k, v in c.items()
                                                    if k != "class_name"}})):
        assert type(again) is type(s)
        assert again.get_config() == c
        assert [again(k) for k in range(40)] == [s(k) for k in range(40)]


def test_deserialize_uses_only_the_registry():
    with pytest.raises(ValueError, match="Unknown learning rate schedule class_name 'os.system'"
                                         ".*Valid names: CosineDecay, ExponentialDecay"):
        schedules.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="Valid names"):
        schedules.deserialize({"initial_learning_rate": 0.1})
    with pytest.raises(TypeError, match="must be a dict"):
        schedules.deserialize("ExponentialDecay")
    with pytest.raises(ValueError, match="Invalid config for ExponentialDecay"):
        schedules.deserialize({"class_name": "ExponentialDecay", "initial_learning_rate": 0.1,
                               "decay_steps": 10, "decay_rate": 0.5, "bogus": 1})
    with pytest.raises(ValueError, match="config of class 'CosineDecay'"):
        ExponentialDecay.from_config(CosineDecay(0.1, 10).get_config())


def test_custom_schedule_subclass_and_base_errors():
    class Halving(LearningRateSchedule):
        def _rate(self, step):
            return 0.1 / (step + 1)

    assert Halving()(3) == pytest.approx(0.025)
    with pytest.raises(NotImplementedError, match="must override `get_config\\(\\)`"):
        Halving().get_config()
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        LearningRateSchedule()(0)
    with pytest.raises(TypeError, match="Expected a seqattn.schedules.LearningRateSchedule"):
        schedules.serialize(lambda step: 0.1)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("make,exc,match", [
    (lambda: ExponentialDecay(0.1, 0, 0.5), ValueError, "decay_steps.*> 0.*decay_steps=0"),
    (lambda: ExponentialDecay(0.1, -3, 0.5), ValueError, "decay_steps=-3"),
    (lambda: ExponentialDecay(0.1, None, 0.5), ValueError, "decay_steps=None"),
    (lambda: ExponentialDecay(0.1, True, 0.5), ValueError, "decay_steps=True"),
    (lambda: ExponentialDecay(0.1, float("inf"), 0.5), ValueError, "decay_steps=inf"),
    (lambda: ExponentialDecay(0, 10, 0.5), ValueError, "initial_learning_rate"),
    (lambda: ExponentialDecay("0.1", 10, 0.5), TypeError, "initial_learning_rate"),
    (lambda: ExponentialDecay(float("inf"), 10, 0.5), ValueError, "finite"),
    (lambda: ExponentialDecay(0.1, 10, 0.0), ValueError, "decay_rate"),
    (lambda: ExponentialDecay(0.1, 10, -0.5), ValueError, "decay_rate"),
    (lambda: ExponentialDecay(0.1, 10, 0.5, staircase=1), TypeError, "staircase"),
    (lambda: CosineDecay(-0.1, 10), ValueError, "initial_learning_rate"),
    (lambda: CosineDecay(0.1, 0), ValueError, "decay_steps"),
    (lambda: CosineDecay(0.1, 10, alpha=1.5), ValueError, "alpha"),
    (lambda: CosineDecay(0.1, 10, alpha=-0.1), ValueError, "alpha"),
    (lambda: CosineDecay(0.1, 10, warmup_target=-1.0), ValueError, "warmup_target"),
    (lambda: CosineDecay(0.1, 10, warmup_target=float("nan")), ValueError, "warmup_target"),
    (lambda: CosineDecay(0.1, 10, warmup_steps=-1), ValueError, "warmup_steps=-1"),
    (lambda: CosineDecay(0.1, 10, name=3), TypeError, "name"),
])
def test_argument_errors(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


@pytest.mark.parametrize("step", [-1, float("nan"), "3", None, True])
def test_bad_step(step):
    with pytest.raises(ValueError, match="ExponentialDecay expects a step"):
        ExponentialDecay(0.1, 10, 0.5)(step)


# ------------------------------------------------------------ optimizer integration
def test_optimizer_with_schedule_rate_config_and_setter():
    s = ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.Adam(learning_rate=s)
    assert opt.learning_rate == 0.1  # schedule(iterations=0)
    opt.core.iterations = 4  # as after 4 updates
    assert opt.learning_rate == pytest.approx(0.025, rel=1e-15)
    opt._update_learning_rate()
    assert opt.core.learning_rate == pytest.approx(0.025, rel=1e-15)
    with pytest.raises(TypeError, match="learning rate is not settable"):
        opt.learning_rate = 0.01
    c = opt.get_config()
    assert c["learning_rate"] == s.get_config()
    again = optimizers.Adam.from_config(c)
    assert isinstance(again._schedule, ExponentialDecay) and again.learning_rate == 0.1
    assert optimizers.schedules is schedules  # Keras's path: optimizers.schedules


def test_optimizer_float_rate_unchanged_and_schedule_assignment():
    opt = optimizers.SGD(learning_rate=0.3)
    opt._update_learning_rate()  # no schedule: a no-op
    assert opt.learning_rate == 0.3
    opt.learning_rate = 0.2
    assert opt.core.learning_rate == 0.2
    assert optimizers.SGD.from_config(opt.get_config()).learning_rate == 0.2
    opt.learning_rate = CosineDecay(0.5, 10)  # Keras: assigning a schedule replaces the rate
    assert opt.learning_rate == 0.5 and opt.core.learning_rate == 0.5
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_optimizer_rejects_bad_learning_rates():
    with pytest.raises(TypeError, match="LearningRateSchedule.*learning_rate=<function"):
        optimizers.Adam(learning_rate=lambda: 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate=0.0)

    class Bad(LearningRateSchedule):
        def _rate(self, step):
            return float("nan") if step >= 1 else 0.1

    opt = optimizers.SGD(Bad())
    opt.core.iterations = 1
    with pytest.raises(ValueError, match="returned nan at step 1; expected a finite number"):
        opt._update_learning_rate()
    with pytest.raises(ValueError, match="from_config received the config of optimizer 'sgd'"):
        optimizers.Adam.from_config(optimizers.SGD().get_config())


# ------------------------------------------------------------------ end to end
T, V = 6, 12


def _model(lr):
    seqattn.utils.set_random_seed(3)
    model = seqattn.Sequential([seqattn.Input((T,), dtype="int32"),
                                seqattn.layers.Embedding(V, 8),
                                seqattn.layers.GlobalAveragePooling1D(),
                                seqattn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=lr), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(n=40):
    rng = np.random.default_rng(0)
    x = rng.integers(0, V, (n, T)).astype(np.int32)
    y = (x[:, 0] < V // 2).astype(np.float32)
    return x, y


@pytest.mark.parametrize("schedule", [ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5),
                                      CosineDecay(0.01, 6, warmup_target=0.05,
                                                  warmup_steps=3)])
def test_fit_with_schedule_equals_manual_rates(schedule):
    x, y = _data()
    a = _model(schedule)
    a.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)  # 8 steps
    assert a.optimizer.iterations == 8
    b = _model(0.123)
    rates = []
    for epoch in range(2):
        for k in range(4):
            rates.append(schedule(b.optimizer.iterations))
            b.optimizer.learning_rate = rates[-1]
            b.train_on_batch(x[10 * k:10 * (k + 1)], y[10 * k:10 * (k + 1)])
    assert len(set(rates)) > 4  # the rate really changed
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.optimizer.learning_rate == schedule(8)
    # and differs from a constant rate (the test can fail)
    c = _model(0.05)
    c.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))
