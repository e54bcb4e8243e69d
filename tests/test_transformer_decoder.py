"""TransformerDecoder (keras-hub semantics): the float64 reference with causal self-attention,
cross-attention and padding masks on both sides (fully padded rows included), gradients by
finite differences, weights/config/saving round trips, and PyTorch's
nn.TransformerDecoderLayer with ported weights."""

import numpy as np
import pytest

import reference as ref
from conftest import assert_close, assert_gradient_matches_loss
import seqattn
from seqattn import layers

V_SRC, V_TGT, C, H, I = 20, 24, 8, 2, 12


@pytest.fixture(autouse=True)
def _seeded():
    seqattn.utils.set_random_seed(5)


def _seq2seq(normalize_first=False, cross=True, causal=True, blocks=1):
    """encoder ids (B, S) and decoder ids (B, T) -> per-token softmax (B, T, V_TGT)."""
    src = seqattn.Input(shape=(None,), dtype="int32", name="source")
    tgt = seqattn.Input(shape=(None,), dtype="int32", name="target")
    e = layers.TokenAndPositionEmbedding(V_SRC, 10, C, mask_zero=True)(src)
    e = layers.TransformerEncoder(I, H, normalize_first=normalize_first)(e)
    d = layers.TokenAndPositionEmbedding(V_TGT, 10, C, mask_zero=True)(tgt)
    for _ in range(blocks):
        block = layers.TransformerDecoder(I, H, normalize_first=normalize_first)
        d = block(d, e, use_causal_mask=causal) if cross else block(d, use_causal_mask=causal)
    out = layers.Dense(V_TGT, activation="softmax")(d)
    return seqattn.Model([src, tgt] if cross else [src, tgt], out)


def _encoder_block(h, w, mask, normalize_first):
    mha, (g1, b1), (g2, b2), (k1, c1), (k2, c2) = w[:8], w[8:10], w[10:12], w[12:14], w[14:16]

    def branch_attention(x):
        return ref.mha_forward(x, x, None, mha, H, query_mask=mask, value_mask=mask)[0]

    def branch_ffn(x):
        return ref.dense_forward(ref.dense_forward(x, k1, c1, "relu"), k2, c2)

    h = _residual(h, branch_attention, g1, b1, normalize_first)
    return _residual(h, branch_ffn, g2, b2, normalize_first)


def _residual(x, branch, gamma, beta, normalize_first, eps=1e-5):
    if normalize_first:
        return x + branch(ref.layer_norm_forward(x, gamma, beta, eps))
    return ref.layer_norm_forward(x + branch(x), gamma, beta, eps)


def _decoder_block(h, enc, w, mask, enc_mask, normalize_first, causal=True):
    """keras-hub's decoder block in float64; w in its weight order."""
    self_mha, (g1, b1) = w[:8], w[8:10]
    rest = w[10:]
    if enc is not None:
        cross_mha, (g2, b2), rest = rest[:8], rest[8:10], rest[10:]
    (k1, c1), (k2, c2), (g3, b3) = rest[:2], rest[2:4], rest[4:6]

    h = _residual(h, lambda x: ref.mha_forward(x, x, None, self_mha, H, query_mask=mask,
                                                value_mask=mask, use_causal_mask=causal)[0],
                  g1, b1, normalize_first)
    if enc is not None:
        h = _residual(h, lambda x: ref.mha_forward(x, enc, None, cross_mha, H, query_mask=mask,
                                                    value_mask=enc_mask)[0],
                      g2, b2, normalize_first)
    return _residual(h, lambda x: ref.dense_forward(ref.dense_forward(x, k1, c1, "relu"), k2, c2),
                     g3, b3, normalize_first)


def _ids(rng, B, T, V, pad_rows=()):
    ids = rng.integers(1, V, (B, T))
    ids[0, T - 2:] = 0
    for r in pad_rows:
        ids[r, :] = 0  # a fully padded row
    return ids


@pytest.mark.parametrize("normalize_first", [False, True])
@pytest.mark.parametrize("causal", [True, False])
def test_seq2seq_matches_the_float64_reference(rng, normalize_first, causal):
    model = _seq2seq(normalize_first=normalize_first, causal=causal)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    src, tgt = _ids(rng, 4, 7, V_SRC, pad_rows=(2,)), _ids(rng, 4, 6, V_TGT, pad_rows=(3,))
    w = [a.astype(np.float64) for a in model.get_weights()]
    src_mask, tgt_mask = src != 0, tgt != 0
    e = ref.token_and_position_forward(src, w[0], w[1])
    e = _encoder_block(e, w[2:18], src_mask, normalize_first)
    d = ref.token_and_position_forward(tgt, w[18], w[19])
    d = _decoder_block(d, e, w[20:46], tgt_mask, src_mask, normalize_first, causal)
    expected = ref.dense_forward(d, w[46], w[47], "softmax")
    got = model.predict([src, tgt], verbose=0)
    assert np.all(np.isfinite(got))
    assert_close(got, expected, "predictions", rtol=1e-5, atol=1e-5)


def test_decoder_only_block_is_causal_and_matches_the_reference(rng):
    tgt = seqattn.Input(shape=(None,), dtype="int32")
    d = layers.TokenAndPositionEmbedding(V_TGT, 10, C)(tgt)
    d = layers.TransformerDecoder(I, H)(d)
    model = seqattn.Model(tgt, layers.Dense(V_TGT)(d))
    ids = rng.integers(0, V_TGT, (3, 8))
    w = [a.astype(np.float64) for a in model.get_weights()]
    h = _decoder_block(ref.token_and_position_forward(ids, w[0], w[1]), None, w[2:18],
                       None, None, False)
    assert_close(model.predict(ids, verbose=0), ref.dense_forward(h, w[18], w[19]),
                 "predictions", rtol=1e-5, atol=1e-5)
    # causal: changing the last token changes nothing before it
    changed = ids.copy()
    changed[:, -1] = (changed[:, -1] + 1) % V_TGT
    a, b = model.predict(ids, verbose=0), model.predict(changed, verbose=0)
    np.testing.assert_array_equal(a[:, :-1], b[:, :-1])
    assert not np.array_equal(a[:, -1], b[:, -1])


def test_gradients_are_finite_differences_of_the_loss(rng):
    model = _seq2seq(blocks=1)
    model.compile(loss="sparse_categorical_crossentropy")
    src, tgt = _ids(rng, 3, 6, V_SRC), _ids(rng, 3, 5, V_TGT)
    y = rng.integers(0, V_TGT, (3, 5))
    assert_gradient_matches_loss(model, [src, tgt], y, rng)


def test_keras_hub_weights_summary_config_and_saving(rng, tmp_path):
    model = _seq2seq()
    block = model.layers[-2]
    assert isinstance(block, layers.TransformerDecoder)
    names = [type(l).__name__ for l in model.layers]
    assert names.count("TransformerDecoder") == 1 and "MultiHeadAttention" not in names
    mha = [(C, H, C // H), (H, C // H)] * 3 + [(H, C // H, C), (C,)]
    assert [w.shape for w in block.get_weights()] == (
        mha + [(C,), (C,)] + mha + [(C,), (C,)] + [(C, I), (I,), (I, C), (C,), (C,), (C,)])
    config = block.get_config()
    clone = layers.TransformerDecoder.from_config({**config, "name": "copy"})
    assert {**clone.get_config(), "name": config["name"]} == config
    path = str(tmp_path / "s2s.seqattn")
    model.compile(loss="sparse_categorical_crossentropy")
    model.save(path)
    loaded = seqattn.saving.load_model(path)
    src, tgt = _ids(rng, 2, 5, V_SRC), _ids(rng, 2, 4, V_TGT)
    np.testing.assert_array_equal(loaded.predict([src, tgt], verbose=0),
                                  model.predict([src, tgt], verbose=0))


def test_bad_calls_say_what_to_write():
    tgt = seqattn.Input(shape=(6,), dtype="int32")
    d = layers.Embedding(10, C)(tgt)
    e = layers.Embedding(10, C)(seqattn.Input(shape=(5,), dtype="int32"))
    with pytest.raises(ValueError, match="decoder_padding_mask.*mask_zero=True"):
        layers.TransformerDecoder(I, H)(d, decoder_padding_mask=np.ones((1, 6)))
    with pytest.raises(ValueError, match="self_attention_cache.*seqattn.generate"):
        layers.TransformerDecoder(I, H)(d, self_attention_cache=np.zeros(1))
    block = layers.TransformerDecoder(I, H)
    block(d)
    with pytest.raises(ValueError, match="built without cross-attention"):
        block(d, e)
    with pytest.raises(TypeError, match="composite block.*decoder_sequence"):
        layers.TransformerDecoder(I, H)(np.zeros((1, 6, C), np.float32))
    with pytest.raises(ValueError, match="`encoder_sequence`.*float32 of shape"):
        layers.TransformerDecoder(I, H)(d, tgt)
    with pytest.raises(ValueError, match="divisible by num_heads=3"):
        layers.TransformerDecoder(I, 3)(d)
    with pytest.raises(TypeError, match="use_causal_mask"):
        layers.TransformerDecoder(I, H)(d, use_causal_mask="yes")


@pytest.mark.parametrize("normalize_first", [False, True])
def test_matches_pytorch_transformer_decoder_layer(rng, normalize_first):
    torch = pytest.importorskip("torch")
    B, T, S = 3, 6, 7
    x = seqattn.Input(shape=(T, C))
    m = seqattn.Input(shape=(S, C))
    out = layers.TransformerDecoder(I, H, normalize_first=normalize_first)(x, m)
    model = seqattn.Model([x, m], out)
    model.set_weights([w + 0.1 * rng.standard_normal(w.shape).astype(np.float32)
                       for w in model.get_weights()])
    w = model.get_weights()
    t = torch.nn.TransformerDecoderLayer(C, H, I, dropout=0.0, batch_first=True,
                                         norm_first=normalize_first, layer_norm_eps=1e-5)

    def port(attention, mha):
        wq, bq, wk, bk, wv, bv, wo, bo = mha
        with torch.no_grad():
            attention.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
                [wq.reshape(C, C).T, wk.reshape(C, C).T, wv.reshape(C, C).T])))
            attention.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
                [bq.ravel(), bk.ravel(), bv.ravel()])))
            attention.out_proj.weight.copy_(torch.from_numpy(wo.reshape(C, C).T))
            attention.out_proj.bias.copy_(torch.from_numpy(bo))

    port(t.self_attn, w[0:8])
    port(t.multihead_attn, w[10:18])
    with torch.no_grad():
        for norm, (g, b) in ((t.norm1, w[8:10]), (t.norm2, w[18:20]), (t.norm3, w[24:26])):
            norm.weight.copy_(torch.from_numpy(g))
            norm.bias.copy_(torch.from_numpy(b))
        t.linear1.weight.copy_(torch.from_numpy(w[20].T)); t.linear1.bias.copy_(torch.from_numpy(w[21]))
        t.linear2.weight.copy_(torch.from_numpy(w[22].T)); t.linear2.bias.copy_(torch.from_numpy(w[23]))
    t.eval()
    dec = rng.standard_normal((B, T, C)).astype(np.float32)
    mem = rng.standard_normal((B, S, C)).astype(np.float32)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(T)
    with torch.no_grad():
        expected = t(torch.from_numpy(dec), torch.from_numpy(mem), tgt_mask=causal,
                     tgt_is_causal=True).numpy()
    np.testing.assert_allclose(model.predict([dec, mem], verbose=0), expected,
                               rtol=1e-4, atol=1e-5)
