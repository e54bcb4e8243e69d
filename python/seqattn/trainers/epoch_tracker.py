"""Running logs over an epoch (or over *_on_batch calls): what fit prints and callbacks read."""

from __future__ import annotations

import numpy as np


class EpochTracker:
    """Running means over an epoch: the total loss, each output's loss (several outputs) and
    each output's metrics, weighted by batch size as Keras does. Names follow Keras:
    "loss", "accuracy" for one output; "<output>_loss", "<output>_accuracy" for several."""

    def __init__(self, output_names, metrics, trained):
        self.names = output_names
        self.metrics = metrics
        self.trained = trained  # per output: has a loss
        for ms in metrics:
            for m in ms:
                m.reset_state()
        self.needs_outputs = any(metrics)
        self.total = 0.0
        self.per_output = np.zeros(len(output_names))
        self.seen = 0

    def update(self, n, loss, losses, ys, outputs, masks=None):
        self.total += loss * n
        self.per_output += np.asarray(losses) * n
        self.seen += n
        if outputs is not None:
            masks = masks if masks is not None else [None] * len(outputs)
            for ms, y, out, mask in zip(self.metrics, ys, outputs, masks):
                # A per-token output's padding mask weights its metrics, as its loss (Keras).
                w = None if mask is None or np.ndim(out) < 3 else mask
                for m in ms:  # outputs without a loss have no metrics
                    m.update(y, out, w)

    def logs(self) -> dict:
        logs = {"loss": self.total / max(self.seen, 1)}
        several = sum(self.trained) > 1
        if several:
            for name, value, trained in zip(self.names, self.per_output, self.trained):
                if trained:
                    logs[f"{name}_loss"] = value / max(self.seen, 1)
        for name, ms in zip(self.names, self.metrics):
            for m in ms:
                logs[f"{name}_{m.name}" if several else m.name] = m.result()
        return logs
