"""TensorBoard: event files of the training logs, for `tensorboard --logdir`.

The files are written with tensorboardX, an optional extra (`pip install
"seqattn[tensorboard]"`): it is imported when a TensorBoard callback is made, never by
`import seqattn`.
"""

from __future__ import annotations

import numbers
import os
import time

from .base import Callback
from .monitor import _boolean, _non_negative_int, _path

_EXTRA = ('The TensorBoard callback writes event files with the `tensorboardX` package, which '
          'is not installed. Install seqattn\'s optional extra: pip install '
          '"seqattn[tensorboard]" (or: pip install tensorboardX).')


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(_EXTRA) from e
    return SummaryWriter


class TensorBoard(Callback):
    """Logs the training to TensorBoard event files, laid out as Keras 3 lays them out:

        <log_dir>/train/       epoch_loss, epoch_<metric>, epoch_learning_rate (step: epoch,
                               0-based); with update_freq "batch" or n: batch_loss, ...
                               (step: training batches so far, counted across epochs)
        <log_dir>/validation/  epoch_loss, epoch_<metric> from the val_* logs (prefix
                               dropped, so train and validation share one chart), and
                               evaluation_<name>_vs_iterations (step: optimizer iterations)
                               after each validation or `evaluate`

    Args:
        log_dir: where the event files go; default "logs". Use it for nothing else.
        histogram_freq: every this many epochs, a histogram of every weight
            (`<layer>/weight_<i>/histogram`, in get_weights order); 0 (default) writes none.
        write_graph: write the model summary (the table of `model.summary()`) as text, under
            the tag "keras" at step 0, as Keras's torch backend writes the model's summary.
        write_steps_per_second: also log the training steps per second.
        update_freq: "epoch" (default), "batch" (= 1) or an int n: the running batch logs
            every n training batches, in addition to the epoch values.
        write_images, profile_batch, embeddings_freq, embeddings_metadata: Keras's arguments;
            only their off values (False, 0, 0, None) are accepted (see below).

    Differences from Keras (why): seqattn has no weight images, profiler or embedding
    projector, so turning them on raises a ValueError instead of doing nothing (Keras's torch
    backend raises for profile_batch too). Weight histograms are tagged by index
    (`dense/weight_0`), since seqattn weights carry no names.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        owner = "TensorBoard"
        self.log_dir = _path(owner, "log_dir", log_dir)
        self.histogram_freq = _non_negative_int(owner, "histogram_freq", histogram_freq)
        self.write_graph = _boolean(owner, "write_graph", write_graph)
        self.write_steps_per_second = _boolean(owner, "write_steps_per_second",
                                               write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or
                                       not isinstance(update_freq, numbers.Integral)
                                       or update_freq < 1):
            raise ValueError("Received an invalid value for `update_freq` of TensorBoard, "
                             "expected 'epoch', 'batch' or a positive integer (a number of "
                             f"batches). Received: update_freq={update_freq!r}")
        self.update_freq = update_freq if update_freq == "epoch" else int(update_freq)
        unsupported = {"write_images": _boolean(owner, "write_images", write_images),
                       "profile_batch": profile_batch, "embeddings_freq": embeddings_freq,
                       "embeddings_metadata": embeddings_metadata}
        for name, value in unsupported.items():
            if value is not None and value is not False and not (
                    isinstance(value, numbers.Integral) and value == 0):
                raise ValueError(f"TensorBoard in seqattn does not support `{name}` (it has no "
                                 f"weight images, profiler or embedding projector); leave it "
                                 f"off. Received: {name}={value!r}")
        self._writer_class = _summary_writer_class()  # fails now, not mid-fit, without it
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._graph_written = False
        self._in_fit = False
        self._global_train_batch = 0
        self._epoch_start = None
        self._epoch_iterations = 0
        self._batch_start = None

    # ------------------------------------------------------------------ writers
    def _writer(self, which):
        if which not in self._writers:
            logdir = self._train_dir if which == "train" else self._val_dir
            self._writers[which] = self._writer_class(logdir=logdir)
        return self._writers[which]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -------------------------------------------------------------------- hooks
    def set_model(self, model):
        super().set_model(model)
        self._close_writers()
        self._graph_written = False

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._global_train_batch = 0
        if self.write_graph and not self._graph_written:
            lines = []
            self.model.summary(print_fn=lines.append)
            text = "\n".join(lines)
            self._writer("train").add_text("keras", "```\n" + text + "\n```", 0)
            self._graph_written = True

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_iterations = self._iterations()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / max(elapsed, 1e-9), step)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._epoch_start
            train["steps_per_second"] = ((self._iterations() - self._epoch_iterations)
                                         / max(elapsed, 1e-9))
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()  # readable while training runs

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and logs:
            writer = self._writer("validation")
            for name, value in logs.items():
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value),
                                  self._iterations())
            writer.flush()
        if not self._in_fit:
            self._close_writers()

    # ------------------------------------------------------------------ helpers
    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for sub in layer._weight_layers():
                for i, w in enumerate(sub.get_weights()):
                    writer.add_histogram(f"{sub.name}/weight_{i}/histogram", w, epoch)
