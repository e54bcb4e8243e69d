"""Float64 NumPy reference (the oracle) for seqattn's layers, losses and optimizer steps.

Everything here is written straight from the math, in float64, with no dependency beyond
NumPy. The C++ core is compared against these functions; these functions are themselves
checked against central finite differences in ``tests/test_reference.py``.

Letters used for shapes:
    B batch, T query steps, S key/value steps, C channels, H heads, Dk key_dim,
    Dv value_dim, V vocabulary, K classes, U units, N samples (N = B or B*T).

Conventions shared by every function:
    * Arrays are row-major and batch first. Inputs are converted to float64 (ids to int).
    * Masks are bool or 0/1 arrays with Keras polarity: 1/True = real step / may attend,
      0/False = padding / may not attend.
    * A backward function takes the same leading arguments as its forward function plus the
      upstream gradient ``dy`` as the last positional argument (options stay keywords). It
      recomputes what it needs from the inputs. It returns gradients for the inputs and for
      every parameter; the exact form (array, tuple or dict) is given in each docstring.
      Mask and id arguments are not differentiable and get no gradient.
    * Losses return ``(mean_loss, dy_pred)``: the loss owns the 1/N.
    * Optimizer steps return new arrays and never mutate their inputs.
"""

import math

import numpy as np

# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _f64(a):
    """Returns `a` as a float64 array (a copy only if needed)."""
    return np.asarray(a, dtype=np.float64)


def _as_mask(mask):
    """Returns `mask` as a bool array, or None."""
    if mask is None:
        return None
    return np.asarray(mask).astype(bool)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def numerical_grad(f, x, eps=1e-6):
    """Central finite-difference gradient of a scalar function.

    grad[i] = (f(x + eps*e_i) - f(x - eps*e_i)) / (2*eps)

    Args:
        f: callable taking an array shaped like `x` and returning a scalar. It receives a
            fresh copy each call, so it may keep or modify what it gets.
        x: array of any shape (converted to float64).
        eps: step size.

    Returns:
        float64 array shaped like `x`.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus = x.copy()
        plus[i] += eps
        minus = x.copy()
        minus[i] -= eps
        grad[i] = (float(f(plus)) - float(f(minus))) / (2.0 * eps)
    return grad


# --------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------


def embedding_forward(ids, W):
    """Embedding lookup: y[b, t] = W[ids[b, t]].

    Args:
        ids: int array (B, T).
        W: embeddings (V, C).

    Returns:
        y: (B, T, C).
    """
    ids = np.asarray(ids)
    W = _f64(W)
    return W[ids]


def embedding_backward(ids, W_shape, dy):
    """Gradient of `embedding_forward` with respect to W (scatter-add).

    dW[v] = sum over (b, t) with ids[b, t] == v of dy[b, t]; repeated ids accumulate.

    Args:
        ids: int array (B, T).
        W_shape: (V, C).
        dy: (B, T, C).

    Returns:
        dW: (V, C).
    """
    ids = np.asarray(ids)
    dy = _f64(dy)
    dW = np.zeros(W_shape, dtype=np.float64)
    B, T = ids.shape
    for b in range(B):
        for t in range(T):
            dW[ids[b, t]] += dy[b, t]
    return dW


def embedding_mask(ids, mask_zero):
    """Keras `Embedding(mask_zero=...)` mask.

    Args:
        ids: int array (B, T).
        mask_zero: bool.

    Returns:
        bool array (B, T) equal to ids != 0 if mask_zero, else None.
    """
    if not mask_zero:
        return None
    return np.asarray(ids) != 0


def token_and_position_forward(ids, W_tok, W_pos):
    """Token embedding plus learned position embedding.

    y[b, t] = W_tok[ids[b, t]] + W_pos[t], for t < T (T may be smaller than Tmax).

    Args:
        ids: int array (B, T).
        W_tok: (V, C).
        W_pos: (Tmax, C) with Tmax >= T.

    Returns:
        y: (B, T, C).
    """
    ids = np.asarray(ids)
    W_tok = _f64(W_tok)
    W_pos = _f64(W_pos)
    T = ids.shape[1]
    if T > W_pos.shape[0]:
        raise ValueError(f"sequence length {T} exceeds position table length {W_pos.shape[0]}")
    return W_tok[ids] + W_pos[:T][None, :, :]


def token_and_position_backward(ids, W_tok_shape, W_pos_shape, dy):
    """Gradient of `token_and_position_forward`.

    dW_tok = scatter-add of dy by ids; dW_pos[t] = sum_b dy[b, t] for t < T, 0 beyond.

    Args:
        ids: int array (B, T).
        W_tok_shape: (V, C).
        W_pos_shape: (Tmax, C).
        dy: (B, T, C).

    Returns:
        tuple (dW_tok (V, C), dW_pos (Tmax, C)).
    """
    dy = _f64(dy)
    T = np.asarray(ids).shape[1]
    dW_tok = embedding_backward(ids, W_tok_shape, dy)
    dW_pos = np.zeros(W_pos_shape, dtype=np.float64)
    dW_pos[:T] = dy.sum(axis=0)
    return dW_tok, dW_pos


# --------------------------------------------------------------------------------------
# Activations and Dense
# --------------------------------------------------------------------------------------

ACTIVATIONS = ("linear", "relu", "gelu", "tanh", "sigmoid", "softmax")


def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)), written as 0.5 * (1 + tanh(z / 2)) (same value,
    no overflow)."""
    return 0.5 * (1.0 + np.tanh(0.5 * _f64(z)))


def softmax(z, axis=-1):
    """Softmax over `axis`: exp(z - max) / sum(exp(z - max))."""
    z = _f64(z)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def activation_forward(z, activation):
    """Applies a Keras activation by name ("linear" or None, "relu", "gelu", "tanh",
    "sigmoid", "softmax" over the last axis). "gelu" is the exact erf form (Keras default):
    0.5 * z * (1 + erf(z / sqrt(2)))."""
    z = _f64(z)
    if activation is None or activation == "linear":
        return z.copy()
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "gelu":
        return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))
    if activation == "tanh":
        return np.tanh(z)
    if activation == "sigmoid":
        return sigmoid(z)
    if activation == "softmax":
        return softmax(z, axis=-1)
    raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")


def activation_backward(z, activation, dy):
    """Gradient of `activation_forward(z, activation)`: returns dz shaped like z.

    relu' = 1 if z > 0 else 0; gelu' = Phi(z) + z * phi(z) with Phi the normal CDF and phi
    the normal density; tanh' = 1 - tanh^2; sigmoid' = s (1 - s);
    softmax: dz = p * (dy - sum(dy * p, last axis)).
    """
    z = _f64(z)
    dy = _f64(dy)
    if activation is None or activation == "linear":
        return dy.copy()
    if activation == "relu":
        return dy * (z > 0)
    if activation == "gelu":
        cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return dy * (cdf + z * pdf)
    if activation == "tanh":
        y = np.tanh(z)
        return dy * (1.0 - y * y)
    if activation == "sigmoid":
        s = sigmoid(z)
        return dy * s * (1.0 - s)
    if activation == "softmax":
        p = softmax(z, axis=-1)
        return p * (dy - np.sum(dy * p, axis=-1, keepdims=True))
    raise ValueError(f"unknown activation {activation!r}; expected one of {ACTIVATIONS}")


def dense_forward(x, kernel, bias=None, activation="linear"):
    """Keras Dense: y = activation(x . kernel + bias).

    Args:
        x: (B, Cin) or (B, T, Cin).
        kernel: (Cin, U).
        bias: (U,) or None.
        activation: see `activation_forward`.

    Returns:
        y: (B, U) or (B, T, U).
    """
    x = _f64(x)
    z = x @ _f64(kernel)
    if bias is not None:
        z = z + _f64(bias)
    return activation_forward(z, activation)


def dense_backward(x, kernel, bias, activation, dy):
    """Gradient of `dense_forward`.

    Args:
        x, kernel, bias, activation: as for `dense_forward`.
        dy: shaped like the output, (B, U) or (B, T, U).

    Returns:
        tuple (dx, dkernel, dbias): dx shaped like x, dkernel (Cin, U), dbias (U,) or None
        when bias is None.
    """
    x = _f64(x)
    kernel = _f64(kernel)
    z = x @ kernel  # forward: z = x . kernel + bias
    if bias is not None:
        z = z + _f64(bias)
    dz = activation_backward(z, activation, dy)  # inverts y = activation(z)
    dx = dz @ kernel.T  # inverts z = x . kernel
    x2 = x.reshape(-1, x.shape[-1])  # (N, Cin)
    dz2 = dz.reshape(-1, dz.shape[-1])  # (N, U)
    dkernel = x2.T @ dz2
    dbias = dz2.sum(axis=0) if bias is not None else None
    return dx, dkernel, dbias


# --------------------------------------------------------------------------------------
# MultiHeadAttention
# --------------------------------------------------------------------------------------

MHA_PARAM_NAMES = (
    "query_kernel",  # (C, H, Dk)
    "query_bias",  # (H, Dk)
    "key_kernel",  # (Ck, H, Dk)
    "key_bias",  # (H, Dk)
    "value_kernel",  # (Cv, H, Dv)
    "value_bias",  # (H, Dv)
    "output_kernel",  # (H, Dv, Cout)
    "output_bias",  # (Cout,)
)


def mha_params(params):
    """Normalises MultiHeadAttention parameters to a dict keyed by `MHA_PARAM_NAMES`.

    Args:
        params: either a dict with those keys (biases may be missing or None), or a list in
            Keras 3 `get_weights()` order: 8 arrays [query kernel, query bias, key kernel,
            key bias, value kernel, value bias, output kernel, output bias], or 4 arrays
            [query kernel, key kernel, value kernel, output kernel] when use_bias=False.

    Returns:
        dict name -> float64 array or None (absent bias).
    """
    if isinstance(params, dict):
        out = {name: params.get(name) for name in MHA_PARAM_NAMES}
    else:
        params = list(params)
        if len(params) == 8:
            out = dict(zip(MHA_PARAM_NAMES, params))
        elif len(params) == 4:
            out = dict(zip(MHA_PARAM_NAMES[0::2], params))
            out.update({name: None for name in MHA_PARAM_NAMES[1::2]})
        else:
            raise ValueError(f"expected 8 or 4 MultiHeadAttention weights, got {len(params)}")
    return {k: (None if v is None else _f64(v)) for k, v in out.items()}


def mha_grads_as_list(dparams):
    """Returns the gradient dict of `mha_backward` as a list in Keras `get_weights()` order,
    leaving out absent biases (so 8 arrays with biases, 4 without)."""
    return [dparams[name] for name in MHA_PARAM_NAMES if dparams[name] is not None]


def causal_mask(T, S):
    """Lower-triangular (T, S) bool mask: query step t may attend key step s iff s <= t."""
    return np.tril(np.ones((T, S), dtype=bool))


def mha_combined_mask(B, T, S, query_mask=None, value_mask=None, key_mask=None,
                      attention_mask=None, use_causal_mask=False):
    """Combines every given mask into one (B, T, S) bool array (True = may attend).

    allowed[b, t, s] = query_mask[b, t] & value_mask[b, s] & key_mask[b, s]
                       & attention_mask[b, t, s] & (s <= t if use_causal_mask)
    Each factor is used only when given; with nothing given every entry is True.
    """
    allowed = np.ones((B, T, S), dtype=bool)
    if query_mask is not None:
        allowed &= _as_mask(query_mask)[:, :, None]
    if value_mask is not None:
        allowed &= _as_mask(value_mask)[:, None, :]
    if key_mask is not None:
        allowed &= _as_mask(key_mask)[:, None, :]
    if attention_mask is not None:
        allowed &= _as_mask(attention_mask)
    if use_causal_mask:
        allowed &= causal_mask(T, S)[None, :, :]
    return allowed


def masked_softmax(scores, allowed):
    """Softmax over the last axis using only allowed entries.

    p[..., s] = allowed[..., s] * exp(scores[..., s] - m) / sum_s' allowed * exp(scores - m)
    with m the maximum over allowed entries. A row with no allowed entry gives all zeros.

    Args:
        scores: (..., S).
        allowed: bool, broadcastable to scores.

    Returns:
        probs shaped like scores.
    """
    scores = _f64(scores)
    allowed = np.broadcast_to(allowed, scores.shape)
    any_allowed = allowed.any(axis=-1, keepdims=True)
    row_max = np.max(np.where(allowed, scores, -np.inf), axis=-1, keepdims=True)
    row_max = np.where(any_allowed, row_max, 0.0)
    e = np.exp(np.where(allowed, scores - row_max, -np.inf))  # exp(-inf) = 0
    den = e.sum(axis=-1, keepdims=True)
    return np.divide(e, den, out=np.zeros_like(e), where=den > 0)


def _mha_forward_cache(query, value, key, params, num_heads, query_mask, value_mask,
                       key_mask, attention_mask, use_causal_mask, dropout_mask):
    """Forward pass keeping every intermediate (used by mha_forward and mha_backward)."""
    p = mha_params(params)
    query = _f64(query)  # (B, T, C)
    value = _f64(value)  # (B, S, Cv)
    key_given = key is not None
    key = _f64(key) if key_given else value  # (B, S, Ck)
    if not key_given and key_mask is None:
        key_mask = value_mask
    H = p["query_kernel"].shape[1]
    if num_heads != H:
        raise ValueError(f"num_heads={num_heads} but query kernel has {H} heads")
    Dk = p["query_kernel"].shape[2]
    B, T, _ = query.shape
    S = value.shape[1]

    Q = np.einsum("btc,chd->bthd", query, p["query_kernel"])  # (B, T, H, Dk)
    K = np.einsum("bsc,chd->bshd", key, p["key_kernel"])  # (B, S, H, Dk)
    V = np.einsum("bsc,chd->bshd", value, p["value_kernel"])  # (B, S, H, Dv)
    if p["query_bias"] is not None:
        Q = Q + p["query_bias"]
    if p["key_bias"] is not None:
        K = K + p["key_bias"]
    if p["value_bias"] is not None:
        V = V + p["value_bias"]

    scale = 1.0 / math.sqrt(Dk)
    scores = np.einsum("bthd,bshd->bhts", Q, K) * scale  # (B, H, T, S)
    allowed = mha_combined_mask(B, T, S, query_mask, value_mask, key_mask, attention_mask,
                                use_causal_mask)  # (B, T, S)
    probs = masked_softmax(scores, allowed[:, None, :, :])  # (B, H, T, S)
    if dropout_mask is not None:
        probs_dropped = probs * _f64(dropout_mask)  # mask already holds 1/(1-rate)
    else:
        probs_dropped = probs
    O = np.einsum("bhts,bshd->bthd", probs_dropped, V)  # (B, T, H, Dv)
    out = np.einsum("bthd,hdo->bto", O, p["output_kernel"])  # (B, T, Cout)
    if p["output_bias"] is not None:
        out = out + p["output_bias"]
    return dict(p=p, query=query, value=value, key=key, key_given=key_given, Q=Q, K=K, V=V,
                scale=scale, probs=probs, probs_dropped=probs_dropped, O=O, out=out)


def mha_forward(query, value, key, params, num_heads, query_mask=None, value_mask=None,
                key_mask=None, attention_mask=None, use_causal_mask=False, dropout_mask=None):
    """Keras 3 MultiHeadAttention forward (with fully masked rows giving zeros, not NaN).

        Q = query . Wq + bq                      (B, T, H, Dk)
        K = key . Wk + bk                        (B, S, H, Dk)
        V = value . Wv + bv                      (B, S, H, Dv)
        scores = Q . K^T / sqrt(Dk)              (B, H, T, S)
        probs = masked softmax over S            (B, H, T, S)  (row with nothing allowed -> 0)
        O = (probs * dropout_mask) . V           (B, T, H, Dv)
        out = sum_{h, d} O[..., h, d] Wo[h, d] + bo   (B, T, Cout)

    Args:
        query: (B, T, C).
        value: (B, S, Cv).
        key: (B, S, Ck), or None to use `value` as key.
        params: see `mha_params` (dict or Keras-ordered list; biases may be absent).
        num_heads: H (checked against the query kernel).
        query_mask: (B, T) or None.
        value_mask: (B, S) or None.
        key_mask: (B, S) or None; defaults to value_mask when key is None.
        attention_mask: (B, T, S) or None.
        use_causal_mask: bool; allow s <= t only.
        dropout_mask: (B, H, T, S) or None, already scaled by 1/(1-rate).

    Returns:
        tuple (out (B, T, Cout), probs (B, H, T, S) before dropout).
    """
    c = _mha_forward_cache(query, value, key, params, num_heads, query_mask, value_mask,
                           key_mask, attention_mask, use_causal_mask, dropout_mask)
    return c["out"], c["probs"]


def mha_backward(query, value, key, params, num_heads, dy, query_mask=None, value_mask=None,
                 key_mask=None, attention_mask=None, use_causal_mask=False, dropout_mask=None):
    """Gradient of `mha_forward`'s `out` (same arguments, plus dy (B, T, Cout)).

    Returns:
        tuple (dquery, dvalue, dkey, dparams):
            dquery (B, T, C);
            dvalue (B, S, Cv) -- when key is None it also holds the gradient flowing through
                the key projection (value was used as key);
            dkey (B, S, Ck), or None when key is None;
            dparams: dict keyed by `MHA_PARAM_NAMES` with arrays shaped like the parameters;
                bias entries are None when the bias is absent. Use `mha_grads_as_list` for
                Keras `get_weights()` order.
    """
    c = _mha_forward_cache(query, value, key, params, num_heads, query_mask, value_mask,
                           key_mask, attention_mask, use_causal_mask, dropout_mask)
    p = c["p"]
    dy = _f64(dy)  # (B, T, Cout)

    # out = O . Wo + bo
    d_output_bias = dy.sum(axis=(0, 1)) if p["output_bias"] is not None else None
    d_output_kernel = np.einsum("bthd,bto->hdo", c["O"], dy)  # (H, Dv, Cout)
    dO = np.einsum("bto,hdo->bthd", dy, p["output_kernel"])  # (B, T, H, Dv)

    # O = probs_dropped . V
    d_probs_dropped = np.einsum("bthd,bshd->bhts", dO, c["V"])  # (B, H, T, S)
    dV = np.einsum("bhts,bthd->bshd", c["probs_dropped"], dO)  # (B, S, H, Dv)

    # probs_dropped = probs * dropout_mask
    if dropout_mask is not None:
        d_probs = d_probs_dropped * _f64(dropout_mask)
    else:
        d_probs = d_probs_dropped

    # probs = masked softmax(scores): masked entries and empty rows have probs == 0, so the
    # softmax Jacobian gives them a zero gradient.
    probs = c["probs"]
    d_scores = probs * (d_probs - np.sum(d_probs * probs, axis=-1, keepdims=True))

    # scores = Q . K^T * scale
    dQ = np.einsum("bhts,bshd->bthd", d_scores, c["K"]) * c["scale"]  # (B, T, H, Dk)
    dK = np.einsum("bhts,bthd->bshd", d_scores, c["Q"]) * c["scale"]  # (B, S, H, Dk)

    # Q = query . Wq + bq, K = key . Wk + bk, V = value . Wv + bv
    dparams = {
        "query_kernel": np.einsum("btc,bthd->chd", c["query"], dQ),
        "query_bias": dQ.sum(axis=(0, 1)) if p["query_bias"] is not None else None,
        "key_kernel": np.einsum("bsc,bshd->chd", c["key"], dK),
        "key_bias": dK.sum(axis=(0, 1)) if p["key_bias"] is not None else None,
        "value_kernel": np.einsum("bsc,bshd->chd", c["value"], dV),
        "value_bias": dV.sum(axis=(0, 1)) if p["value_bias"] is not None else None,
        "output_kernel": d_output_kernel,
        "output_bias": d_output_bias,
    }
    dquery = np.einsum("bthd,chd->btc", dQ, p["query_kernel"])
    dvalue = np.einsum("bshd,chd->bsc", dV, p["value_kernel"])
    dkey = np.einsum("bshd,chd->bsc", dK, p["key_kernel"])
    if not c["key_given"]:
        dvalue = dvalue + dkey  # value was also used as key
        dkey = None
    return dquery, dvalue, dkey, dparams


# --------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------


def global_average_pooling_forward(x, mask=None):
    """GlobalAveragePooling1D: y[b] = sum_t m[b, t] x[b, t] / sum_t m[b, t].

    Without a mask m = 1. A row whose steps are all masked gives 0 (not NaN).

    Args:
        x: (B, T, C).
        mask: (B, T) or None.

    Returns:
        y: (B, C).
    """
    x = _f64(x)
    B, T, _ = x.shape
    m = np.ones((B, T)) if mask is None else _as_mask(mask).astype(np.float64)
    count = m.sum(axis=1)[:, None]  # (B, 1)
    total = np.einsum("bt,btc->bc", m, x)  # (B, C)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def global_average_pooling_backward(x, mask, dy):
    """Gradient of `global_average_pooling_forward`.

    dx[b, t] = m[b, t] / count[b] * dy[b] (zero for rows with count 0).

    Args:
        x: (B, T, C); mask: (B, T) or None; dy: (B, C).

    Returns:
        dx: (B, T, C).
    """
    x = _f64(x)
    dy = _f64(dy)
    B, T, _ = x.shape
    m = np.ones((B, T)) if mask is None else _as_mask(mask).astype(np.float64)
    count = m.sum(axis=1)[:, None]  # (B, 1)
    weight = np.divide(m, count, out=np.zeros_like(m), where=count > 0)  # (B, T)
    return weight[:, :, None] * dy[:, None, :]


def _max_pool_argmax(x, mask):
    """Returns (idx (B, C), has_any (B,)): the first t maximising x[b, t, c] among unmasked
    steps, and whether row b has any unmasked step."""
    B, T, _ = x.shape
    m = np.ones((B, T), dtype=bool) if mask is None else _as_mask(mask)
    xm = np.where(m[:, :, None], x, -np.inf)
    idx = np.argmax(xm, axis=1)  # np.argmax returns the first occurrence
    return idx, m.any(axis=1)


def global_max_pooling_forward(x, mask=None):
    """GlobalMaxPooling1D honouring a mask: y[b, c] = max over unmasked t of x[b, t, c].

    A row whose steps are all masked gives 0.

    Args:
        x: (B, T, C); mask: (B, T) or None.

    Returns:
        y: (B, C).
    """
    x = _f64(x)
    idx, has_any = _max_pool_argmax(x, mask)
    y = np.take_along_axis(x, idx[:, None, :], axis=1)[:, 0, :]
    return np.where(has_any[:, None], y, 0.0)


def global_max_pooling_backward(x, mask, dy):
    """Gradient of `global_max_pooling_forward`: dy[b, c] goes to the arg-max step (the
    first one on ties); all-masked rows get zero gradient.

    Args:
        x: (B, T, C); mask: (B, T) or None; dy: (B, C).

    Returns:
        dx: (B, T, C).
    """
    x = _f64(x)
    dy = _f64(dy)
    idx, has_any = _max_pool_argmax(x, mask)
    dx = np.zeros_like(x)
    B, _, C = x.shape
    for b in range(B):
        if not has_any[b]:
            continue
        for c in range(C):
            dx[b, idx[b, c], c] += dy[b, c]
    return dx


# --------------------------------------------------------------------------------------
# LayerNormalization
# --------------------------------------------------------------------------------------


def layer_norm_forward(x, gamma=None, beta=None, epsilon=1e-3):
    """Keras LayerNormalization over the last axis.

    mean = mean_c x,  var = mean_c (x - mean)^2 (biased),
    y = (x - mean) / sqrt(var + epsilon) * gamma + beta

    Args:
        x: (..., C).
        gamma: (C,) or None (scale=False).
        beta: (C,) or None (center=False).
        epsilon: float.

    Returns:
        y shaped like x.
    """
    x = _f64(x)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        y = y * _f64(gamma)
    if beta is not None:
        y = y + _f64(beta)
    return y


def layer_norm_backward(x, gamma, beta, epsilon, dy):
    """Gradient of `layer_norm_forward`.

    With norm = (x - mean) * rstd and dnorm = dy * gamma:
        dx = rstd * (dnorm - mean_c(dnorm) - norm * mean_c(dnorm * norm))
        dgamma = sum over rows of dy * norm,  dbeta = sum over rows of dy

    Args:
        x, gamma, beta, epsilon: as for `layer_norm_forward`.
        dy: shaped like x.

    Returns:
        tuple (dx, dgamma (C,) or None, dbeta (C,) or None); None where the weight is absent.
    """
    x = _f64(x)
    dy = _f64(dy)
    mean = x.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + epsilon)
    norm = (x - mean) * rstd
    dnorm = dy * _f64(gamma) if gamma is not None else dy  # inverts y = norm * gamma + beta
    dx = rstd * (dnorm - dnorm.mean(axis=-1, keepdims=True)
                 - norm * (dnorm * norm).mean(axis=-1, keepdims=True))
    C = x.shape[-1]
    dgamma = (dy * norm).reshape(-1, C).sum(axis=0) if gamma is not None else None
    dbeta = dy.reshape(-1, C).sum(axis=0) if beta is not None else None
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------

def _splitmix64(x):
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic), as in cpp/rng.hpp."""
    with np.errstate(over="ignore"):  # wrapping modulo 2^64 is the point
        x = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def counter_uniform01(seed, stream, index):
    """cpp/rng.hpp `uniform01`: a uniform number in [0, 1) with 24 random bits for element
    `index` of the draw (seed, stream). Exact: every value is k / 2^24.

    Args:
        seed, stream: non-negative ints below 2^64.
        index: int array of element indices.

    Returns:
        float64 array shaped like `index`.
    """
    i = np.asarray(index, dtype=np.uint64)
    h = _splitmix64(np.uint64(seed) ^ _splitmix64(np.uint64(stream) ^ _splitmix64(i)))
    return (h >> np.uint64(40)).astype(np.float64) / 16777216.0


def dropout_keep(seed, step, shape, rate):
    """The keep decisions of seqattn's Dropout: u(seed, step, flat index) >= rate, with the
    rate rounded to float32 as the core stores it. Returns a bool array of `shape`."""
    n = int(np.prod(shape))
    u = counter_uniform01(seed, step, np.arange(n, dtype=np.uint64))
    return (u >= float(np.float32(rate))).reshape(shape)


def dropout_forward(x, keep, rate):
    """Inverted dropout with given keep decisions: y = x * keep / (1 - rate).

    Args:
        x: any shape; keep: bool, shaped like x; rate: float in [0, 1).
    """
    return _f64(x) * np.asarray(keep, dtype=np.float64) / (1.0 - rate)


def dropout_backward(x, keep, rate, dy):
    """Gradient of `dropout_forward`: dx = dy * keep / (1 - rate)."""
    return _f64(dy) * np.asarray(keep, dtype=np.float64) / (1.0 - rate)


# --------------------------------------------------------------------------------------
# Merge (Add)
# --------------------------------------------------------------------------------------


def add_forward(xs):
    """Keras Add: y = xs[0] + xs[1] + ... (same shapes)."""
    xs = [_f64(x) for x in xs]
    y = xs[0].copy()
    for x in xs[1:]:
        y = y + x
    return y


def add_backward(xs, dy):
    """Gradient of `add_forward`: every input gets dy. Returns a list of arrays."""
    return [_f64(dy).copy() for _ in xs]


def add_mask(masks):
    """Keras Merge mask: the logical AND of the masks that are not None; None if all are."""
    present = [_as_mask(m) for m in masks if m is not None]
    if not present:
        return None
    out = present[0].copy()
    for m in present[1:]:
        out &= m
    return out


# --------------------------------------------------------------------------------------
# Position encodings (keras-hub)
# --------------------------------------------------------------------------------------


def position_embedding_forward(x, W):
    """keras-hub PositionEmbedding: y[b, t] = W[t] for t < T, with x (B, T, C) read only for
    its shape and W (Tmax, C), T <= Tmax. Returns (B, T, C)."""
    B, T, C = np.shape(x)
    W = _f64(W)
    if T > W.shape[0]:
        raise ValueError(f"sequence length {T} exceeds position table length {W.shape[0]}")
    return np.broadcast_to(W[:T], (B, T, C)).copy()


def position_embedding_backward(x, W, dy):
    """Gradient of `position_embedding_forward`: dx = 0 (the output ignores x's values);
    dW[t] = sum_b dy[b, t] for t < T, 0 beyond. Returns (dx, dW)."""
    dy = _f64(dy)
    T = dy.shape[1]
    dW = np.zeros(np.shape(W), dtype=np.float64)
    dW[:T] = dy.sum(axis=0)
    return np.zeros(np.shape(x), dtype=np.float64), dW


def sine_position_encoding(x, max_wavelength=10000.0):
    """keras-hub SinePositionEncoding for x (B, T, C), read only for its shape.

    timescale_i = max_wavelength ** (-(2 * (i // 2)) / C)
    y[b, t, i] = sin(t * timescale_i) for even i, cos(t * timescale_i) for odd i.
    (Its gradient with respect to x is zero.) Returns (B, T, C).
    """
    B, T, C = np.shape(x)
    i = np.arange(C)
    timescale = float(max_wavelength) ** (-(2 * (i // 2)) / C)
    angles = np.arange(T, dtype=np.float64)[:, None] * timescale[None, :]  # (T, C)
    enc = np.where(i % 2 == 0, np.sin(angles), np.cos(angles))
    return np.broadcast_to(enc, (B, T, C)).copy()


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------

EPSILON = 1e-7  # keras.config.epsilon()


def log_softmax(z, axis=-1):
    """Stable log-softmax: z - max - log(sum(exp(z - max)))."""
    z = _f64(z)
    zs = z - z.max(axis=axis, keepdims=True)
    return zs - np.log(np.sum(np.exp(zs), axis=axis, keepdims=True))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Keras sparse categorical cross-entropy, mean over all samples.

    from_logits=True:  loss_i = -log_softmax(z_i)[y_i]; dz_i = (softmax(z_i) - onehot_i) / N.
    from_logits=False (Keras): p = y_pred / sum(y_pred, -1); pc = clip(p, 1e-7, 1 - 1e-7);
        loss_i = -log pc_i[y_i]. The gradient is that of this exact expression; clip passes
        the gradient where eps <= p <= 1 - eps and gives 0 outside.

    Args:
        y_true: int (N,) or (B, T) (a trailing axis of size 1 is squeezed).
        y_pred: (N, K) or (B, T, K), logits or probabilities.
        from_logits: bool.

    Returns:
        tuple (loss: float, dy_pred shaped like y_pred).
    """
    y_pred = _f64(y_pred)
    y_true = np.asarray(y_true)
    if y_true.shape == y_pred.shape[:-1] + (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"y_true shape {y_true.shape} does not match y_pred {y_pred.shape}")
    K = y_pred.shape[-1]
    y = y_true.reshape(-1).astype(np.int64)  # (N,)
    z = y_pred.reshape(-1, K)  # (N, K)
    N = z.shape[0]
    rows = np.arange(N)
    onehot = np.zeros_like(z)
    onehot[rows, y] = 1.0

    if from_logits:
        logp = log_softmax(z)
        loss = -np.mean(logp[rows, y])
        dz = (np.exp(logp) - onehot) / N
    else:
        total = z.sum(axis=1, keepdims=True)  # (N, 1)
        p = z / total  # (N, K)
        p_true = p[rows, y]  # (N,)
        pc_true = np.clip(p_true, EPSILON, 1.0 - EPSILON)
        loss = -np.mean(np.log(pc_true))
        # d loss / d p_true, through the clip
        inside = (p_true >= EPSILON) & (p_true <= 1.0 - EPSILON)
        d_p_true = -1.0 / (N * pc_true) * inside  # (N,)
        # p_true = z[y] / total  =>  d p_true / d z[k] = (onehot[k] - p_true) / total
        dz = d_p_true[:, None] * (onehot - p_true[:, None]) / total
    return float(loss), dz.reshape(y_pred.shape)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Keras binary cross-entropy, mean over all elements.

    from_logits=True:  loss = max(z, 0) - z * y + log1p(exp(-|z|)); dz = (sigmoid(z) - y) / N.
    from_logits=False (Keras): pc = clip(p, 1e-7, 1 - 1e-7);
        loss = -(y log pc + (1 - y) log(1 - pc)); clip gradient is 0 outside [eps, 1 - eps].

    Args:
        y_true: float 0/1, (N,) or (N, 1).
        y_pred: same shape as y_true, or (N, 1) with y_true (N,).
        from_logits: bool.

    Returns:
        tuple (loss: float, dy_pred shaped like y_pred).
    """
    y_pred = _f64(y_pred)
    y_true = _f64(y_true)
    if y_true.size != y_pred.size:
        raise ValueError(f"y_true shape {y_true.shape} does not match y_pred {y_pred.shape}")
    y = y_true.reshape(y_pred.shape)
    N = y_pred.size
    if from_logits:
        z = y_pred
        loss = np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
        dz = (sigmoid(z) - y) / N
    else:
        p = y_pred
        pc = np.clip(p, EPSILON, 1.0 - EPSILON)
        loss = -np.mean(y * np.log(pc) + (1.0 - y) * np.log(1.0 - pc))
        inside = (p >= EPSILON) & (p <= 1.0 - EPSILON)
        dz = -(y / pc - (1.0 - y) / (1.0 - pc)) / N * inside
    return float(loss), dz


def _weighted_mean(terms, dterms, sample_weight):
    """sum_over_batch_size: sum_n w_{sample(n)} l_n / N over the N loss terms, and its gradient.

    terms: (B, ...) one loss per term; dterms: dl_n/dy_pred, shaped like y_pred (whose leading
    axes are those of terms); sample_weight: (B,) or None.
    """
    w = np.ones(terms.shape[0]) if sample_weight is None else _f64(sample_weight)
    N = terms.size
    loss = np.sum(w.reshape((-1,) + (1,) * (terms.ndim - 1)) * terms) / N
    dpred = w.reshape((-1,) + (1,) * (dterms.ndim - 1)) * dterms / N
    return float(loss), dpred


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                             sample_weight=None):
    """Keras categorical cross-entropy: y' = y (1 - s) + s / K; one term per row of K.

    from_logits=True:  l = -sum_k y'_k log_softmax(z)_k; dl/dz = softmax(z) sum_k y'_k - y'.
    from_logits=False (Keras): q = p / sum(p, -1); qc = clip(q, 1e-7, 1 - 1e-7);
        l = -sum_k y'_k log qc_k; clip passes the gradient only where eps <= q <= 1 - eps.

    Args:
        y_true: (B, K) or (B, T, K) one-hot or probability rows; y_pred: the same shape.
        sample_weight: (B,) or None.

    Returns:
        tuple (loss: float, dy_pred shaped like y_pred).
    """
    p, y = _f64(y_pred), _f64(y_true)
    if y.shape != p.shape:
        raise ValueError(f"y_true shape {y.shape} does not match y_pred {p.shape}")
    K = p.shape[-1]
    y = y * (1.0 - label_smoothing) + label_smoothing / K
    if from_logits:
        terms = -np.sum(y * log_softmax(p), axis=-1)
        dterms = softmax(p) * np.sum(y, axis=-1, keepdims=True) - y
    else:
        q = p / np.sum(p, axis=-1, keepdims=True)
        qc = np.clip(q, EPSILON, 1.0 - EPSILON)
        terms = -np.sum(y * np.log(qc), axis=-1)
        g = -y / qc * ((q >= EPSILON) & (q <= 1.0 - EPSILON))  # dl/dq
        # q_k = p_k / s  =>  dq_k/dp_j = (onehot_kj - q_k) / s
        dterms = (g - np.sum(g * q, axis=-1, keepdims=True)) / np.sum(p, axis=-1, keepdims=True)
    return _weighted_mean(terms, dterms, sample_weight)


def binary_crossentropy_weighted(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                                 sample_weight=None):
    """binary_crossentropy with Keras label smoothing y' = y (1 - s) + s / 2 and per-sample
    weights (one per leading index of y_pred)."""
    y = _f64(y_true).reshape(np.shape(y_pred)) * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = _f64(y_pred)
    terms = np.empty_like(p)
    dterms = np.empty_like(p)
    for i in np.ndindex(p.shape):  # the unweighted per-element loss and gradient
        terms[i], d = binary_crossentropy([y[i]], [p[i]], from_logits)
        dterms[i] = d[0]
    return _weighted_mean(terms, dterms, sample_weight)


def _regression(y_true, y_pred, fn, sample_weight):
    p = _f64(y_pred)
    y = _f64(y_true)
    if y.size != p.size:
        raise ValueError(f"y_true shape {y.shape} does not match y_pred {p.shape}")
    terms, dterms = fn(p - y.reshape(p.shape))
    return _weighted_mean(terms, dterms, sample_weight)


def mean_squared_error(y_true, y_pred, sample_weight=None):
    """Keras MSE: l = (p - y)^2 per element (mean over the last axis, then over samples);
    dl/dp = 2 (p - y)."""
    return _regression(y_true, y_pred, lambda e: (e * e, 2.0 * e), sample_weight)


def mean_absolute_error(y_true, y_pred, sample_weight=None):
    """Keras MAE: l = |p - y|; dl/dp = sign(p - y) (0 where p = y)."""
    return _regression(y_true, y_pred, lambda e: (np.abs(e), np.sign(e)), sample_weight)


def huber(y_true, y_pred, delta=1.0, sample_weight=None):
    """Keras Huber, e = p - y: l = e^2 / 2 where |e| <= delta, else delta |e| - delta^2 / 2;
    dl/dp = e, or delta sign(e)."""
    def fn(e):
        small = np.abs(e) <= delta
        return (np.where(small, 0.5 * e * e, delta * np.abs(e) - 0.5 * delta * delta),
                np.where(small, e, delta * np.sign(e)))
    return _regression(y_true, y_pred, fn, sample_weight)


# --------------------------------------------------------------------------------------
# Optimizer steps (Keras 3 formulas)
# --------------------------------------------------------------------------------------


def sgd_step(w, g, state=None, lr=0.01, momentum=0.0, nesterov=False):
    """One Keras 3 SGD step.

        momentum == 0:  w = w - lr * g
        otherwise:      m = momentum * m - lr * g
                        w = w + momentum * m - lr * g   (nesterov)
                        w = w + m                       (plain momentum)

    Args:
        w, g: arrays of the same shape.
        state: momentum buffer m shaped like w, or None (zeros).
        lr, momentum, nesterov: as in keras.optimizers.SGD.

    Returns:
        tuple (new_w, new_m); new_m is None when momentum == 0.
    """
    w = _f64(w)
    g = _f64(g)
    if momentum == 0:
        return w - lr * g, None
    m = np.zeros_like(w) if state is None else _f64(state)
    m = momentum * m - lr * g
    if nesterov:
        new_w = w + momentum * m - lr * g
    else:
        new_w = w + m
    return new_w, m


def adam_step(w, g, m, v, t, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Keras 3 Adam step (t is the 1-based step number, i.e. iterations + 1).

        m = m + (g - m) * (1 - beta_1)
        v = v + (g^2 - v) * (1 - beta_2)
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w = w - alpha * m / (sqrt(v) + epsilon)

    Args:
        w, g, m, v: arrays of the same shape (m, v may be None for zeros).

    Returns:
        tuple (new_w, new_m, new_v).
    """
    w = _f64(w)
    g = _f64(g)
    m = np.zeros_like(w) if m is None else _f64(m)
    v = np.zeros_like(w) if v is None else _f64(v)
    m = m + (g - m) * (1.0 - beta_1)
    v = v + (g * g - v) * (1.0 - beta_2)
    alpha = lr * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    new_w = w - alpha * m / (np.sqrt(v) + epsilon)
    return new_w, m, v


def adamw_step(w, g, m, v, t, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
               weight_decay=0.004):
    """One Keras 3 AdamW step: first w = w - w * weight_decay * lr, then `adam_step`.

    Returns:
        tuple (new_w, new_m, new_v).
    """
    w = _f64(w)
    w = w - w * weight_decay * lr
    return adam_step(w, g, m, v, t, lr=lr, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)


def global_norm(grads):
    """sqrt(sum over all arrays of sum(g^2))."""
    return math.sqrt(sum(float(np.sum(_f64(g) ** 2)) for g in grads))


def clip_by_global_norm(grads, clipnorm):
    """Keras `global_clipnorm`: if the global L2 norm of all grads exceeds clipnorm, scale
    every grad by clipnorm / norm; otherwise return them unchanged.

    Args:
        grads: list of arrays.
        clipnorm: positive float.

    Returns:
        list of new float64 arrays.
    """
    norm = global_norm(grads)
    scale = clipnorm / norm if norm > clipnorm else 1.0
    return [_f64(g) * scale for g in grads]


def clip_by_norm(g, clipnorm):
    """Keras per-variable `clipnorm`: g * clipnorm / ||g|| if ||g|| > clipnorm, else g.
    Returns a new float64 array."""
    g = _f64(g)
    norm = math.sqrt(float(np.sum(g * g)))
    return g * (clipnorm / norm) if norm > clipnorm else g.copy()


def clip_by_value(g, clipvalue):
    """Keras `clipvalue`: each element clipped to [-clipvalue, clipvalue] (NaN stays NaN).
    Returns a new float64 array."""
    return np.clip(_f64(g), -clipvalue, clipvalue)


def decay_weights(w, lr, weight_decay):
    """Keras's decoupled `weight_decay` (every optimizer, after clipping, before the update):
    w = w - w * weight_decay * lr. Returns a new float64 array."""
    w = _f64(w)
    return w - w * weight_decay * lr


def rmsprop_step(w, g, state=None, lr=1e-3, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False):
    """One Keras 3 RMSprop step.

        v = rho * v + (1 - rho) * g^2
        centered:  a = rho * a + (1 - rho) * g;  d = v - a^2 + epsilon
        otherwise: d = v + epsilon
        inc = lr * g / sqrt(d)
        momentum > 0: m = momentum * m + inc;  w = w - m
        otherwise:    w = w - inc

    Args:
        w, g: arrays of the same shape.
        state: dict with "v", "m", "a" arrays (missing keys: zeros), or None.

    Returns:
        tuple (new_w, new_state) with new_state holding "v", and "m" / "a" where used.
    """
    w, g = _f64(w), _f64(g)
    state = state or {}
    zeros = np.zeros_like(w)
    v = rho * _f64(state.get("v", zeros)) + (1.0 - rho) * g * g
    new = {"v": v}
    if centered:
        a = rho * _f64(state.get("a", zeros)) + (1.0 - rho) * g
        new["a"] = a
        denominator = v - a * a + epsilon
    else:
        denominator = v + epsilon
    inc = lr * g / np.sqrt(denominator)
    if momentum > 0:
        m = momentum * _f64(state.get("m", zeros)) + inc
        new["m"] = m
        return w - m, new
    return w - inc, new


def adagrad_step(w, g, acc=None, lr=1e-3, initial_accumulator_value=0.1, epsilon=1e-7):
    """One Keras 3 Adagrad step.

        acc = acc + g^2        (acc starts at initial_accumulator_value)
        w = w - lr * g / sqrt(acc + epsilon)

    Returns:
        tuple (new_w, new_acc).
    """
    w, g = _f64(w), _f64(g)
    acc = np.full_like(w, initial_accumulator_value) if acc is None else _f64(acc)
    acc = acc + g * g
    return w - lr * g / np.sqrt(acc + epsilon), acc


# --------------------------------------------------------------------------------------
# Weight regularizers (Keras L1 / L2 / L1L2)
# --------------------------------------------------------------------------------------


def weight_penalty(w, l1=0.0, l2=0.0):
    """Keras L1L2: l1·Σ|w| + l2·Σw² (no 1/2). Returns (penalty, d penalty / dw), float64;
    the gradient at w = 0 takes sign(0) = 0, as Keras's backends do."""
    w = _f64(w)
    return l1 * float(np.abs(w).sum()) + l2 * float(np.square(w).sum()), \
        l1 * np.sign(w) + 2.0 * l2 * w


# --------------------------------------------------------------------------------------
# Conv1D, MaxPooling1D, AveragePooling1D (windows over time, channels last)
# --------------------------------------------------------------------------------------

def window_geometry(T, size, strides=1, padding="valid", dilation=1):
    """Keras/TensorFlow output length and left padding of a 1-D window.

    valid: To = floor((T - span) / s) + 1 with span = d (size - 1) + 1 (no padding);
    same: To = ceil(T / s), total padding (To - 1) s + span - T split as TF does
    (left = total // 2, the odd one right); causal: d (size - 1) zeros on the left.

    Returns:
        (To, pad_left).
    """
    span = dilation * (size - 1) + 1
    if padding == "valid":
        return (T - span) // strides + 1, 0
    To = -(-T // strides)
    if padding == "causal":
        return To, dilation * (size - 1)
    return To, max((To - 1) * strides + span - T, 0) // 2


def _conv1d_taps(x, size, strides, padding, dilation):
    """(xp, To, pl, idx): x zero-padded on time, and idx[k] (To,) the padded step tap k of
    each output reads."""
    B, T, C = x.shape
    To, pl = window_geometry(T, size, strides, padding, dilation)
    span = dilation * (size - 1) + 1
    pr = max(0, (To - 1) * strides + span - T - pl)
    xp = np.pad(x, ((0, 0), (pl, pr), (0, 0)))
    idx = [np.arange(To) * strides + k * dilation for k in range(size)]
    return xp, To, pl, idx


def conv1d_forward(x, kernel, bias=None, strides=1, padding="valid", dilation=1,
                   activation="linear"):
    """Keras Conv1D, channels last:
    y[b, o] = activation(Σ_k xp[b, o·s + k·d] · kernel[k] + bias), xp = x zero-padded.

    Args:
        x: (B, T, C); kernel: (K, C, F); bias: (F,) or None.

    Returns:
        y: (B, To, F).
    """
    x, kernel = _f64(x), _f64(kernel)
    xp, To, _, idx = _conv1d_taps(x, kernel.shape[0], strides, padding, dilation)
    z = np.zeros((x.shape[0], To, kernel.shape[2]))
    for k in range(kernel.shape[0]):
        z = z + xp[:, idx[k], :] @ kernel[k]
    if bias is not None:
        z = z + _f64(bias)
    return activation_forward(z, activation)


def conv1d_backward(x, kernel, bias, strides, padding, dilation, activation, dy):
    """Gradient of `conv1d_forward`.

    Returns:
        tuple (dx (B, T, C), dkernel (K, C, F), dbias (F,) or None).
    """
    x, kernel = _f64(x), _f64(kernel)
    xp, To, pl, idx = _conv1d_taps(x, kernel.shape[0], strides, padding, dilation)
    z = np.zeros((x.shape[0], To, kernel.shape[2]))
    for k in range(kernel.shape[0]):
        z = z + xp[:, idx[k], :] @ kernel[k]
    if bias is not None:
        z = z + _f64(bias)
    dz = activation_backward(z, activation, dy)  # inverts y = activation(z)
    dxp = np.zeros_like(xp)
    dkernel = np.zeros_like(kernel)
    for k in range(kernel.shape[0]):  # inverts z += xp[:, idx[k]] · kernel[k]
        dkernel[k] = np.einsum("boc,bof->cf", xp[:, idx[k], :], dz)
        dxp[:, idx[k], :] += dz @ kernel[k].T  # idx[k] has no repeats
    dbias = dz.sum(axis=(0, 1)) if bias is not None else None
    return dxp[:, pl:pl + x.shape[1], :], dkernel, dbias


def _pool1d_windows(T, pool_size, strides, padding):
    To, pl = window_geometry(T, pool_size, strides, padding)
    return [(max(o * strides - pl, 0), min(o * strides - pl + pool_size, T)) for o in range(To)]


def pool1d_forward(x, mode, pool_size=2, strides=None, padding="valid"):
    """MaxPooling1D / AveragePooling1D: each output reduces the real steps of its window
    (padding never wins a max and is not counted in a mean, as TensorFlow). NaN propagates
    through max (np.argmax picks the first NaN).

    Args:
        x: (B, T, C); mode: "max" or "average"; strides None means pool_size.

    Returns:
        y: (B, To, C).
    """
    x = _f64(x)
    wins = _pool1d_windows(x.shape[1], pool_size, strides or pool_size, padding)
    if mode == "max":
        return np.stack([np.take_along_axis(x[:, lo:hi], np.argmax(x[:, lo:hi], axis=1)[:, None],
                                            axis=1)[:, 0] for lo, hi in wins], axis=1)
    return np.stack([x[:, lo:hi].mean(axis=1) for lo, hi in wins], axis=1)


def pool1d_backward(x, mode, pool_size, strides, padding, dy):
    """Gradient of `pool1d_forward`: max sends dy to the first maximum of its window (ties:
    the first one only); average spreads dy / count over the window's real steps.
    Overlapping windows add up."""
    x, dy = _f64(x), _f64(dy)
    dx = np.zeros_like(x)
    B, _, C = x.shape
    for o, (lo, hi) in enumerate(_pool1d_windows(x.shape[1], pool_size, strides or pool_size,
                                                 padding)):
        if mode == "max":
            arg = lo + np.argmax(x[:, lo:hi], axis=1)  # (B, C)
            for b in range(B):
                dx[b, arg[b], np.arange(C)] += dy[b, o]
        else:
            dx[:, lo:hi] += dy[:, o][:, None, :] / (hi - lo)
    return dx


# --------------------------------------------------------------------------------------
# Merge (Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and shape layers
# --------------------------------------------------------------------------------------


def merge_forward(op, xs):
    """Keras merge layers on k same-shaped inputs: "add", "subtract" (k = 2), "multiply",
    "average" (sum / k), "maximum", "minimum" (NaN propagates)."""
    xs = [_f64(x) for x in xs]
    if op in ("add", "average"):
        y = np.sum(xs, axis=0)
        return y / len(xs) if op == "average" else y
    if op == "subtract":
        return xs[0] - xs[1]
    if op == "multiply":
        return np.prod(xs, axis=0)
    return (np.maximum if op == "maximum" else np.minimum).reduce(xs)


def merge_backward(op, xs, dy):
    """Gradient of `merge_forward`: a list of arrays, one per input. Maximum/minimum split
    dy equally among the inputs tying for the result (the NaN inputs when it is NaN)."""
    xs, dy = [_f64(x) for x in xs], _f64(dy)
    k = len(xs)
    if op == "add":
        return [dy.copy() for _ in xs]
    if op == "average":
        return [dy / k for _ in xs]
    if op == "subtract":
        return [dy.copy(), -dy]
    if op == "multiply":
        return [dy * np.prod([xs[l] for l in range(k) if l != j], axis=0) for j in range(k)]
    y = merge_forward(op, xs)
    hits = [np.where(np.isnan(y), np.isnan(x), x == y) for x in xs]
    ties = np.sum(hits, axis=0)
    return [np.where(h, dy / ties, 0.0) for h in hits]


def concatenate_forward(xs, axis):
    return np.concatenate([_f64(x) for x in xs], axis=axis)


def concatenate_backward(xs, axis, dy):
    """Each input's slab of dy along `axis`."""
    cuts = np.cumsum([np.shape(x)[axis] for x in xs])[:-1]
    return [part.copy() for part in np.split(_f64(dy), cuts, axis=axis)]


def concatenate_mask(xs, masks, axis):
    """Keras 3 Concatenate.compute_mask for (B, T, ...) inputs with (B, T) masks: an input
    without a mask counts as all ones; joined along T for axis 1, else OR; None if no mask."""
    if all(m is None for m in masks):
        return None
    full = [np.ones(np.shape(x)[:2], bool) if m is None else _as_mask(m)
            for x, m in zip(xs, masks)]
    if axis == 1:
        return np.concatenate(full, axis=1)
    return np.logical_or.reduce(full)


def reshape_forward(x, target_shape):
    """Keras Reshape: (B, ...) -> (B, *target_shape), one -1 allowed."""
    x = _f64(x)
    return x.reshape((x.shape[0],) + tuple(target_shape))


def reshape_backward(x, dy):
    return _f64(dy).reshape(np.shape(x))


def permute_forward(x, dims):
    """Keras Permute: dims 1-based over the non-batch axes."""
    return np.transpose(_f64(x), (0,) + tuple(dims))


def permute_backward(dims, dy):
    perm = (0,) + tuple(dims)
    return np.transpose(_f64(dy), np.argsort(perm))


def repeat_vector_forward(x, n):
    """Keras RepeatVector: (B, C) -> (B, n, C)."""
    return np.repeat(_f64(x)[:, None, :], n, axis=1)


def repeat_vector_backward(dy):
    return _f64(dy).sum(axis=1)
