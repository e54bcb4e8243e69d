"""Generation: the C++ key/value cache equals full forward passes, and the sampler its
NumPy reference.

Cached generation (cpp/kv_cache.hpp) must give the tokens of the cache-free loop (a full
forward per token) for the same seed; every incremental step's logits must equal the full
forward's at that position; batched prompts of different lengths must equal one-by-one
generation; the sampler must choose what a plain per-row reference chooses from the same
uniform draw.
"""
import os
import threading

import numpy as np
import pytest

import seqattn
from seqattn import _core, layers as L
from seqattn.generation import next_token_pairs, sample_tokens


V, TMAX = 23, 40


def decoder_lm(normalize_first=False, softmax=False):
    """keras-hub style: TokenAndPositionEmbedding, two TransformerDecoder blocks, Dense."""
    seqattn.utils.set_random_seed(1)
    inp = seqattn.Input(shape=(None,), dtype="int32")
    x = L.TokenAndPositionEmbedding(V, TMAX, 16, mask_zero=True)(inp)
    x = L.TransformerDecoder(32, 2, dropout=0.1, normalize_first=normalize_first)(x)
    x = L.TransformerDecoder(24, 4, activation="gelu", normalize_first=normalize_first)(x)
    out = L.Dense(V, activation="softmax" if softmax else None)(x)
    m = seqattn.Model(inp, out)
    if softmax:  # compiled: the training graph reads the Dense's logits (fusion pass)
        m.compile("adam", "sparse_categorical_crossentropy")
    return m


def custom_causal_lm(sine=False):
    """TransformerEncoder-style block written by hand: MultiHeadAttention(use_causal_mask=True),
    `x + y` on tensors, a shared Dense (a second call), element-wise ops."""
    seqattn.utils.set_random_seed(2)
    inp = seqattn.Input(shape=(None,), dtype="int32")
    x = L.Embedding(V, 16)(inp)
    pos = L.SinePositionEncoding()(x) if sine else L.PositionEmbedding(TMAX)(x)
    x = L.Add()([x, pos])
    a = L.MultiHeadAttention(num_heads=2, key_dim=8, dropout=0.1)(x, x, use_causal_mask=True)
    x = L.LayerNormalization()(x + L.Dropout(0.1)(a))
    shared = L.Dense(16, activation="gelu")
    h = shared(shared(x)) * 0.5
    x = L.LayerNormalization()(L.Add()([x, seqattn.ops.tanh(h)]))
    a = L.MultiHeadAttention(num_heads=4, key_dim=4, use_bias=False)(x, x, use_causal_mask=True)
    x = L.Activation("relu")(x - a)
    return seqattn.Model(inp, L.Dense(V)(x))


MODELS = {"decoder": decoder_lm, "decoder_prenorm": lambda: decoder_lm(normalize_first=True),
          "decoder_softmax": lambda: decoder_lm(softmax=True), "custom": custom_causal_lm,
          "custom_sine": lambda: custom_causal_lm(sine=True)}
PROMPTS = [[3, 4, 5], [7], [1, 2, 3, 4, 5, 6, 9], [22, 11]]


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request):
    return MODELS[request.param]()


@pytest.mark.parametrize("sampling", [{}, {"temperature": 1.0}, {"temperature": 0.7, "top_k": 5},
                                      {"temperature": 1.3, "top_p": 0.8}])
def test_cached_equals_uncached(model, sampling):
    cached = model.generate(PROMPTS, 12, seed=5, **sampling)
    uncached = model.generate(PROMPTS, 12, seed=5, use_cache=False, **sampling)
    assert cached == uncached
    assert [r[:len(p)] for r, p in zip(cached, PROMPTS)] == PROMPTS
    assert all(len(r) == len(p) + 12 for r, p in zip(cached, PROMPTS))
    assert all(0 < t < V for r in cached for t in r)


def test_each_step_equals_full_forward(model):
    """Prompt chunks at per-row offsets, then single tokens: logits = the full forward's."""
    rng = np.random.default_rng(0)
    ids = rng.integers(1, V, size=(3, 15)).astype(np.int32)
    full = model.predict_on_batch(ids)  # (B, T, V) logits or probabilities
    d = _core.IncrementalDecoder(model._core_graph())
    d.reset(3, 15)
    lengths = np.array([4, 1, 7])  # right-padded prompts of different lengths
    prompt = ids[:, :7] * (np.arange(7) < lengths[:, None])
    out = np.zeros((3, 7, V), np.float32)
    d.step(prompt, np.zeros(3, np.int64), out)
    for b in range(3):
        np.testing.assert_allclose(out[b, :lengths[b]], full[b, :lengths[b]], rtol=1e-4,
                                   atol=2e-5, err_msg=f"prompt of row {b}")
    pos = lengths.copy()
    one = np.zeros((3, 1, V), np.float32)
    while pos.min() < 15:
        p = np.minimum(pos, 14)
        d.step(ids[np.arange(3), p][:, None], p, one)
        np.testing.assert_allclose(one[:, 0], full[np.arange(3), p], rtol=1e-4, atol=2e-5,
                                   err_msg=f"positions {p}")
        pos += 1


def test_batched_prompts_equal_one_by_one(model):
    batched = model.generate(PROMPTS, 9)
    single = [model.generate([p], 9)[0] for p in PROMPTS]
    assert batched == single
    arr = np.zeros((len(PROMPTS), 7), np.int64)
    for i, p in enumerate(PROMPTS):
        arr[i, :len(p)] = p
    out = model.generate(arr, 9)
    assert out.dtype == np.int32 and out.shape == (4, 16)
    for i, row in enumerate(single):
        assert out[i, :len(row)].tolist() == row and not out[i, len(row):].any()
    one = model.generate(np.array(PROMPTS[2]), 9)
    assert one.ndim == 1 and one.tolist() == single[2]


def test_seed_reproducible():
    m = decoder_lm()
    a = m.generate(PROMPTS, 15, temperature=2.0, seed=11)
    assert a == m.generate(PROMPTS, 15, temperature=2.0, seed=11)
    assert a != m.generate(PROMPTS, 15, temperature=2.0, seed=12)


def test_stop_token():
    m = decoder_lm()
    free = m.generate(PROMPTS, 10, temperature=1.5, seed=3)
    stop = free[0][len(PROMPTS[0]) + 2]  # row 0's third new token
    out = m.generate(PROMPTS, 10, temperature=1.5, seed=3, stop_token=stop)
    for p, f, o in zip(PROMPTS, free, out):
        new = f[len(p):]
        end = new.index(stop) + 1 if stop in new else len(new)
        assert o == p + new[:end]
    assert len(out[0]) == len(PROMPTS[0]) + 3
    padded = np.zeros((4, 7), np.int32)
    for i, p in enumerate(PROMPTS):
        padded[i, :len(p)] = p
    arr = m.generate(padded, 10, temperature=1.5, seed=3, stop_token=stop, use_cache=False)
    for i, o in enumerate(out):  # a stopped row is padded with 0 after its stop token
        assert arr[i, :len(o)].tolist() == o and not arr[i, len(o):].any()


def reference_sample(logits, u, temperature, top_k, top_p):
    """One row, written plainly in float64: sort, cut, renormalise, invert the CDF."""
    z = np.asarray(logits, np.float64)
    ids = list(range(1, len(z)))  # 0 is padding
    if not temperature:
        return max(ids, key=lambda i: (z[i], -i))
    ids.sort(key=lambda i: (-z[i], i))
    if top_k is not None:
        ids = ids[:top_k]
    w = np.array([np.exp((z[i] - z[ids[0]]) / temperature) for i in ids])
    p = w / w.sum()
    if top_p is not None:
        kept, mass = [], 0.0
        for i, q in zip(ids, p):
            if mass < top_p:
                kept.append((i, q))
            mass += q
        ids, p = [i for i, _ in kept], np.array([q for _, q in kept])
        p = p / p.sum()
    c = 0.0
    for i, q in zip(ids, p):
        c += q
        if c > u:
            return i
    return ids[-1]


@pytest.mark.parametrize("temperature,top_k,top_p", [
    (None, None, None), (0, 3, None), (1.0, None, None), (0.5, None, None), (2.0, 4, None),
    (1.0, None, 0.5), (0.8, 6, 0.9), (1.0, 1, None), (1.0, None, 1e-6), (3.0, 50, 1.0)])
def test_sampler_matches_reference(temperature, top_k, top_p):
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 2, size=(200, 12)).astype(np.float32)
    logits[:5, 3] = logits[:5, 4]  # ties: the lower id comes first
    u = rng.random(200)
    got = sample_tokens(logits, u, temperature, top_k, top_p)
    want = [reference_sample(logits[i], u[i], temperature, top_k, top_p) for i in range(200)]
    assert got.tolist() == want
    assert (got != 0).all()
    if top_k == 1 or (top_p is not None and top_p < 1e-3):
        assert got.tolist() == sample_tokens(logits, u).tolist()  # greedy


def test_sampler_frequencies_follow_temperature():
    logits = np.array([[0.0, 1.0, 2.0, 0.5]])
    u = np.random.default_rng(0).random(40000)
    got = sample_tokens(np.repeat(logits, len(u), 0), u, temperature=0.5)
    p = np.exp(logits[0, 1:] / 0.5)
    p /= p.sum()
    freq = np.bincount(got, minlength=4)[1:] / len(u)
    np.testing.assert_allclose(freq, p, atol=0.01)


def test_next_token_pairs():
    x, y = next_token_pairs(np.array([[5, 6, 7, 8], [5, 6, 0, 0]]))
    assert x.tolist() == [[5, 6, 7], [5, 0, 0]] and y.tolist() == [[6, 7, 8], [6, 0, 0]]
    assert x.dtype == y.dtype == np.int32
    with pytest.raises(ValueError, match="next_token_pairs"):
        next_token_pairs(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="next_token_pairs"):
        next_token_pairs(np.zeros((2, 3), np.float32))


def test_training_on_next_token_pairs_lowers_the_loss():
    m = decoder_lm(softmax=True)
    m.compile(seqattn.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    before = m.generate(PROMPTS, 6, temperature=1.0, seed=1)
    assert before == m.generate(PROMPTS, 6, temperature=1.0, seed=1, use_cache=False)
    seqs = np.array([[(3 * i + t) % (V - 1) + 1 for t in range(13)] for i in range(32)])
    x, y = next_token_pairs(seqs)
    h = m.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < 0.3 * h.history["loss"][0]
    out = m.generate([[4, 5, 6]], 6)[0]  # the pattern: each token is the last one + 1
    assert out == [(4 + k - 1) % (V - 1) + 1 for k in range(9)]
    after = m.generate(PROMPTS, 6, temperature=1.0, seed=1)  # the cache reads trained weights
    assert after == m.generate(PROMPTS, 6, temperature=1.0, seed=1, use_cache=False)
    assert after != before


@pytest.mark.parametrize("kwargs,name", [
    ({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": 2.5}, "max_new_tokens"),
    ({"max_new_tokens": True}, "max_new_tokens"), ({"temperature": -1.0}, "temperature"),
    ({"temperature": "1"}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"top_k": 0}, "top_k"), ({"top_k": 2.0}, "top_k"), ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"), ({"seed": -1}, "seed"), ({"seed": "7"}, "seed"),
    ({"stop_token": 0}, "stop_token"), ({"use_cache": 1}, "use_cache"),
    ({"prompt": [[1, 2], []]}, "prompt"), ({"prompt": [[1, 0, 2]]}, "prompt"),
    ({"prompt": np.zeros((2, 3), np.int32)}, "prompt"), ({"prompt": [[1.5, 2]]}, "prompt"),
    ({"prompt": np.array([[1, -2]])}, "prompt"), ({"prompt": "abc"}, "prompt"),
    ({"max_new_tokens": TMAX}, "max_new_tokens")])
def test_bad_arguments(kwargs, name):
    m = decoder_lm()
    args = {"prompt": [[1, 2]], "max_new_tokens": 3, **kwargs}
    with pytest.raises(ValueError, match=name):
        seqattn.generate(m, **args)


def test_generate_needs_a_model():
    with pytest.raises(TypeError, match="model"):
        seqattn.generate("gpt2", [[1, 2]], 3)


def test_prompt_ids_outside_the_vocabulary():
    m = decoder_lm()
    for use_cache in (True, False):
        with pytest.raises(ValueError, match=str(V)):
            m.generate([[1, V]], 3, use_cache=use_cache)


def _refused(kind):
    seqattn.utils.set_random_seed(0)
    inp = seqattn.Input(shape=(None,), dtype="int32")
    x = L.Embedding(V, 8)(inp)
    if kind == "bidirectional":
        x = L.MultiHeadAttention(num_heads=2, key_dim=4, name="bidi")(x, x)
        who = "bidi"
    elif kind == "conv":
        x = L.Conv1D(8, 3, padding="causal", name="conv")(x)
        who = "conv"
    else:
        e = L.Embedding(V, 8)(inp)
        x = L.MultiHeadAttention(num_heads=2, key_dim=4, name="cross")(x, e, use_causal_mask=True)
        who = "cross"
    return seqattn.Model(inp, L.Dense(V)(x)), who


@pytest.mark.parametrize("kind", ["bidirectional", "conv", "cross"])
def test_models_that_mix_positions_are_refused(kind):
    m, who = _refused(kind)
    with pytest.raises(ValueError, match=f"'{who}'.*use_cache=False|'{who}'"):
        m.generate([[1, 2]], 3)
    assert len(m.generate([[1, 2]], 3, use_cache=False)[0]) == 5  # the cache-free loop runs


def test_pooling_model_is_refused_naming_the_layer():
    seqattn.utils.set_random_seed(0)
    inp = seqattn.Input(shape=(6,), dtype="int32")
    x = L.GlobalAveragePooling1D(name="pool")(L.Embedding(V, 8)(inp))
    m = seqattn.Model(inp, L.Dense(V)(x))
    with pytest.raises(ValueError, match="'pool'.*use_cache=False"):
        m.generate([[1, 2]], 3)


def test_same_tokens_at_each_thread_count(threads):
    m = decoder_lm()
    results = []
    for n in (1, 2, 3):
        seqattn.set_num_threads(n)
        results.append(m.generate(PROMPTS, 10, temperature=1.0, seed=4))
    assert results[0] == results[1] == results[2]


def test_concurrent_generation_equals_serial():
    m = decoder_lm()
    want = m.generate(PROMPTS, 10, temperature=1.0, seed=9)
    got, errors = [], []

    def run():
        try:
            got.append(m.generate(PROMPTS, 10, temperature=1.0, seed=9))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    ts = [threading.Thread(target=run) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and got == [want] * 4


def test_char_lm_example_tiny():
    """examples/char_lm.py end to end in a tiny configuration: trains, reports bits per
    character, generates review-like ids with the cache."""
    import importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "examples", "char_lm.py")
    spec = importlib.util.spec_from_file_location("char_lm", path)
    char_lm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(char_lm)
    if not os.path.isfile(char_lm.DATA):
        pytest.skip("../shared/data/imdb/train.csv is not here")
    r = char_lm.main(["--subset", "200", "--max-steps", "30", "--seq-len", "32", "--width", "16",
                      "--layers", "1", "--heads", "2", "--batch", "8", "--val-windows", "20",
                      "--new-chars", "20", "--threads", "1", "--lr", "0.01"])
    assert r["steps"] == 30
    assert 1.0 < r["bpc"] < 5.5  # below uniform over ~99 characters (6.6 bits) after 30 steps
    for o, p in zip(r["samples"], char_lm.PROMPTS):
        assert len(p) < len(o) <= len(p) + 20 and 0 not in o


def test_sequential_and_saved_models_generate(tmp_path):
    seqattn.utils.set_random_seed(3)
    m = seqattn.Sequential([seqattn.Input(shape=(None,), dtype="int32"),
                            L.TokenAndPositionEmbedding(V, TMAX, 16, mask_zero=True),
                            L.TransformerDecoder(32, 2),
                            L.Dense(V, activation="softmax")])
    want = m.generate(PROMPTS, 8, temperature=0.9, top_p=0.9, seed=2)
    assert want == m.generate(PROMPTS, 8, temperature=0.9, top_p=0.9, seed=2, use_cache=False)
    m.save(tmp_path / "lm.seqattn")
    loaded = seqattn.load_model(tmp_path / "lm.seqattn")
    assert loaded.generate(PROMPTS, 8, temperature=0.9, top_p=0.9, seed=2) == want
