"""The steady-state training step does no heap allocation.

How it is verified: tests/support/alloc_probe.c, preloaded into a fresh interpreter, counts
every malloc/calloc/realloc/memalign/posix_memalign/aligned_alloc made while the calling thread
does not hold the GIL. The C++ core runs forward, loss, backward and the update with the GIL
released (on the calling thread and on OpenMP workers, which never hold it), and Python itself
only allocates with the GIL held, so the count is exactly the core's allocations. After warm-up
(the first steps size every buffer), more epochs of fit (and predict/evaluate) must count zero.
The probe is checked to be live: the first steps must count some allocations.
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent("""
    import ctypes, json, sys
    import numpy as np
    probe = ctypes.CDLL(None)
    probe.alloc_probe_count.restype = ctypes.c_long
    if not probe.alloc_probe_active():
        print(json.dumps({"active": False})); sys.exit(0)
    import seqattn
    from seqattn import layers as L
    seqattn.set_num_threads(int(sys.argv[1]))
    seqattn.utils.set_random_seed(0)
    V, T, C, B = 50, 24, 16, 8

    def classifier(optimizer):
        # masks (mask_zero), attention dropout, a full encoder block, dropout, two heads
        inp = seqattn.Input(shape=(T,), dtype="int32")
        x = L.Embedding(V, C, mask_zero=True)(inp)
        x = L.TransformerEncoder(32, 2, dropout=0.1)(x)
        a = L.MultiHeadAttention(num_heads=2, key_dim=8, dropout=0.1)(x, x)
        x = L.LayerNormalization()(L.Add()([x, a]))
        x = L.Dropout(0.2)(L.GlobalAveragePooling1D()(x))
        out = L.Dense(3, activation="softmax")(L.Dense(8, activation="gelu")(x))
        m = seqattn.Model(inputs=inp, outputs=out)
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        return m

    def causal(optimizer):
        inp = seqattn.Input(shape=(T, C), dtype="float32")
        mha = L.MultiHeadAttention(num_heads=2, key_dim=8)
        x = mha(inp, inp, use_causal_mask=True)
        x = L.GlobalMaxPooling1D()(L.Activation("tanh")(x))
        out = L.Dense(1, activation="sigmoid")(x)
        m = seqattn.Model(inputs=inp, outputs=out)
        m.compile(optimizer=optimizer, loss="binary_crossentropy")
        return m

    class Positions(L.Layer):  # a Keras-style custom layer: ops.arange, a broadcast add
        def __init__(self):
            super().__init__()
            self.pos = L.Embedding(T, C)

        def call(self, x):
            return x + self.pos(seqattn.ops.arange(0, T))

    def keras_style(optimizer):
        # a custom layer, a layer called twice (a tied copy), ops: scalars, matmul, where
        inp = seqattn.Input(shape=(T,), dtype="int32")
        x = Positions()(L.Embedding(V, C)(inp))
        shared = L.Dense(C, activation="relu")
        x = shared(shared(x)) * 0.5 - x / 3.0
        x = seqattn.ops.matmul(x, np.full((C, C), 1.0 / C, np.float32))
        x = seqattn.ops.where(x, x, seqattn.ops.exp(x))
        out = L.Dense(1, activation="sigmoid")(L.GlobalAveragePooling1D()(x))
        m = seqattn.Model(inputs=inp, outputs=out)
        m.compile(optimizer=optimizer, loss="binary_crossentropy")
        return m

    def regularized(optimizer):
        # weight penalties on every kind of weight: computed in the C++ step (Graph::regularize)
        inp = seqattn.Input(shape=(T,), dtype="int32")
        x = L.Embedding(V, C, mask_zero=True, embeddings_regularizer="l1")(inp)
        a = L.MultiHeadAttention(2, 8, kernel_regularizer="l2", bias_regularizer="l1")(x, x)
        x = L.LayerNormalization(gamma_regularizer="l2")(L.Add()([x, a]))
        out = L.Dense(3, activation="softmax", kernel_regularizer=seqattn.regularizers.L1L2(
            1e-3, 1e-2))(L.GlobalAveragePooling1D()(x))
        m = seqattn.Model(inputs=inp, outputs=out)
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
        return m

    def conv(optimizer):
        # keras.io's text CNN in small: strided "valid", "same" and "causal" convolutions,
        # windowed pooling of both kinds
        inp = seqattn.Input(shape=(T,), dtype="int32")
        x = L.Dropout(0.5)(L.Embedding(V, C)(inp))
        x = L.Conv1D(C, 5, padding="valid", activation="relu", strides=2)(x)
        x = L.MaxPooling1D(2, padding="same")(x)
        x = L.Conv1D(C, 3, padding="causal", dilation_rate=2, activation="tanh")(x)
        x = L.AveragePooling1D(3, strides=1, padding="same")(x)
        x = L.Conv1D(C, 2, padding="same")(x)
        out = L.Dense(1, activation="sigmoid")(L.GlobalMaxPooling1D()(x))
        m = seqattn.Model(inputs=inp, outputs=out)
        m.compile(optimizer=optimizer, loss="binary_crossentropy")
        return m

    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, size=(4 * B, T)).astype(np.int32)
    ids[:, T // 2:] *= rng.integers(0, 2, size=(4 * B, T - T // 2))  # padding (id 0)
    feats = rng.standard_normal((4 * B, T, C)).astype(np.float32)
    result = {"active": True}
    for name, build, x, y in [
            ("classifier/adam", lambda: classifier(seqattn.optimizers.Adam(1e-3, clipnorm=1.0)),
             ids, rng.integers(0, 3, size=4 * B)),
            ("classifier/sgd", lambda: classifier(seqattn.optimizers.SGD(0.01, momentum=0.9)),
             ids, rng.integers(0, 3, size=4 * B)),
            ("causal/adamw", lambda: causal(seqattn.optimizers.AdamW(1e-3)),
             feats, rng.integers(0, 2, size=(4 * B, 1)).astype(np.float32)),
            ("classifier/rmsprop", lambda: classifier(seqattn.optimizers.RMSprop(
                1e-3, momentum=0.9, centered=True)), ids, rng.integers(0, 3, size=4 * B)),
            ("classifier/adagrad", lambda: classifier(seqattn.optimizers.Adagrad(1e-2)),
             ids, rng.integers(0, 3, size=4 * B)),
            ("classifier/sgd_clipvalue_decay", lambda: classifier(seqattn.optimizers.SGD(
                0.01, weight_decay=0.01, clipvalue=0.5)), ids, rng.integers(0, 3, size=4 * B)),
            ("keras_style/adam", lambda: keras_style(seqattn.optimizers.Adam(1e-3)),
             ids, rng.integers(0, 2, size=(4 * B, 1)).astype(np.float32)),
            ("regularized/adam", lambda: regularized(seqattn.optimizers.Adam(1e-3)),
             ids, rng.integers(0, 3, size=4 * B)),
            ("conv/adam", lambda: conv(seqattn.optimizers.Adam(1e-3)),
             ids, rng.integers(0, 2, size=(4 * B, 1)).astype(np.float32))]:
        model = build()
        probe.alloc_probe_reset()
        model.fit(x, y, batch_size=B, epochs=1, verbose=0)
        warm = probe.alloc_probe_count()
        model.evaluate(x, y, batch_size=B, verbose=0)
        model.predict(x, batch_size=B, verbose=0)
        probe.alloc_probe_reset()
        model.fit(x, y, batch_size=B, epochs=2, verbose=0)
        steady_fit = probe.alloc_probe_count()
        probe.alloc_probe_reset()
        model.evaluate(x, y, batch_size=B, verbose=0)
        model.predict(x, batch_size=B, verbose=0)
        steady_infer = probe.alloc_probe_count()
        result[name] = [warm, steady_fit, steady_infer]
    print(json.dumps(result))
""")


@pytest.fixture(scope="module")
def probe_library(tmp_path_factory):
    if not sys.platform.startswith("linux") or "glibc" not in " ".join(os.confstr(
            "CS_GNU_LIBC_VERSION").split()[:1]).lower():
        pytest.skip("the allocation probe interposes glibc's malloc (Linux/glibc only)")
    cc = shutil.which(sysconfig.get_config_var("CC").split()[0] if sysconfig.get_config_var("CC")
                      else "cc") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build the allocation probe")
    out = tmp_path_factory.mktemp("probe") / "alloc_probe.so"
    subprocess.run([cc, "-O2", "-shared", "-fPIC", os.path.join(HERE, "support", "alloc_probe.c"),
                    "-o", str(out)], check=True)
    return str(out)


@pytest.mark.parametrize("threads", [1, 2])
def test_steady_state_training_step_does_not_allocate(probe_library, threads):
    import json
    env = dict(os.environ, LD_PRELOAD=probe_library)
    env.pop("ALLOC_PROBE_ABORT", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(threads)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if not result.pop("active"):
        pytest.skip("PyGILState_Check is not visible to a preloaded library here")
    for name, (warm, steady_fit, steady_infer) in result.items():
        assert warm > 0, f"{name}: the probe counted nothing during warm-up; is it live?"
        assert steady_fit == 0, f"{name}: {steady_fit} heap allocations in 8 steady-state steps"
        assert steady_infer == 0, f"{name}: {steady_infer} heap allocations in evaluate/predict"


# Generation with the key/value cache (tests/test_generate.py builds the models): no heap
# allocation per token once warm.
DECODE_SCRIPT = """
import ctypes, json, sys
import numpy as np
probe = ctypes.CDLL(None)
probe.alloc_probe_count.restype = ctypes.c_long
if not probe.alloc_probe_active():
    print(json.dumps({"active": False})); sys.exit(0)
sys.path.insert(0, sys.argv[2])
import seqattn
from seqattn import _core
from test_generate import decoder_lm, custom_causal_lm
seqattn.set_num_threads(int(sys.argv[1]))
result = {"active": True}
for name, make in (("decoder", decoder_lm), ("custom", custom_causal_lm)):
    d = _core.IncrementalDecoder(make()._core_graph())
    d.reset(3, 30)
    probe.alloc_probe_reset()
    d.step(np.ones((3, 5), np.int32), np.zeros(3, np.int64), np.zeros((3, 5, 23), np.float32))
    ids, out, start = np.ones((3, 1), np.int32), np.zeros((3, 1, 23), np.float32), np.full(3, 5)
    d.step(ids, start, out)
    warm = probe.alloc_probe_count()
    probe.alloc_probe_reset()
    for t in range(6, 29):
        start[:] = t
        d.step(ids, start, out)
    result[name] = [warm, probe.alloc_probe_count()]
print(json.dumps(result))
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_steady_state_decoding_does_not_allocate(probe_library, threads):
    import json
    env = dict(os.environ, LD_PRELOAD=probe_library)
    env.pop("ALLOC_PROBE_ABORT", None)
    proc = subprocess.run([sys.executable, "-c", DECODE_SCRIPT, str(threads), HERE], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if not result.pop("active"):
        pytest.skip("PyGILState_Check is not visible to a preloaded library here")
    for name, (warm, steady) in result.items():
        assert warm > 0, f"{name}: the probe counted nothing during warm-up; is it live?"
        assert steady == 0, f"{name}: {steady} heap allocations in 23 steady-state tokens"
