"""seqattn.initializers: Keras 3 names, formulas, seeds, get/serialize, the layers' arguments."""

import math
import os

import numpy as np
import pytest

import seqattn
from seqattn import initializers as I
from seqattn import layers


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


SHAPE = (64, 8, 96)  # rank 3: fans use the receptive field (fan_in 512, fan_out 768)


def _std_of(name):
    fan_in, fan_out = I.compute_fans(SHAPE)
    n = {"glorot": (fan_in + fan_out) / 2, "he": fan_in / 2, "lecun": fan_in}[name]
    return math.sqrt(1.0 / n)


@pytest.mark.parametrize("cls,family", [(I.GlorotUniform, "glorot"), (I.HeUniform, "he"),
                                        (I.LecunUniform, "lecun")])
def test_uniform_variance_scaling_limits_and_moments(cls, family):
    w = cls(seed=3)(SHAPE)
    limit = math.sqrt(3.0) * _std_of(family)
    assert w.dtype == np.float32 and w.shape == SHAPE
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.mean()) < 0.01 * limit
    assert w.std() == pytest.approx(_std_of(family), rel=0.01)


@pytest.mark.parametrize("cls,family", [(I.GlorotNormal, "glorot"), (I.HeNormal, "he"),
                                        (I.LecunNormal, "lecun")])
def test_truncated_normal_variance_scaling(cls, family):
    w = cls(seed=4)(SHAPE).astype(np.float64)
    # stddev before truncation sqrt(scale/n)/0.8796; truncation at 2 of those keeps sqrt(scale/n)
    raw = _std_of(family) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * raw * (1 + 1e-6)
    assert w.std() == pytest.approx(_std_of(family), rel=0.01)
    assert abs(w.mean()) < 0.01 * raw


def test_random_uniform_normal_truncated():
    u = I.RandomUniform(-0.2, 0.5, seed=1)((200, 300))
    assert u.min() >= -0.2 and u.max() < 0.5 and u.mean() == pytest.approx(0.15, abs=0.005)
    n = I.RandomNormal(1.0, 0.3, seed=1)((200, 300))
    assert n.mean() == pytest.approx(1.0, abs=0.005) and n.std() == pytest.approx(0.3, rel=0.01)
    t = I.TruncatedNormal(1.0, 0.3, seed=1)((200, 300))
    assert np.abs(t - 1.0).max() <= 0.6 + 1e-6
    # a normal truncated at ±2σ has standard deviation 0.8796σ
    assert t.std() == pytest.approx(0.3 * 0.87962566103423978, rel=0.01)
    v = I.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=2)((300, 400))
    assert v.std() == pytest.approx(math.sqrt(2.0 / 400), rel=0.01)


def test_seeded_initializers_ignore_the_global_generator():
    seqattn.utils.set_random_seed(0)
    a = I.GlorotUniform(seed=7)((5, 6))
    seqattn.utils.global_rng().random(100)
    b = I.GlorotUniform(seed=7)((5, 6))
    np.testing.assert_array_equal(a, b)
    seqattn.utils.set_random_seed(0)
    c, d = I.GlorotUniform()((5, 6)), I.GlorotUniform()((5, 6))
    assert not np.array_equal(c, d)  # unseeded: successive draws of the global generator
    seqattn.utils.set_random_seed(0)
    np.testing.assert_array_equal(I.GlorotUniform()((5, 6)), c)


def test_orthogonal_and_identity():
    q = I.Orthogonal(gain=2.0, seed=0)((6, 4))
    np.testing.assert_allclose(q.T @ q, 4.0 * np.eye(4), atol=1e-5)
    q = I.Orthogonal(seed=0)((3, 7))
    np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-5)
    np.testing.assert_array_equal(I.Identity(0.5)((2, 3)), 0.5 * np.eye(2, 3, dtype=np.float32))
    with pytest.raises(ValueError, match="2D"):
        I.Identity()((2, 3, 4))


@pytest.mark.parametrize("name,expected", [
    ("zeros", I.Zeros()), ("ones", I.Ones()), ("glorot_uniform", I.GlorotUniform()),
    ("GlorotNormal", I.GlorotNormal()), ("uniform", I.RandomUniform()),
    ("normal", I.RandomNormal()), ("he_normal", I.HeNormal()), ("orthogonal", I.Orthogonal()),
    ("variance_scaling", I.VarianceScaling())])
def test_get_by_name(name, expected):
    assert I.get(name) == expected


@pytest.mark.parametrize("init", [I.Constant(0.25), I.RandomUniform(-1, 2, seed=3),
                                  I.VarianceScaling(0.5, "fan_avg", "uniform", seed=9),
                                  I.TruncatedNormal(stddev=0.02), I.HeUniform(seed=1),
                                  I.Identity(gain=3.0), I.Zeros()])
def test_serialize_round_trip(init):
    config = I.serialize(init)
    assert config["class_name"] == type(init).__name__
    again = I.get(config)
    assert again == init and again is not init


def test_get_rejects_bad_identifiers():
    with pytest.raises(ValueError, match="glorot_unifrom"):
        I.get("glorot_unifrom")
    with pytest.raises(ValueError, match="Unknown initializer class"):
        I.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret"):
        I.get(3)
    with pytest.raises(TypeError, match="GlorotUniform\\(\\)\\(shape\\)"):
        I.glorot_uniform((3, 4))  # a class alias, as in Keras: not a drawing function
    with pytest.raises(ValueError, match="stddev"):
        I.RandomNormal(stddev=-1.0)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_sum")


def test_layer_arguments_reach_the_weights():
    x = seqattn.Input(shape=(5, 4))
    d = layers.Dense(3, kernel_initializer="ones", bias_initializer=I.Constant(0.5))
    ln = layers.LayerNormalization(gamma_initializer=I.Constant(2.0), beta_initializer="ones")
    mha = layers.MultiHeadAttention(2, 3, kernel_initializer=I.Constant(0.1),
                                    bias_initializer=lambda shape, dtype=None: np.full(shape, 7))
    ln(mha(d(x), d(x)))
    np.testing.assert_array_equal(d.get_weights()[0], np.ones((4, 3), np.float32))
    np.testing.assert_array_equal(d.get_weights()[1], np.full(3, 0.5, np.float32))
    gamma, beta = ln.get_weights()
    np.testing.assert_array_equal(gamma, np.full(3, 2.0, np.float32))
    np.testing.assert_array_equal(beta, np.ones(3, np.float32))
    for k, w in enumerate(mha.get_weights()):
        np.testing.assert_array_equal(w, np.full(w.shape, 0.1 if k % 2 == 0 else 7.0, np.float32))
    emb = layers.Embedding(10, 4, embeddings_initializer=I.RandomNormal(seed=5))
    emb(seqattn.Input(shape=(3,), dtype="int32"))
    np.testing.assert_array_equal(emb.get_weights()[0], I.RandomNormal(seed=5)((10, 4)))
    tpe = layers.TokenAndPositionEmbedding(10, 6, 4, embeddings_initializer="zeros")
    pos = layers.PositionEmbedding(6, initializer="ones")
    h = tpe(seqattn.Input(shape=(6,), dtype="int32"))
    pos(h)
    assert not any(w.any() for w in tpe.get_weights())
    assert (pos.get_weights()[0] == 1).all()


def test_transformer_encoder_passes_initializers_to_its_sublayers():
    enc = layers.TransformerEncoder(8, 2, kernel_initializer="zeros", bias_initializer="ones")
    enc(seqattn.Input(shape=(5, 4)))
    w = enc.get_weights()
    kernels = [w[i] for i in (0, 2, 4, 6, 12, 14)]
    biases = [w[i] for i in (1, 3, 5, 7, 13, 15)]
    assert all((k == 0).all() for k in kernels) and all((b == 1).all() for b in biases)
    assert (w[8] == 1).all() and (w[9] == 0).all()  # LayerNormalization keeps its defaults
    again = layers.TransformerEncoder.from_config(enc.get_config())
    assert again.kernel_initializer == I.Zeros() and again.bias_initializer == I.Ones()


def test_default_initialization_draws_as_before():
    """The default initializers draw the global generator exactly as the fixed functions did
    (scripts/weights_hash.py checks whole trained models)."""
    seqattn.utils.set_random_seed(11)
    d = layers.Dense(5)
    d(seqattn.Input(shape=(3,)))
    e = layers.Embedding(7, 2)
    e(seqattn.Input(shape=(4,), dtype="int32"))
    seqattn.utils.set_random_seed(11)
    rng = seqattn.utils.global_rng()
    limit = np.sqrt(6.0 / (3 + 5))
    np.testing.assert_array_equal(d.get_weights()[0],
                                  rng.uniform(-limit, limit, size=(3, 5)).astype(np.float32))
    np.testing.assert_array_equal(e.get_weights()[0],
                                  rng.uniform(-0.05, 0.05, size=(7, 2)).astype(np.float32))


@pytest.mark.parametrize("kwargs,match", [
    (dict(kernel_initializer="nope"), "kernel_initializer"),
    (dict(bias_initializer=None), "bias_initializer"),
    (dict(kernel_initializer=lambda shape, dtype=None: np.ones((2, 2))), "shape"),
    (dict(kernel_initializer=lambda shape, dtype=None: np.full(shape, np.nan)), "non-finite"),
    (dict(kernel_constraint="non_neg"), "kernel_constraint"),
    (dict(activity_regularizer="l2"), "activity_regularizer"),
])
def test_bad_layer_arguments_name_the_layer_and_argument(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        layers.Dense(3, name="head", **kwargs)(seqattn.Input(shape=(4,)))
    assert "'head'" in str(info.value)


def test_layers_without_an_argument_refuse_it():
    with pytest.raises(TypeError, match="kernel_initializer"):
        layers.Embedding(5, 3, kernel_initializer="ones")
    with pytest.raises(TypeError, match="embeddings_regularizer"):
        layers.PositionEmbedding(5, embeddings_regularizer="l2")  # keras-hub takes none


@pytest.mark.parametrize("name,kwargs", [
    ("Zeros", {}), ("Ones", {}), ("Constant", {"value": 0.3}), ("Identity", {"gain": 2.0})])
def test_deterministic_initializers_match_keras(keras, name, kwargs):
    shape = (4, 6)
    expected = np.asarray(getattr(keras.initializers, name)(**kwargs)(shape))
    np.testing.assert_array_equal(getattr(I, name)(**kwargs)(shape), expected)
    config = keras.initializers.serialize(getattr(keras.initializers, name)(**kwargs))
    if name != "Identity":  # Keras 3's Identity.get_config leaves out `gain`; ours keeps it
        assert I.get(config) == getattr(I, name)(**kwargs)  # Keras's config reads in seqattn


@pytest.mark.parametrize("name", ["GlorotUniform", "HeNormal", "LecunUniform", "RandomNormal",
                                  "TruncatedNormal", "RandomUniform", "Orthogonal"])
def test_keras_configs_agree(keras, name):
    ours = I.serialize(getattr(I, name)(seed=5))
    theirs = keras.initializers.serialize(getattr(keras.initializers, name)(seed=5))
    assert ours["class_name"] == theirs["class_name"]
    # newer Keras adds input_axes/output_axes (None) to VarianceScaling configs
    assert ours["config"] == {k: v for k, v in theirs["config"].items() if k in ours["config"]}
    assert set(theirs["config"]) - set(ours["config"]) <= {"input_axes", "output_axes"}
    assert I.get(theirs) == getattr(I, name)(seed=5)
