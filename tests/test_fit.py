"""fit / evaluate / predict with Keras 3 semantics: validation_split, validation_data,
sample_weight, class_weight, validation_freq, initial_epoch, *_on_batch, callback hooks and
the errors for bad combinations. Oracles: NumPy references, identities that must hold bit for
bit (a weight of 2 with SGD equals a doubled learning rate; class_weight equals the matching
sample_weight), and hand-counted hook sequences."""

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn.callbacks import Callback

T, V = 6, 30


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, V, (n, T)).astype(np.int32)
    y = (x[:, 0] > V // 2).astype(np.float32)
    return x, y


def _model(optimizer="sgd", seed=0, metrics=("accuracy",), loss="binary_crossentropy", k=1):
    seqattn.utils.set_random_seed(seed)
    model = seqattn.Sequential([
        seqattn.Input((T,), dtype="int32"),
        layers.Embedding(V, 8),
        layers.GlobalAveragePooling1D(),
        layers.Dense(k, activation="sigmoid" if k == 1 else "softmax"),
    ])
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def _bce(p, y):
    p = np.clip(p.astype(np.float64).reshape(-1), 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


# ------------------------------------------------------------------- validation
def test_validation_split_holds_out_the_last_samples_before_shuffling():
    x, y = _data(100)
    a = _model()
    h = a.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    b = _model()
    b.fit(x[:75], y[:75], epochs=2, batch_size=16, verbose=0)
    _same_weights(a, b)  # trained on exactly the first 75 samples, same shuffles
    ev = b.evaluate(x[75:], y[75:], batch_size=16, verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(ev["loss"], rel=1e-12)
    assert h.history["val_accuracy"][-1] == pytest.approx(ev["accuracy"], rel=1e-12)


def test_validation_data_overrides_validation_split_and_takes_sample_weights():
    x, y = _data(64)
    w = np.linspace(0, 2, 32).astype(np.float32)
    model = _model()
    h = model.fit(x[:32], y[:32], epochs=1, validation_data=(x[32:], y[32:], w),
                  validation_split=0.5, verbose=0)
    p = model.predict(x[32:], verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(np.mean(w * _bce(p, y[32:])), rel=1e-5)


def test_validation_freq_and_initial_epoch():
    x, y = _data(64)
    model = _model()
    h = model.fit(x, y, epochs=5, validation_data=(x, y), validation_freq=2, initial_epoch=1,
                  verbose=0)
    assert h.epoch == [1, 2, 3, 4]
    assert len(h.history["loss"]) == 4
    assert len(h.history["val_loss"]) == 2  # after epochs 2 and 4 (1-based)


# --------------------------------------------------------------------- weights
def test_evaluate_with_sample_weight_matches_numpy():
    x, y = _data(50)
    model = _model()
    w = np.random.default_rng(3).uniform(0, 3, 50).astype(np.float32)
    p = model.predict(x, verbose=0)
    loss = model.evaluate(x, y, sample_weight=w, batch_size=50, verbose=0, return_dict=True)
    # Keras "sum_over_batch_size": Σ w·l / B per batch.
    assert loss["loss"] == pytest.approx(np.mean(w * _bce(p, y)), rel=1e-5)


def test_sample_weight_two_with_sgd_equals_double_learning_rate():
    x, y = _data(64)
    a = _model(seqattn.optimizers.SGD(0.05))
    a.fit(x, y, epochs=2, batch_size=16, sample_weight=np.full(64, 2.0), verbose=0)
    b = _model(seqattn.optimizers.SGD(0.1))
    b.fit(x, y, epochs=2, batch_size=16, verbose=0)
    _same_weights(a, b)


def test_class_weight_equals_the_matching_sample_weight():
    x, y = _data(64)
    a = _model("adam")
    a.fit(x, y, epochs=2, batch_size=16, class_weight={0: 0.5, 1: 3.0}, verbose=0)
    b = _model("adam")
    b.fit(x, y, epochs=2, batch_size=16, sample_weight=np.where(y == 1, 3.0, 0.5), verbose=0)
    _same_weights(a, b)
    # Combined with sample_weight, the two multiply; classes not listed weigh 1.
    c = _model("adam")
    c.fit(x, y, epochs=2, batch_size=16, class_weight={1: 3.0},
          sample_weight=np.full(64, 0.5), verbose=0)
    d = _model("adam")
    d.fit(x, y, epochs=2, batch_size=16, sample_weight=np.where(y == 1, 1.5, 0.5), verbose=0)
    _same_weights(c, d)


def test_class_weight_for_sparse_categorical_labels():
    x, _ = _data(48)
    y = (x[:, 0] % 3).astype(np.int32)
    a = _model("adam", loss="sparse_categorical_crossentropy", k=3)
    a.fit(x, y, epochs=1, batch_size=16, class_weight={2: 4.0}, verbose=0)
    b = _model("adam", loss="sparse_categorical_crossentropy", k=3)
    b.fit(x, y, epochs=1, batch_size=16, sample_weight=np.where(y == 2, 4.0, 1.0), verbose=0)
    _same_weights(a, b)


# ---------------------------------------------------------------- one batch
def test_train_on_batch_matches_fit_and_reports_running_means():
    x, y = _data(32)
    a = _model("adam")
    first = a.train_on_batch(x[:16], y[:16], return_dict=True)
    second = a.train_on_batch(x[16:], y[16:], return_dict=True)
    b = _model("adam")
    h = b.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    _same_weights(a, b)
    assert second["loss"] == pytest.approx(h.history["loss"][0], rel=1e-12)
    assert first["loss"] != second["loss"]
    a.reset_metrics()
    third = a.train_on_batch(x[:16], y[:16])  # one value per log entry, loss first
    assert isinstance(third, list) and len(third) == 2


def test_test_and_predict_on_batch_match_evaluate_and_predict():
    x, y = _data(20)
    model = _model()
    loss, acc = model.test_on_batch(x, y)
    ev = model.evaluate(x, y, batch_size=20, verbose=0)
    assert loss == pytest.approx(ev[0], rel=1e-12) and acc == pytest.approx(ev[1], rel=1e-12)
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, batch_size=20,
                                                                           verbose=0))


# ------------------------------------------------------------------- callbacks
class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name.startswith("on_") and callable(attr):
            def record(*args, **kwargs):
                self.calls.append(name if not args or isinstance(args[0], dict) or args[0] is None
                                  else f"{name}({args[0]})")
                return attr(*args, **kwargs)
            return record
        return attr


def test_fit_calls_the_keras_hooks_in_order():
    x, y = _data(32)
    model = _model()
    rec = Recorder()
    model.fit(x, y, epochs=2, batch_size=16, validation_data=(x[:16], y[:16]), callbacks=[rec],
              verbose=0)
    epoch = ["on_train_batch_begin(0)", "on_train_batch_end(0)", "on_train_batch_begin(1)",
             "on_train_batch_end(1)", "on_test_begin", "on_test_batch_begin(0)",
             "on_test_batch_end(0)", "on_test_end"]
    # Callback's default on_train_batch_* also calls the older on_batch_* names.
    epoch = [c for name in epoch for c in ([name, name.replace("train_batch", "batch")]
                                           if "train_batch" in name else [name])]
    assert rec.calls == (["on_train_begin", "on_epoch_begin(0)"] + epoch + ["on_epoch_end(0)",
                         "on_epoch_begin(1)"] + epoch + ["on_epoch_end(1)", "on_train_end"])
    assert rec.model is model and rec.params == {"verbose": 0, "epochs": 2, "steps": 2,
                                                 "validation_freq": 1}


def test_a_callback_stops_training_after_the_current_batch():
    class StopAt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    x, y = _data(64)
    model = _model()
    h = model.fit(x, y, epochs=5, batch_size=16, callbacks=[StopAt()], verbose=0)
    assert h.epoch == [0]
    assert model.optimizer.iterations == 2


def test_epoch_logs_reach_callbacks_with_val_keys():
    seen = {}

    class Grab(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = dict(logs)

    x, y = _data(32)
    h = _model().fit(x, y, epochs=2, validation_data=(x, y), callbacks=[Grab()], verbose=0)
    assert list(seen[1]) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert seen[1]["val_loss"] == h.history["val_loss"][1]


def test_evaluate_and_predict_call_their_hooks():
    x, y = _data(40)
    model = _model()
    rec = Recorder()
    model.evaluate(x, y, batch_size=32, callbacks=[rec], verbose=0)
    assert rec.calls == ["on_test_begin", "on_test_batch_begin(0)", "on_test_batch_end(0)",
                         "on_test_batch_begin(1)", "on_test_batch_end(1)", "on_test_end"]
    rec.calls.clear()
    model.predict(x, batch_size=40, callbacks=[rec], verbose=0)
    assert rec.calls == ["on_predict_begin", "on_predict_batch_begin(0)",
                         "on_predict_batch_end(0)", "on_predict_end"]


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs,error,match", [
    ({"validation_split": 1.0}, ValueError, "validation_split"),
    ({"validation_split": -0.1}, ValueError, "validation_split"),
    ({"validation_split": 0.99}, ValueError, "not sufficient to split"),
    ({"validation_data": ([1, 2],)}, ValueError, r"\(x_val, y_val\)"),
    ({"validation_freq": 0}, ValueError, "validation_freq"),
    ({"sample_weight": np.ones(5)}, ValueError, r"shape \(64,\)"),
    ({"sample_weight": -np.ones(64)}, ValueError, "non-negative"),
    ({"sample_weight": np.full(64, np.nan)}, ValueError, "non-negative"),
    ({"sample_weight": np.array(["a"] * 64)}, TypeError, "numeric"),
    ({"class_weight": [1.0, 2.0]}, TypeError, "dict"),
    ({"class_weight": {"pos": 1.0}}, ValueError, "class ids"),
    ({"class_weight": {1: -2.0}}, ValueError, "non-negative"),
    ({"callbacks": Callback()}, TypeError, "list"),
    ({"callbacks": ["early"]}, TypeError, "Callback"),
    ({"initial_epoch": 3, "epochs": 3}, ValueError, "initial_epoch"),
])
def test_fit_rejects_bad_combinations(kwargs, error, match):
    x, y = _data(64)
    with pytest.raises(error, match=match):
        _model().fit(x, y, verbose=0, **kwargs)


def test_class_weight_needs_one_trained_output_and_hard_labels():
    x, y = _data(32)
    inp = seqattn.Input((T,), dtype="int32")
    h = layers.GlobalAveragePooling1D()(layers.Embedding(V, 4)(inp))
    model = seqattn.Model(inp, [layers.Dense(1, activation="sigmoid", name="a")(h),
                                layers.Dense(1, activation="sigmoid", name="b")(h)])
    model.compile(loss="binary_crossentropy")
    with pytest.raises(ValueError, match="single output"):
        model.fit(x, [y, y], class_weight={1: 2.0}, verbose=0)
    with pytest.raises(ValueError, match="soft labels"):
        _model().fit(x, np.full(32, 0.3), class_weight={1: 2.0}, verbose=0)


def test_metrics_fail_at_compile_and_get_unique_names():
    model = _model(loss="sparse_categorical_crossentropy", k=3, metrics=())
    with pytest.raises(ValueError, match="class_id"):
        model.compile(loss="sparse_categorical_crossentropy", metrics=["precision"])
    shared = seqattn.metrics.Precision(class_id=2)
    model.compile(loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", shared, seqattn.metrics.Precision(class_id=1)])
    x, _ = _data(32)
    logs = model.evaluate(x, x[:, 0] % 3, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "accuracy", "precision", "precision_1"]
    assert shared.result() == 0.0  # compile copied it: the user's object saw no data


def test_history_records_keys_that_callbacks_add():
    x, y = _data(32)
    model = _model("adam")
    h = model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0,
                  callbacks=[seqattn.callbacks.ReduceLROnPlateau(patience=0, factor=0.5)])
    assert "learning_rate" in h.history and len(h.history["learning_rate"]) == 2
