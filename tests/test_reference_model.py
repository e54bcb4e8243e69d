"""The keras.io "Text classification with Transformer" model, built with seqattn's functional
API: parameter count, predictions, loss and every gradient against a float64 NumPy model
(tests/reference_model.py) and, when Keras 3 (torch backend) is installed, against the same
model built in Keras exactly as keras.io writes it, with seqattn's weights loaded into it."""

import math
import os

import numpy as np
import pytest

import reference_model as rm
import seqattn
from seqattn import layers

B = 4  # samples; the sequence length is the real one, 200

# A relative tolerance on the largest entry of each array, plus an absolute floor for arrays
# whose exact value is zero (the key bias gradient: softmax ignores a per-row constant).
GRAD_RTOL, GRAD_ATOL = 1e-4, 1e-6


def _seqattn_model():
    """keras.io's model, layer for layer, with named layers (inference = dropout off)."""
    x = seqattn.Input((rm.MAXLEN,), "int32")
    emb = layers.TokenAndPositionEmbedding(rm.VOCAB, rm.MAXLEN, rm.EMBED, name="emb")(x)
    attn = layers.MultiHeadAttention(num_heads=rm.HEADS, key_dim=rm.KEY_DIM, name="mha")(emb, emb)
    attn = layers.Dropout(rm.DROPOUT, name="drop1")(attn)
    out1 = layers.LayerNormalization(epsilon=rm.EPS, name="ln1")(
        layers.Add(name="add1")([emb, attn]))
    ffn = layers.Dense(rm.FF, activation="relu", name="ffn1")(out1)
    ffn = layers.Dense(rm.EMBED, name="ffn2")(ffn)
    ffn = layers.Dropout(rm.DROPOUT, name="drop2")(ffn)
    out2 = layers.LayerNormalization(epsilon=rm.EPS, name="ln2")(
        layers.Add(name="add2")([out1, ffn]))
    h = layers.GlobalAveragePooling1D(name="pool")(out2)
    h = layers.Dropout(rm.DROPOUT, name="drop3")(h)
    h = layers.Dense(rm.HIDDEN, activation="relu", name="dense")(h)
    h = layers.Dropout(rm.DROPOUT, name="drop4")(h)
    out = layers.Dense(rm.CLASSES, activation="softmax", name="head")(h)
    return seqattn.Model(x, out)


def _random_weights(rng):
    """Seeded weights in Keras shapes, scaled so that every part of the model matters:
    attention clearly non-uniform (query/key kernels 2/sqrt(fan_in)), relu units split between
    on and off (biases 0.3), LayerNorm gamma/beta away from 1/0, class probabilities well
    inside (0, 1) (so Keras's probability clipping never engages)."""
    def n(shape, std, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    C, H, Dk = rm.EMBED, rm.HEADS, rm.KEY_DIM
    qk = 2.0 / math.sqrt(C)
    return {
        "emb": [n((rm.VOCAB, C), 0.5), n((rm.MAXLEN, C), 0.5)],
        "mha": [n((C, H, Dk), qk), n((H, Dk), 0.3), n((C, H, Dk), qk), n((H, Dk), 0.3),
                n((C, H, Dk), 1.5 / math.sqrt(C)), n((H, Dk), 0.3),
                n((H, Dk, C), 1.5 / math.sqrt(H * Dk)), n((C,), 0.3)],
        "ln1": [n((C,), 0.3, 1.0), n((C,), 0.3)],
        "ffn1": [n((C, rm.FF), 1.5 / math.sqrt(C)), n((rm.FF,), 0.3)],
        "ffn2": [n((rm.FF, C), 1.5 / math.sqrt(rm.FF)), n((C,), 0.3)],
        "ln2": [n((C,), 0.3, 1.0), n((C,), 0.3)],
        # Pooling over 200 random tokens makes samples alike: a larger head spreads them.
        "dense": [n((C, rm.HIDDEN), 3.0 / math.sqrt(C)), n((rm.HIDDEN,), 0.3)],
        "head": [n((rm.HIDDEN, rm.CLASSES), 3.0 / math.sqrt(rm.HIDDEN)), n((rm.CLASSES,), 0.1)],
    }


@pytest.fixture(scope="module")
def case():
    """(model with the random weights set, weights by layer name, ids (B, 200), labels)."""
    seqattn.utils.set_random_seed(0)
    model = _seqattn_model()
    model.compile(loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(2032)  # class-0 probabilities from 0.12 to 0.69
    weights = _random_weights(rng)
    model.set_weights([a for name in rm.WEIGHTED_LAYERS for a in weights[name]])
    ids = rng.integers(0, rm.VOCAB, (B, rm.MAXLEN)).astype(np.int32)
    y = np.array([0, 1, 1, 0])
    return model, weights, ids, y


def _flat_names_and_shapes(weights):
    return [(name, i, a.shape) for name in rm.WEIGHTED_LAYERS for i, a in enumerate(weights[name])]


def _assert_grad_close(actual, expected, what):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert np.all(np.isfinite(actual)), f"{what}: non-finite values"
    scale = float(np.abs(expected).max())
    err = float(np.abs(actual - expected).max())
    assert err <= GRAD_RTOL * scale + GRAD_ATOL, \
        f"{what}: max abs diff {err:.3e} (scale {scale:.3g})"


def test_parameter_count_layers_and_keras_weight_shapes(case):
    model, weights, _, _ = case
    assert model.count_params() == rm.PARAMS == 657_758
    assert [l.name for l in model.layers] == ["emb", "mha", "drop1", "add1", "ln1", "ffn1",
                                              "ffn2", "drop2", "add2", "ln2", "pool", "drop3",
                                              "dense", "drop4", "head"]
    got = [w.shape for w in model.get_weights()]
    assert got == [a.shape for name in rm.WEIGHTED_LAYERS for a in weights[name]]
    assert sum(int(np.prod(s)) for s in got) == 657_758


def test_predictions_match_the_float64_model(case):
    model, weights, ids, _ = case
    want = rm.forward(ids, weights)
    got = model.predict(ids, verbose=0)
    assert got.shape == (B, rm.CLASSES)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # The weights make the case non-trivial: attention is far from uniform, predictions
    # differ between samples and stay away from 0 and 1.
    probs = rm.attention_scores(ids, weights)
    assert probs.max(axis=-1).mean() > 20.0 / rm.MAXLEN
    assert np.ptp(want[:, 0]) > 0.2 and 0.05 < want.min() and want.max() < 0.95
    # batch size does not change the result
    np.testing.assert_allclose(model.predict(ids, batch_size=3, verbose=0), got, rtol=0,
                               atol=1e-6)


def test_loss_and_gradients_match_the_float64_model(case):
    model, weights, ids, y = case
    loss, grads = model._compute_gradients(ids, y)
    want_loss, want = rm.loss_and_gradients(ids, y, weights)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    names = _flat_names_and_shapes(weights)
    flat = [g for name in rm.WEIGHTED_LAYERS for g in want[name]]
    assert len(grads) == len(flat) == len(names) == 22
    for (name, i, _), g, w in zip(names, grads, flat):
        _assert_grad_close(g, w, f"{name}[{i}]")


# ------------------------------------------------------------------------------------------
# Keras 3 (torch backend) parity
# ------------------------------------------------------------------------------------------


def _import_keras():
    """keras (3.x, torch backend) or a skip."""
    torch = pytest.importorskip("torch")
    os.environ["KERAS_BACKEND"] = "torch"  # read when keras is first imported
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3."):
        pytest.skip(f"Keras 3 is needed for the parity test, found {keras.__version__}")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was already imported with the {keras.backend.backend()!r} backend")
    return keras, torch


def _keras_io_model(keras):
    """keras.io's code (TokenAndPositionEmbedding and TransformerBlock as its custom layers),
    except that the Input is declared int32. Returns the model and its variables by seqattn
    layer name, each list in that layer's get_weights() order (the same in both libraries)."""
    from keras import layers as kl, ops

    class TokenAndPositionEmbedding(kl.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = kl.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = kl.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            maxlen = ops.shape(x)[-1]
            positions = ops.arange(start=0, stop=maxlen, step=1)
            positions = self.pos_emb(positions)
            x = self.token_emb(x)
            return x + positions

    class TransformerBlock(kl.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = kl.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential(
                [kl.Dense(ff_dim, activation="relu"), kl.Dense(embed_dim)])
            self.layernorm1 = kl.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = kl.LayerNormalization(epsilon=1e-6)
            self.dropout1 = kl.Dropout(rate)
            self.dropout2 = kl.Dropout(rate)

        def call(self, inputs):
            attn_output = self.att(inputs, inputs)
            attn_output = self.dropout1(attn_output)
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.ffn(out1)
            ffn_output = self.dropout2(ffn_output)
            return self.layernorm2(out1 + ffn_output)

    inputs = kl.Input(shape=(rm.MAXLEN,), dtype="int32")
    embedding_layer = TokenAndPositionEmbedding(rm.MAXLEN, rm.VOCAB, rm.EMBED)
    x = embedding_layer(inputs)
    block = TransformerBlock(rm.EMBED, rm.HEADS, rm.FF)
    x = block(x)
    x = kl.GlobalAveragePooling1D()(x)
    x = kl.Dropout(0.1)(x)
    hidden = kl.Dense(20, activation="relu")
    x = hidden(x)
    x = kl.Dropout(0.1)(x)
    head = kl.Dense(2, activation="softmax")
    outputs = head(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    # Keras lists the block's variables in attribute order (att, ffn, layernorm1, layernorm2);
    # seqattn in call order (mha, ln1, ffn1, ffn2, ln2): map them by layer, not by position.
    variables = {
        "emb": [embedding_layer.token_emb.embeddings, embedding_layer.pos_emb.embeddings],
        "mha": list(block.att.weights),
        "ln1": list(block.layernorm1.weights),
        "ffn1": list(block.ffn.layers[0].weights),
        "ffn2": list(block.ffn.layers[1].weights),
        "ln2": list(block.layernorm2.weights),
        "dense": list(hidden.weights),
        "head": list(head.weights),
    }
    return model, variables


_VARIABLE_SUFFIXES = {
    "emb": ["embeddings", "embeddings"],
    "mha": ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel",
            "value/bias", "attention_output/kernel", "attention_output/bias"],
    "ln1": ["gamma", "beta"], "ln2": ["gamma", "beta"],
    "ffn1": ["kernel", "bias"], "ffn2": ["kernel", "bias"],
    "dense": ["kernel", "bias"], "head": ["kernel", "bias"],
}


# Keras's torch-backend predict() converts tensors with np.array(x), which NumPy 2 flags.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")
def test_matches_keras_io_model_in_keras(case):
    keras, torch = _import_keras()
    model, weights, ids, y = case
    kmodel, kvars = _keras_io_model(keras)
    assert kmodel.count_params() == model.count_params() == 657_758

    # Load seqattn's weights: the shapes are Keras shapes already.
    seq_weights = model.get_weights()
    names = _flat_names_and_shapes(weights)
    flat_vars = [v for name in rm.WEIGHTED_LAYERS for v in kvars[name]]
    assert len(flat_vars) == len(seq_weights) == len(kmodel.trainable_weights) == 22
    assert {id(v) for v in flat_vars} == {id(v) for v in kmodel.trainable_weights}
    for (name, i, shape), v, a in zip(names, flat_vars, seq_weights):
        assert v.path.endswith(_VARIABLE_SUFFIXES[name][i]), (name, i, v.path)
        assert tuple(v.shape) == shape == a.shape, (name, i, v.path, v.shape, a.shape)
        v.assign(a)

    # (a) predictions
    got = model.predict(ids, verbose=0)
    want = kmodel.predict(ids, batch_size=B, verbose=0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)

    # (b) loss and every loss gradient, inference mode (dropout off) in both
    loss, grads = model._compute_gradients(ids, y)
    x = keras.ops.convert_to_tensor(ids)
    out = kmodel(x, training=False)
    kloss = keras.losses.SparseCategoricalCrossentropy()(keras.ops.convert_to_tensor(y), out)
    kgrads = torch.autograd.grad(kloss, [v.value for v in flat_vars])
    np.testing.assert_allclose(out.detach().cpu().numpy(), want, rtol=0, atol=1e-6)
    assert loss == pytest.approx(float(kloss.detach()), rel=1e-5)
    for (name, i, _), g, kg in zip(names, grads, kgrads):
        kg = kg.to_dense() if kg.is_sparse else kg
        _assert_grad_close(g, kg.detach().cpu().numpy(), f"{name}[{i}] vs Keras")
