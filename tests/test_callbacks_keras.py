"""LambdaCallback, ProgbarLogger and BackupAndRestore: Keras 3 habits through `fit`, the
exact resume of a killed run, and the signatures against Keras's when Keras is importable."""

import inspect
import os

import numpy as np
import pytest

import seqattn
from seqattn import callbacks as cb
from seqattn import layers

T, V = 8, 30


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, (n, T)).astype(np.int32)
    x[:, -2:] = 0
    return x, (x[:, 0] > V // 2).astype(np.float32)


def _model(dropout=0.2):
    """Dropout and shuffling make the run depend on every stream a resume must restore."""
    seqattn.utils.set_random_seed(3)
    ids = seqattn.Input((T,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(V, T, 8, mask_zero=True)(ids)
    h = layers.TransformerEncoder(16, 2, dropout=dropout)(h)
    h = layers.Dropout(0.3)(layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(ids, layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def one_thread():
    before = seqattn.get_num_threads()
    seqattn.set_num_threads(1)
    yield
    seqattn.set_num_threads(before)


# ---------------------------------------------------------------- LambdaCallback
def test_lambda_callback_keras_habits_through_fit():
    x, y = _data(32)
    seen = []
    json_log = []
    callbacks = [
        cb.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, round(
            logs["loss"], 6)))),
        cb.LambdaCallback(on_train_begin=lambda logs: json_log.append("begin"),
                          on_train_end=lambda logs: json_log.append("end"),
                          on_train_batch_begin=lambda batch, logs: json_log.append(batch)),
        cb.LambdaCallback(on_test_end=lambda logs: json_log.append(sorted(logs)),
                          on_batch_end=lambda batch, logs: json_log.append(f"b{batch}")),
    ]
    history = _model().fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=callbacks,
                           validation_split=0.5)
    assert seen == [(e, round(v, 6)) for e, v in enumerate(history.history["loss"])]
    assert json_log == ["begin", 0, "b0", ["accuracy", "loss"], 0, "b0",
                        ["accuracy", "loss"], "end"]


def test_lambda_callback_errors():
    with pytest.raises(TypeError, match="unknown hook name.*on_epoch_ends"):
        cb.LambdaCallback(on_epoch_ends=lambda epoch, logs: None)
    with pytest.raises(TypeError, match="`on_epoch_end` of LambdaCallback must be a function"):
        cb.LambdaCallback(on_epoch_end="print")
    quiet = cb.LambdaCallback()  # every hook stays Callback's no-op
    quiet.on_epoch_end(0, {})
    quiet.on_train_batch_end(0, {})


def test_lambda_callback_matches_keras(keras):
    def drive(callback):
        callback.on_train_begin({})
        callback.on_epoch_begin(0, {})
        callback.on_train_batch_begin(0, {})
        callback.on_train_batch_end(0, {"loss": 1.0})
        callback.on_epoch_end(0, {"loss": 1.0})
        callback.on_predict_end({})
        callback.on_train_end({})

    for module in (cb, keras.callbacks):
        calls = []
        hooks = {name: (lambda name: lambda *a: calls.append((name, a)))(name) for name in
                 ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end",
                  "on_train_batch_begin", "on_train_batch_end", "on_predict_end")}
        drive(module.LambdaCallback(**hooks))
        if module is cb:
            ours = calls
        else:
            assert calls == ours


# ----------------------------------------------------------------- ProgbarLogger
def _lines(capsys):
    return capsys.readouterr().out.splitlines()


def test_progbar_logger_passed_explicitly_draws_one_bar(capsys):
    x, y = _data(32)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=2, verbose=2, validation_split=0.5)
    default = _lines(capsys)
    model.fit(x, y, batch_size=16, epochs=2, verbose=2, validation_split=0.5,
              callbacks=[cb.ProgbarLogger()])
    explicit = _lines(capsys)
    assert len(default) == len(explicit) == 4
    for a, b in zip(default, explicit):  # same lines, up to the timings
        assert a.split(" - ")[0] == b.split(" - ")[0]
        assert [p.split(":")[0] for p in a.split(" - ")[3:]] == \
            [p.split(":")[0] for p in b.split(" - ")[3:]]
    assert explicit[0] == "Epoch 1/2" and explicit[1].startswith("1/1 - ")
    assert "val_loss: " in explicit[1]
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb.ProgbarLogger()])
    assert _lines(capsys) == []  # verbose=0 silences it, as in Keras


def test_progbar_logger_in_evaluate_and_predict(capsys):
    x, y = _data(32)
    model = _model()
    bar = cb.ProgbarLogger()
    model.evaluate(x, y, batch_size=8, verbose=2, callbacks=[bar])
    model.predict(x, batch_size=8, verbose=2, callbacks=[bar])
    lines = _lines(capsys)
    assert len(lines) == 2 and lines[0].startswith("4/4 - ") and "loss: " in lines[0]
    assert lines[1].startswith("4/4 - ") and "loss" not in lines[1]
    model.fit(x, y, batch_size=16, epochs=1, verbose=2, callbacks=[bar])
    model.evaluate(x, y, batch_size=8, verbose=2, callbacks=[bar])  # reused after a fit
    lines = _lines(capsys)
    assert len(lines) == 2 and lines[1].startswith("4/4 - ")


# ------------------------------------------------------------ BackupAndRestore
class Kill(cb.Callback):
    """Raises at the given epoch's start or at a batch end: the process 'dies' mid-fit."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if self.batch is None and epoch == self.epoch:
            raise RuntimeError("killed")

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise RuntimeError("killed")


FIT = dict(batch_size=16, epochs=5, verbose=0, validation_split=0.25)


@pytest.mark.parametrize("kill", [Kill(3), Kill(2, batch=1)])
@pytest.mark.parametrize("fresh_model", [False, True])
def test_backup_and_restore_resumes_bit_identically(tmp_path, one_thread, kill, fresh_model):
    x, y = _data()
    straight = _model()
    expected = straight.fit(x, y, **FIT).history
    backup = tmp_path / "backup"
    model = _model()
    with pytest.raises(RuntimeError, match="killed"):
        model.fit(x, y, callbacks=[cb.BackupAndRestore(backup), kill], **FIT)
    assert sorted(os.listdir(backup)) == ["latest.seqattn"]
    if fresh_model:  # a new process: the same script builds the model again
        model = _model()
    history = model.fit(x, y, callbacks=[cb.BackupAndRestore(backup)], **FIT)
    assert history.epoch == list(range(kill.epoch, 5))  # the killed epoch runs again
    for key, values in expected.items():
        assert history.history[key] == values[kill.epoch:], key
    for a, b in zip(straight.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == straight.optimizer.iterations
    assert not backup.exists()  # delete_checkpoint=True, and the directory was its own


def test_backup_with_batch_frequency_restarts_the_epoch_in_progress(tmp_path):
    x, y = _data()
    backup = tmp_path / "b"
    model = _model()
    with pytest.raises(RuntimeError):
        model.fit(x, y, callbacks=[cb.BackupAndRestore(backup, save_freq=2,
                                                       delete_checkpoint=False),
                                   Kill(1, batch=2)], **FIT)
    # 3 steps per epoch (48 training samples, batches of 16); backups after 2 batches
    # counted across epochs: at steps 2, 4 and 6, the last one during epoch 1, before the kill
    restored = _model()
    seqattn.saving.restore_training_state(restored, backup / "latest.seqattn")
    assert restored._epoch == 1 and restored.optimizer.iterations == 6
    history = _model().fit(x, y, callbacks=[cb.BackupAndRestore(backup,
                                                                delete_checkpoint=False)],
                           **FIT)
    assert history.epoch == [1, 2, 3, 4] and (backup / "latest.seqattn").exists()


def test_backup_double_checkpoint_falls_back_to_the_previous_one(tmp_path):
    x, y = _data()
    backup = tmp_path / "b"
    model = _model()
    with pytest.raises(RuntimeError):
        model.fit(x, y, callbacks=[cb.BackupAndRestore(backup, double_checkpoint=True),
                                   Kill(3)], **FIT)
    assert sorted(os.listdir(backup)) == ["latest.seqattn", "latest.seqattn.bkp"]
    (backup / "latest.seqattn").write_bytes(b"not a model file")
    history = _model().fit(x, y, callbacks=[cb.BackupAndRestore(backup,
                                                                double_checkpoint=True)],
                           **FIT)
    assert history.epoch == [2, 3, 4]  # the previous backup was written after epoch 2
    assert not backup.exists()
    backup.mkdir()
    (backup / "latest.seqattn").write_bytes(b"not a model file")
    with pytest.raises(seqattn.FileFormatError):  # without a previous one: the error
        _model().fit(x, y, callbacks=[cb.BackupAndRestore(backup)], **FIT)


def test_backup_keeps_other_files_and_refuses_another_model(tmp_path):
    x, y = _data()
    backup = tmp_path / "b"
    backup.mkdir()
    (backup / "notes.txt").write_text("mine")
    _model().fit(x, y, callbacks=[cb.BackupAndRestore(backup)], **FIT)
    assert os.listdir(backup) == ["notes.txt"]
    with pytest.raises(RuntimeError):
        _model().fit(x, y, callbacks=[cb.BackupAndRestore(backup), Kill(2)], **FIT)
    other = _model()
    other.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="optimizer 'Adam'; model .* is compiled with 'SGD'"):
        other.fit(x, y, callbacks=[cb.BackupAndRestore(backup)], **FIT)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(backup_dir=""), ValueError, "Empty `backup_dir`"),
    (dict(backup_dir=3), TypeError, "backup_dir"),
    (dict(backup_dir="b", save_freq=0), ValueError, "save_freq=0"),
    (dict(backup_dir="b", save_freq=True), ValueError, "save_freq=True"),
    (dict(backup_dir="b", save_freq="batch"), ValueError, "'epoch' or a positive"),
    (dict(backup_dir="b", delete_checkpoint="yes"), TypeError, "delete_checkpoint"),
    (dict(backup_dir="b", double_checkpoint=1), TypeError, "double_checkpoint"),
])
def test_backup_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cb.BackupAndRestore(**kwargs)


# ------------------------------------------------------------------------ Keras
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _params(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
            if p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize("name", ["LambdaCallback", "ProgbarLogger", "BackupAndRestore",
                                  "TensorBoard"])
def test_signatures_match_keras(keras, name):
    assert _params(getattr(cb, name)) == _params(getattr(keras.callbacks, name))


def test_new_names_are_listed():
    for name in ("LambdaCallback", "ProgbarLogger", "BackupAndRestore", "TensorBoard"):
        assert name in cb.__all__
    with pytest.raises(AttributeError, match="RemoteMonitor.*LambdaCallback"):
        cb.RemoteMonitor
