"""Training callbacks. `History` is what `fit` returns."""

from __future__ import annotations


class History:
    """Per-epoch logs: `history.history["loss"]`, `["accuracy"]`, `["val_loss"]`, ..."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.model = None

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
