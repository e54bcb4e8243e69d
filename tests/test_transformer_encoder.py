"""TransformerEncoder (keras-hub semantics): the float64 reference, masks through stacked
blocks, weight/config round-trip, and PyTorch's nn.TransformerEncoderLayer with ported weights."""

import re

import numpy as np
import pytest

import reference as ref
from conftest import assert_close, assert_gradient_matches_loss
import seqattn
from seqattn import layers


@pytest.fixture(autouse=True)
def _seeded():
    seqattn.utils.set_random_seed(11)  # initial weights are drawn from the global generator


def _model(T=None, V=30, C=8, H=2, I=12, blocks=2, normalize_first=False, dropout=0.0):
    x = seqattn.Input(shape=(T,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(V, 12, C, mask_zero=True)(x)
    for _ in range(blocks):
        h = layers.TransformerEncoder(I, H, dropout=dropout, normalize_first=normalize_first,
                                      layer_norm_epsilon=1e-5)(h)
    out = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(h))
    return seqattn.Model(x, out)


def _reference_block(h, w, H, mask, eps, normalize_first):
    """Forward of one block in float64; returns output and a backward closure."""
    mha_w, (g1, b1), (g2, b2), (k1, c1), (k2, c2) = w[:8], w[8:10], w[10:12], w[12:14], w[14:16]
    kw = dict(query_mask=mask, value_mask=mask)
    if normalize_first:
        n1 = ref.layer_norm_forward(h, g1, b1, eps)
        a = h + ref.mha_forward(n1, n1, None, mha_w, H, **kw)[0]
        n2 = ref.layer_norm_forward(a, g2, b2, eps)
        f1 = ref.dense_forward(n2, k1, c1, "relu")
        return a + ref.dense_forward(f1, k2, c2)
    s1 = h + ref.mha_forward(h, h, None, mha_w, H, **kw)[0]
    a = ref.layer_norm_forward(s1, g1, b1, eps)
    f1 = ref.dense_forward(a, k1, c1, "relu")
    return ref.layer_norm_forward(a + ref.dense_forward(f1, k2, c2), g2, b2, eps)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_stacked_blocks_match_the_float64_reference(rng, normalize_first):
    model = _model(normalize_first=normalize_first)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    ids = rng.integers(1, 30, (4, 9))
    ids[0, 6:] = 0
    ids[1, :] = 0  # an all-padding row: finite everywhere
    w = [a.astype(np.float64) for a in model.get_weights()]
    mask = ids != 0
    h = ref.token_and_position_forward(ids, w[0], w[1])
    for b in range(2):
        h = _reference_block(h, w[2 + 16 * b: 18 + 16 * b], 2, mask, 1e-5, normalize_first)
    pooled = ref.global_average_pooling_forward(h, mask)
    expected = ref.dense_forward(pooled, w[-2], w[-1], "softmax")
    got = model.predict(ids, verbose=0)
    assert np.all(np.isfinite(got))
    assert_close(got, expected, "predictions", rtol=1e-5, atol=1e-5)


def test_whole_model_gradients_are_finite_differences_of_the_loss(rng):
    model = _model(blocks=1)
    model.compile(loss="sparse_categorical_crossentropy")
    ids = rng.integers(1, 30, (3, 7))
    ids[0, 4:] = 0
    y = rng.integers(0, 2, 3)
    assert_gradient_matches_loss(model, ids, y, rng)


def test_padding_mask_survives_stacked_blocks():
    seqattn.utils.set_random_seed(3)
    model = _model(blocks=3)
    short = np.array([[5, 6, 7, 0, 0]])
    long = np.array([[5, 6, 7, 0, 0, 0, 0, 0, 0]])  # more padding must change nothing
    np.testing.assert_allclose(model.predict(short, verbose=0), model.predict(long, verbose=0),
                               rtol=1e-6, atol=1e-7)


def test_block_is_one_layer_with_keras_hub_weights_and_config_round_trip(rng):
    model = _model(blocks=1, I=12)
    block = model.layers[1]
    assert isinstance(block, layers.TransformerEncoder)
    assert [type(l).__name__ for l in model.layers] == [
        "TokenAndPositionEmbedding", "TransformerEncoder", "GlobalAveragePooling1D", "Dense"]
    shapes = [w.shape for w in block.get_weights()]
    assert shapes == [(8, 2, 4), (2, 4), (8, 2, 4), (2, 4), (8, 2, 4), (2, 4), (2, 4, 8), (8,),
                      (8,), (8,), (8,), (8,), (8, 12), (12,), (12, 8), (8,)]
    config = block.get_config()
    clone_block = layers.TransformerEncoder.from_config({**config, "name": "copy"})
    assert {**clone_block.get_config(), "name": config["name"]} == config
    x = seqattn.Input(shape=(None,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(30, 12, 8, mask_zero=True)(x)
    out = layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(clone_block(h)))
    clone = seqattn.Model(x, out)
    clone.set_weights(model.get_weights())
    ids = rng.integers(0, 30, (3, 6))
    np.testing.assert_array_equal(clone.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_bad_arguments():
    for bad in (0, -1, 2.5, None, "64", True):
        with pytest.raises(ValueError, match="intermediate_dim"):
            layers.TransformerEncoder(bad, 2)
        with pytest.raises(ValueError, match="num_heads"):
            layers.TransformerEncoder(8, bad)
    x = seqattn.Input(shape=(5,), dtype="int32")
    h = layers.Embedding(10, 6)(x)
    with pytest.raises(ValueError, match="divisible by num_heads=4"):
        layers.TransformerEncoder(8, 4)(h)
    with pytest.raises(TypeError, match="composite block"):
        layers.TransformerEncoder(8, 2)(np.zeros((1, 5, 6), np.float32))


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_pytorch_transformer_encoder_layer(rng, normalize_first):
    torch = pytest.importorskip("torch")
    B, T, C, H, I = 3, 7, 8, 2, 16
    x = seqattn.Input(shape=(T, C))
    blocks = [layers.TransformerEncoder(I, H, normalize_first=normalize_first) for _ in range(2)]
    h = x
    for block in blocks:
        h = block(h)
    model = seqattn.Model(x, h)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    torch_layers = []
    for block in blocks:
        (wq, bq, wk, bk, wv, bv, wo, bo, g1, be1, g2, be2, k1, c1, k2, c2) = block.get_weights()
        t = torch.nn.TransformerEncoderLayer(C, H, I, dropout=0.0, batch_first=True,
                                             norm_first=normalize_first, layer_norm_eps=1e-5)
        with torch.no_grad():
            # nn.Linear weights are (out, in): transpose the Keras (in, out) kernels.
            t.self_attn.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
                [w.reshape(C, C).T for w in (wq, wk, wv)])))
            t.self_attn.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
                [b.reshape(C) for b in (bq, bk, bv)])))
            t.self_attn.out_proj.weight.copy_(torch.from_numpy(wo.reshape(C, C).T))
            t.self_attn.out_proj.bias.copy_(torch.from_numpy(bo))
            t.norm1.weight.copy_(torch.from_numpy(g1)); t.norm1.bias.copy_(torch.from_numpy(be1))
            t.norm2.weight.copy_(torch.from_numpy(g2)); t.norm2.bias.copy_(torch.from_numpy(be2))
            t.linear1.weight.copy_(torch.from_numpy(k1.T)); t.linear1.bias.copy_(torch.from_numpy(c1))
            t.linear2.weight.copy_(torch.from_numpy(k2.T)); t.linear2.bias.copy_(torch.from_numpy(c2))
        torch_layers.append(t.eval())
    features = rng.standard_normal((B, T, C)).astype(np.float32)
    with torch.no_grad():
        out = torch.from_numpy(features)
        for t in torch_layers:
            out = t(out)
    np.testing.assert_allclose(model.predict(features, verbose=0), out.numpy(), rtol=1e-4,
                               atol=1e-4)


def test_summary_shows_each_block_once_fed_by_the_layer_before(capsys):
    _model(blocks=2).summary()
    lines = [l for l in capsys.readouterr().out.splitlines() if "(TransformerEncoder)" in l]
    assert len(lines) == 2
    assert re.search(r"\(None, None, 8\) .* token_and_position_embedding(_\d+)?$", lines[0])
    assert lines[1].split()[-1] == lines[0].split()[0]  # block 2 is fed by block 1


def test_attention_scores_include_the_blocks_attention():
    """model.attention_scores reaches the MultiHeadAttention inside a TransformerEncoder; in a
    post-norm block it sees the block input, so an eager call of that sub-layer on the
    embedding output (with the padding mask) is the oracle."""
    ids = seqattn.Input((7,), dtype="int32")
    embed = layers.Embedding(20, 8, mask_zero=True)
    block = layers.TransformerEncoder(16, 2, name="te")
    model = seqattn.Model(ids, layers.GlobalAveragePooling1D()(block(embed(ids))))
    x = np.array([[3, 4, 5, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]], np.int32)
    scores = model.attention_scores(x)
    assert list(scores) == ["te/self_attention"]
    h = embed(x)
    mask = x != 0
    _, expected = block._sublayers["self_attention"](h, h, query_mask=mask, value_mask=mask,
                                                return_attention_scores=True)
    np.testing.assert_allclose(scores["te/self_attention"], expected, rtol=1e-6, atol=1e-7)
    assert scores["te/self_attention"].shape == (2, 2, 7, 7)
