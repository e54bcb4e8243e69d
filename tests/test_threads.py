"""One model used from several threads: the rule of python/seqattn/_usage.py.

Concurrent inference gives exactly the serial results (the C++ graph and its layers are locked
for each step); training runs alone, and another thread's call during it raises RuntimeError.
Before the locks, 4 threads predicting on one model gave wrong outputs in most calls, spurious
ValueErrors and segfaults; these tests run in a child process so that a crash fails the test
instead of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import seqattn
from seqattn import layers

MODEL = textwrap.dedent("""
    import threading
    import numpy as np
    import seqattn
    from seqattn import layers

    def make_model(seed=0, causal=False):
        seqattn.utils.set_random_seed(seed)
        x = seqattn.Input(shape=(24,), dtype="int32")
        h = layers.TokenAndPositionEmbedding(60, 24, 16, mask_zero=True)(x)
        h = layers.MultiHeadAttention(2, 8, name="mha")(h, h, use_causal_mask=causal)
        h = layers.LayerNormalization()(h)
        y = layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling1D()(h))
        model = seqattn.Model(x, y)
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    rng = np.random.default_rng(1)
    ids = rng.integers(0, 60, (300, 24))
    labels = rng.integers(0, 3, 300)

    def in_threads(n, work):
        errors = []
        def run(i):
            try:
                work(i)
            except BaseException as e:  # reported by the parent
                errors.append(repr(e))
        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors
""")


def run_child(body: str, timeout=240):
    """Runs MODEL + body in a fresh interpreter; a crash (signal) or error fails the test."""
    r = subprocess.run([sys.executable, "-c", MODEL + textwrap.dedent(body)],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (f"child exited with {r.returncode} (negative: killed by a "
                               f"signal)\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout


def test_concurrent_predict_equals_serial():
    out = run_child("""
        model = make_model()
        want = model.predict(ids, batch_size=32, verbose=0)
        scores = model.attention_scores(ids[:40])["mha"]
        mismatches = []
        def work(i):
            for k in range(15):
                got = model.predict(ids, batch_size=16 + 8 * i, verbose=0)
                if not np.array_equal(got, want):
                    mismatches.append(("predict", i, k, float(np.abs(got - want).max())))
                if not np.array_equal(model(ids[:40]), want[:40]):
                    mismatches.append(("call", i, k))
                if not np.array_equal(model.attention_scores(ids[:40])["mha"], scores):
                    mismatches.append(("scores", i, k))
        errors = in_threads(4, work)
        assert not errors, errors
        assert not mismatches, mismatches[:5]
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_concurrent_evaluate_and_eager_calls():
    out = run_child("""
        model = make_model()
        want = model.evaluate(ids, labels, verbose=0, return_dict=True)
        mha = model.get_layer("mha")
        x = np.random.default_rng(2).random((4, 24, 16), np.float32)
        eager = mha(x, x)
        eager_causal = mha(x, x, use_causal_mask=True)
        predicted = model.predict(ids, verbose=0)
        bad = []
        def work(i):
            for _ in range(10):
                if i % 2:
                    got = model.evaluate(ids, labels, verbose=0, return_dict=True)
                    if got != want:
                        bad.append(("evaluate", got))
                    if not np.array_equal(model.predict(ids, verbose=0), predicted):
                        bad.append("predict after eager causal calls")
                else:  # the same layer called eagerly, with its own call options
                    if not np.array_equal(mha(x, x, use_causal_mask=True), eager_causal):
                        bad.append("eager causal")
                    if not np.array_equal(mha(x, x), eager):
                        bad.append("eager")
        errors = in_threads(4, work)
        assert not errors, errors
        assert not bad, bad[:5]
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_fit_runs_alone_other_threads_get_a_clear_error():
    out = run_child("""
        import time
        model = make_model()
        started, attempted = threading.Event(), threading.Event()
        seen = {}

        class Pause(seqattn.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 2 and not started.is_set():
                    started.set()
                    attempted.wait(30)
                    # The training thread itself may still read the model (callbacks do).
                    seen["own predict"] = model.predict(ids[:4], verbose=0).shape

        def other():
            started.wait(30)
            for name, call in [("predict", lambda: model.predict(ids, verbose=0)),
                               ("fit", lambda: model.fit(ids, labels, verbose=0)),
                               ("set_weights", lambda: model.set_weights(model.get_weights())),
                               ("save", lambda: model.save("/nonexistent/m.seqattn"))]:
                try:
                    call()
                    seen[name] = "ran"
                except RuntimeError as e:
                    seen[name] = str(e)
            attempted.set()

        t = threading.Thread(target=other)
        t.start()
        model.fit(ids, labels, epochs=1, batch_size=16, verbose=0, callbacks=[Pause()])
        t.join()
        for name in ("predict", "fit", "set_weights", "save"):
            assert "trains it in another thread" in seen[name] or \\
                "training it in another thread" in seen[name], (name, seen[name])
            assert "model 'functional" in seen[name], seen[name]
        assert seen["own predict"] == (4, 3)
        # Afterwards the model is free again, for every thread.
        errors = in_threads(2, lambda i: model.predict(ids, verbose=0))
        assert not errors, errors
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_fit_refuses_to_start_while_another_thread_predicts():
    out = run_child("""
        model = make_model()
        inside, release = threading.Event(), threading.Event()

        class Hold(seqattn.callbacks.Callback):
            def on_predict_batch_end(self, batch, logs=None):
                inside.set()
                release.wait(30)

        def reader():
            model.predict(ids, verbose=0, callbacks=[Hold()])

        t = threading.Thread(target=reader)
        t.start()
        inside.wait(30)
        try:
            model.fit(ids, labels, verbose=0)
            message = "fit ran"
        except RuntimeError as e:
            message = str(e)
        release.set()
        t.join()
        assert "fit() cannot start" in message and "predict() is using it" in message, message
        model.fit(ids, labels, verbose=0)  # free again
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_train_on_batch_from_threads_is_serialised():
    # Steps from two threads take turns: no crash, finite weights, and the optimizer counts
    # every step.
    out = run_child("""
        model = make_model()
        def work(i):
            for k in range(10):
                try:
                    model.train_on_batch(ids[:32], labels[:32])
                except RuntimeError:
                    pass  # the other thread was training: refused, as documented
        errors = in_threads(2, work)
        assert not errors, errors
        assert all(np.isfinite(w).all() for w in model.get_weights())
        print(int(model.optimizer.iterations))
    """)
    assert 10 <= int(out.strip().splitlines()[-1]) <= 20


def test_two_models_sharing_layers_train_and_predict_without_deadlock():
    # A feature extractor built from a trained model's layers shares its C++ layers: both
    # graphs lock the same layer mutexes, in one global order.
    out = run_child("""
        model = make_model()
        features = seqattn.Model(model.inputs[0], model.get_layer("mha").output) \\
            if hasattr(model.get_layer("mha"), "output") else None
        if features is None:
            import sys
            node = [n for n in model._nodes if n.layer.name == "mha"][0]
            features = seqattn.Model(model.inputs[0], node.output)
        def work(i):
            for _ in range(5):
                if i == 0:
                    model.fit(ids, labels, epochs=1, verbose=0)
                else:
                    features.predict(ids, verbose=0)
        errors = in_threads(2, work)
        assert not errors, errors
        print("ok")
    """)
    assert out.strip().endswith("ok")


def test_usage_rule_in_process():
    # The same rule without threads racing: a trainer and a reader in one thread nest freely.
    seqattn.utils.set_random_seed(0)
    x = seqattn.Input(shape=(4,), dtype="int32")
    y = layers.Dense(2, activation="softmax")(
        layers.GlobalAveragePooling1D()(layers.Embedding(10, 4)(x)))
    model = seqattn.Model(x, y)
    model.compile(loss="sparse_categorical_crossentropy")
    with model._usage.training("fit"):
        assert model.predict(np.ones((2, 4), np.int32), verbose=0).shape == (2, 2)
        with model._usage.training("train_on_batch"):
            pass
    with model._usage.reading("predict"):
        model.fit(np.ones((2, 4), np.int32), np.zeros(2), verbose=0)
    with pytest.raises(TypeError):
        model.predict(np.array([["a"] * 4]), verbose=0)
    # A refused call leaves the rule's counts clean.
    assert not model._usage._readers and model._usage._trainer is None
