"""Checks the float64 oracle in reference.py: every backward against central finite
differences with a random upstream gradient, and forward values worked out by hand."""

import math

import numpy as np
import pytest

import reference as ref

RTOL = 1e-6
ATOL = 1e-8


def assert_grad(f, x, analytic, name):
    """Compares `analytic` with the finite-difference gradient of scalar f at x."""
    numeric = ref.numerical_grad(f, x)
    assert analytic is not None, f"{name}: no analytic gradient"
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape} != {numeric.shape}"
    np.testing.assert_allclose(analytic, numeric, rtol=RTOL, atol=ATOL, err_msg=name)


# --------------------------------------------------------------------------------------
# numerical_grad itself
# --------------------------------------------------------------------------------------


def test_numerical_grad_of_known_function():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    g = ref.numerical_grad(lambda a: np.sum(a**3) + a[0, 1] * a[1, 0], x)
    expected = 3 * x**2
    expected[0, 1] += x[1, 0]
    expected[1, 0] += x[0, 1]
    np.testing.assert_allclose(g, expected, rtol=1e-8, atol=1e-8)


def test_numerical_grad_does_not_mutate_input():
    x = np.array([1.0, 2.0])
    ref.numerical_grad(lambda a: np.sum(a * a), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


# --------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------


def test_embedding_forward_backward_by_hand():
    W = np.arange(8.0).reshape(4, 2)  # V=4, C=2
    ids = np.array([[1, 1, 3]])
    np.testing.assert_array_equal(ref.embedding_forward(ids, W), [[[2, 3], [2, 3], [6, 7]]])
    dy = np.array([[[1.0, 2.0], [10.0, 20.0], [5.0, 5.0]]])
    dW = ref.embedding_backward(ids, W.shape, dy)
    np.testing.assert_array_equal(dW, [[0, 0], [11, 22], [0, 0], [5, 5]])


def test_embedding_mask():
    ids = np.array([[0, 3, 0], [1, 2, 5]])
    np.testing.assert_array_equal(ref.embedding_mask(ids, True), [[0, 1, 0], [1, 1, 1]])
    assert ref.embedding_mask(ids, False) is None


@pytest.mark.parametrize("B,T,V,C", [(1, 1, 1, 1), (2, 7, 4, 5)])
def test_embedding_grad(B, T, V, C):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, size=(B, T))  # with T > V ids repeat
    W = rng.normal(size=(V, C))
    dy = rng.normal(size=(B, T, C))
    dW = ref.embedding_backward(ids, W.shape, dy)
    assert_grad(lambda w: np.sum(ref.embedding_forward(ids, w) * dy), W, dW, "dW")


@pytest.mark.parametrize("B,T,Tmax,V,C", [(1, 1, 1, 2, 1), (2, 5, 7, 4, 3), (3, 7, 7, 6, 5)])
def test_token_and_position_grad(B, T, Tmax, V, C):
    rng = np.random.default_rng(1)
    ids = rng.integers(0, V, size=(B, T))
    W_tok = rng.normal(size=(V, C))
    W_pos = rng.normal(size=(Tmax, C))
    dy = rng.normal(size=(B, T, C))
    y = ref.token_and_position_forward(ids, W_tok, W_pos)
    np.testing.assert_allclose(y, W_tok[ids] + W_pos[None, :T])
    dW_tok, dW_pos = ref.token_and_position_backward(ids, W_tok.shape, W_pos.shape, dy)
    assert_grad(lambda w: np.sum(ref.token_and_position_forward(ids, w, W_pos) * dy),
                W_tok, dW_tok, "dW_tok")
    assert_grad(lambda w: np.sum(ref.token_and_position_forward(ids, W_tok, w) * dy),
                W_pos, dW_pos, "dW_pos")
    assert np.all(dW_pos[T:] == 0)


# --------------------------------------------------------------------------------------
# Activations and Dense
# --------------------------------------------------------------------------------------


def test_activation_values_by_hand():
    # softmax of log([1, 2, 3]) = [1, 2, 3] / 6
    np.testing.assert_allclose(ref.activation_forward(np.log([1.0, 2.0, 3.0]), "softmax"),
                               [1 / 6, 2 / 6, 3 / 6], rtol=1e-14)
    # exact gelu: gelu(1) = Phi(1) = 0.8413447460685429..., gelu(0) = 0, gelu(-1) = -1 + Phi(1)
    np.testing.assert_allclose(ref.activation_forward(np.array([1.0, 0.0, -1.0]), "gelu"),
                               [0.8413447460685429, 0.0, 0.8413447460685429 - 1.0], rtol=1e-14)
    np.testing.assert_allclose(ref.activation_forward(np.array([0.0, math.log(3.0)]), "sigmoid"),
                               [0.5, 0.75], rtol=1e-14)
    np.testing.assert_array_equal(ref.activation_forward(np.array([-2.0, 3.0]), "relu"), [0, 3])
    # no overflow for large logits
    np.testing.assert_allclose(ref.activation_forward(np.array([1000.0, -1000.0]), "sigmoid"),
                               [1.0, 0.0])
    np.testing.assert_allclose(ref.activation_forward(np.array([1000.0, 1000.0]), "softmax"),
                               [0.5, 0.5])


def test_dense_by_hand():
    x = np.array([[1.0, 2.0]])
    kernel = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]])  # (2, 3)
    bias = np.array([0.0, -3.0, 1.0])
    np.testing.assert_allclose(ref.dense_forward(x, kernel, bias), [[2.0, -1.0, 4.0]])
    np.testing.assert_allclose(ref.dense_forward(x, kernel, bias, "relu"), [[2.0, 0.0, 4.0]])
    dx, dk, db = ref.dense_backward(x, kernel, bias, "linear", np.array([[1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(dx, [[0.0, 3.5]])
    np.testing.assert_allclose(dk, [[1, 1, 1], [2, 2, 2]])
    np.testing.assert_allclose(db, [1, 1, 1])


def _away_from_relu_kink(x, kernel, bias, rng):
    """Shifts the bias until no pre-activation lies within 1e-3 of 0."""
    while True:
        z = x @ kernel + (0 if bias is None else bias)
        if np.min(np.abs(z)) > 1e-3:
            return x
        x = x + rng.normal(scale=1e-2, size=x.shape)


@pytest.mark.parametrize("activation", ref.ACTIVATIONS)
@pytest.mark.parametrize("x_shape", [(1, 1), (3, 5), (2, 7, 5), (1, 1, 1)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_grad(activation, x_shape, use_bias):
    rng = np.random.default_rng(2)
    cin, units = x_shape[-1], 3 if x_shape[-1] > 1 else 1
    x = rng.normal(size=x_shape)
    kernel = rng.normal(size=(cin, units))
    bias = rng.normal(size=(units,)) if use_bias else None
    x = _away_from_relu_kink(x, kernel, bias, rng)
    dy = rng.normal(size=x_shape[:-1] + (units,))

    dx, dkernel, dbias = ref.dense_backward(x, kernel, bias, activation, dy)
    assert_grad(lambda a: np.sum(ref.dense_forward(a, kernel, bias, activation) * dy),
                x, dx, "dx")
    assert_grad(lambda a: np.sum(ref.dense_forward(x, a, bias, activation) * dy),
                kernel, dkernel, "dkernel")
    if use_bias:
        assert_grad(lambda a: np.sum(ref.dense_forward(x, kernel, a, activation) * dy),
                    bias, dbias, "dbias")
    else:
        assert dbias is None


def test_dense_softmax_with_wide_units():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 4))
    kernel = rng.normal(size=(4, 7))
    dy = rng.normal(size=(2, 3, 7))
    y = ref.dense_forward(x, kernel, None, "softmax")
    np.testing.assert_allclose(y.sum(-1), 1.0)
    dx, dkernel, _ = ref.dense_backward(x, kernel, None, "softmax", dy)
    assert_grad(lambda a: np.sum(ref.dense_forward(a, kernel, None, "softmax") * dy),
                x, dx, "dx")
    assert_grad(lambda a: np.sum(ref.dense_forward(x, a, None, "softmax") * dy),
                kernel, dkernel, "dkernel")


# --------------------------------------------------------------------------------------
# MultiHeadAttention
# --------------------------------------------------------------------------------------


def make_mha(rng, B, T, S, C, H, Dk, Dv, Cout, Ck=None, Cv=None, use_bias=True,
             self_attention=True):
    """Random MHA inputs and parameters (dict keyed by ref.MHA_PARAM_NAMES)."""
    Cv = C if Cv is None else Cv
    Ck = Cv if Ck is None else Ck
    query = rng.normal(size=(B, T, C))
    value = rng.normal(size=(B, S, Cv))
    key = None if self_attention else rng.normal(size=(B, S, Ck))
    sc = 0.7
    params = {
        "query_kernel": rng.normal(scale=sc, size=(C, H, Dk)),
        "query_bias": rng.normal(scale=sc, size=(H, Dk)) if use_bias else None,
        "key_kernel": rng.normal(scale=sc, size=(Ck, H, Dk)),
        "key_bias": rng.normal(scale=sc, size=(H, Dk)) if use_bias else None,
        "value_kernel": rng.normal(scale=sc, size=(Cv, H, Dv)),
        "value_bias": rng.normal(scale=sc, size=(H, Dv)) if use_bias else None,
        "output_kernel": rng.normal(scale=sc, size=(H, Dv, Cout)),
        "output_bias": rng.normal(scale=sc, size=(Cout,)) if use_bias else None,
    }
    return query, value, key, params


MHA_CASES = {
    # all sizes 1
    "tiny": dict(B=1, T=1, S=1, C=1, H=1, Dk=1, Dv=1, Cout=1),
    # odd sizes, self-attention, key_dim != C/H, value_dim != key_dim
    "odd_self": dict(B=2, T=7, S=7, C=5, H=1, Dk=3, Dv=2, Cout=5),
    # separate key with its own width, output_shape != C, T != S, partial masks and one
    # fully masked value row (batch 1 has no real key/value step)
    "cross_masked": dict(B=2, T=3, S=4, C=5, H=2, Dk=3, Dv=4, Cout=6, Ck=3, Cv=2,
                         self_attention=False,
                         query_mask=[[1, 1, 0], [1, 0, 1]],
                         value_mask=[[1, 0, 1, 1], [0, 0, 0, 0]]),
    # causal self-attention with padding in the query/value
    "causal_padded": dict(B=2, T=4, S=4, C=3, H=3, Dk=2, Dv=2, Cout=3,
                          use_causal_mask=True,
                          query_mask=[[1, 1, 1, 0], [1, 1, 1, 1]],
                          value_mask=[[1, 1, 1, 0], [0, 1, 1, 1]]),
    # causal with T != S, and key mask + explicit attention mask with a fully masked row
    "causal_rect_attention_mask": dict(B=2, T=3, S=5, C=4, H=2, Dk=2, Dv=3, Cout=2,
                                       self_attention=False, use_causal_mask=True,
                                       key_mask=[[1, 1, 1, 0, 1], [1, 1, 1, 1, 1]],
                                       attention_mask="random"),
    # no biases
    "no_bias": dict(B=2, T=3, S=2, C=4, H=2, Dk=5, Dv=1, Cout=3, use_bias=False,
                    self_attention=False, value_mask=[[1, 1], [1, 0]]),
    # dropout on the attention probabilities
    "dropout": dict(B=2, T=3, S=4, C=3, H=2, Dk=2, Dv=3, Cout=4, self_attention=False,
                    dropout_rate=0.4, value_mask=[[1, 1, 0, 1], [1, 1, 1, 1]]),
}

MASK_KEYS = ("query_mask", "value_mask", "key_mask", "attention_mask", "use_causal_mask")


def build_mha_case(name):
    cfg = dict(MHA_CASES[name])
    rng = np.random.default_rng(100 + list(MHA_CASES).index(name))
    opts = {k: cfg.pop(k) for k in MASK_KEYS if k in cfg}
    rate = cfg.pop("dropout_rate", None)
    query, value, key, params = make_mha(rng, **cfg)
    B, T, S, H = cfg["B"], cfg["T"], cfg["S"], cfg["H"]
    for k in ("query_mask", "value_mask", "key_mask"):
        if k in opts:
            opts[k] = np.array(opts[k], dtype=bool)
    if opts.get("attention_mask") == "random":
        am = rng.random((B, T, S)) > 0.3
        am[0, 1, :] = False  # one fully masked row
        opts["attention_mask"] = am
    if rate is not None:
        keep = rng.random((B, H, T, S)) > rate
        opts["dropout_mask"] = keep / (1.0 - rate)
    dy = rng.normal(size=(B, T, cfg["Cout"]))
    return query, value, key, params, H, opts, dy


@pytest.mark.parametrize("name", list(MHA_CASES))
def test_mha_grad(name):
    query, value, key, params, H, opts, dy = build_mha_case(name)

    def loss(q=query, v=value, k=key, p=params):
        out, _ = ref.mha_forward(q, v, k, p, H, **opts)
        return np.sum(out * dy)

    out, probs = ref.mha_forward(query, value, key, params, H, **opts)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(probs))
    dquery, dvalue, dkey, dparams = ref.mha_backward(query, value, key, params, H, dy, **opts)
    for g in [dquery, dvalue, dkey, *dparams.values()]:
        assert g is None or np.all(np.isfinite(g))

    assert_grad(lambda a: loss(q=a), query, dquery, "dquery")
    assert_grad(lambda a: loss(v=a), value, dvalue, "dvalue")
    if key is None:
        assert dkey is None
    else:
        assert_grad(lambda a: loss(k=a), key, dkey, "dkey")
    for pname in ref.MHA_PARAM_NAMES:
        if params[pname] is None:
            assert dparams[pname] is None
            continue
        assert_grad(lambda a: loss(p={**params, pname: a}), params[pname], dparams[pname],
                    pname)


def naive_mha(query, value, key, params, H, allowed):
    """Plain loop implementation used to cross-check mha_forward's values."""
    key = value if key is None else key
    p = ref.mha_params(params)
    B, T, _ = query.shape
    S = value.shape[1]
    Dk = p["query_kernel"].shape[2]
    Dv = p["value_kernel"].shape[2]
    Cout = p["output_kernel"].shape[2]
    out = np.zeros((B, T, Cout))
    for b in range(B):
        for t in range(T):
            o = np.zeros(Cout) if p["output_bias"] is None else p["output_bias"].copy()
            for h in range(H):
                q = query[b, t] @ p["query_kernel"][:, h, :]
                if p["query_bias"] is not None:
                    q = q + p["query_bias"][h]
                weights = []
                vs = []
                for s in range(S):
                    k = key[b, s] @ p["key_kernel"][:, h, :]
                    v = value[b, s] @ p["value_kernel"][:, h, :]
                    if p["key_bias"] is not None:
                        k = k + p["key_bias"][h]
                        v = v + p["value_bias"][h]
                    if allowed[b, t, s]:
                        weights.append(math.exp(float(q @ k) / math.sqrt(Dk)))
                        vs.append(v)
                head = np.zeros(Dv)
                for w, v in zip(weights, vs):
                    head += w / sum(weights) * v
                o += head @ p["output_kernel"][h]
            out[b, t] = o
    return out


@pytest.mark.parametrize("name", [n for n in MHA_CASES if n != "dropout"])
def test_mha_forward_matches_naive_loops(name):
    query, value, key, params, H, opts, _ = build_mha_case(name)
    B, T = query.shape[:2]
    S = value.shape[1]
    km = opts.get("key_mask")
    if key is None and km is None:
        km = opts.get("value_mask")
    allowed = ref.mha_combined_mask(B, T, S, opts.get("query_mask"), opts.get("value_mask"),
                                    km, opts.get("attention_mask"),
                                    opts.get("use_causal_mask", False))
    out, _ = ref.mha_forward(query, value, key, params, H, **opts)
    np.testing.assert_allclose(out, naive_mha(query, value, key, params, H, allowed),
                               rtol=1e-12, atol=1e-12)


def _scalar_mha_params(bo=0.0):
    """C = H = Dk = Dv = Cout = 1 with every kernel 1: q = query, k = key, v = value."""
    one = np.ones((1, 1, 1))
    return [one, np.zeros((1, 1)), one, np.zeros((1, 1)), one, np.zeros((1, 1)), one,
            np.array([bo])]


def test_mha_by_hand():
    # scores = q * k = ln(3) * [0, 1] -> probs [1/4, 3/4]; out = 1/4 * 0 + 3/4 * 1.
    query = np.array([[[math.log(3.0)]]])
    value = np.array([[[0.0], [1.0]]])
    out, probs = ref.mha_forward(query, value, None, _scalar_mha_params(), 1)
    np.testing.assert_allclose(probs, [[[[0.25, 0.75]]]], rtol=1e-14)
    np.testing.assert_allclose(out, [[[0.75]]], rtol=1e-14)

    # masking the second step leaves all weight on the first: out = 0
    out, probs = ref.mha_forward(query, value, None, _scalar_mha_params(), 1,
                                 value_mask=np.array([[1, 0]]))
    np.testing.assert_allclose(probs, [[[[1.0, 0.0]]]])
    np.testing.assert_allclose(out, [[[0.0]]])

    # fully masked: zero probabilities, out = output bias, zero input gradients, no NaN
    bo = 0.5
    for opts in [dict(value_mask=np.array([[0, 0]])), dict(query_mask=np.array([[0]])),
                 dict(attention_mask=np.zeros((1, 1, 2)))]:
        out, probs = ref.mha_forward(query, value, None, _scalar_mha_params(bo), 1, **opts)
        np.testing.assert_array_equal(probs, 0.0)
        np.testing.assert_array_equal(out, [[[bo]]])
        dq, dv, dk, dp = ref.mha_backward(query, value, None, _scalar_mha_params(bo), 1,
                                          np.array([[[2.0]]]), **opts)
        np.testing.assert_array_equal(dq, 0.0)
        np.testing.assert_array_equal(dv, 0.0)
        assert dk is None
        np.testing.assert_array_equal(dp["output_bias"], [2.0])
        for name in ("query_kernel", "key_kernel", "value_kernel", "output_kernel"):
            np.testing.assert_array_equal(dp[name], 0.0)


def test_mha_causal_by_hand():
    # with a zero query kernel all scores are 0, so each row is uniform over s <= t
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 3, 2))
    query, value, key, params = make_mha(rng, 1, 3, 3, 2, 2, 2, 2, 2)
    params["query_kernel"][:] = 0.0
    params["query_bias"][:] = 0.0
    _, probs = ref.mha_forward(x, x, None, params, 2, use_causal_mask=True)
    expected = np.array([[1, 0, 0], [1 / 2, 1 / 2, 0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(probs[0, 0], expected, rtol=1e-14)
    np.testing.assert_allclose(probs[0, 1], expected, rtol=1e-14)
    np.testing.assert_array_equal(ref.causal_mask(2, 3), [[1, 0, 0], [1, 1, 0]])


def test_mha_param_list_forms():
    rng = np.random.default_rng(5)
    query, value, key, params = make_mha(rng, 2, 3, 3, 4, 2, 3, 2, 4)
    as_list = [params[n] for n in ref.MHA_PARAM_NAMES]
    out_d, _ = ref.mha_forward(query, value, key, params, 2)
    out_l, _ = ref.mha_forward(query, value, key, as_list, 2)
    np.testing.assert_array_equal(out_d, out_l)
    dy = rng.normal(size=out_d.shape)
    *_, dp = ref.mha_backward(query, value, key, as_list, 2, dy)
    grads = ref.mha_grads_as_list(dp)
    assert [g.shape for g in grads] == [p.shape for p in as_list]

    no_bias = {n: (None if "bias" in n else params[n]) for n in ref.MHA_PARAM_NAMES}
    out_d, _ = ref.mha_forward(query, value, key, no_bias, 2)
    out_l, _ = ref.mha_forward(query, value, key, as_list[0::2], 2)
    np.testing.assert_array_equal(out_d, out_l)
    *_, dp = ref.mha_backward(query, value, key, as_list[0::2], 2, dy)
    assert len(ref.mha_grads_as_list(dp)) == 4

    with pytest.raises(ValueError):
        ref.mha_forward(query, value, key, params, 3)


def test_masked_softmax_ignores_masked_scores():
    scores = np.array([[0.0, 1e6, math.log(2.0)], [5.0, 5.0, 5.0]])
    allowed = np.array([[True, False, True], [False, False, False]])
    probs = ref.masked_softmax(scores, allowed)
    np.testing.assert_allclose(probs, [[1 / 3, 0, 2 / 3], [0, 0, 0]], rtol=1e-14)


# --------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------


def test_average_pooling_by_hand():
    x = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
                  [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]])
    np.testing.assert_allclose(ref.global_average_pooling_forward(x), [[3, 4], [2, 2]])
    mask = np.array([[1, 0, 1], [0, 0, 0]])
    np.testing.assert_allclose(ref.global_average_pooling_forward(x, mask), [[3, 4], [0, 0]])
    dx = ref.global_average_pooling_backward(x, mask, np.array([[2.0, 4.0], [1.0, 1.0]]))
    np.testing.assert_allclose(dx, [[[1, 2], [0, 0], [1, 2]], [[0, 0], [0, 0], [0, 0]]])


def test_max_pooling_by_hand():
    x = np.array([[[1.0, 9.0], [3.0, 3.0], [3.0, 2.0]]])
    np.testing.assert_allclose(ref.global_max_pooling_forward(x), [[3, 9]])
    mask = np.array([[0, 1, 1]])  # hides the 9
    np.testing.assert_allclose(ref.global_max_pooling_forward(x, mask), [[3, 3]])
    # tie at t=1 and t=2 in channel 0: the first one gets the gradient
    dx = ref.global_max_pooling_backward(x, mask, np.array([[5.0, 7.0]]))
    np.testing.assert_allclose(dx, [[[0, 0], [5, 7], [0, 0]]])
    # all masked row -> 0 output, 0 gradient, even with negative values
    x2 = -np.ones((1, 2, 2))
    np.testing.assert_array_equal(ref.global_max_pooling_forward(x2, [[0, 0]]), [[0, 0]])
    np.testing.assert_array_equal(ref.global_max_pooling_backward(x2, [[0, 0]], [[1, 1]]), 0)


POOL_CASES = {
    "no_mask": ((3, 7, 5), None),
    "partial_and_full": ((3, 7, 5), [[1, 0, 1, 1, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0],
                                     [0, 0, 0, 0, 0, 0, 1]]),
    "single_step": ((1, 1, 1), None),
    "single_step_masked": ((1, 1, 1), [[0]]),
}


@pytest.mark.parametrize("name", list(POOL_CASES))
def test_pooling_grads(name):
    shape, mask = POOL_CASES[name]
    mask = None if mask is None else np.array(mask, dtype=bool)
    rng = np.random.default_rng(6)
    # distinct values spaced well beyond eps, so no max ties under the perturbation
    x = rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) * 0.1
    x += rng.uniform(-0.01, 0.01, size=shape)
    dy = rng.normal(size=(shape[0], shape[2]))

    dx = ref.global_average_pooling_backward(x, mask, dy)
    assert_grad(lambda a: np.sum(ref.global_average_pooling_forward(a, mask) * dy), x, dx,
                "avg dx")
    dx = ref.global_max_pooling_backward(x, mask, dy)
    assert_grad(lambda a: np.sum(ref.global_max_pooling_forward(a, mask) * dy), x, dx,
                "max dx")


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------


def test_sparse_categorical_crossentropy_by_hand():
    loss, _ = ref.sparse_categorical_crossentropy([2], np.zeros((1, 4)), from_logits=True)
    assert loss == pytest.approx(math.log(4.0), rel=1e-14)
    # unnormalised probabilities [2, 3, 5] -> [0.2, 0.3, 0.5]
    loss, _ = ref.sparse_categorical_crossentropy([1, 2], [[2.0, 3.0, 5.0], [0.2, 0.3, 0.5]])
    assert loss == pytest.approx(-(math.log(0.3) + math.log(0.5)) / 2, rel=1e-14)
    # logits gradient = (softmax - onehot) / N
    _, d = ref.sparse_categorical_crossentropy([0], [[0.0, math.log(3.0)]], from_logits=True)
    np.testing.assert_allclose(d, [[0.25 - 1, 0.75]], rtol=1e-14)
    # clipped: p[y] < 1e-7 -> loss = -log(1e-7), gradient 0
    loss, d = ref.sparse_categorical_crossentropy([0], [[1e-10, 1.0]])
    assert loss == pytest.approx(-math.log(1e-7), rel=1e-12)
    np.testing.assert_array_equal(d, 0.0)
    # large logits stay finite
    loss, d = ref.sparse_categorical_crossentropy([1], [[1000.0, -1000.0]], from_logits=True)
    assert loss == pytest.approx(2000.0) and np.all(np.isfinite(d))


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 7, 4), (6, 1, 2)])
def test_sparse_categorical_crossentropy_grad(from_logits, shape):
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, shape[-1], size=shape[:-1])
    if from_logits:
        y_pred = rng.normal(scale=2.0, size=shape)
    else:
        y_pred = rng.uniform(0.1, 1.0, size=shape)  # unnormalised, away from the clip
    loss, d = ref.sparse_categorical_crossentropy(y_true, y_pred, from_logits)
    assert d.shape == y_pred.shape
    f = lambda a: ref.sparse_categorical_crossentropy(y_true, a, from_logits)[0]
    assert_grad(f, y_pred, d, "dy_pred")
    # y_true with a trailing axis of 1 means the same
    loss2, d2 = ref.sparse_categorical_crossentropy(y_true[..., None], y_pred, from_logits)
    assert loss2 == loss
    np.testing.assert_array_equal(d2, d)


def test_binary_crossentropy_by_hand():
    loss, _ = ref.binary_crossentropy([1.0, 0.0], [0.5, 0.25])
    assert loss == pytest.approx((math.log(2.0) - math.log(0.75)) / 2, rel=1e-12)
    loss, d = ref.binary_crossentropy([1.0], [0.0], from_logits=True)
    assert loss == pytest.approx(math.log(2.0), rel=1e-14)
    np.testing.assert_allclose(d, [-0.5], rtol=1e-14)
    # clipped probabilities: loss -log(1e-7), zero gradient
    loss, d = ref.binary_crossentropy([[1.0], [0.0]], [[0.0], [1.0]])
    assert loss == pytest.approx(-math.log(1e-7), rel=1e-9)
    np.testing.assert_array_equal(d, 0.0)
    # large logits stay finite
    loss, d = ref.binary_crossentropy([0.0, 1.0], [1000.0, -1000.0], from_logits=True)
    assert loss == pytest.approx(1000.0) and np.all(np.isfinite(d))


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("true_shape,pred_shape", [((1,), (1,)), ((7,), (7,)),
                                                   ((5, 1), (5, 1)), ((5,), (5, 1))])
def test_binary_crossentropy_grad(from_logits, true_shape, pred_shape):
    rng = np.random.default_rng(8)
    y_true = (rng.random(true_shape) > 0.5).astype(np.float64)
    if from_logits:
        y_pred = rng.normal(scale=2.0, size=pred_shape)
    else:
        y_pred = rng.uniform(0.05, 0.95, size=pred_shape)
    loss, d = ref.binary_crossentropy(y_true, y_pred, from_logits)
    assert d.shape == y_pred.shape
    f = lambda a: ref.binary_crossentropy(y_true, a, from_logits)[0]
    assert_grad(f, y_pred, d, "dy_pred")


def test_binary_crossentropy_logits_agree_with_probabilities():
    rng = np.random.default_rng(9)
    y = (rng.random(6) > 0.5).astype(np.float64)
    z = rng.normal(size=6)
    loss_z, _ = ref.binary_crossentropy(y, z, from_logits=True)
    loss_p, _ = ref.binary_crossentropy(y, ref.sigmoid(z), from_logits=False)
    assert loss_z == pytest.approx(loss_p, rel=1e-6)


def test_categorical_crossentropy_by_hand():
    # Keras's docstring example: rows [0.05, 0.95, 0] and [0.1, 0.8, 0.1].
    loss, _ = ref.categorical_crossentropy([[0, 1, 0], [0, 0, 1]],
                                           [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    assert loss == pytest.approx((-math.log(0.95) - math.log(0.1)) / 2, rel=1e-12)
    # one-hot targets equal the sparse loss, logits and probabilities alike
    z = np.array([[0.3, -1.0, 2.0], [1.0, 1.0, 0.0]])
    for logits, pred in ((True, z), (False, ref.softmax(z))):
        a = ref.categorical_crossentropy(np.eye(3)[[2, 0]], pred, logits)
        b = ref.sparse_categorical_crossentropy([2, 0], pred, logits)
        assert a[0] == pytest.approx(b[0], rel=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-10, atol=1e-14)
    # label smoothing 0.3 over 2 classes: targets [0.15, 0.85]
    loss, _ = ref.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]], label_smoothing=0.3)
    assert loss == pytest.approx(math.log(2.0), rel=1e-12)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("shape", [(1, 2), (5, 3), (2, 3, 4)])
def test_categorical_crossentropy_grad(from_logits, smoothing, shape):
    rng = np.random.default_rng(11)
    y_true = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])  # soft targets
    y_pred = (rng.normal(scale=2.0, size=shape) if from_logits
              else rng.uniform(0.1, 1.0, size=shape))  # unnormalised, away from the clip
    w = rng.uniform(0.0, 2.0, shape[0])
    loss, d = ref.categorical_crossentropy(y_true, y_pred, from_logits, smoothing, w)
    assert d.shape == y_pred.shape
    f = lambda a: ref.categorical_crossentropy(y_true, a, from_logits, smoothing, w)[0]
    assert_grad(f, y_pred, d, "dy_pred")


@pytest.mark.parametrize("from_logits", [True, False])
def test_binary_crossentropy_weighted_grad(from_logits):
    rng = np.random.default_rng(12)
    y_true = (rng.random((4, 3)) > 0.5).astype(np.float64)
    y_pred = rng.normal(size=(4, 3)) if from_logits else rng.uniform(0.05, 0.95, (4, 3))
    w = rng.uniform(0.0, 2.0, 4)
    loss, d = ref.binary_crossentropy_weighted(y_true, y_pred, from_logits, 0.1, w)
    f = lambda a: ref.binary_crossentropy_weighted(y_true, a, from_logits, 0.1, w)[0]
    assert_grad(f, y_pred, d, "dy_pred")
    # unit weights, no smoothing: the plain binary loss
    plain = ref.binary_crossentropy(y_true, y_pred, from_logits)
    again = ref.binary_crossentropy_weighted(y_true, y_pred, from_logits)
    assert again[0] == pytest.approx(plain[0], rel=1e-12)
    np.testing.assert_allclose(again[1], plain[1], rtol=1e-12)


def test_regression_losses_by_hand():
    y, p = [[1.0, 2.0], [0.0, 0.0]], [[1.0, 0.0], [3.0, 0.5]]
    assert ref.mean_squared_error(y, p)[0] == pytest.approx((0 + 4 + 9 + 0.25) / 4)
    assert ref.mean_absolute_error(y, p)[0] == pytest.approx((0 + 2 + 3 + 0.5) / 4)
    # Huber(1): 0, 2 - 0.5, 3 - 0.5, 0.125
    assert ref.huber(y, p)[0] == pytest.approx((0 + 1.5 + 2.5 + 0.125) / 4)
    # weights: sample 0 counts twice, sample 1 not at all; N stays 4
    assert ref.mean_squared_error(y, p, [2.0, 0.0])[0] == pytest.approx(2 * 4 / 4)
    # MAE's gradient is 0 where the prediction is exact (as sign(0) in Keras)
    assert ref.mean_absolute_error(y, p)[1][0, 0] == 0.0


@pytest.mark.parametrize("loss", ["mean_squared_error", "mean_absolute_error", "huber"])
@pytest.mark.parametrize("true_shape,pred_shape", [((5,), (5,)), ((5,), (5, 1)),
                                                   ((4, 3), (4, 3))])
def test_regression_losses_grad(loss, true_shape, pred_shape):
    rng = np.random.default_rng(13)
    y_true = rng.normal(size=true_shape)
    y_pred = rng.normal(scale=2.0, size=pred_shape)
    w = rng.uniform(0.0, 2.0, pred_shape[0])
    fn = getattr(ref, loss)
    value, d = fn(y_true, y_pred, sample_weight=w)
    assert d.shape == y_pred.shape
    assert_grad(lambda a: fn(y_true, a, sample_weight=w)[0], y_pred, d, "dy_pred")


# --------------------------------------------------------------------------------------
# Optimizers
# --------------------------------------------------------------------------------------


def test_sgd_by_hand():
    w, g = np.array([1.0]), np.array([0.5])
    new_w, m = ref.sgd_step(w, g, None, lr=0.1)
    np.testing.assert_allclose(new_w, [0.95])
    assert m is None
    # momentum 0.9: m1 = -0.05, w1 = 0.95; m2 = -0.095, w2 = 0.855
    w1, m1 = ref.sgd_step(w, g, None, lr=0.1, momentum=0.9)
    np.testing.assert_allclose([w1[0], m1[0]], [0.95, -0.05])
    w2, m2 = ref.sgd_step(w1, g, m1, lr=0.1, momentum=0.9)
    np.testing.assert_allclose([w2[0], m2[0]], [0.855, -0.095])
    # nesterov: m1 = -0.05, w1 = 1 + 0.9 * -0.05 - 0.05 = 0.905
    w1, m1 = ref.sgd_step(w, g, None, lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose([w1[0], m1[0]], [0.905, -0.05])
    np.testing.assert_array_equal(w, [1.0])  # inputs untouched


def test_adam_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([2.0, -0.5])
    # step 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1
    #         -> w -= lr * g / (|g| + eps / sqrt(0.001))
    eps = 1e-7
    new_w, m, v = ref.adam_step(w, g, None, None, 1, lr=1e-3, epsilon=eps)
    np.testing.assert_allclose(m, 0.1 * g)
    np.testing.assert_allclose(v, 0.001 * g * g)
    np.testing.assert_allclose(new_w, w - 1e-3 * g / (np.abs(g) + eps / math.sqrt(0.001)),
                               rtol=1e-14)
    # step 2 from that state, formula written out
    m0, v0 = m.copy(), v.copy()
    w2, m2, v2 = ref.adam_step(new_w, g, m, v, 2, lr=1e-3, epsilon=eps)
    em = m0 + (g - m0) * 0.1
    ev = v0 + (g * g - v0) * 0.001
    alpha = 1e-3 * math.sqrt(1 - 0.999**2) / (1 - 0.9**2)
    np.testing.assert_allclose(w2, new_w - alpha * em / (np.sqrt(ev) + eps), rtol=1e-14)
    np.testing.assert_array_equal(m, m0)  # state inputs untouched
    np.testing.assert_array_equal(v, v0)


def test_adamw_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([2.0, -0.5])
    new_w, m, v = ref.adamw_step(w, g, None, None, 1, lr=1e-3, weight_decay=0.004)
    decayed = w - w * 0.004 * 1e-3
    expected, em, ev = ref.adam_step(decayed, g, None, None, 1, lr=1e-3)
    np.testing.assert_allclose(new_w, expected, rtol=1e-15)
    np.testing.assert_array_equal(w, [1.0, -2.0])


def test_rmsprop_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([2.0, -0.5])
    # plain: v = 0.1 g^2, w -= lr g / sqrt(v + eps)
    w1, s1 = ref.rmsprop_step(w, g, None, lr=0.01, rho=0.9)
    np.testing.assert_allclose(s1["v"], 0.1 * g * g, rtol=1e-15)
    np.testing.assert_allclose(w1, w - 0.01 * g / np.sqrt(0.1 * g * g + 1e-7), rtol=1e-15)
    assert set(s1) == {"v"}
    # centered: a = 0.1 g, d = 0.1 g^2 - 0.01 g^2 + eps = 0.09 g^2 + eps
    w1, s1 = ref.rmsprop_step(w, g, None, lr=0.01, centered=True)
    np.testing.assert_allclose(s1["a"], 0.1 * g, rtol=1e-15)
    np.testing.assert_allclose(w1, w - 0.01 * g / np.sqrt(0.09 * g * g + 1e-7), rtol=1e-12)
    # momentum: m1 = inc1, m2 = 0.5 m1 + inc2, w2 = w1 - m2
    w1, s1 = ref.rmsprop_step(w, g, None, lr=0.01, momentum=0.5)
    inc1 = 0.01 * g / np.sqrt(0.1 * g * g + 1e-7)
    np.testing.assert_allclose(s1["m"], inc1, rtol=1e-15)
    m1 = s1["m"].copy()
    w2, s2 = ref.rmsprop_step(w1, g, s1, lr=0.01, momentum=0.5)
    v2 = 0.9 * 0.1 * g * g + 0.1 * g * g
    inc2 = 0.01 * g / np.sqrt(v2 + 1e-7)
    np.testing.assert_allclose(w2, w1 - (0.5 * inc1 + inc2), rtol=1e-14)
    np.testing.assert_array_equal(s1["m"], m1)  # state inputs untouched


def test_adagrad_by_hand():
    w, g = np.array([1.0, -2.0]), np.array([2.0, -0.5])
    w1, acc = ref.adagrad_step(w, g, None, lr=0.1, initial_accumulator_value=0.1)
    np.testing.assert_allclose(acc, 0.1 + g * g, rtol=1e-15)
    np.testing.assert_allclose(w1, w - 0.1 * g / np.sqrt(0.1 + g * g + 1e-7), rtol=1e-15)
    w2, acc2 = ref.adagrad_step(w1, g, acc, lr=0.1)
    np.testing.assert_allclose(acc2, 0.1 + 2 * g * g, rtol=1e-15)
    np.testing.assert_allclose(acc, 0.1 + g * g, rtol=1e-15)  # input untouched


def test_clip_by_value_and_decay_by_hand():
    np.testing.assert_array_equal(ref.clip_by_value(np.array([-3.0, 0.2, 5.0, np.nan]), 1.0),
                                  [-1.0, 0.2, 1.0, np.nan])
    np.testing.assert_allclose(ref.decay_weights(np.array([2.0, -4.0]), 0.1, 0.5),
                               [1.9, -3.8], rtol=1e-15)


def test_clip_by_global_norm_by_hand():
    grads = [np.array([3.0]), np.array([[4.0]])]
    clipped = ref.clip_by_global_norm(grads, 1.0)
    np.testing.assert_allclose(clipped[0], [0.6])
    np.testing.assert_allclose(clipped[1], [[0.8]])
    same = ref.clip_by_global_norm(grads, 10.0)
    np.testing.assert_array_equal(same[0], [3.0])
    assert same[0] is not grads[0]
    np.testing.assert_allclose(ref.clip_by_norm(np.array([3.0, 4.0]), 2.5), [1.5, 2.0])
    np.testing.assert_array_equal(ref.clip_by_norm(np.array([3.0, 4.0]), 5.0), [3.0, 4.0])


# --------------------------------------------------------------------------------------
# Activations on their own (the Activation layer)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ref.ACTIVATIONS)
def test_activation_grad(activation):
    rng = np.random.default_rng(10)
    z = rng.normal(size=(2, 3, 5))
    z[np.abs(z) < 1e-3] = 0.5  # away from the relu kink
    dy = rng.normal(size=z.shape)
    dz = ref.activation_backward(z, activation, dy)
    assert_grad(lambda a: np.sum(ref.activation_forward(a, activation) * dy), z, dz, "dz")


# --------------------------------------------------------------------------------------
# LayerNormalization
# --------------------------------------------------------------------------------------


def test_layer_norm_by_hand():
    # row [1, 2, 3]: mean 2, var 2/3 -> norm = [-1, 0, 1] / sqrt(2/3 + eps)
    eps = 1e-3
    y = ref.layer_norm_forward(np.array([[1.0, 2.0, 3.0]]), epsilon=eps)
    np.testing.assert_allclose(y, [[-1, 0, 1]] / np.sqrt(2 / 3 + eps), rtol=1e-14)
    y = ref.layer_norm_forward(np.array([[1.0, 2.0, 3.0]]), np.array([2.0, 1.0, 0.5]),
                               np.array([0.0, 10.0, -1.0]), eps)
    s = 1 / np.sqrt(2 / 3 + eps)
    np.testing.assert_allclose(y, [[-2 * s, 10.0, 0.5 * s - 1]], rtol=1e-14)
    # a constant row normalises to 0 (then beta), finite thanks to epsilon
    np.testing.assert_array_equal(ref.layer_norm_forward(np.full((1, 4), 7.0)), 0.0)
    # dbeta sums dy over rows, dgamma sums dy * norm
    x = np.array([[1.0, 3.0], [0.0, 0.0]])
    _, dg, db = ref.layer_norm_backward(x, np.ones(2), np.zeros(2), eps,
                                        np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose(db, [4.0, 6.0])
    n = 1 / np.sqrt(1 + eps)  # row 0: norm = [-n, n]; row 1: norm = 0
    np.testing.assert_allclose(dg, [-n, 2 * n], rtol=1e-14)


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 1), (4, 5), (2, 7, 3), (3, 1, 6)])
@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
def test_layer_norm_grad(shape, center, scale):
    rng = np.random.default_rng(11)
    x = rng.normal(size=shape) * 2 + 1
    gamma = rng.normal(size=shape[-1]) if scale else None
    beta = rng.normal(size=shape[-1]) if center else None
    eps = 1e-3
    dy = rng.normal(size=shape)
    dx, dg, db = ref.layer_norm_backward(x, gamma, beta, eps, dy)
    f = lambda a, g=gamma, b=beta: np.sum(ref.layer_norm_forward(a, g, b, eps) * dy)  # noqa: E731
    assert_grad(f, x, dx, "dx")
    if scale:
        assert_grad(lambda g: f(x, g=g), gamma, dg, "dgamma")
    else:
        assert dg is None
    if center:
        assert_grad(lambda b: f(x, b=b), beta, db, "dbeta")
    else:
        assert db is None


# --------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------


def test_counter_uniform01_is_uniform_and_repeatable():
    u = ref.counter_uniform01(42, 3, np.arange(20000))
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(np.mean(u < 0.3) - 0.3) < 0.01
    np.testing.assert_array_equal(u, ref.counter_uniform01(42, 3, np.arange(20000)))
    assert not np.array_equal(u, ref.counter_uniform01(42, 4, np.arange(20000)))
    assert not np.array_equal(u, ref.counter_uniform01(43, 3, np.arange(20000)))
    np.testing.assert_array_equal(u * 2**24, np.round(u * 2**24))  # 24-bit values
    # a known value of the splitmix64 chain (computed once from cpp/rng.hpp's formula)
    assert ref._splitmix64(np.uint64(0)) == np.uint64(0xE220A8397B1DCDAF)


@pytest.mark.parametrize("shape,rate", [((1, 1), 0.5), ((3, 4), 0.25), ((2, 5, 3), 0.6)])
def test_dropout_grad(shape, rate):
    rng = np.random.default_rng(12)
    x = rng.normal(size=shape)
    keep = ref.dropout_keep(7, 1, shape, rate)
    dy = rng.normal(size=shape)
    y = ref.dropout_forward(x, keep, rate)
    np.testing.assert_allclose(y, np.where(keep, x / (1 - rate), 0.0), rtol=1e-15)
    dx = ref.dropout_backward(x, keep, rate, dy)
    assert_grad(lambda a: np.sum(ref.dropout_forward(a, keep, rate) * dy), x, dx, "dx")


# --------------------------------------------------------------------------------------
# Add
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("k,shape", [(2, (1, 1)), (3, (2, 5, 3)), (4, (3, 4))])
def test_add_grad(k, shape):
    rng = np.random.default_rng(13)
    xs = [rng.normal(size=shape) for _ in range(k)]
    dy = rng.normal(size=shape)
    np.testing.assert_allclose(ref.add_forward(xs), np.sum(xs, axis=0), rtol=1e-15)
    dxs = ref.add_backward(xs, dy)
    for i in range(k):
        def f(a, i=i):
            return np.sum(ref.add_forward(xs[:i] + [a] + xs[i + 1:]) * dy)
        assert_grad(f, xs[i], dxs[i], f"dx{i}")


def test_add_mask_is_and_of_present_masks():
    a = np.array([[1, 1, 0]], bool)
    b = np.array([[0, 1, 1]], bool)
    np.testing.assert_array_equal(ref.add_mask([a, None, b]), [[0, 1, 0]])
    np.testing.assert_array_equal(ref.add_mask([None, a]), a)
    assert ref.add_mask([None, None]) is None


# --------------------------------------------------------------------------------------
# Position encodings
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("B,T,Tmax,C", [(1, 1, 1, 1), (2, 5, 7, 3), (3, 4, 4, 2)])
def test_position_embedding_grad(B, T, Tmax, C):
    rng = np.random.default_rng(14)
    x = rng.normal(size=(B, T, C))
    W = rng.normal(size=(Tmax, C))
    dy = rng.normal(size=(B, T, C))
    y = ref.position_embedding_forward(x, W)
    np.testing.assert_array_equal(y, np.broadcast_to(W[:T], (B, T, C)))
    dx, dW = ref.position_embedding_backward(x, W, dy)
    assert_grad(lambda a: np.sum(ref.position_embedding_forward(a, W) * dy), x, dx, "dx")
    assert_grad(lambda a: np.sum(ref.position_embedding_forward(x, a) * dy), W, dW, "dW")
    assert not dx.any() and not dW[T:].any()


def test_sine_position_encoding_by_hand():
    # C = 4: timescales [1, 1, 1e-2, 1e-2] with max_wavelength 1e4
    y = ref.sine_position_encoding(np.zeros((2, 3, 4)))
    np.testing.assert_allclose(y[0, 0], [0, 1, 0, 1], atol=1e-15)
    np.testing.assert_allclose(y[1, 1], [math.sin(1), math.cos(1), math.sin(1e-2),
                                         math.cos(1e-2)], rtol=1e-14)
    np.testing.assert_allclose(y[0, 2], [math.sin(2), math.cos(2), math.sin(2e-2),
                                         math.cos(2e-2)], rtol=1e-14)
    # odd C: channel 2 of 3 has timescale 10 ** (-2 * 1 / 3) with max_wavelength 10
    y = ref.sine_position_encoding(np.zeros((1, 2, 3)), max_wavelength=10.0)
    np.testing.assert_allclose(y[0, 1], [math.sin(1), math.cos(1), math.sin(10 ** (-2 / 3))],
                               rtol=1e-14)
    # the output ignores x's values: zero gradient
    x = np.random.default_rng(15).normal(size=(1, 2, 3))
    g = ref.numerical_grad(lambda a: np.sum(ref.sine_position_encoding(a) * x), x)
    assert not g.any()


# --------------------------------------------------------------------------------------
# Weight regularizers
# --------------------------------------------------------------------------------------


def test_weight_penalty_by_hand_and_grad():
    w = np.array([[-2.0, 0.5], [1.5, -0.25]])
    p, g = ref.weight_penalty(w, l1=0.1, l2=0.3)
    assert p == pytest.approx(0.1 * 4.25 + 0.3 * (4 + 0.25 + 2.25 + 0.0625), rel=1e-15)
    np.testing.assert_allclose(g, 0.1 * np.sign(w) + 0.6 * w, rtol=1e-15)
    assert_grad(lambda a: ref.weight_penalty(a, 0.1, 0.3)[0], w, g, "weight_penalty")
    assert not ref.weight_penalty(np.zeros(3), 0.5, 0.0)[1].any()  # sign(0) = 0


# Conv1D, MaxPooling1D, AveragePooling1D
# --------------------------------------------------------------------------------------


def test_window_geometry_matches_keras_formulas():
    # valid: floor((T - span) / s) + 1; same/causal: ceil(T / s); TF puts the odd pad right
    assert ref.window_geometry(10, 3) == (8, 0)
    assert ref.window_geometry(10, 3, 3) == (3, 0)
    assert ref.window_geometry(10, 3, 1, "valid", 2) == (6, 0)
    assert ref.window_geometry(10, 4, 1, "same") == (10, 1)  # total 3: 1 left, 2 right
    assert ref.window_geometry(10, 3, 2, "same") == (5, 0)   # total 1: 0 left, 1 right
    assert ref.window_geometry(10, 3, 1, "causal", 2) == (10, 4)


def test_conv1d_by_hand():
    x = np.array([[[1.0], [2.0], [3.0], [4.0]]])      # (1, 4, 1)
    kernel = np.array([[[1.0]], [[10.0]]])            # (2, 1, 1): y[o] = x[o] + 10 x[o+1]
    np.testing.assert_allclose(ref.conv1d_forward(x, kernel)[0, :, 0], [21, 32, 43])
    np.testing.assert_allclose(ref.conv1d_forward(x, kernel, padding="causal")[0, :, 0],
                               [10, 21, 32, 43])      # a zero before step 0
    np.testing.assert_allclose(ref.conv1d_forward(x, kernel, padding="same")[0, :, 0],
                               [21, 32, 43, 4])       # the zero after the last step
    np.testing.assert_allclose(ref.conv1d_forward(x, kernel, np.array([0.5]), strides=2)[0, :, 0],
                               [21.5, 43.5])
    dx, dk, db = ref.conv1d_backward(x, kernel, None, 1, "valid", 1, "linear",
                                     np.ones((1, 3, 1)))
    np.testing.assert_allclose(dx[0, :, 0], [1, 11, 11, 10])
    np.testing.assert_allclose(dk[:, 0, 0], [1 + 2 + 3, 2 + 3 + 4])


@pytest.mark.parametrize("activation", ["linear", "tanh", "sigmoid", "softmax", "gelu"])
@pytest.mark.parametrize("geometry", [(3, 1, "valid", 1), (3, 2, "valid", 1), (2, 3, "same", 1),
                                      (4, 1, "same", 1), (3, 1, "causal", 2), (1, 1, "valid", 1),
                                      (3, 1, "same", 2), (5, 2, "causal", 1)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv1d_grad(activation, geometry, use_bias):
    K, s, padding, d = geometry
    rng = np.random.default_rng(5)
    B, T, C, F = 2, 9, 3, 4
    x = rng.normal(size=(B, T, C))
    kernel = rng.normal(size=(K, C, F))
    bias = rng.normal(size=(F,)) if use_bias else None
    To, _ = ref.window_geometry(T, K, s, padding, d)
    dy = rng.normal(size=(B, To, F))
    args = (s, padding, d, activation)
    dx, dk, db = ref.conv1d_backward(x, kernel, bias, *args, dy)
    assert_grad(lambda a: np.sum(ref.conv1d_forward(a, kernel, bias, *args) * dy), x, dx, "dx")
    assert_grad(lambda a: np.sum(ref.conv1d_forward(x, a, bias, *args) * dy), kernel, dk, "dk")
    if use_bias:
        assert_grad(lambda a: np.sum(ref.conv1d_forward(x, kernel, a, *args) * dy), bias, db, "db")
    else:
        assert db is None


def test_pool1d_by_hand():
    x = np.array([[[1.0], [5.0], [3.0], [3.0], [2.0]]])  # (1, 5, 1)
    np.testing.assert_allclose(ref.pool1d_forward(x, "max")[0, :, 0], [5, 3])
    np.testing.assert_allclose(ref.pool1d_forward(x, "max", 2, None, "same")[0, :, 0], [5, 3, 2])
    np.testing.assert_allclose(ref.pool1d_forward(x, "average")[0, :, 0], [3, 3])
    # same: the last window holds only step 4 (the padding is not counted)
    np.testing.assert_allclose(ref.pool1d_forward(x, "average", 2, None, "same")[0, :, 0],
                               [3, 3, 2])
    # windows [0, 3), [2, 5): the tie 3, 3 sends the gradient to the first; step 2 wins twice
    np.testing.assert_allclose(ref.pool1d_backward(x, "max", 3, 2, "valid", np.ones((1, 2, 1)))
                               [0, :, 0], [0, 1, 1, 0, 0])
    x[0, 3, 0] = np.nan
    assert np.isnan(ref.pool1d_forward(x, "max")[0, 1, 0])


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("geometry", [(2, None, "valid"), (3, 1, "valid"), (3, 2, "same"),
                                      (4, 3, "same"), (1, 1, "valid"), (2, 5, "valid")])
def test_pool1d_grad(mode, geometry):
    P, s, padding = geometry
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 9, 3))
    To, _ = ref.window_geometry(9, P, s or P, padding)
    dy = rng.normal(size=(2, To, 3))
    dx = ref.pool1d_backward(x, mode, P, s, padding, dy)
    assert_grad(lambda a: np.sum(ref.pool1d_forward(a, mode, P, s, padding) * dy), x, dx, "dx")


# Merge layers and shape layers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["add", "subtract", "multiply", "average", "maximum", "minimum"])
@pytest.mark.parametrize("k,shape", [(2, (1, 1)), (3, (2, 5, 3)), (4, (3, 4))])
def test_merge_grad(op, k, shape):
    k = 2 if op == "subtract" else k
    rng = np.random.default_rng(17)
    xs = [rng.normal(size=shape) for _ in range(k)]  # distinct values: no ties
    dy = rng.normal(size=shape)
    dxs = ref.merge_backward(op, xs, dy)
    for i in range(k):
        def f(a, i=i):
            return np.sum(ref.merge_forward(op, xs[:i] + [a] + xs[i + 1:]) * dy)
        assert_grad(f, xs[i], dxs[i], f"{op} dx{i}")


def test_merge_by_hand():
    a, b, c = np.array([[1.0, 5.0, np.nan]]), np.array([[3.0, 5.0, 1.0]]), np.array([[2.0, 0, 0]])
    np.testing.assert_array_equal(ref.merge_forward("subtract", [a, b]), [[-2, 0, np.nan]])
    np.testing.assert_array_equal(ref.merge_forward("multiply", [a, b, c]), [[6, 0, np.nan]])
    np.testing.assert_array_equal(ref.merge_forward("average", [a, b]), [[2, 5, np.nan]])
    np.testing.assert_array_equal(ref.merge_forward("maximum", [a, b, c]), [[3, 5, np.nan]])
    np.testing.assert_array_equal(ref.merge_forward("minimum", [a, b, c]), [[1, 0, np.nan]])
    # a tie shares dy; a NaN result sends dy to the NaN input
    dy = np.array([[1.0, 4.0, 2.0]])
    da, db, dc = ref.merge_backward("maximum", [a, b, c], dy)
    np.testing.assert_array_equal(da, [[0, 2, 2]])
    np.testing.assert_array_equal(db, [[1, 2, 0]])
    np.testing.assert_array_equal(dc, [[0, 0, 0]])


@pytest.mark.parametrize("axis,shapes", [(1, [(2, 3, 4), (2, 1, 4)]), (2, [(2, 3, 4), (2, 3, 2), (2, 3, 1)]),
                                         (1, [(3, 2), (3, 5)])])
def test_concatenate_grad(axis, shapes):
    rng = np.random.default_rng(19)
    xs = [rng.normal(size=s) for s in shapes]
    y = ref.concatenate_forward(xs, axis)
    dy = rng.normal(size=y.shape)
    dxs = ref.concatenate_backward(xs, axis, dy)
    for i in range(len(xs)):
        def f(a, i=i):
            return np.sum(ref.concatenate_forward(xs[:i] + [a] + xs[i + 1:], axis) * dy)
        assert_grad(f, xs[i], dxs[i], f"dx{i}")


def test_concatenate_mask_follows_keras():
    xs = [np.zeros((1, 3, 2)), np.zeros((1, 2, 2))]
    m = np.array([[1, 0, 1]], bool)
    np.testing.assert_array_equal(ref.concatenate_mask(xs, [m, None], 1), [[1, 0, 1, 1, 1]])
    ys = [np.zeros((1, 3, 2))] * 2
    np.testing.assert_array_equal(ref.concatenate_mask(ys, [m, None], 2), [[1, 1, 1]])
    np.testing.assert_array_equal(ref.concatenate_mask(ys, [m, np.array([[0, 0, 1]], bool)], 2),
                                  [[1, 0, 1]])
    assert ref.concatenate_mask(ys, [None, None], 1) is None


@pytest.mark.parametrize("shape,target", [((2, 12), (3, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (2, -1, 3))])
def test_reshape_grad(shape, target):
    rng = np.random.default_rng(21)
    x = rng.normal(size=shape)
    y = ref.reshape_forward(x, target)
    dy = rng.normal(size=y.shape)
    assert_grad(lambda a: np.sum(ref.reshape_forward(a, target) * dy), x,
                ref.reshape_backward(x, dy), "reshape")


@pytest.mark.parametrize("shape,dims", [((2, 3, 4), (2, 1)), ((2, 3, 4, 5), (3, 1, 2)), ((2, 3), (1,))])
def test_permute_grad(shape, dims):
    rng = np.random.default_rng(23)
    x = rng.normal(size=shape)
    y = ref.permute_forward(x, dims)
    assert y.shape == (shape[0],) + tuple(shape[d] for d in dims)
    dy = rng.normal(size=y.shape)
    assert_grad(lambda a: np.sum(ref.permute_forward(a, dims) * dy), x,
                ref.permute_backward(dims, dy), "permute")


def test_repeat_vector_grad():
    rng = np.random.default_rng(25)
    x = rng.normal(size=(2, 3))
    y = ref.repeat_vector_forward(x, 4)
    np.testing.assert_array_equal(y[:, 2], x)
    dy = rng.normal(size=y.shape)
    assert_grad(lambda a: np.sum(ref.repeat_vector_forward(a, 4) * dy), x,
                ref.repeat_vector_backward(dy), "repeat_vector")
