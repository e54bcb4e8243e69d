"""Callbacks: each hook driven by hand on a small fake model (exact sequences worked out by
hand), the same sequences through Keras's callbacks when Keras is importable, and end to end
through `fit` on a tiny real model."""

import os

import numpy as np
import pytest

import seqattn
from seqattn import callbacks as cb
from seqattn import optimizers
from seqattn.schedules import ExponentialDecay


# ------------------------------------------------------------------- fake model
class FakeOptimizer:
    def __init__(self, lr):
        self._lr = lr
        self.sets = []

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = value
        self.sets.append(value)


class FakeModel:
    """Records get/set_weights and save calls. get_weights returns its live arrays (not
    copies), so a callback that keeps them without copying sees later changes."""

    def __init__(self, lr=0.1, copies=False):
        self.copies = copies  # return copies, as real models (Keras's and ours) do
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr)
        self.weights = [np.zeros(3), np.zeros(2)]
        self.calls = []

    def get_weights(self):
        self.calls.append("get_weights")
        return [w.copy() for w in self.weights] if self.copies else self.weights

    def set_weights(self, weights):
        self.calls.append(("set_weights", float(weights[0][0])))
        for w, v in zip(self.weights, weights):
            w[...] = v

    def save(self, path, overwrite=True):
        self.calls.append(("save", path))

    def save_weights(self, path, overwrite=True):
        self.calls.append(("save_weights", path))


def drive(callback, epoch_logs, model=None, steps=0):
    """Runs fit's hook sequence over `epoch_logs` (one dict per epoch); the model's weights
    equal the epoch index while that epoch ends. Returns (model, epochs run, logs seen)."""
    model = model or FakeModel()
    callback.set_model(model)
    callback.set_params({"verbose": 0, "epochs": len(epoch_logs), "steps": steps})
    callback.on_train_begin()
    ran, seen = 0, []
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch)
        for b in range(steps):
            callback.on_train_batch_begin(b)
            callback.on_train_batch_end(b, {"loss": 1.0})
        for w in model.weights:
            w[...] = epoch
        logs = dict(logs)
        callback.on_epoch_end(epoch, logs)
        seen.append(logs)
        ran += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return model, ran, seen


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": v} for v in values]


# ---------------------------------------------------------------- EarlyStopping
def test_early_stopping_patience():
    es = cb.EarlyStopping(patience=2)
    model, ran, _ = drive(es, val_losses(1.0, 0.9, 0.95, 0.92, 0.91, 0.5))
    # wait: 0, 0, 1, 2 -> stop at epoch 3
    assert (ran, es.stopped_epoch, es.best, es.best_epoch, es.wait) == (4, 3, 0.9, 1, 2)
    assert model.stop_training


def test_early_stopping_patience_zero_and_reuse():
    es = cb.EarlyStopping(monitor="loss", patience=0)
    _, ran, _ = drive(es, [{"loss": v} for v in (3.0, 2.0, 2.0, 1.0)])
    assert (ran, es.stopped_epoch) == (3, 2)
    _, ran, _ = drive(es, [{"loss": v} for v in (3.0, 2.0, 1.0)])  # reset by on_train_begin
    assert (ran, es.stopped_epoch, es.best) == (3, 0, 1.0)


def test_early_stopping_min_delta():
    es = cb.EarlyStopping(min_delta=0.05, patience=2)
    # 0.96 is not better than 1.0 by 0.05; 0.94 is; 0.93, 0.92 are not better than 0.94
    _, ran, _ = drive(es, val_losses(1.0, 0.96, 0.94, 0.93, 0.92, 0.1))
    assert (ran, es.stopped_epoch, es.best) == (5, 4, 0.94)


def test_early_stopping_mode_max_and_auto():
    for es in (cb.EarlyStopping(monitor="val_accuracy", patience=1),
               cb.EarlyStopping(monitor="val_accuracy", patience=1, mode="max")):
        _, ran, _ = drive(es, [{"val_accuracy": v} for v in (0.5, 0.6, 0.55, 0.7)])
        assert (ran, es.stopped_epoch, es.best) == (3, 2, 0.6)
    es = cb.EarlyStopping(monitor="val_accuracy", patience=1, mode="min")
    _, ran, _ = drive(es, [{"val_accuracy": v} for v in (0.5, 0.6, 0.55, 0.7)])
    assert (ran, es.stopped_epoch, es.best) == (2, 1, 0.5)


@pytest.mark.parametrize("monitor,mode", [
    ("loss", "min"), ("val_loss", "min"), ("accuracy", "max"), ("val_accuracy", "max"),
    ("val_sparse_categorical_accuracy", "max"), ("binary_accuracy", "max"), ("val_auc", "max"),
    ("precision", "max"), ("val_recall", "max"), ("f1_score", "max"), ("mse", "min"),
    ("output_accuracy_loss", "min"), ("learning_rate", "min")])
def test_auto_mode_by_name(monitor, mode):
    assert cb.EarlyStopping(monitor=monitor)._direction == mode


def test_early_stopping_baseline():
    es = cb.EarlyStopping(baseline=0.5, patience=2)
    # never better than the baseline: epoch 0 counts (wait 1), epoch 1 (wait 2) stops
    _, ran, _ = drive(es, val_losses(0.9, 0.95, 0.97, 0.1))
    assert (ran, es.stopped_epoch, es.best) == (2, 1, 0.9)
    es = cb.EarlyStopping(baseline=0.5, patience=2)
    _, ran, _ = drive(es, val_losses(0.4, 0.45, 0.46, 0.47))  # beats it at epoch 0
    assert (ran, es.stopped_epoch) == (3, 2)
    # Keras's code: an improvement on the best (not on the baseline) skips the patience check
    es = cb.EarlyStopping(baseline=0.5, patience=1)
    _, ran, _ = drive(es, val_losses(0.9, 0.8, 0.7, 0.6))
    assert (ran, es.stopped_epoch, es.wait) == (4, 0, 4)


def test_early_stopping_start_from_epoch():
    es = cb.EarlyStopping(patience=0, start_from_epoch=2)
    _, ran, _ = drive(es, val_losses(5.0, 6.0, 7.0, 8.0, 1.0))
    assert (ran, es.stopped_epoch, es.best, es.best_epoch) == (4, 3, 7.0, 2)


def test_early_stopping_restores_best_weights(capsys):
    es = cb.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model, ran, _ = drive(es, val_losses(1.0, 0.5, 0.7, 0.8, 0.1))
    assert ran == 4
    # weights equal the epoch index: the best epoch is 1, and the live arrays were copied
    assert [float(w.flat[0]) for w in model.weights] == [1.0, 1.0]
    assert model.calls[-1] == ("set_weights", 1.0)
    assert capsys.readouterr().out == ("Epoch 4: early stopping\n"
                                       "Restoring model weights from the end of the best epoch: "
                                       "2.\n")


def test_early_stopping_restores_without_stopping(capsys):
    es = cb.EarlyStopping(patience=5, restore_best_weights=True, verbose=1)
    model, ran, _ = drive(es, val_losses(1.0, 0.5, 0.7))
    assert ran == 3 and not model.stop_training
    assert float(model.weights[0][0]) == 1.0
    assert capsys.readouterr().out == ("Restoring model weights from the end of the best epoch: "
                                       "2.\n")


def test_early_stopping_without_restore_keeps_last_weights():
    es = cb.EarlyStopping(patience=1)
    model, _, _ = drive(es, val_losses(1.0, 2.0, 3.0))
    assert float(model.weights[0][0]) == 1.0 and "get_weights" not in model.calls


def test_early_stopping_warns_on_missing_monitor():
    es = cb.EarlyStopping(patience=0)
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_loss` which "
                                         "is not available. Available metrics are: loss,accuracy"):
        _, ran, _ = drive(es, [{"loss": 1.0, "accuracy": 0.5}] * 3)
    assert ran == 3 and es.best is None


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(patience=-1), ValueError, "patience.*patience=-1"),
    (dict(patience=1.5), ValueError, "patience=1.5"),
    (dict(patience=None), ValueError, "patience=None"),
    (dict(min_delta=-0.1), ValueError, "min_delta=-0.1"),
    (dict(min_delta="0"), ValueError, "min_delta='0'"),
    (dict(mode="maximize"), ValueError, "mode 'maximize' is unknown"),
    (dict(monitor=""), ValueError, "monitor"),
    (dict(monitor=3), ValueError, "monitor=3"),
    (dict(baseline="x"), ValueError, "baseline='x'"),
    (dict(baseline=float("nan")), ValueError, "baseline=nan"),
    (dict(restore_best_weights=1), TypeError, "restore_best_weights"),
    (dict(start_from_epoch=-2), ValueError, "start_from_epoch=-2"),
    (dict(verbose=-1), ValueError, "verbose=-1"),
])
def test_early_stopping_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cb.EarlyStopping(**kwargs)


# -------------------------------------------------------------- ModelCheckpoint
def test_checkpoint_filename_formatting(tmp_path):
    mc = cb.ModelCheckpoint(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.seqattn")
    model, _, _ = drive(mc, val_losses(0.69314, 0.5, 0.123))
    assert model.calls == [("save", str(tmp_path / f"ckpt-{e}.seqattn"))
                           for e in ("01-0.69", "02-0.50", "03-0.12")]


def test_checkpoint_save_best_only_min_with_messages(tmp_path, capsys):
    path = str(tmp_path / "best.seqattn")
    mc = cb.ModelCheckpoint(path, save_best_only=True, verbose=1)
    model, _, _ = drive(mc, val_losses(0.7, 0.8, 0.6, 0.6))
    assert model.calls == [("save", path), ("save", path)]
    assert mc.best == 0.6
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from None to 0.70000, saving model to {path}\n"
        f"\nEpoch 1: finished saving model to {path}\n"
        "\nEpoch 2: val_loss did not improve from 0.70000\n"
        f"\nEpoch 3: val_loss improved from 0.70000 to 0.60000, saving model to {path}\n"
        f"\nEpoch 3: finished saving model to {path}\n"
        "\nEpoch 4: val_loss did not improve from 0.60000\n")


@pytest.mark.parametrize("mode", ["auto", "max"])
def test_checkpoint_save_best_only_max(tmp_path, mode):
    mc = cb.ModelCheckpoint(tmp_path / "m{epoch}.seqattn", monitor="val_accuracy",
                            save_best_only=True, mode=mode)
    model, _, _ = drive(mc, [{"val_accuracy": v} for v in (0.5, 0.4, 0.6, 0.6)])
    assert model.calls == [("save", str(tmp_path / "m1.seqattn")),
                           ("save", str(tmp_path / "m3.seqattn"))]


def test_checkpoint_initial_value_threshold_and_weights_only(tmp_path):
    mc = cb.ModelCheckpoint(tmp_path / "w.weights.seqattn", save_best_only=True,
                            save_weights_only=True, initial_value_threshold=0.65)
    model, _, _ = drive(mc, val_losses(0.7, 0.6, 0.62))
    assert model.calls == [("save_weights", str(tmp_path / "w.weights.seqattn"))]


def test_checkpoint_save_freq_batches(tmp_path):
    mc = cb.ModelCheckpoint(tmp_path / "b{epoch}-{batch}.seqattn", save_freq=3)
    model, _, _ = drive(mc, val_losses(1.0, 1.0), steps=4)
    # 3 batches: epoch 0 batch index 2; then 1 + 2 more: epoch 1 batch index 1 (1-based: 2)
    assert model.calls == [("save", str(tmp_path / "b1-3.seqattn")),
                           ("save", str(tmp_path / "b2-2.seqattn"))]


def test_checkpoint_creates_directories_and_rejects_directories(tmp_path):
    class DirChecking(FakeModel):
        def save(self, path, overwrite=True):
            assert os.path.isdir(os.path.dirname(path))
            super().save(path)

    mc = cb.ModelCheckpoint(tmp_path / "a" / "b" / "{epoch}.seqattn")
    model, _, _ = drive(mc, val_losses(1.0), model=DirChecking())
    assert model.calls == [("save", str(tmp_path / "a" / "b" / "1.seqattn"))]
    (tmp_path / "d.seqattn").mkdir()
    with pytest.raises(IsADirectoryError, match="non-directory filepath"):
        drive(cb.ModelCheckpoint(tmp_path / "d.seqattn"), val_losses(1.0))


def test_checkpoint_missing_format_key_and_missing_monitor(tmp_path):
    with pytest.raises(KeyError, match='Failed to format this callback filepath.*val_acc'):
        drive(cb.ModelCheckpoint(tmp_path / "{val_acc:.2f}.seqattn"), val_losses(1.0))
    mc = cb.ModelCheckpoint(tmp_path / "m.seqattn", save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available."):
        model, _, _ = drive(mc, [{"loss": 1.0}])
    assert model.calls == [("save", str(tmp_path / "m.seqattn"))]


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(filepath="m.keras"), ValueError,
     r"must end in `\.seqattn`.*`\.weights\.seqattn` is for weights only.*filepath=m\.keras"),
    (dict(filepath="m.weights.seqattn"), ValueError, r"must end in `\.seqattn`"),
    (dict(filepath="m.seqattn", save_weights_only=True), ValueError,
     r"save_weights_only=True.*must end in `\.weights\.seqattn`.*ends in `\.seqattn`"),
    (dict(filepath="m.weights.h5", save_weights_only=True), ValueError, r"\.weights\.seqattn"),
    (dict(filepath=3), TypeError, "filepath=3"),
    (dict(filepath="m.seqattn", save_freq=0), ValueError, "Unrecognized save_freq: 0"),
    (dict(filepath="m.seqattn", save_freq="batch"), ValueError, "save_freq: 'batch'"),
    (dict(filepath="m.seqattn", save_freq=2.5), ValueError, "save_freq: 2.5"),
    (dict(filepath="m.seqattn", save_best_only="yes"), TypeError, "save_best_only"),
    (dict(filepath="m.seqattn", mode="up"), ValueError, "mode 'up' is unknown"),
    (dict(filepath="m.seqattn", initial_value_threshold="0.5"), ValueError,
     "initial_value_threshold"),
])
def test_checkpoint_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cb.ModelCheckpoint(**kwargs)


# ------------------------------------------------------------ ReduceLROnPlateau
def test_reduce_lr_sequence_with_cooldown_and_min_lr(capsys):
    r = cb.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.2, min_delta=0,
                             verbose=1)
    model = FakeModel(lr=1.0)
    _, _, seen = drive(r, val_losses(*[1.0] * 9), model=model)
    # e1 reduces; e2 cooldown; e3 reduces; e4 cooldown; e5 reduces to min_lr; e7: lr == min_lr
    assert [logs["learning_rate"] for logs in seen] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2,
                                                        0.2, 0.2]
    assert model.optimizer.sets == [0.5, 0.25, 0.2]
    assert capsys.readouterr().out == ("\nEpoch 2: ReduceLROnPlateau reducing learning rate to "
                                       "0.5.\n\nEpoch 4: ReduceLROnPlateau reducing learning "
                                       "rate to 0.25.\n\nEpoch 6: ReduceLROnPlateau reducing "
                                       "learning rate to 0.2.\n")


def test_reduce_lr_improvement_resets_wait_and_min_delta():
    r = cb.ReduceLROnPlateau(factor=0.1, patience=2)  # min_delta 1e-4
    model = FakeModel(lr=1.0)
    # 0.99995 is not an improvement by 1e-4; 0.9 is
    _, _, seen = drive(r, val_losses(1.0, 0.99995, 0.9, 0.95, 0.95, 0.95, 0.95), model=model)
    assert model.optimizer.sets == pytest.approx([0.1, 0.01])  # at epochs 4 and 6
    assert [s["learning_rate"] for s in seen] == pytest.approx([1, 1, 1, 1, 1, 0.1, 0.1])


def test_reduce_lr_warns_on_missing_monitor_and_refuses_schedules():
    r = cb.ReduceLROnPlateau(patience=0)
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on metric "
                                         "`val_loss` which is not available. Available metrics "
                                         "are: loss,learning_rate."):
        model, _, _ = drive(r, [{"loss": 1.0}] * 2)
    assert model.optimizer.sets == []
    model = FakeModel()
    model.optimizer = optimizers.Adam(ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="ReduceLROnPlateau sets `optimizer.learning_rate`.*"
                                        "not settable"):
        drive(cb.ReduceLROnPlateau(), val_losses(1.0), model=model)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(factor=1.0), ValueError, "does not support a factor >= 1.0. Received factor=1.0"),
    (dict(factor=0.0), ValueError, "factor > 0"),
    (dict(factor="0.5"), TypeError, "factor='0.5'"),
    (dict(min_lr=-1e-3), ValueError, "min_lr=-0.001"),
    (dict(cooldown=-1), ValueError, "cooldown=-1"),
    (dict(patience=2.0), ValueError, "patience=2.0"),
    (dict(mode="lower"), ValueError, "mode 'lower'"),
])
def test_reduce_lr_argument_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cb.ReduceLROnPlateau(**kwargs)


# -------------------------------------------------------- LearningRateScheduler
def test_learning_rate_scheduler_two_and_one_argument_forms(capsys):
    s = cb.LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr * 0.5, verbose=1)
    model, _, seen = drive(s, [{"loss": 1.0}] * 3, model=FakeModel(lr=0.1))
    assert model.optimizer.sets == [0.1, 0.05, 0.025]
    assert [logs["learning_rate"] for logs in seen] == [0.1, 0.05, 0.025]
    assert capsys.readouterr().out == "".join(
        f"\nEpoch {e}: LearningRateScheduler setting learning rate to {v}.\n"
        for e, v in ((1, 0.1), (2, 0.05), (3, 0.025)))

    def by_epoch(epoch):
        return 0.1 / (epoch + 1)
    model, _, _ = drive(cb.LearningRateScheduler(by_epoch), [{}] * 3)
    assert model.optimizer.sets == [0.1, 0.05, 0.1 / 3]


@pytest.mark.parametrize("value", ["0.1", None, float("nan"), float("inf"), 0.0, -0.1, True,
                                   np.array([0.1, 0.2])])
def test_learning_rate_scheduler_validates_the_returned_value(value):
    s = cb.LearningRateScheduler(lambda epoch, lr: value)
    with pytest.raises(ValueError, match="output of the `schedule` function should be a float.*"
                                         "finite number > 0. Got: .* at epoch 0"):
        drive(s, [{}])


def test_learning_rate_scheduler_argument_and_optimizer_errors():
    with pytest.raises(TypeError, match="`schedule` must be a function"):
        cb.LearningRateScheduler(0.1)
    with pytest.raises(TypeError, match="must accept \\(epoch, lr\\)"):
        cb.LearningRateScheduler(lambda a, b, c: 0.1)
    model = FakeModel()
    model.optimizer = optimizers.SGD(ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="LearningRateScheduler sets `optimizer.learning_rate`"):
        drive(cb.LearningRateScheduler(lambda e, lr: lr), [{}], model=model)
    assert np.float32(0.5) == cb.LearningRateScheduler(lambda e: np.float32(0.5)).schedule(0)


# ---------------------------------------------------------------- TerminateOnNaN
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
def test_terminate_on_nan(capsys, bad):
    t = cb.TerminateOnNaN()
    model = FakeModel()
    t.set_model(model)
    t.on_train_batch_end(0, {"loss": 0.5})
    t.on_train_batch_end(1, {})
    assert not model.stop_training and capsys.readouterr().out == ""
    t.on_train_batch_end(3, {"loss": bad})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 3: Invalid loss, terminating training\n"
    t = cb.TerminateOnNaN(raise_error=True)
    t.set_model(FakeModel())
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        t.on_train_batch_end(2, {"loss": bad})
    with pytest.raises(TypeError, match="raise_error"):
        cb.TerminateOnNaN(raise_error="no")


# --------------------------------------------------------------------- CSVLogger
def _csv_run(callback, epoch_logs):
    callback.set_model(FakeModel())
    callback.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


LOGS = [{"loss": 0.5, "accuracy": 0.25},
        {"loss": 0.25, "accuracy": 0.5, "val_loss": 0.75, "val_accuracy": 0.125},
        {"loss": 0.125, "accuracy": 0.75}]


def _read(path):
    with open(path, newline="") as f:
        return f.read()


def test_csv_logger_contents_with_late_val_keys(tmp_path):
    path = tmp_path / "log.csv"
    _csv_run(cb.CSVLogger(path), LOGS)
    assert _read(path) == ("epoch,accuracy,loss,val_accuracy,val_loss\r\n"
                           "0,0.25,0.5,NA,NA\r\n"
                           "1,0.5,0.25,0.125,0.75\r\n"
                           "2,0.75,0.125,NA,NA\r\n")


def test_csv_logger_append_separator_and_flush(tmp_path):
    path = tmp_path / "log.csv"
    _csv_run(cb.CSVLogger(path, separator=";"), LOGS[1:2])
    logger = cb.CSVLogger(path, separator=";", append=True)
    logger.set_model(FakeModel())
    logger.on_train_begin()
    # a new run whose keys come in another order: the existing header's columns are reused
    logger.on_epoch_end(0, {"val_accuracy": 0.5, "loss": 0.0625, "accuracy": 1.0})
    assert _read(path).endswith("0;1.0;0.0625;0.5;NA\r\n")  # flushed before train end
    logger.on_train_end()
    assert logger.csv_file.closed
    assert _read(path) == ("epoch;accuracy;loss;val_accuracy;val_loss\r\n"
                           "0;0.5;0.25;0.125;0.75\r\n"
                           "0;1.0;0.0625;0.5;NA\r\n")
    _csv_run(cb.CSVLogger(path), LOGS[:1])  # append=False overwrites
    assert _read(path) == "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,NA,NA\r\n"


def test_csv_logger_learning_rate_and_unknown_late_keys(tmp_path):
    path = tmp_path / "log.csv"
    logger = cb.CSVLogger(path)
    with pytest.warns(UserWarning, match=r"\['extra'\] appeared at epoch 1"):
        _csv_run(logger, [{"loss": 1.0, "learning_rate": 0.5},
                          {"loss": 2.0, "learning_rate": 0.25, "extra": 3.0}])
    assert _read(path) == ("epoch,learning_rate,loss,val_loss\r\n"
                           "0,0.5,1.0,NA\r\n1,0.25,2.0,NA\r\n")


def test_csv_logger_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="one-character.*separator=', '"):
        cb.CSVLogger(tmp_path / "x.csv", separator=", ")
    with pytest.raises(TypeError, match="append"):
        cb.CSVLogger(tmp_path / "x.csv", append="yes")
    with pytest.raises(TypeError, match="filename=None"):
        cb.CSVLogger(None)


# ------------------------------------------------------------------ CallbackList
def test_callback_list_type_errors_and_dispatch():
    with pytest.raises(TypeError, match="must be a list"):
        cb.CallbackList(cb.TerminateOnNaN())
    with pytest.raises(TypeError, match="must be a list"):
        cb.CallbackList("callbacks")
    with pytest.raises(TypeError, match="Every entry of `callbacks`.*received 3"):
        cb.CallbackList([cb.TerminateOnNaN(), 3])
    seen = []

    class Rec(cb.Callback):
        def on_batch_end(self, batch, logs=None):  # Keras's older name still fires
            seen.append((self.params["epochs"], batch, logs))

    model = FakeModel()
    lst = cb.CallbackList([Rec()], model=model, verbose=0, epochs=2, steps=1)
    assert lst.callbacks[0].model is model
    lst.on_train_batch_end(0, {"loss": 1.0})
    assert seen == [(2, 0, {"loss": 1.0})]
    with pytest.raises(AttributeError):
        lst.on_nothing


# ------------------------------------------------------------------------ Keras
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _random_runs(seed, n_runs=40, epochs=12):
    rng = np.random.default_rng(seed)
    for _ in range(n_runs):
        # quantised values give ties and exact min_delta edges
        yield [float(v) for v in np.round(rng.uniform(0, 1, epochs) * 8) / 8]


@pytest.mark.parametrize("kwargs", [
    dict(patience=0), dict(patience=2), dict(patience=3, min_delta=0.125),
    dict(patience=2, mode="max"), dict(patience=1, baseline=0.3),
    dict(patience=2, mode="max", baseline=0.6, restore_best_weights=True),
    dict(patience=1, start_from_epoch=3, restore_best_weights=True),
    dict(patience=4, restore_best_weights=True, min_delta=0.1),
    dict(patience=8, restore_best_weights=True),
])
def test_early_stopping_matches_keras(keras, kwargs):
    for values in _random_runs(len(str(kwargs))):
        ours = cb.EarlyStopping(monitor="val_loss", **kwargs)
        theirs = keras.callbacks.EarlyStopping(monitor="val_loss", **kwargs)
        m1, ran1, _ = drive(ours, val_losses(*values))
        m2, ran2, _ = drive(theirs, val_losses(*values), model=FakeModel(copies=True))
        assert (ran1, ours.stopped_epoch, ours.best, ours.wait, ours.best_epoch) == \
               (ran2, theirs.stopped_epoch, theirs.best, theirs.wait, theirs.best_epoch), values
        np.testing.assert_array_equal(m1.weights[0], m2.weights[0])


@pytest.mark.parametrize("kwargs", [
    dict(patience=0, factor=0.5), dict(patience=2, cooldown=1, factor=0.5, min_lr=0.01),
    dict(patience=1, cooldown=3, min_delta=0.125, mode="max", factor=0.3),
    dict(patience=1, min_lr=0.05, factor=0.2),
])
def test_reduce_lr_matches_keras(keras, kwargs):
    for values in _random_runs(len(str(kwargs))):
        ours = cb.ReduceLROnPlateau(monitor="val_loss", **kwargs)
        theirs = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", **kwargs)
        m1, _, seen1 = drive(ours, val_losses(*values), model=FakeModel(lr=1.0))
        m2, _, seen2 = drive(theirs, val_losses(*values), model=FakeModel(lr=1.0))
        assert m1.optimizer.sets == pytest.approx(m2.optimizer.sets, rel=1e-12), values
        assert [s["learning_rate"] for s in seen1] == pytest.approx(
            [s["learning_rate"] for s in seen2], rel=1e-12)


@pytest.mark.parametrize("kwargs,n_saves", [
    (dict(), 6), (dict(save_best_only=True), 3),
    (dict(save_best_only=True, monitor="val_acc", mode="max"), 3),
    (dict(save_best_only=True, initial_value_threshold=0.5), 1)])
def test_checkpoint_matches_keras(keras, kwargs, n_saves, tmp_path, capsys):
    values = [0.7, 0.8, 0.6, 0.6, 0.65, 0.2]
    logs = [{"loss": 1.0, "val_loss": v, "val_acc": 1 - v} for v in values]
    ours = cb.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.seqattn"), verbose=1,
                              **kwargs)
    m1, _, _ = drive(ours, logs)
    out1 = capsys.readouterr().out
    theirs = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.keras"),
                                             verbose=1, **kwargs)
    m2, _, _ = drive(theirs, logs)
    out2 = capsys.readouterr().out
    assert m1.calls == [(k, p.replace(".keras", ".seqattn")) for k, p in m2.calls]
    assert out1 == out2.replace(".keras", ".seqattn")
    assert len(m1.calls) == n_saves


@pytest.mark.parametrize("runs", [
    [LOGS],
    [[{"loss": 0.5, "val_loss": 0.25}, {"loss": 0.125, "val_loss": 1.5}], [{"loss": 2.0}]],
    [[{"b": 1.0, "a": 2.0}, {"b": 3.0, "a": 4.0}], [{"b": 5.0, "a": 6.0}]],
])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_csv_logger_matches_keras(keras, tmp_path, runs, sep):
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    for i, logs in enumerate(runs):
        _csv_run(cb.CSVLogger(ours, separator=sep, append=i > 0), logs)
        _csv_run(keras.callbacks.CSVLogger(str(theirs), separator=sep, append=i > 0), logs)
    assert _read(ours) == _read(theirs)


def test_terminate_on_nan_matches_keras(keras, capsys):
    for t in (cb.TerminateOnNaN(), keras.callbacks.TerminateOnNaN()):
        model = FakeModel()
        t.set_model(model)
        t.on_train_batch_end(4, {"loss": float("nan")})
        assert model.stop_training
    out = capsys.readouterr().out.splitlines()
    assert out[0] == out[1] == "Batch 4: Invalid loss, terminating training"


# ------------------------------------------------------------------ end to end
T, V = 6, 12


def _model(lr=0.01, opt=None):
    seqattn.utils.set_random_seed(5)
    model = seqattn.Sequential([seqattn.Input((T,), dtype="int32"),
                                seqattn.layers.Embedding(V, 8),
                                seqattn.layers.GlobalAveragePooling1D(),
                                seqattn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=opt or optimizers.Adam(learning_rate=lr),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, (n, T)).astype(np.int32)
    y = (x[:, 0] < V // 2).astype(np.float32)
    return x, y


class Inject(cb.Callback):
    """Puts chosen values into the epoch (or batch) logs, for the callbacks after it."""

    def __init__(self, key, values, batch=None):
        super().__init__()
        self.key, self.values, self.batch = key, values, batch

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None:
            logs[self.key] = self.values[epoch]

    def on_train_batch_end(self, batch, logs=None):
        if self.batch == batch:
            logs[self.key] = self.values


class Record(cb.Callback):
    def __init__(self):
        super().__init__()
        self.events, self.weights, self.logs = [], [], []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(f"batch_begin {batch}")

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(f"batch_end {batch} {sorted(logs)}")

    def on_test_begin(self, logs=None):
        self.events.append("test_begin")

    def on_test_batch_begin(self, batch, logs=None):
        self.events.append(f"test_batch_begin {batch}")

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(f"test_batch_end {batch}")

    def on_test_end(self, logs=None):
        self.events.append(f"test_end {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch} {sorted(logs)}")
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def test_fit_calls_the_hooks_in_keras_order():
    x, y = _data(20)
    rec = Record()
    _model().fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[rec],
                 validation_data=(x[:5], y[:5]), validation_freq=2)
    keys = "['accuracy', 'loss']"
    val_keys = "['accuracy', 'loss', 'val_accuracy', 'val_loss']"
    epoch = ["batch_begin 0", f"batch_end 0 {keys}", "batch_begin 1", f"batch_end 1 {keys}"]
    assert rec.events == (["train_begin", "epoch_begin 0"] + epoch + [f"epoch_end 0 {keys}",
                          "epoch_begin 1"] + epoch +
                          ["test_begin", "test_batch_begin 0", "test_batch_end 0",
                           f"test_end {keys}", f"epoch_end 1 {val_keys}", "train_end"])


def test_fit_rejects_bad_callbacks():
    x, y = _data(10)
    model = _model()
    with pytest.raises(TypeError, match="must be a list"):
        model.fit(x, y, verbose=0, callbacks=cb.TerminateOnNaN())
    with pytest.raises(TypeError, match="seqattn.callbacks.Callback"):
        model.fit(x, y, verbose=0, callbacks=[lambda: None])


def test_fit_early_stopping_restores_best_weights():
    x, y = _data()
    rec = Record()
    es = cb.EarlyStopping(monitor="val_score", patience=2, restore_best_weights=True)
    model = _model()
    history = model.fit(x, y, batch_size=10, epochs=10, verbose=0,
                        callbacks=[Inject("val_score", [3.0, 1.0, 2.0, 1.5, 0.5, 0.1]), es, rec])
    assert history.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3
    assert model.stop_training
    for got, best, last in zip(model.get_weights(), rec.weights[1], rec.weights[3]):
        np.testing.assert_array_equal(got, best)
    assert any(not np.array_equal(b, l) for b, l in zip(rec.weights[1], rec.weights[3]))


def test_fit_reduce_lr_on_plateau_sets_the_core_rate():
    x, y = _data()
    rec = Record()
    model = _model(lr=0.04)
    model.fit(x, y, batch_size=10, epochs=5, verbose=0,
              callbacks=[Inject("val_score", [1.0] * 5),
                         cb.ReduceLROnPlateau("val_score", factor=0.5, patience=1), rec])
    assert [l["learning_rate"] for l in rec.logs] == pytest.approx([0.04, 0.04, 0.02, 0.01,
                                                                    0.005])
    assert model.optimizer.learning_rate == pytest.approx(0.0025)
    assert model.optimizer.core.learning_rate == pytest.approx(0.0025)


def test_fit_learning_rate_scheduler_equals_manual_rates():
    x, y = _data()

    def rate(epoch, lr):
        return 0.05 * 0.5 ** epoch
    a = _model()
    a.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0,
          callbacks=[cb.LearningRateScheduler(rate)])
    b = _model()
    for epoch in range(3):
        b.optimizer.learning_rate = rate(epoch, None)
        for k in range(4):
            b.train_on_batch(x[10 * k:10 * (k + 1)], y[10 * k:10 * (k + 1)])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.optimizer.learning_rate == 0.0125


def test_fit_terminate_on_nan_stops_after_the_batch(capsys):
    x, y = _data()
    rec = Record()
    model = _model()
    history = model.fit(x, y, batch_size=10, epochs=3, verbose=0,
                        callbacks=[Inject("loss", float("nan"), batch=1), cb.TerminateOnNaN(),
                                   rec])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert [e for e in rec.events if e.startswith("batch_begin")] == ["batch_begin 0",
                                                                      "batch_begin 1"]
    assert rec.events[-1] == "train_end" and history.epoch == [0]
    assert model.optimizer.iterations == 2


def test_fit_csv_logger_with_validation_freq(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    model = _model()
    history = model.fit(x, y, batch_size=10, epochs=4, verbose=0, validation_data=(x, y),
                        validation_freq=2, callbacks=[cb.CSVLogger(path)])
    lines = _read(path).split("\r\n")
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and lines[-1] == ""
    rows = [line.split(",") for line in lines[1:-1]]
    assert [r[0] for r in rows] == ["0", "1", "2", "3"]
    assert [r[3:] for r in rows[0::2]] == [["NA", "NA"], ["NA", "NA"]]
    h = history.history
    assert [float(r[2]) for r in rows] == h["loss"]
    assert [float(r[1]) for r in rows] == h["accuracy"]
    assert [float(r[4]) for r in rows[1::2]] == h["val_loss"]


def test_fit_model_checkpoint_files(tmp_path):
    x, y = _data()
    model = _model()
    rec = Record()
    with pytest.warns(UserWarning, match="Can save best model only with val_score available"):
        model.fit(x, y, batch_size=10, epochs=3, verbose=0, validation_data=(x, y),
                  callbacks=[cb.ModelCheckpoint(tmp_path / "w-{epoch:02d}.weights.seqattn",
                                                save_weights_only=True),
                             cb.ModelCheckpoint(tmp_path / "best.seqattn", monitor="val_score",
                                                save_best_only=True),
                             Inject("val_score", [0.5, 0.1, 0.3]), rec])
    assert sorted(os.listdir(tmp_path)) == ["best.seqattn", "w-01.weights.seqattn",
                                            "w-02.weights.seqattn", "w-03.weights.seqattn"]
    # Inject runs after the "best" checkpoint, which therefore never sees val_score and
    # (warning) saves every epoch: the file holds the last epoch's model
    other = _model()
    other.load_weights(str(tmp_path / "w-02.weights.seqattn"))
    for got, want in zip(other.get_weights(), rec.weights[1]):
        np.testing.assert_array_equal(got, want)
    loaded = seqattn.load_model(str(tmp_path / "best.seqattn"))
    for got, want in zip(loaded.get_weights(), rec.weights[2]):
        np.testing.assert_array_equal(got, want)


def test_fit_model_checkpoint_save_best_only(tmp_path):
    x, y = _data()
    model = _model()
    rec = Record()
    path = tmp_path / "best.seqattn"
    model.fit(x, y, batch_size=10, epochs=4, verbose=0,
              callbacks=[Inject("val_score", [0.5, 0.1, 0.3, 0.2]),
                         cb.ModelCheckpoint(path, monitor="val_score", save_best_only=True),
                         rec])
    loaded = seqattn.load_model(str(path))
    for got, want in zip(loaded.get_weights(), rec.weights[1]):
        np.testing.assert_array_equal(got, want)
    assert any(not np.array_equal(a, b) for a, b in zip(rec.weights[1], rec.weights[3]))
