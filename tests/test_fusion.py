"""Graph-level fusion of a residual Add into the LayerNormalization that reads it
(LayerNormalization::forward_add / backward_add), against the unfused path as oracle.

The graph fuses an Add of two inputs only when one LayerNormalization is its sole reader and
the inputs carry no mask. Making the Add's value also a model output (with no loss) keeps every
gradient the same in exact arithmetic but turns the fusion off, so the two models must agree
bit for bit: outputs, loss and every gradient.
"""
import numpy as np
import pytest

import seqattn
from seqattn import layers as L

T, C = 9, 12


def build(expose_add, mask_zero):
    seqattn.utils.set_random_seed(3)
    inp = seqattn.Input(shape=(T,), dtype="int32")
    x = L.Embedding(30, C, mask_zero=mask_zero)(inp)
    f = L.Dense(C)(L.Dense(20, activation="relu")(x))
    s = L.Add()([x, f])
    y = L.LayerNormalization(epsilon=1e-5)(s)
    a = L.MultiHeadAttention(num_heads=2, key_dim=4)(y, y)
    y2 = L.LayerNormalization()(L.Add()([y, a]))
    out = L.Dense(3, activation="softmax")(L.GlobalAveragePooling1D()(y2))
    if expose_add:
        model = seqattn.Model(inputs=inp, outputs=[out, s])
        model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", None])
    else:
        model = seqattn.Model(inputs=inp, outputs=out)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("mask_zero", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_residual_layer_norm_is_bit_identical_to_add_then_layer_norm(mask_zero, threads):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 30, size=(6, T)).astype(np.int32)
    x[:, -3:] = 0  # padding, used when mask_zero
    y = rng.integers(0, 3, size=6)
    fused, plain = build(False, mask_zero), build(True, mask_zero)
    plain.set_weights(fused.get_weights())
    before = seqattn.get_num_threads()
    seqattn.set_num_threads(threads)
    try:
        loss_f, grads_f = fused._compute_gradients(x, y, training=True)
        loss_p, grads_p = plain._compute_gradients(x, [y, np.zeros((6, T, C), np.float32)],
                                                   training=True)
        pred_f = fused.predict(x, verbose=0)
        pred_p = plain.predict(x, verbose=0)[0]
    finally:
        seqattn.set_num_threads(before)
    assert loss_f == loss_p
    np.testing.assert_array_equal(pred_f, pred_p)
    assert len(grads_f) == len(grads_p)
    for gf, gp in zip(grads_f, grads_p):
        np.testing.assert_array_equal(gf, gp)


def test_profile_lists_every_node_with_its_time():
    model = build(False, False)
    rng = np.random.default_rng(1)
    x = rng.integers(0, 30, size=(8, T)).astype(np.int32)
    y = rng.integers(0, 3, size=8)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    graph = model._graph
    graph.reset_profile()
    graph.profiling = True
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    graph.profiling = False
    prof = graph.profile()
    kinds = [n["kind"] for n in prof["nodes"]]
    assert kinds.count("LayerNormalization") == 2 and kinds.count("Add") == 2
    assert all(n["forward"] >= 0 and n["backward"] >= 0 for n in prof["nodes"])
    dense = [n for n in prof["nodes"] if n["kind"] == "Dense"]
    assert all(n["forward"] > 0 and n["backward"] > 0 for n in dense)
    assert prof["update"] > 0 and prof["loss"] > 0
