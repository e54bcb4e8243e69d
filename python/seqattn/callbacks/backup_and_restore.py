"""BackupAndRestore: resume a `fit` that was killed from the last backup, exactly."""

from __future__ import annotations

import numbers
import os
import shutil
import tempfile

from .. import _formats
from ..archive import FileFormatError
from .base import Callback
from .monitor import BatchFrequency, _boolean, _path


class BackupAndRestore(Callback):
    """Backs up the whole training state during `fit`; a later `fit` with the same callback
    arguments restores it and continues from the epoch after the last backup (Keras 3).

    The backup is one model file, `<backup_dir>/latest.seqattn` (`model.save`: weights,
    optimizer slots and counters, the learning rate, dropout streams, fit's shuffling
    generator and the epochs done), written atomically, so a run killed while writing keeps
    the previous backup. With epoch backups (the default), the resumed run is the
    uninterrupted one: same seed and threads give bit-identical weights and the same logs.

    Args:
        backup_dir: the directory for the backup (created when needed). Use it for nothing
            else: no other run, no ModelCheckpoint.
        save_freq: "epoch" (at each epoch end) or an int n: also every n training batches.
            As in Keras, a batch backup restarts its epoch from the first batch with the
            weights of the backup, so only epoch backups resume exactly.
        double_checkpoint: keep the previous backup too (`latest.seqattn.bkp`), used when the
            latest one cannot be read.
        delete_checkpoint: delete the backup when `fit` ends normally (also when stopped by a
            callback such as EarlyStopping); False keeps it.

    Differences from Keras (why): Keras 3 removes the whole `backup_dir` at the end; seqattn
    removes the files it wrote and then the directory only if it is empty, so a mistyped
    `backup_dir` never deletes other files. The states of other callbacks (EarlyStopping's
    wait, ...) are not backed up, as in Keras.
    """

    _LATEST = "latest.seqattn"

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        owner = "BackupAndRestore"
        if backup_dir is None or backup_dir == "":
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir = _path(owner, "backup_dir", backup_dir)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or
                                     not isinstance(save_freq, numbers.Integral)
                                     or save_freq < 1):
            raise ValueError("Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq!r}. Expected either 'epoch' or a positive "
                             "integer value (a number of batches).")
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.double_checkpoint = _boolean(owner, "double_checkpoint", double_checkpoint)
        self.delete_checkpoint = _boolean(owner, "delete_checkpoint", delete_checkpoint)
        self._path = os.path.join(self.backup_dir, self._LATEST)
        self._prev_path = self._path + ".bkp"
        self._batches = BatchFrequency(self.save_freq)
        self._current_epoch = 0

    # ------------------------------------------------------------------ restore
    def on_train_begin(self, logs=None):
        self._batches.reset()
        if not os.path.exists(self._path):
            return
        native = _formats.native()
        try:
            native.restore_training_state(self.model, self._path)
        except (OSError, FileFormatError):
            if not (self.double_checkpoint and os.path.exists(self._prev_path)):
                raise
            native.restore_training_state(self.model, self._prev_path)
        # fit starts at the epoch after the last one backed up (Keras's _initial_epoch)
        self.model._initial_epoch = self.model._epoch
        self._current_epoch = self.model._epoch

    # ------------------------------------------------------------------- backup
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch" and self._batches.due(batch):
            self._save(self._current_epoch)  # resumes at the start of this epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, epochs_done):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._path):
            self._copy_atomically(self._path, self._prev_path)
        model = self.model
        # fit counts an epoch as done after on_epoch_end; the backup must already count it
        kept, model._epoch = model._epoch, epochs_done
        try:
            model.save(self._path, overwrite=True)
        finally:
            model._epoch = kept

    @staticmethod
    def _copy_atomically(src, dst):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dst) or ".", suffix=".tmp")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    # ------------------------------------------------------------------ cleanup
    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in (self._path, self._prev_path):
            if os.path.exists(path):
                os.remove(path)
        try:
            os.rmdir(self.backup_dir)
        except OSError:  # absent, or holds other files: left as it is
            pass
