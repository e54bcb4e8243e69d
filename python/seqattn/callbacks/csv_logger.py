"""CSVLogger: one CSV row per epoch, byte for byte as Keras writes it."""

from __future__ import annotations

import csv
import os
import warnings

import numpy as np

from .base import Callback
from .monitor import _boolean, _path


# ----------------------------------------------------------------------- CSVLogger
class CSVLogger(Callback):
    """Writes one CSV row per epoch (Keras 3 format): the column "epoch" (0-based), then the
    log keys of the first epoch in sorted order. When the first epoch has no val_* key (a
    validation_freq > 1 run, or no validation), the val_ counterparts are added as columns
    too, as Keras does; a value missing in an epoch is written "NA" (Keras). Rows end with
    "\r\n" (the csv module's default, as Keras). The file is flushed after each row and closed
    when training ends.

    Args:
        filename: str or os.PathLike.
        separator: the one-character column separator.
        append: append to an existing file (its header line is kept and not written again);
            False overwrites.

    Differences from Keras (why): no "val_learning_rate" column is predicted (the rate is
    added by callbacks and has no validation counterpart, so Keras's column is always NA);
    when appending to a file that has a header, its columns are reused, so the rows stay
    aligned with the header even if the keys changed (Keras writes the new run's keys under
    the old header); a key that first appears after the header was written cannot be
    recorded, and seqattn warns once instead of dropping it silently.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = _path("CSVLogger", "filename", filename)
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError("`separator` of CSVLogger must be a one-character string. "
                             f"Received: separator={separator!r}")
        self.sep = separator
        self.append = _boolean("CSVLogger", "append", append)
        self.keys = None
        self.append_header = True
        self.csv_file = None
        self.writer = None
        self._warned = set()

    def _dialect(self):
        class Dialect(csv.excel):
            delimiter = self.sep
        return Dialect

    def on_train_begin(self, logs=None):
        self.keys = None
        self.append_header = True
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f, dialect=self._dialect()), None)
            if header:
                self.append_header = False
                if header[0] == "epoch":
                    self.keys = header[1:]
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="",
                             encoding="utf-8")
        self.writer = None
        self._warned = set()

    @staticmethod
    def _cell(value):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return value.item()
        if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)):
            return value
        return f'"[{", ".join(map(str, value))}]"'  # Keras's form for 1-D values

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:
            raise RuntimeError("CSVLogger: on_epoch_end was called before on_train_begin "
                               "(the file is not open).")
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys if k != "learning_rate"]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, dialect=self._dialect())
            if self.append_header:
                self.writer.writerow(["epoch"] + self.keys)
        unknown = [k for k in logs if k not in self.keys and k not in self._warned]
        if unknown:
            self._warned.update(unknown)
            warnings.warn(f"CSVLogger: the log key(s) {unknown} appeared at epoch {epoch}, after "
                          f"the columns of {self.filename} were fixed; they are not recorded.",
                          stacklevel=2)
        self.writer.writerow([epoch] + [self._cell(logs.get(k, "NA")) for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
