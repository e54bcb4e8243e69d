"""The C++ graph's fusion pass (cpp/graph_fusion.cpp): fused steps belong to the compiled graph,
never to the layers, and profiling charges a fused step to the node it stands for.

tests/test_fusion.py checks the residual fusion against the unfused path bit for bit; these
check what the rewrite must keep: a layer shared by two models is fused in one and not in the
other without either seeing the other's choice, and the profile keeps one entry per layer call.
"""
import numpy as np

import seqattn
from seqattn import layers as L

T, C = 7, 8


def test_logits_output_is_a_property_of_each_graph_not_of_the_shared_layer():
    seqattn.utils.set_random_seed(5)
    inp = seqattn.Input(shape=(T,), dtype="int32")
    h = L.GlobalAveragePooling1D()(L.Embedding(20, C)(inp))
    out = L.Dense(3, activation="softmax")(h)
    # In `fused` the softmax output feeds only its loss: the loss reads the logits. In `plain`
    # the same layer call also feeds another layer, so that graph keeps the softmax.
    fused = seqattn.Model(inp, out)
    fused.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, size=(5, T)).astype(np.int32)
    y = rng.integers(0, 3, size=5)
    loss_before, grads_before = fused._compute_gradients(x, y, training=True)

    plain = seqattn.Model(inp, [out, L.Dense(2)(out)])
    plain.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", None])
    plain._compute_gradients(x, [y, np.zeros((5, 2), np.float32)], training=True)

    loss_after, grads_after = fused._compute_gradients(x, y, training=True)
    assert loss_after == loss_before
    for a, b in zip(grads_after, grads_before):
        np.testing.assert_array_equal(a, b)


def test_fused_residual_profile_charges_the_layer_norm_and_leaves_the_add_at_zero():
    seqattn.utils.set_random_seed(6)
    inp = seqattn.Input(shape=(T,), dtype="int32")
    x = L.Embedding(20, C)(inp)
    y = L.LayerNormalization()(L.Add()([x, L.Dense(C)(x)]))
    model = seqattn.Model(inp, L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(y)))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 20, size=(8, T)).astype(np.int32)
    labels = rng.integers(0, 2, size=8)
    graph = model._graph
    graph.reset_profile()
    graph.profiling = True
    model.fit(ids, labels, batch_size=4, epochs=1, verbose=0)
    graph.profiling = False
    nodes = graph.profile()["nodes"]
    assert [n["kind"] for n in nodes].count("Add") == 1
    add = next(n for n in nodes if n["kind"] == "Add")
    norm = next(n for n in nodes if n["kind"] == "LayerNormalization")
    assert add["forward"] == 0 and add["backward"] == 0
    assert norm["forward"] > 0 and norm["backward"] > 0
