"""Categorical cross-entropy, MSE, MAE, Huber and label smoothing: each equals the float64
oracle (value and gradient, weighted), refuses bad targets by name, matches Keras 3, trains a
model, and saves with it."""

import os

import numpy as np
import pytest

import reference as ref
import seqattn
from conftest import assert_close
from seqattn import layers, losses


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _soft_targets(rng, shape):
    return rng.dirichlet(np.ones(shape[-1]), size=shape[:-1]).astype(np.float32)


# ------------------------------------------------------------------ the oracle, value and grad
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("shape", [(1, 2), (6, 3), (3, 4, 5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_categorical_crossentropy_matches_reference(rng, from_logits, smoothing, shape, weighted):
    y = (_soft_targets(rng, shape) if shape[0] % 2 else
         np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])])
    pred = (rng.standard_normal(shape) * 3 if from_logits
            else rng.uniform(0.05, 1.0, shape)).astype(np.float32)
    w = rng.uniform(0, 2, shape[0]).astype(np.float32) if weighted else None
    core = losses.CategoricalCrossentropy(from_logits, label_smoothing=smoothing)._core()
    value, grad = core(y, pred, w)
    want, dwant = ref.categorical_crossentropy(y, pred, from_logits, smoothing, w)
    assert value == pytest.approx(want, rel=1e-5)
    assert_close(grad, dwant, "dpred")


@pytest.mark.parametrize("from_logits", [True, False])
def test_binary_label_smoothing_and_weights_match_reference(rng, from_logits):
    y = (rng.random((5, 2)) < 0.5).astype(np.float32)
    pred = (rng.standard_normal((5, 2)) * 2 if from_logits
            else rng.uniform(0.02, 0.98, (5, 2))).astype(np.float32)
    w = rng.uniform(0, 2, 5).astype(np.float32)
    value, grad = losses.BinaryCrossentropy(from_logits, label_smoothing=0.2)._core()(y, pred, w)
    want, dwant = ref.binary_crossentropy_weighted(y, pred, from_logits, 0.2, w)
    assert value == pytest.approx(want, rel=1e-5)
    assert_close(grad, dwant, "dpred")


REGRESSION = [(losses.MeanSquaredError, ref.mean_squared_error, {}),
              (losses.MeanAbsoluteError, ref.mean_absolute_error, {}),
              (losses.Huber, ref.huber, {}), (losses.Huber, ref.huber, {"delta": 0.3})]


@pytest.mark.parametrize("cls,oracle,kw", REGRESSION)
@pytest.mark.parametrize("true_shape,pred_shape", [((7,), (7,)), ((7,), (7, 1)),
                                                   ((7, 1), (7,)), ((4, 3), (4, 3))])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_losses_match_reference(rng, cls, oracle, kw, true_shape, pred_shape,
                                           weighted):
    y = rng.standard_normal(true_shape).astype(np.float32)
    pred = (rng.standard_normal(pred_shape) * 2).astype(np.float32)
    w = rng.uniform(0, 2, pred_shape[0]).astype(np.float32) if weighted else None
    value, grad = cls(**kw)._core()(y, pred, w)
    want, dwant = oracle(y, pred, sample_weight=w, **kw)
    assert value == pytest.approx(want, rel=1e-5)
    assert_close(grad, dwant, "dpred")


def test_mae_gradient_is_zero_where_exact():
    _, grad = losses.MeanAbsoluteError()._core()(np.array([1.0, 2.0], np.float32),
                                                 np.array([1.0, 3.0], np.float32))
    np.testing.assert_array_equal(grad, [0.0, 0.5])


def test_categorical_crossentropy_huge_logits_stay_finite():
    value, grad = losses.CategoricalCrossentropy(from_logits=True)._core()(
        np.array([[0.0, 1.0]], np.float32), np.array([[1000.0, -1000.0]], np.float32))
    assert value == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0]])


# ------------------------------------------------------------------------------ functions
def test_functions_return_one_loss_per_sample(rng):
    y, p = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
    np.testing.assert_allclose(losses.categorical_crossentropy(y, p),
                               [-np.log(0.95), -np.log(0.1)], rtol=1e-6)
    yt, yp = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(losses.mse(yt, yp), np.mean((yt - yp) ** 2, -1), rtol=1e-5)
    np.testing.assert_allclose(losses.mean_absolute_error(yt, yp), np.mean(abs(yt - yp), -1),
                               rtol=1e-5)
    assert losses.mse is losses.mean_squared_error and losses.mae is losses.mean_absolute_error
    assert losses.huber(yt, yp, delta=0.5).shape == (4,)
    assert losses.sparse_categorical_crossentropy([2, 0], p).shape == (2,)
    assert losses.binary_crossentropy([[1.0], [0.0]], [[0.5], [0.5]]).shape == (2,)
    # the mean of the per-sample losses is the class's value
    assert float(np.mean(losses.huber(yt, yp))) == pytest.approx(losses.Huber()(yt, yp), rel=1e-5)


# ---------------------------------------------------------------------------- bad targets
@pytest.mark.parametrize("loss,y,pred,says", [
    (losses.CategoricalCrossentropy(), [[0, 1]] * 2, [[0.2, 0.3, 0.5]] * 2,
     ["categorical_crossentropy", "(2, 3)", "(2, 2)"]),
    (losses.CategoricalCrossentropy(), [0, 2], [[0.2, 0.3, 0.5]] * 2,
     ["categorical_crossentropy", "(2, 3)", "(2,)", "sparse_categorical_crossentropy"]),
    (losses.CategoricalCrossentropy(), [[np.nan, 1, 0]], [[0.2, 0.3, 0.5]],
     ["categorical_crossentropy", "nan", "(1, 3)"]),
    (losses.MeanSquaredError(), [1.0, 2.0], [[1.0, 2.0, 3.0]],
     ["mean_squared_error", "(1, 3)", "(2,)"]),
    (losses.MeanAbsoluteError(), [[1.0, 2.0]], [[1.0], [2.0]],
     ["mean_absolute_error", "(2, 1)", "(1, 2)"]),
    (losses.Huber(), [np.nan], [0.0], ["huber_loss", "nan", "(1,)"]),
    (losses.MeanSquaredError(), [np.inf, 1.0], [0.0, 1.0], ["mean_squared_error", "inf"]),
])
def test_bad_targets_name_the_loss_and_shapes(loss, y, pred, says):
    with pytest.raises(ValueError) as e:
        loss(np.array(y, np.float32), np.array(pred, np.float32))
    for s in says:
        assert s in str(e.value), str(e.value)


@pytest.mark.parametrize("make", [lambda: losses.CategoricalCrossentropy(label_smoothing=1.5),
                                  lambda: losses.BinaryCrossentropy(label_smoothing=-0.1),
                                  lambda: losses.Huber(delta=0.0),
                                  lambda: losses.Huber(delta="1")])
def test_bad_arguments_are_refused(make):
    with pytest.raises((ValueError, TypeError), match="label_smoothing|delta"):
        make()


def test_names_and_functions_resolve():
    for name, cls in [("categorical_crossentropy", losses.CategoricalCrossentropy),
                      ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
                      ("mae", losses.MeanAbsoluteError), ("huber", losses.Huber),
                      ("huber_loss", losses.Huber)]:
        assert type(losses.get(name)) is cls
    assert type(losses.get(losses.mse)) is losses.MeanSquaredError
    assert type(losses.get(losses.categorical_crossentropy)) is losses.CategoricalCrossentropy


# ------------------------------------------------------------------------------- Keras 3
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
@pytest.mark.parametrize("case", ["cce", "cce_logits_smooth", "bce_smooth", "mse", "mae",
                                  "huber", "huber_delta"])
def test_keras_parity(keras, rng, case):
    B, K = 6, 4
    w = rng.uniform(0, 2, B).astype(np.float32)
    if case.startswith("cce"):
        y = _soft_targets(rng, (B, K))
        logits = case == "cce_logits_smooth"
        p = (rng.standard_normal((B, K)) if logits else rng.uniform(0.05, 1, (B, K))).astype(np.float32)
        kw = dict(from_logits=logits, label_smoothing=0.1 if logits else 0.0)
        ours, theirs = losses.CategoricalCrossentropy(**kw), keras.losses.CategoricalCrossentropy(**kw)
        fn = (losses.categorical_crossentropy, keras.losses.categorical_crossentropy, kw)
    elif case == "bce_smooth":
        y = (rng.random((B, 1)) < 0.5).astype(np.float32)
        p = rng.uniform(0.05, 0.95, (B, 1)).astype(np.float32)
        kw = dict(label_smoothing=0.2)
        ours, theirs = losses.BinaryCrossentropy(**kw), keras.losses.BinaryCrossentropy(**kw)
        fn = (losses.binary_crossentropy, keras.losses.binary_crossentropy, kw)
    else:
        y = rng.standard_normal((B, K)).astype(np.float32)
        p = (rng.standard_normal((B, K)) * 2).astype(np.float32)
        kw = {"huber_delta": dict(delta=0.4)}.get(case, {})
        name = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError"}.get(case, "Huber")
        ours, theirs = getattr(losses, name)(**kw), getattr(keras.losses, name)(**kw)
        f = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(case, "huber")
        fn = (getattr(losses, f), getattr(keras.losses, f), kw)
    for sw in (None, w):
        want = float(keras.ops.convert_to_numpy(theirs(y, p, sample_weight=sw)))
        assert ours(y, p, sample_weight=sw) == pytest.approx(want, rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(fn[0](y, p, **fn[2]),
                               keras.ops.convert_to_numpy(fn[1](y, p, **fn[2])),
                               rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------- models and saving
def _model(units, activation):
    inp = layers.Input((4,))
    x = layers.Dense(8, activation="relu")(inp)
    return seqattn.Model(inp, layers.Dense(units, activation=activation)(x))


def _cases():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    cls = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    return x, [
        ("mse", 1, None, x.sum(1).tolist()),  # y as a Python list
        ("mae", 2, None, x[:, :2]),
        (losses.Huber(0.5), 1, None, x[:, :1]),
        ("huber", 1, None, x[:, 1]),
        ("categorical_crossentropy", 3, "softmax", np.eye(3)[cls].tolist()),  # nested lists
        (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), 3, None,
         np.eye(3)[cls]),
        (losses.BinaryCrossentropy(label_smoothing=0.2), 1, "sigmoid", (cls > 0).tolist()),
    ]


@pytest.mark.parametrize("i", range(7))
def test_each_loss_trains_and_round_trips(tmp_path, i):
    x, cases = _cases()
    loss, units, activation, y = cases[i]
    seqattn.utils.set_random_seed(1)
    model = _model(units, activation)
    model.compile(optimizer="adam", loss=loss)
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0]
    model.save(tmp_path / "m.seqattn")
    loaded = seqattn.load_model(tmp_path / "m.seqattn")
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_softmax_output_reads_logits_for_categorical_crossentropy():
    # A saturated softmax would clip to -log(1e-7) on probabilities; fused it stays exact.
    inp = layers.Input((1,))
    out = layers.Dense(2, activation="softmax")(inp)
    model = seqattn.Model(inp, out)
    model.set_weights([np.array([[100.0, -100.0]], np.float32), np.zeros(2, np.float32)])
    model.compile(loss="categorical_crossentropy")
    assert model.evaluate(np.ones((1, 1), np.float32), [[0.0, 1.0]], verbose=0) == \
        pytest.approx(200.0, rel=1e-5)


def test_fit_with_python_lists_for_x_and_y():
    inp = layers.Input((5,), dtype="int32")
    x = layers.Embedding(10, 4)(inp)
    x = layers.GlobalAveragePooling1D()(x)
    model = seqattn.Model(inp, layers.Dense(1, activation="sigmoid")(x))
    model.compile(loss="binary_crossentropy")
    xs = [[1, 2, 3, 0, 0], [4, 5, 6, 7, 0], [1, 1, 2, 0, 0], [8, 9, 9, 9, 9]]
    model.fit(xs, [0, 1, 0, 1], epochs=1, verbose=0)
    model.compile(loss="mse")
    model.fit(xs, [0.5, 1.0, 0.0, 2.0], epochs=1, verbose=0)


def test_model_targets_of_the_wrong_width_name_the_output():
    model = _model(3, "softmax")
    model.compile(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"categorical_crossentropy.*\(4, 3\).*\(4, 2\)"):
        model.fit(np.zeros((4, 4), np.float32), np.zeros((4, 2)), verbose=0)


# ------------------------------------------------------------------------------- metrics
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_new_metrics_match_keras(keras, rng):
    from seqattn import metrics
    w = rng.uniform(0, 2, 6)
    y, p = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    onehot = np.eye(3)[rng.integers(0, 3, 6)]
    for ours, theirs, yt in [(metrics.MeanSquaredError(), keras.metrics.MeanSquaredError(), y),
                             (metrics.MeanAbsoluteError(), keras.metrics.MeanAbsoluteError(), y),
                             (metrics.CategoricalAccuracy(), keras.metrics.CategoricalAccuracy(),
                              onehot)]:
        theirs.update_state(yt, p, sample_weight=w)
        assert ours(yt, p, sample_weight=w) == pytest.approx(
            float(keras.ops.convert_to_numpy(theirs.result())), rel=1e-6)


def test_compile_metrics_for_the_new_losses():
    x = np.random.default_rng(3).standard_normal((16, 4)).astype(np.float32)
    model = _model(3, "softmax")
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    logs = model.evaluate(x, np.eye(3)[np.arange(16) % 3], verbose=0, return_dict=True)
    assert 0.0 <= logs["accuracy"] <= 1.0
    model = _model(2, None)
    model.compile(loss="mse", metrics=["mae", "mse"])
    logs = model.evaluate(x, x[:, :2], verbose=0, return_dict=True)
    assert logs["mse"] == pytest.approx(logs["loss"], rel=1e-5)
    assert logs["mae"] == pytest.approx(float(np.mean(abs(model.predict(x, verbose=0) - x[:, :2]))),
                                        rel=1e-5)
