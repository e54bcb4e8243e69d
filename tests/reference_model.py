"""The keras.io "Text classification with Transformer" model in float64 NumPy.

Composed from the `reference` functions: forward (inference mode, so every Dropout is the
identity), sparse categorical cross-entropy on the softmax output, and the gradient of that
loss for every weight. Weights are passed as a dict keyed by the layer names below, each a
list in Keras `get_weights()` order and shapes:

    emb    [token (V, C), position (T, C)]      TokenAndPositionEmbedding(V, T, C)
    mha    8 arrays, see reference.MHA_PARAM_NAMES  MultiHeadAttention(H, key_dim=Dk)
    ln1    [gamma (C,), beta (C,)]               LayerNormalization(epsilon=1e-6)
    ffn1   [kernel (C, FF), bias (FF,)]          Dense(FF, relu)
    ffn2   [kernel (FF, C), bias (C,)]           Dense(C)
    ln2    [gamma (C,), beta (C,)]               LayerNormalization(epsilon=1e-6)
    dense  [kernel (C, HIDDEN), bias (HIDDEN,)]  Dense(HIDDEN, relu)
    head   [kernel (HIDDEN, K), bias (K,)]       Dense(K, softmax)

No mask anywhere (the original uses none).
"""

import numpy as np

import reference as ref

VOCAB, MAXLEN, EMBED, HEADS, KEY_DIM, FF, HIDDEN, CLASSES = 20000, 200, 32, 2, 32, 32, 20, 2
EPS = 1e-6
DROPOUT = 0.1
PARAMS = 657_758

# Layers with weights, in the model's get_weights() order.
WEIGHTED_LAYERS = ("emb", "mha", "ln1", "ffn1", "ffn2", "ln2", "dense", "head")


def _forward(ids, w):
    """Every intermediate of the forward pass (dropout off)."""
    w = {k: [np.asarray(a, np.float64) for a in v] for k, v in w.items()}
    c = {"w": w, "ids": np.asarray(ids)}
    c["h0"] = ref.token_and_position_forward(ids, *w["emb"])
    c["attn"], c["scores"] = ref.mha_forward(c["h0"], c["h0"], None, w["mha"], HEADS)
    c["s1"] = ref.add_forward([c["h0"], c["attn"]])
    c["l1"] = ref.layer_norm_forward(c["s1"], *w["ln1"], EPS)
    c["f1"] = ref.dense_forward(c["l1"], *w["ffn1"], "relu")
    c["f2"] = ref.dense_forward(c["f1"], *w["ffn2"], "linear")
    c["s2"] = ref.add_forward([c["l1"], c["f2"]])
    c["l2"] = ref.layer_norm_forward(c["s2"], *w["ln2"], EPS)
    c["pooled"] = ref.global_average_pooling_forward(c["l2"])
    c["hidden"] = ref.dense_forward(c["pooled"], *w["dense"], "relu")
    c["probs"] = ref.dense_forward(c["hidden"], *w["head"], "softmax")
    return c


def forward(ids, w):
    """Class probabilities (B, K) in inference mode."""
    return _forward(ids, w)["probs"]


def attention_scores(ids, w):
    """The attention probabilities (B, H, T, T) (to check the weights make them non-trivial)."""
    return _forward(ids, w)["scores"]


def loss_and_gradients(ids, y, w):
    """(mean sparse categorical cross-entropy, {layer name: list of weight gradients})."""
    c = _forward(ids, w)
    w = c["w"]
    loss, dprobs = ref.sparse_categorical_crossentropy(y, c["probs"])
    g = {}
    dhidden, *g["head"] = ref.dense_backward(c["hidden"], *w["head"], "softmax", dprobs)
    dpooled, *g["dense"] = ref.dense_backward(c["pooled"], *w["dense"], "relu", dhidden)
    dl2 = ref.global_average_pooling_backward(c["l2"], None, dpooled)
    ds2, *g["ln2"] = ref.layer_norm_backward(c["s2"], *w["ln2"], EPS, dl2)
    dl1_res, df2 = ref.add_backward([c["l1"], c["f2"]], ds2)
    df1, *g["ffn2"] = ref.dense_backward(c["f1"], *w["ffn2"], "linear", df2)
    dl1_ffn, *g["ffn1"] = ref.dense_backward(c["l1"], *w["ffn1"], "relu", df1)
    ds1, *g["ln1"] = ref.layer_norm_backward(c["s1"], *w["ln1"], EPS, dl1_res + dl1_ffn)
    dh0_res, dattn = ref.add_backward([c["h0"], c["attn"]], ds1)
    dq, dv, _, dmha = ref.mha_backward(c["h0"], c["h0"], None, w["mha"], HEADS, dattn)
    g["mha"] = ref.mha_grads_as_list(dmha)
    g["emb"] = list(ref.token_and_position_backward(
        c["ids"], w["emb"][0].shape, w["emb"][1].shape, dh0_res + dq + dv))
    return loss, g
