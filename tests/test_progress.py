"""The progress display: terminal in-place redraws, log files, verbose=2, Jupyter displays.

Time is a fake clock and output a fake stream throughout, so nothing depends on how fast the
machine is. Jupyter is a fake IPython module in sys.modules (and, when IPython is installed,
a real IPython display machinery in a subprocess).
"""

import io
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import seqattn
from seqattn import layers, progress
from seqattn.progress import (Progbar, format_eta, format_logs, format_step_time,
                              print_epoch_header, resolve_verbose)


class FakeClock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, dt):
        self.t += dt


class FakeTTY(io.StringIO):
    """A terminal: isatty() is True; counts write() calls."""

    def __init__(self):
        super().__init__()
        self.writes = []

    def isatty(self):
        return True

    def write(self, text):
        self.writes.append(text)
        return super().write(text)


class FakeFile(FakeTTY):
    def isatty(self):
        return False


def screen(text):
    """What a terminal shows for `text`: '\\r' returns to column 0 and overwrites."""
    lines, cur, col = [], [], 0
    for ch in text:
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(cur))
            cur, col = [], 0
        else:
            if col < len(cur):
                cur[col] = ch
            else:
                cur.append(ch)
            col += 1
    return lines, "".join(cur)


def draws(stream):
    return [w for w in stream.writes if w.startswith("\r")]


# ----------------------------------------------------------------------- formats
def test_formats_follow_keras():
    assert format_logs({"loss": 0.69314, "accuracy": 0.5}) == "loss: 0.6931 - accuracy: 0.5000"
    assert format_logs({"loss": 2.0406e-4, "x": 0.0}) == "loss: 2.0406e-04 - x: 0.0000"
    assert format_logs({"loss": np.float32(1.5), "name": "a"}) == "loss: 1.5000 - name: a"
    assert format_logs({}) == "" and format_logs(None) == ""
    assert format_step_time(2.4) == "2s/step" and format_step_time(1.0) == "1s/step"
    assert format_step_time(0.025) == "25ms/step" and format_step_time(0.001) == "1ms/step"
    assert format_step_time(8e-5) == "80us/step" and format_step_time(0) == "0s/step"
    assert format_step_time(0.5, "sample") == "500ms/sample"
    assert format_eta(3.7) == "3s" and format_eta(65) == "1:05" and format_eta(3665) == "1:01:05"


def test_resolve_verbose_values_and_errors():
    assert [resolve_verbose(v) for v in (0, 1, 2)] == [0, 1, 2]
    for bad in (3, -1, True, "1", None, 1.5):
        with pytest.raises(ValueError, match="verbose"):
            resolve_verbose(bad)


def test_auto_is_1_on_a_tty_and_2_otherwise(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.setattr(sys, "stdout", FakeTTY())
    assert resolve_verbose("auto") == 1
    monkeypatch.setattr(sys, "stdout", FakeFile())
    assert resolve_verbose("auto") == 2


# ------------------------------------------------------------------- terminal
def test_terminal_redraws_in_place_and_shorter_lines_overwrite_longer():
    clock, out = FakeClock(), FakeTTY()
    bar = Progbar(50, 1, stream=out, clock=clock)
    assert bar.mode == "live"
    for step in range(1, 51):
        clock.advance(0.2)  # every update is due
        logs = {"loss": 0.7, "a_very_long_metric_name": 0.5} if step < 30 else {"loss": 0.6}
        bar.update(step, logs)
        done, current = screen(out.getvalue())
        assert done == []  # nothing scrolled: one line redrawn in place
        assert current.rstrip() == out.getvalue().rsplit("\r", 1)[1].rstrip()
        assert current.startswith(f"{step:>2}/50 ")
    assert "a_very_long" not in current  # the shorter line fully overwrote the longer one
    assert current.rstrip() == ("50/50 ━━━━━━━━━━━━━━━━━━━━ ETA 0s 200ms/step - loss: 0.6000")
    clock.advance(1.0)
    bar.update(50, {"loss": 0.6, "val_loss": 0.65}, final=True)
    done, current = screen(out.getvalue())
    assert current == "" and len(done) == 1  # the final draw ends the line
    assert done[0].rstrip() == ("50/50 ━━━━━━━━━━━━━━━━━━━━ 11s 220ms/step - loss: 0.6000 - "
                                "val_loss: 0.6500")
    bar.update(50, {"loss": 1.0}, final=True)  # a finished bar stays finished
    bar.epoch_line({"loss": 1.0})
    assert len(screen(out.getvalue())[0]) == 1


def test_running_line_shows_eta_and_step_time_without_warmup_step():
    clock, out = FakeClock(), FakeTTY()
    bar = Progbar(10, 1, stream=out, clock=clock)
    clock.advance(5.0)  # a slow first step (warm-up) is left out of the estimate
    bar.update(1, {"loss": 0.5})
    assert out.getvalue() == "\r 1/10 ━━────────────────── ETA 45s 5s/step - loss: 0.5000"
    for step in range(2, 5):
        clock.advance(0.025)
        bar.update(step, {"loss": 0.5})
    clock.advance(0.1)
    bar.update(5, {"loss": 0.5})
    assert screen(out.getvalue())[1].rstrip() == (" 5/10 ━━━━━━━━━━────────── ETA 0s 44ms/step"
                                                  " - loss: 0.5000")


def test_terminal_redraws_are_rate_limited():
    clock, out = FakeClock(), FakeTTY()
    bar = Progbar(1000, 1, stream=out, clock=clock)  # interval 0.1 s
    for step in range(1, 1001):
        clock.advance(0.05 / 1000)
        bar.update(step, {"loss": 0.5})
    assert 1 <= len(draws(out)) <= 2
    bar.update(1000, {"loss": 0.5}, final=True)
    assert len(draws(out)) <= 3 and out.getvalue().endswith("\n")
    assert out.getvalue().count("\n") == 1

    clock, out = FakeClock(), FakeTTY()
    bar = Progbar(1000, 1, stream=out, clock=clock)
    for step in range(1, 1001):  # 1 s of updates: about one draw per 0.1 s
        clock.advance(0.001)
        bar.update(step, {})
    assert 9 <= len(draws(out)) <= 11


def test_terminal_line_is_cut_to_the_terminal_width_while_running(monkeypatch):
    monkeypatch.setattr(progress, "_terminal_columns", lambda stream: 40)
    clock, out = FakeClock(), FakeTTY()
    bar = Progbar(5, 1, stream=out, clock=clock)
    logs = {"loss": 0.5, "accuracy": 0.25, "another": 1.0}
    for step in range(1, 6):
        clock.advance(1.0)
        bar.update(step, logs)
    assert all(len(w) <= 40 for w in draws(out))  # "\r" + 39 columns: never wraps
    bar.update(5, logs, final=True)
    assert screen(out.getvalue())[0][0].endswith("another: 1.0000")  # the final line is whole


def test_close_ends_an_interrupted_line_once():
    clock, out = FakeClock(), FakeTTY()
    with Progbar(10, 1, stream=out, clock=clock) as bar:
        bar.update(1, {"loss": 0.5})
    assert out.getvalue().endswith("loss: 0.5000\n")
    bar.close()
    bar.update(2, {"loss": 0.5})
    assert out.getvalue().count("\n") == 1
    finished = FakeTTY()
    with Progbar(1, 1, stream=finished, clock=clock) as bar:
        bar.update(1, {}, final=True)
    assert finished.getvalue().count("\n") == 1  # close() after the final draw adds nothing


def test_ascii_bar_on_a_stream_that_cannot_encode_box_drawing():
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    bar = Progbar(4, 1, stream=out, clock=FakeClock())
    bar.update(2, {"loss": 0.5}, final=True)
    assert raw.getvalue().decode("ascii") == "2/4 ==========.......... 0s 0s/step - loss: 0.5000\n"


# --------------------------------------------------------- log files, verbose 2/0
def test_verbose_1_on_a_non_tty_writes_only_the_final_line():
    clock, out = FakeClock(), FakeFile()
    bar = Progbar(200, 1, stream=out, clock=clock)
    assert bar.mode == "final"
    for step in range(1, 201):
        clock.advance(0.5)
        bar.update(step, {"loss": 0.5})
    assert out.getvalue() == ""
    bar.update(200, {"loss": 0.5, "val_loss": 0.4}, final=True)
    assert out.getvalue() == ("200/200 ━━━━━━━━━━━━━━━━━━━━ 100s 500ms/step - loss: 0.5000 - "
                              "val_loss: 0.4000\n")


def test_verbose_2_prints_one_line_with_steps_time_and_logs():
    for stream in (FakeTTY(), FakeFile()):
        clock = FakeClock()
        bar = Progbar(50, 2, stream=stream, clock=clock)
        for step in range(1, 51):
            clock.advance(0.025)
            bar.update(step, {"loss": 0.5})
        assert stream.getvalue() == ""
        bar.update(50, {"loss": 0.6931, "accuracy": 0.5, "val_loss": 2.0406e-4}, final=True)
        bar.epoch_line({"loss": 0.6931})  # fit's call: the line is already out
        assert stream.getvalue() == ("50/50 - 1s - 25ms/step - loss: 0.6931 - accuracy: 0.5000"
                                     " - val_loss: 2.0406e-04\n")
    out = FakeFile()  # epoch_line alone finishes the bar too
    Progbar(3, 2, stream=out, clock=FakeClock()).epoch_line({"loss": 1.0})
    assert out.getvalue() == "3/3 - 0s - 0s/step - loss: 1.0000\n"


def test_verbose_0_writes_nothing(capsys):
    for stream in (FakeTTY(), None):
        bar = Progbar(5, 0, stream=stream, clock=FakeClock())
        for step in range(1, 6):
            bar.update(step, {"loss": 0.5})
        bar.update(5, {"loss": 0.5}, final=True)
        bar.epoch_line({"loss": 0.5})
        bar.close()
        if stream is not None:
            assert stream.writes == []
    print_epoch_header(0, 3, 0)
    assert capsys.readouterr().out == ""


def test_epoch_header():
    out = io.StringIO()
    print_epoch_header(2, 10, 1, stream=out)
    print_epoch_header(0, 1, 1, stream=out)  # a single epoch has no header (Keras)
    print_epoch_header(1, 10, 2, stream=out)
    assert out.getvalue() == "Epoch 3/10\nEpoch 2/10\n"


def test_bad_progbar_arguments():
    with pytest.raises(ValueError, match="verbose"):
        Progbar(3, "auto")
    with pytest.raises(ValueError, match="width"):
        Progbar(3, 1, width=0)


# ---------------------------------------------------------------------- Jupyter
class FakeHandle:
    def __init__(self, log, obj):
        self.log = log
        self.log.append(("display", obj))

    def update(self, obj):
        self.log.append(("update", obj))


def _fake_ipython(monkeypatch, shell_class_name="ZMQInteractiveShell"):
    """Installs a fake IPython whose shell class is named `shell_class_name`; returns the log
    of display calls."""
    log = []
    shell_class = type(shell_class_name, (), {})
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell_class()
    display_module = types.ModuleType("IPython.display")

    def display(obj, display_id=None):
        assert display_id is True
        return FakeHandle(log, obj)

    display_module.display = display
    ipython.display = display_module
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    return log


def test_auto_is_1_in_a_jupyter_kernel_only(monkeypatch):
    monkeypatch.setattr(sys, "stdout", FakeFile())  # a kernel's stdout is not a TTY
    _fake_ipython(monkeypatch)
    assert resolve_verbose("auto") == 1
    _fake_ipython(monkeypatch, "TerminalInteractiveShell")
    assert resolve_verbose("auto") == 2
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: None  # IPython imported, but no shell runs
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    assert resolve_verbose("auto") == 2


def test_a_subclass_of_the_kernel_shell_counts_as_jupyter(monkeypatch):
    log = _fake_ipython(monkeypatch)
    base = type(sys.modules["IPython"].get_ipython())
    colab_shell = type("Shell", (base,), {})
    sys.modules["IPython"].get_ipython = lambda: colab_shell()
    assert Progbar(3, 1, clock=FakeClock()).mode == "jupyter"
    assert log == []


def test_jupyter_uses_one_display_updated_in_place(monkeypatch, capsys):
    log = _fake_ipython(monkeypatch)
    clock = FakeClock()
    bar = Progbar(1000, 1, clock=clock)
    assert bar.mode == "jupyter"
    for step in range(1, 1001):
        clock.advance(0.001)  # 1 s in all: about ten redraws
        bar.update(step, {"loss": 0.5})
    clock.advance(0.3)
    bar.update(1000, {"loss": 0.5, "val_loss": 0.25, "val_accuracy": 0.75}, final=True)
    bar.epoch_line({"loss": 0.5})
    kinds = [kind for kind, _ in log]
    assert kinds[0] == "display" and kinds.count("display") == 1
    assert 8 <= kinds.count("update") <= 12
    final = log[-1][1]
    assert repr(final) == ("1000/1000 ━━━━━━━━━━━━━━━━━━━━ 1s 1ms/step - loss: 0.5000 - "
                           "val_loss: 0.2500 - val_accuracy: 0.7500")
    html = final._repr_html_()
    assert html.startswith("<pre") and "val_accuracy: 0.7500" in html
    assert "ETA" in repr(log[1][1])
    assert capsys.readouterr().out == ""  # no text per batch (nor at the end)


def test_jupyter_final_only_displays_once_and_explicit_stream_stays_text(monkeypatch, capsys):
    log = _fake_ipython(monkeypatch)
    bar = Progbar(1, 1, clock=FakeClock())
    bar.update(1, {"loss": 1.0}, final=True)
    assert [kind for kind, _ in log] == ["display"]
    out = FakeFile()
    bar = Progbar(2, 1, stream=out, clock=FakeClock())  # a stream given: text, not display
    bar.update(1, {})
    bar.update(2, {}, final=True)
    assert len(log) == 1 and out.getvalue().startswith("2/2 ")
    html = progress._BarView("1/2", "━", "─", "loss: <b>").__repr__()
    assert html == "1/2 ━─ loss: <b>"
    assert "loss: &lt;b&gt;" in progress._BarView("1/2", "━", "─", "loss: <b>")._repr_html_()
    assert capsys.readouterr().out == ""


_REAL_IPYTHON = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.displaypub import CapturingDisplayPublisher

class ZMQInteractiveShell(InteractiveShell):
    pass

shell = ZMQInteractiveShell.instance()
shell.display_pub = CapturingDisplayPublisher()
from seqattn.progress import Progbar, resolve_verbose
t = [0.0]
def clock():
    return t[0]
bar = Progbar(20, resolve_verbose("auto"), clock=clock)
for step in range(1, 21):
    t[0] += 0.05
    bar.update(step, {"loss": 0.5})
bar.update(20, {"loss": 0.5, "val_loss": 0.25}, final=True)
outs = [{"id": o["transient"]["display_id"], "update": o["update"],
         "plain": o["data"]["text/plain"], "html": o["data"].get("text/html", "")}
        for o in shell.display_pub.outputs]
print(json.dumps({"mode": bar.mode, "outs": outs}))
"""


def test_real_ipython_display_machinery(tmp_path):
    pytest.importorskip("IPython")
    env = dict(os.environ, IPYTHONDIR=str(tmp_path))  # the shell's history database goes there
    result = subprocess.run([sys.executable, "-c", _REAL_IPYTHON], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    outs = report["outs"]
    assert report["mode"] == "jupyter"
    assert [o["update"] for o in outs] == [False] + [True] * (len(outs) - 1)
    assert 8 <= len(outs) <= 12 and len({o["id"] for o in outs}) == 1
    assert outs[-1]["plain"].startswith("20/20 ━━━━━━━━━━━━━━━━━━━━ 1s")
    assert outs[-1]["plain"].endswith("val_loss: 0.2500") and "<pre" in outs[-1]["html"]


# ------------------------------------------------------------------ end to end
def _tiny_model():
    seqattn.utils.set_random_seed(0)
    model = seqattn.Sequential([
        seqattn.Input(shape=(6,), dtype="int32"),
        layers.Embedding(12, 4),
        layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, (64, 6)).astype(np.int32)
    y = (x[:, 0] > 6).astype(np.float32)
    return model, x, y


@pytest.fixture
def fake_time(monkeypatch):
    """Every clock read is 0.05 s after the previous one."""
    clock = FakeClock()

    def perf_counter():
        clock.advance(0.05)
        return clock.t

    monkeypatch.setattr(progress, "time", types.SimpleNamespace(perf_counter=perf_counter))
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    return clock


def test_fit_verbose_2_prints_one_line_per_epoch(capsys, fake_time):
    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=8, epochs=3, verbose=2, validation_data=(x[:16], y[:16]))
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("Epoch")] == \
        ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    steps = [line for line in lines if not line.startswith("Epoch")]
    assert len(lines) == 6 and len(steps) == 3
    for line in steps:
        assert line.startswith("8/8 - ") and "ms/step - loss: " in line
        assert "accuracy: " in line and "val_loss: " in line and "val_accuracy: " in line


def test_fit_verbose_1_redraws_in_place_on_a_terminal(monkeypatch, fake_time):
    out = FakeTTY()
    monkeypatch.setattr(sys, "stdout", out)
    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=4, epochs=3, verbose=1, validation_data=(x[:16], y[:16]))
    text = out.getvalue()
    monkeypatch.undo()
    assert text.count("\r") > 3 * 2  # several redraws per epoch...
    assert text.count("\n") == 3 * 2  # ...but only the header and the final bar end a line
    done, current = screen(text)
    assert current == "" and done[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    for line in done[1::2]:
        assert line.startswith("16/16 ━━━━━━━━━━━━━━━━━━━━ ") and "ETA" not in line
        assert "val_loss: " in line and "val_accuracy: " in line


def test_fit_verbose_1_in_a_log_writes_one_line_per_epoch(capsys, fake_time):
    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=4, epochs=2, verbose=1)
    text = capsys.readouterr().out
    assert "\r" not in text and text.count("\n") == 4
    assert text.splitlines()[1].startswith("16/16 ━━━━━━━━━━━━━━━━━━━━ ")


def test_fit_verbose_0_and_auto(capsys, fake_time):
    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    model.evaluate(x, y, batch_size=8, verbose=0)
    model.predict(x, batch_size=8, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, batch_size=8, epochs=2)  # auto: not a TTY, so one line per epoch
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].startswith("8/8 - ")


def test_evaluate_and_predict_show_progress(monkeypatch, fake_time):
    out = FakeTTY()
    monkeypatch.setattr(sys, "stdout", out)
    model, x, y = _tiny_model()
    model.evaluate(x, y, batch_size=4, verbose=1)
    model.predict(x, batch_size=4, verbose=1)
    text = out.getvalue()
    monkeypatch.undo()
    done, current = screen(text)
    assert current == "" and len(done) == 2 and text.count("\r") > 2
    assert done[0].startswith("16/16 ━━━━━━━━━━━━━━━━━━━━ ") and "accuracy: " in done[0]
    assert done[1].rstrip().endswith("ms/step")  # predict has no logs


def test_fit_in_a_fake_jupyter_kernel_uses_one_display_per_epoch(monkeypatch, capsys,
                                                                 fake_time):
    log = _fake_ipython(monkeypatch)
    model, x, y = _tiny_model()
    model.fit(x, y, batch_size=4, epochs=2, verbose="auto", validation_data=(x[:8], y[:8]))
    assert capsys.readouterr().out == "Epoch 1/2\nEpoch 2/2\n"
    kinds = [kind for kind, _ in log]
    assert kinds.count("display") == 2 and kinds.count("update") >= 2
    assert "val_loss: " in repr(log[-1][1]) and repr(log[-1][1]).startswith("16/16 ")
