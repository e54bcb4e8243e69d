"""A small Keras-format progress display for `fit`, `evaluate` and `predict`.

verbose=1: a bar redrawn in place (carriage return, at most every 0.1 s);
verbose=2: one line per epoch; verbose=0: silent; "auto": 1 on a terminal or in Jupyter,
else 2.
"""

from __future__ import annotations

import sys
import time


def resolve_verbose(verbose) -> int:
    if verbose == "auto":
        interactive = getattr(sys.stdout, "isatty", lambda: False)() or "ipykernel" in sys.modules
        return 1 if interactive else 2
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"Received an invalid value for `verbose`, expected 0, 1, 2 or 'auto'. "
                         f"Received: verbose={verbose!r}")
    return int(verbose)


def format_logs(logs: dict) -> str:
    parts = []
    for k, v in logs.items():
        parts.append(f"{k}: {v:.4e}" if 0 < abs(v) < 1e-3 else f"{k}: {v:.4f}")
    return " - ".join(parts)


class Progbar:
    """Draws `12/50 ━━━━━━━━━━──────── 3s 25ms/step - loss: 0.6931 - accuracy: 0.5000`."""

    def __init__(self, total_steps: int, verbose: int, width: int = 20, interval: float = 0.1):
        self.total = total_steps
        self.verbose = verbose
        self.width = width
        self.interval = interval
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def update(self, step: int, logs: dict, final: bool = False):
        if self.verbose != 1:
            return
        now = time.perf_counter()
        if not final and now - self.last_draw < self.interval:
            return
        self.last_draw = now
        filled = int(self.width * step / max(self.total, 1))
        bar = "━" * filled + "─" * (self.width - filled)
        elapsed = now - self.start
        per_step = elapsed / max(step, 1)
        timing = (f"{elapsed:.0f}s" if final else f"ETA {per_step * (self.total - step):.0f}s")
        line = f"{step}/{self.total} {bar} {timing} {per_step * 1e3:.0f}ms/step"
        if logs:
            line += " - " + format_logs(logs)
        sys.stdout.write("\r" + line + ("\n" if final else ""))
        sys.stdout.flush()

    def epoch_line(self, logs: dict):
        """verbose=2: one line at the end of an epoch."""
        if self.verbose != 2:
            return
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(self.total, 1)
        line = f"{self.total}/{self.total} - {elapsed:.0f}s - {per_step * 1e3:.0f}ms/step"
        if logs:
            line += " - " + format_logs(logs)
        print(line, flush=True)
