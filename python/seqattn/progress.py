"""Keras-format progress display for `fit`, `evaluate` and `predict`.

What is printed (Keras 3's Progbar formats, plain text, no ANSI colours)::

    Epoch 3/10                                        (fit, verbose 1 or 2, epochs > 1)
    12/50 ━━━━━────────────── ETA 3s 25ms/step - loss: 0.6931 - accuracy: 0.5000   (running)
    50/50 ━━━━━━━━━━━━━━━━━━━━ 4s 24ms/step - loss: 0.6902 - ... - val_loss: 0.6890  (final)
    50/50 - 4s - 24ms/step - loss: 0.6902 - accuracy: 0.5100 - val_loss: 0.6890      (verbose=2)

Verbosity: 0 is silent; 2 prints one line per epoch (per `evaluate`/`predict` call);
1 draws a live bar; "auto" resolves to 1 in interactive use (stdout is a TTY, or a Jupyter /
IPython kernel is running) and to 2 otherwise, as in Keras.

Where verbose=1 draws (chosen once, when the Progbar is made; see `Progbar.mode`):

- "jupyter": inside a Jupyter kernel (the running IPython shell's class, or a base class, is
  named ZMQInteractiveShell; this also covers Colab and Spyder shells). The bar is one display
  output: `IPython.display.display(view, display_id=True)` at the first draw, then
  `handle.update(view)` for each redraw; the view has `_repr_html_` (a <pre>) and a text
  `__repr__`. After the final draw the last state stays displayed. Nothing is printed per batch,
  so the output cell cannot grow with the number of batches (Keras issues 4880, 12860).
  IPython is looked up in sys.modules only, never imported: the package does not depend on it.
  The "Epoch N/M" header is ordinary stdout text; ipykernel flushes stdout before it publishes
  a display, so header and bar stay in order in the cell.
- "live": the stream is a TTY. The line is redrawn in place with a carriage return, padded
  with spaces to the previous line's width so that a shorter line fully overwrites a longer
  one (no ANSI erase codes: any terminal handles this). While running, a line wider than the
  terminal is cut to the terminal width, since a wrapped line cannot be redrawn by "\\r"
  (it would leave one stale row per redraw); the final line is written whole, then a newline.
- "final": verbose=1 on a stream that is not a TTY (a log file, a pipe, pytest's capture):
  as in Keras, only the final line of each epoch is written, so logs stay readable.

Rate limit (live and jupyter): a redraw happens at most every `interval` seconds (the first
update draws at once), plus the final draw, which always happens. Timing uses Keras's
estimate: the time per step excludes the first step (warm-up) once there are two or more,
the ETA is that times the steps left (`ETA 3s`, `ETA 1:05`, `ETA 1:01:05`), and the final
line shows the total seconds. Per-step time is in s/step (>= 1 s), ms/step (>= 1 ms) or
us/step. Metric values: `0.6931`, or `2.0406e-04` when 0 < |value| < 1e-3.

Testing hooks: `clock` (defaults to time.perf_counter) and `stream` (defaults to sys.stdout
at construction; an explicit stream is never replaced by a Jupyter display).
"""

from __future__ import annotations

import html
import os
import sys
import time

_FILL, _EMPTY = "━", "─"
_ASCII_FILL, _ASCII_EMPTY = "=", "."


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # ValueError: a closed file
        return False


def _jupyter_shell():
    """The running IPython shell if it is a Jupyter kernel (ZMQInteractiveShell or a subclass,
    e.g. Colab's), else None. Only looks at an IPython already imported by someone else."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return None
    try:
        shell = get_ipython()
    except Exception:  # a broken or partial IPython: behave as a plain interpreter
        return None
    if shell is None:
        return None
    if any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__):
        return shell
    return None


def _ipython_display():
    """IPython.display.display, or None when unavailable."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython.display import display
    except Exception:
        return None
    return display


def _terminal_columns(stream):
    """Columns of the terminal behind `stream`, or None (not a real terminal)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None


def resolve_verbose(verbose) -> int:
    """0, 1 or 2 from Keras's `verbose` argument; "auto" is 1 in interactive use (stdout is a
    TTY or a Jupyter kernel runs) and 2 otherwise."""
    if isinstance(verbose, str) and verbose == "auto":
        return 1 if _isatty(sys.stdout) or _jupyter_shell() is not None else 2
    if isinstance(verbose, bool) or isinstance(verbose, str) or verbose not in (0, 1, 2):
        raise ValueError(f"Received an invalid value for `verbose`, expected 0, 1, 2 or 'auto'. "
                         f"Received: verbose={verbose!r}")
    return int(verbose)


def _format_value(value) -> str:
    if isinstance(value, str):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4e}" if 0 < abs(v) < 1e-3 else f"{v:.4f}"


def format_logs(logs) -> str:
    """`loss: 0.6931 - accuracy: 0.5000`; values with 0 < |v| < 1e-3 as `2.0406e-04`."""
    if not logs:
        return ""
    return " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())


def format_step_time(seconds: float, unit_name: str = "step") -> str:
    """`2s/step` (>= 1 s or exactly 0), `25ms/step` (>= 1 ms), else `80us/step` (Keras)."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def format_eta(seconds: float) -> str:
    """`45s`, `1:05` (over a minute), `1:01:05` (over an hour), as Keras."""
    s = int(max(seconds, 0))
    if seconds > 3600:
        return f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}"
    if seconds > 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"


def print_epoch_header(epoch: int, epochs: int, verbose: int, stream=None) -> None:
    """Prints `Epoch {epoch + 1}/{epochs}` (epoch is 0-based, like a Keras callback's) when
    verbose is 1 or 2 and epochs > 1, as Keras's ProgbarLogger does."""
    if verbose and epochs > 1:
        print(f"Epoch {epoch + 1}/{epochs}", file=stream if stream is not None else sys.stdout,
              flush=True)


class _BarView:
    """What a Jupyter display shows: HTML (<pre>, filled part in green) or the plain line."""

    __slots__ = ("count", "filled", "empty", "info")

    def __init__(self, count, filled, empty, info):
        self.count, self.filled, self.empty, self.info = count, filled, empty, info

    @property
    def text(self) -> str:
        return f"{self.count} {self.filled}{self.empty} {self.info}"

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        esc = html.escape
        return (f'<pre style="margin:0;white-space:pre">{esc(self.count)} '
                f'<span style="color:#3c9a3c">{esc(self.filled)}</span>{esc(self.empty)} '
                f'{esc(self.info)}</pre>')


class Progbar:
    """A Keras-style progress bar over `total_steps` steps (see the module docstring).

    Args:
        total_steps: number of steps (batches) in the epoch or pass.
        verbose: 0 (silent), 1 (live bar) or 2 (one line at the end); resolve "auto" first
            with `resolve_verbose`.
        width: characters in the bar.
        interval: minimum seconds between two redraws of a live bar (the final draw always
            happens).
        stream: where text goes; default sys.stdout (read when the Progbar is made). Given
            explicitly, it is always used, even in Jupyter.
        clock: a callable returning seconds; default time.perf_counter.
        unit_name: the word in `25ms/step`.

    Use: `update(step, logs)` after each step, `update(total, logs, final=True)` once at the
    end (draws the final bar and ends its line; with verbose=2 prints the one line).
    `close()` ends a live line left unfinished (e.g. after Ctrl-C); it is idempotent.
    """

    def __init__(self, total_steps: int, verbose: int = 1, width: int = 20,
                 interval: float = 0.1, *, stream=None, clock=None, unit_name: str = "step"):
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"`width` must be a positive int; received width={width!r}.")
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"`verbose` must be 0, 1 or 2 (resolve 'auto' with "
                             f"resolve_verbose); received verbose={verbose!r}.")
        self.total = int(total_steps)
        self.verbose = int(verbose)
        self.width = width
        self.interval = float(interval)
        self.unit_name = unit_name
        self.stream = stream if stream is not None else sys.stdout
        self._clock = clock if clock is not None else time.perf_counter
        self._start = self._clock()
        self._after_first = None  # clock time when step 1 ended (Keras's warm-up exclusion)
        self._last_draw = None
        self._prev_width = 0  # live mode: width of the line currently on screen
        self._open_line = False  # live mode: a line without its newline is on screen
        self._finished = False
        self._handle = None  # jupyter mode: the DisplayHandle
        self._display = None
        self.mode = self._pick_mode(stream is None)
        self._fill, self._empty = _FILL, _EMPTY
        encoding = getattr(self.stream, "encoding", None)
        if encoding and self.mode != "jupyter":
            try:
                (_FILL + _EMPTY).encode(encoding)
            except (UnicodeEncodeError, LookupError):
                self._fill, self._empty = _ASCII_FILL, _ASCII_EMPTY

    def _pick_mode(self, default_stream: bool) -> str:
        if self.verbose == 0:
            return "silent"
        if self.verbose == 2:
            return "summary"
        if default_stream and _jupyter_shell() is not None:
            self._display = _ipython_display()
            if self._display is not None:
                return "jupyter"
            return "live"  # a kernel without IPython.display: Jupyter frontends honour "\r"
        return "live" if _isatty(self.stream) else "final"

    # ------------------------------------------------------------------ public
    def update(self, step: int, logs=None, final: bool = False) -> None:
        """Reports that `step` steps are done with running `logs`; redraws if due."""
        if self._finished or self.mode == "silent":
            return
        now = self._clock()
        if step == 1 and self._after_first is None:
            self._after_first = now
        if final:
            self._finish(step, logs, now)
            return
        if self.mode not in ("live", "jupyter"):
            return
        if self._last_draw is not None and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        self._draw(self._view(step, logs, now, final=False), final=False)

    def epoch_line(self, logs=None) -> None:
        """Finishes the bar with `logs` if `update(..., final=True)` has not already (kept for
        fit: with verbose=2 the epoch's line is printed by the final update)."""
        if not self._finished:
            self.update(self.total, logs, final=True)

    def close(self) -> None:
        """Ends an unfinished live line with a newline (after an interruption); idempotent."""
        if self._open_line:
            self._write("\n")
            self._open_line = False
        self._finished = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ----------------------------------------------------------------- drawing
    def _per_step(self, step: int, now: float) -> float:
        if step <= 0:
            return 0.0
        if self._after_first is not None and step > 1:
            return (now - self._after_first) / (step - 1)
        return (now - self._start) / step

    def _count(self, step: int) -> str:
        digits = len(str(self.total))
        return f"{step:>{digits}}/{self.total}"

    def _view(self, step: int, logs, now: float, final: bool) -> _BarView:
        frac = min(max(step / self.total, 0.0), 1.0) if self.total > 0 else 1.0
        filled = int(self.width * frac)
        per_step = self._per_step(step, now)
        if final:
            timing = f"{now - self._start:.0f}s"
        else:
            timing = "ETA " + format_eta(per_step * max(self.total - step, 0))
        info = f"{timing} {format_step_time(per_step, self.unit_name)}"
        if logs:
            info += " - " + format_logs(logs)
        return _BarView(self._count(step), self._fill * filled,
                        self._empty * (self.width - filled), info)

    def _finish(self, step: int, logs, now: float) -> None:
        self._finished = True
        if self.mode == "summary":
            line = (f"{self._count(step)} - {now - self._start:.0f}s - "
                    f"{format_step_time(self._per_step(step, now), self.unit_name)}")
            if logs:
                line += " - " + format_logs(logs)
            self._write(line + "\n")
        elif self.mode == "final":
            self._write(self._view(step, logs, now, final=True).text + "\n")
        else:  # live, jupyter
            self._draw(self._view(step, logs, now, final=True), final=True)

    def _draw(self, view: _BarView, final: bool) -> None:
        if self.mode == "jupyter":
            if self._handle is None:
                self._handle = self._display(view, display_id=True)
                if self._handle is None:  # a display without ids: only the final line
                    self.mode = "final"
            else:
                self._handle.update(view)
            return
        text = view.text
        if not final:
            columns = _terminal_columns(self.stream)
            if columns and len(text) > columns - 1:
                text = text[:max(columns - 1, 1)]
        pad = " " * max(self._prev_width - len(text), 0)
        self._write("\r" + text + pad + ("\n" if final else ""))
        self._prev_width = 0 if final else len(text)
        self._open_line = not final

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except UnicodeEncodeError:
            self.stream.write(text.encode("ascii", "replace").decode("ascii"))
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()
