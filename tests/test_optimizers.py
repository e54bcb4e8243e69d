"""Each optimizer's first steps against its formula (tests/reference.py)."""

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
    with pytest.raises(ValueError, match="adam, adamw, sgd"):
        optimizers.get("rmsprop")
