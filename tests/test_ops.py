"""seqattn.ops and `+ - * /` on symbolic tensors: the C++ op layers (cpp/elementwise.*)
against float64 NumPy with broadcasting, finite differences through a model, NumPy results for
arrays, and the errors that say what to write instead."""

import numpy as np
import pytest

import seqattn
from seqattn import layers, ops
from seqattn.layers.math_ops import BinaryOp, MatMul, Reduce, UnaryOp, Where
from conftest import run_with_each_thread_count

SHAPE_PAIRS = [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (3, 4)), ((2, 3, 4), (4,)),
               ((2, 1, 4), (2, 3, 1)), ((3, 4), (2, 3, 4)), ((2, 3, 4), (1,))]


def _reduce_to(g, shape):
    """Sums a broadcast gradient back to an input's shape (the float64 oracle)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, d in enumerate(shape):
        if d == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "divide"])
@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS)
def test_binary_op_matches_float64_with_broadcasting(op, sa, sb, rng, threads):
    a = rng.normal(size=sa).astype(np.float32)
    b = (rng.uniform(0.5, 2.0, size=sb) * rng.choice([-1, 1], size=sb)).astype(np.float32)
    layer = BinaryOp(op)
    layer.build([(None,) + sa[1:], sb])
    out_shape = np.broadcast_shapes(sa, sb)
    dy = rng.normal(size=out_shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [a, b], dy=dy)
    a64, b64, dy64 = a.astype(np.float64), b.astype(np.float64), dy.astype(np.float64)
    y = {"add": a64 + b64, "subtract": a64 - b64, "multiply": a64 * b64,
         "divide": a64 / b64}[op]
    da, db = {"add": (dy64, dy64), "subtract": (dy64, -dy64),
              "multiply": (dy64 * b64, dy64 * a64),
              "divide": (dy64 / b64, -dy64 * a64 / b64 ** 2)}[op]
    np.testing.assert_allclose(r["y"], y, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r["dx"][0], _reduce_to(da, sa), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r["dx"][1], _reduce_to(db, sb), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op,scale,f,df", [
    ("negative", 1.0, lambda x: -x, lambda x: -np.ones_like(x)),
    ("exp", 1.0, np.exp, np.exp),
    ("log", 1.0, np.log, lambda x: 1 / x),
    ("sqrt", 1.0, np.sqrt, lambda x: 0.5 / np.sqrt(x)),
    ("square", 1.0, np.square, lambda x: 2 * x),
    ("abs", 1.0, np.abs, np.sign),
    ("affine", 2.5, lambda x: 2.5 * x + 0.5, lambda x: 2.5 * np.ones_like(x)),
    ("reciprocal", 3.0, lambda x: 3.0 / x, lambda x: -3.0 / x ** 2),
    ("power", 3.0, lambda x: x ** 3, lambda x: 3 * x ** 2),
])
def test_unary_op_matches_float64(op, scale, f, df, rng, threads):
    x = rng.uniform(0.3, 2.0, size=(2, 5, 3)).astype(np.float32)
    layer = UnaryOp(op, scale, 0.5 if op == "affine" else 0.0)
    layer.build([(None, 5, 3)])
    dy = rng.normal(size=x.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], dy=dy)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(r["y"], f(x64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r["dx"][0], dy * df(x64), rtol=1e-5, atol=1e-6)


def test_nan_propagates_through_ops(threads):
    layer = BinaryOp("multiply")
    layer.build([(None, 2), (None, 2)])
    r = run_with_each_thread_count(layer, [np.array([[np.nan, 1]], np.float32),
                                           np.array([[0, 2]], np.float32)],
                                   dy=np.ones((1, 2), np.float32))
    assert np.isnan(r["y"][0, 0]) and r["y"][0, 1] == 2
    assert np.isnan(r["dx"][1][0, 0])


def _finite_difference_check(model, x, y, eps=1e-2):
    """The analytic gradient of the model's loss against central differences (float32 model,
    so a loose but failing-on-error tolerance)."""
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    loss, grads = model._compute_gradients(x, y)
    weights = model.get_weights()
    for wi, (w, g) in enumerate(zip(weights, grads)):
        for idx in list(np.ndindex(w.shape))[:4]:
            plus = [v.copy() for v in weights]
            minus = [v.copy() for v in weights]
            plus[wi][idx] += eps
            minus[wi][idx] -= eps
            model.set_weights(plus)
            lp = model.evaluate(x, y, verbose=0)
            model.set_weights(minus)
            lm = model.evaluate(x, y, verbose=0)
            model.set_weights(weights)
            num = (lp - lm) / (2 * eps)
            assert abs(num - g[idx]) < 2e-3 + 2e-2 * abs(num), (wi, idx, num, g[idx])


def test_gradients_through_symbolic_arithmetic_match_finite_differences(rng):
    seqattn.utils.set_random_seed(3)
    inp = seqattn.Input((4, 3))
    a = layers.Dense(3, name="a")(inp)
    b = layers.Dense(3, activation="tanh", name="b")(inp)
    h = (a * b + 1.5) / (ops.exp(b) + 2.0) - a / 3.0 + ops.square(b) - (-a)
    h = h + np.linspace(0.1, 0.3, 3, dtype=np.float32)  # (3,) constant, broadcast
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(inp, out)
    x = rng.normal(size=(6, 4, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=(6, 1)).astype(np.float32)
    _finite_difference_check(model, x, y)


def test_arange_inside_a_custom_layer_is_a_trainable_position_table(rng):
    class Positions(layers.Layer):
        def __init__(self, T, C):
            super().__init__()
            self.pos = layers.Embedding(T, C)

        def call(self, x):
            return x + self.pos(ops.arange(0, ops.shape(x)[1]))  # (B, T, C) + (T, C)

    inp = seqattn.Input((5, 2))
    block = Positions(5, 2)
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(block(inp)))
    model = seqattn.Model(inp, out)
    x = rng.normal(size=(4, 5, 2)).astype(np.float32)
    table = block.get_weights()[0]
    expected = x + table  # the layer's eager call computes the same with NumPy ops
    np.testing.assert_allclose(block(x), expected, rtol=1e-6)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.fit(x, np.ones((4, 1), np.float32), epochs=1, verbose=0)
    assert not np.array_equal(block.get_weights()[0], table)  # trained through the op


def test_ops_on_arrays_compute_with_numpy():
    x = np.array([[1.0, 4.0]], np.float32)
    np.testing.assert_allclose(ops.sqrt(x), [[1, 2]])
    np.testing.assert_allclose(ops.add(x, 1), [[2, 5]])
    np.testing.assert_allclose(ops.softmax(np.array([[0.0, 0.0]])), [[0.5, 0.5]])
    np.testing.assert_array_equal(ops.arange(3), [0, 1, 2])
    assert ops.shape(np.zeros((2, 3))) == (2, 3)
    assert ops.shape(seqattn.Input((7, 2))) == (None, 7, 2)


def test_incompatible_shapes_name_both():
    a = layers.Dense(4)(seqattn.Input((5, 3)))
    b = layers.Dense(3)(seqattn.Input((5, 3)))
    with pytest.raises(ValueError, match=r"Cannot broadcast shapes \(None, 5, 4\) and "
                                         r"\(None, 5, 3\)"):
        a + b


def test_symbolic_tensors_refuse_truth_values_and_unsupported_ops():
    x = layers.Dense(2)(seqattn.Input((3,)))
    with pytest.raises(TypeError, match="no truth value"):
        bool(x)
    with pytest.raises(ValueError, match="exponent must be a number"):
        x ** x
    with pytest.raises(ValueError, match="keeps the batch axis"):
        ops.mean(x, axis=0)
    with pytest.raises(ValueError, match="would mix samples"):
        ops.max(x)
    with pytest.raises(ValueError, match=r"last axis of \(None, 2\) must equal"):
        ops.matmul(x, np.ones((3, 2), np.float32))


def test_int_constants_out_of_range_for_an_embedding_are_refused():
    class Bad(layers.Layer):
        def __init__(self):
            super().__init__()
            self.pos = layers.Embedding(3, 2)

        def call(self, x):
            return x + self.pos(ops.arange(5))

    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        Bad()(seqattn.Input((5, 2)))


def test_model_with_ops_saves_and_loads(tmp_path, rng):
    inp = seqattn.Input((4, 3))
    h = layers.Dense(3)(inp)
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalMaxPooling1D()(h * 2.0 - h / 4.0))
    model = seqattn.Model(inp, out)
    x = rng.normal(size=(3, 4, 3)).astype(np.float32)
    model.save(tmp_path / "m.seqattn")
    loaded = seqattn.load_model(tmp_path / "m.seqattn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_array_constants_in_a_model_save_and_load(tmp_path, rng):
    inp = seqattn.Input((4, 3))
    h = layers.Dense(3)(inp) * np.array([1.0, 2.0, 3.0], np.float32)
    model = seqattn.Model(inp, layers.Dense(1)(layers.GlobalAveragePooling1D()(h)))
    model.save(tmp_path / "c.seqattn")
    loaded = seqattn.load_model(tmp_path / "c.seqattn")
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)),
                                   ((3, 4), (2, 4, 5)), ((2, 2, 3, 4), (2, 2, 4, 3))])
def test_matmul_matches_float64(sa, sb, rng, threads):
    a = rng.normal(size=sa).astype(np.float32)
    b = rng.normal(size=sb).astype(np.float32)
    layer = MatMul()
    layer.build([sa, sb])
    y64 = np.matmul(a.astype(np.float64), b.astype(np.float64))
    dy = rng.normal(size=y64.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [a, b], dy=dy)
    da = np.matmul(dy.astype(np.float64), np.swapaxes(b, -1, -2).astype(np.float64))
    db = np.matmul(np.swapaxes(a, -1, -2).astype(np.float64), dy.astype(np.float64))
    np.testing.assert_allclose(r["y"], y64, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r["dx"][0], _reduce_to(da, sa), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(r["dx"][1], _reduce_to(db, sb), rtol=1e-5, atol=1e-5)


def test_where_matches_numpy_and_keeps_the_other_branch_out(rng, threads):
    cond = (rng.random((2, 3, 4)) > 0.5).astype(np.float32)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    y = np.full((4,), np.nan, np.float32)  # a NaN branch, broadcast
    y[1] = 7.0
    layer = Where()
    layer.build([(None, 3, 4), (None, 3, 4), (4,)])
    dy = rng.normal(size=(2, 3, 4)).astype(np.float32)
    r = run_with_each_thread_count(layer, [cond, x, y], dy=dy)
    np.testing.assert_array_equal(r["y"], np.where(cond != 0, x, y))
    np.testing.assert_array_equal(r["dx"][1], np.where(cond != 0, dy, 0))
    np.testing.assert_allclose(r["dx"][2], _reduce_to(np.where(cond != 0, 0, dy)
                                                      .astype(np.float64), (4,)), rtol=1e-6)


def test_a_custom_attention_written_with_ops_trains_and_checks_out(rng):
    """q kᵀ / sqrt(d) -> softmax -> · v, the way a Keras user writes attention by hand."""
    class DotAttention(layers.Layer):
        def __init__(self, d):
            super().__init__()
            self.d = d
            self.q, self.k, self.v = layers.Dense(d), layers.Dense(d), layers.Dense(d)

        def call(self, x):
            q, k, v = self.q(x), self.k(x), self.v(x)
            scores = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / np.sqrt(self.d)
            return ops.matmul(ops.softmax(scores), v)

    inp = seqattn.Input((5, 4))
    att = DotAttention(4)
    out = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(att(inp)))
    model = seqattn.Model(inp, out)
    x = rng.normal(size=(6, 5, 4)).astype(np.float32)
    y = rng.integers(0, 2, size=(6, 1)).astype(np.float32)
    _finite_difference_check(model, x, y)


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis,keepdims", [(1, False), (2, True), (-1, False), (2, False)])
def test_reductions_match_float64(op, axis, keepdims, rng, threads):
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    x[0, 1, 1] = x[0, 3, 1] = 9.0  # a tie for the maximum shares its gradient
    layer = Reduce(op, axis % 3, keepdims)
    layer.build([(None, 5, 3)])
    x64 = x.astype(np.float64)
    y = getattr(np, "amax" if op == "max" else op)(x64, axis=axis, keepdims=True)
    dy = rng.normal(size=y.shape).astype(np.float32)
    r = run_with_each_thread_count(layer, [x], dy=dy if keepdims else dy.squeeze(axis))
    np.testing.assert_allclose(r["y"], y if keepdims else y.squeeze(axis), rtol=1e-6, atol=1e-6)
    if op == "sum":
        dx = np.broadcast_to(dy, x.shape)
    elif op == "mean":
        dx = np.broadcast_to(dy / x.shape[axis], x.shape)
    else:
        hits = x64 == y
        dx = hits * dy / hits.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(r["dx"][0], dx, rtol=1e-6, atol=1e-6)


def test_max_propagates_nan(threads):
    layer = Reduce("max", 1)
    layer.build([(None, 3)])
    r = run_with_each_thread_count(layer, [np.array([[1.0, np.nan, 3.0]], np.float32)],
                                   dy=np.ones((1,), np.float32))
    assert np.isnan(r["y"][0])


def test_a_hand_written_layer_norm_with_ops_matches_the_layer(rng):
    """Keras users write normalisations with ops.mean(..., keepdims=True)."""
    class Norm(layers.Layer):
        def call(self, x):
            mu = ops.mean(x, axis=-1, keepdims=True)
            var = ops.mean(ops.square(x - mu), axis=-1, keepdims=True)
            return (x - mu) / ops.sqrt(var + 1e-3)

    inp = seqattn.Input((4, 6))
    model = seqattn.Model(inp, Norm()(inp))
    reference = seqattn.Model(inp, layers.LayerNormalization(epsilon=1e-3)(inp))
    x = rng.normal(size=(3, 4, 6)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)
    head = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(Norm()(
        layers.Dense(6)(inp))))
    _finite_difference_check(seqattn.Model(inp, head), x,
                             rng.integers(0, 2, (3, 1)).astype(np.float32))
