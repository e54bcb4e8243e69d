"""TensorBoard callback: the event files read back (scalars under train/ and validation/ as
Keras 3 names them), argument errors, and the optional extra (tensorboardX) it needs."""

import glob
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import seqattn
from seqattn import callbacks as cb
from seqattn import layers


def _model():
    seqattn.utils.set_random_seed(1)
    model = seqattn.Sequential([seqattn.Input((6,), dtype="int32"), layers.Embedding(20, 4),
                                layers.GlobalAveragePooling1D(),
                                layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (64, 6)).astype(np.int32)
    return x, (x[:, 0] > 10).astype(np.float32)


def _events(directory):
    """[(tag, step, value)] of every event file in `directory`, read record by record (the
    TFRecord framing: length, its CRC, the Event proto, its CRC) with tensorboardX's proto."""
    event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        data = open(path, "rb").read()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i:i + 8])
            event = event_pb2.Event.FromString(data[i + 12:i + 12 + n])
            i += 12 + n + 4
            for v in event.summary.value:
                kind = v.WhichOneof("value")
                out.append((v.tag, event.step, v.simple_value if kind == "simple_value" else kind))
    return out


def _scalars(events, tag):
    return [(step, value) for t, step, value in events if t == tag]


def test_epoch_scalars_read_back(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25,
                        callbacks=[cb.TensorBoard(tmp_path / "logs")])
    train = _events(tmp_path / "logs" / "train")
    val = _events(tmp_path / "logs" / "validation")
    h = history.history
    for key in ("loss", "accuracy"):
        assert _scalars(train, f"epoch_{key}") == [
            (e, pytest.approx(v, rel=1e-6)) for e, v in enumerate(h[key])]
        assert _scalars(val, f"epoch_{key}") == [
            (e, pytest.approx(v, rel=1e-6)) for e, v in enumerate(h[f"val_{key}"])]
    assert _scalars(train, "epoch_learning_rate") == [(e, pytest.approx(1e-3)) for e in range(3)]
    # after each validation, against the optimizer's iterations (3 steps per epoch)
    assert [s for s, _ in _scalars(val, "evaluation_loss_vs_iterations")] == [3, 6, 9]
    assert ("keras/text_summary", 0, "tensor") in train  # write_graph: the model summary
    assert not any(t.startswith("batch_") for t, _, _ in train)  # update_freq="epoch"


def test_batch_scalars_histograms_and_steps_per_second(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = _data()
    tensorboard = cb.TensorBoard(str(tmp_path), histogram_freq=2, write_graph=False,
                                 update_freq=2, write_steps_per_second=True)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[tensorboard])
    train = _events(tmp_path / "train")
    dense = model.layers[-1].name
    assert [s for s, _ in _scalars(train, "batch_loss")] == [2, 4, 6, 8, 10, 12]
    assert [s for s, _ in _scalars(train, "batch_steps_per_second")] == [2, 4, 6, 8, 10, 12]
    assert [s for s, v in _scalars(train, "epoch_steps_per_second") if v > 0] == [0, 1, 2]
    for i in (0, 1):  # kernel and bias, every histogram_freq epochs
        assert _scalars(train, f"{dense}/weight_{i}/histogram") == [(0, "histo"), (2, "histo")]
    assert not any(t == "keras/text_summary" for t, _, _ in train)
    assert not os.path.exists(tmp_path / "validation")  # no validation: no writer, no file


def test_evaluate_alone_writes_evaluation_scalars(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = _data()
    model = _model()
    loss = model.evaluate(x, y, verbose=0, return_dict=True,
                          callbacks=[cb.TensorBoard(tmp_path)])["loss"]
    assert _scalars(_events(tmp_path / "validation"), "evaluation_loss_vs_iterations") == \
        [(0, pytest.approx(loss, rel=1e-6))]


def test_tensorboard_reads_the_files(tmp_path):
    pytest.importorskip("tensorboardX")
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    x, y = _data()
    history = _model().fit(x, y, batch_size=16, epochs=2, verbose=0,
                           callbacks=[cb.TensorBoard(tmp_path)])
    acc = accumulator.EventAccumulator(str(tmp_path / "train"))
    acc.Reload()
    assert [e.value for e in acc.Scalars("epoch_loss")] == pytest.approx(
        history.history["loss"], rel=1e-6)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(log_dir=None), TypeError, "log_dir"),
    (dict(histogram_freq=-1), ValueError, "histogram_freq"),
    (dict(write_graph="yes"), TypeError, "write_graph"),
    (dict(update_freq=0), ValueError, "update_freq=0"),
    (dict(update_freq="step"), ValueError, "'epoch', 'batch' or a positive"),
    (dict(write_images=True), ValueError, "does not support `write_images`"),
    (dict(profile_batch=(2, 4)), ValueError, "does not support `profile_batch`"),
    (dict(embeddings_freq=1), ValueError, "does not support `embeddings_freq`"),
    (dict(embeddings_metadata="meta.tsv"), ValueError, "does not support `embeddings_meta"),
])
def test_argument_errors(kwargs, exc, match):
    pytest.importorskip("tensorboardX")
    with pytest.raises(exc, match=match):
        cb.TensorBoard(**kwargs)


def test_without_the_extra_the_error_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install "seqattn\[tensorboard\]"'):
        cb.TensorBoard("logs")


def test_import_seqattn_does_not_import_tensorboardx():
    code = "import sys, seqattn; print('tensorboardX' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"
