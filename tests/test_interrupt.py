"""Ctrl-C during a long fit stops within about a second and leaves the model usable.

The test must not depend on how the suite was launched: a shell starts a background job
(`cmd &`, `nohup cmd &`) with SIGINT ignored, Python then installs no KeyboardInterrupt handler,
and `_thread.interrupt_main()` (like a real Ctrl-C) does nothing. So the test installs Python's
default handler itself for its duration and puts back whatever was there.
"""

import _thread
import signal
import threading
import time

import numpy as np
import pytest

import seqattn
from seqattn import layers


@pytest.fixture
def python_sigint_handler():
    """SIGINT -> KeyboardInterrupt in the main thread, even if the suite runs with it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_keyboard_interrupt_stops_fit_quickly_and_model_stays_usable(python_sigint_handler):
    T = 64
    model = seqattn.Sequential([
        seqattn.Input(shape=(T,), dtype="int32"),
        layers.TokenAndPositionEmbedding(100, T, 16),
        layers.MultiHeadAttention(num_heads=2, key_dim=8),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 100, (4096, T))
    y = np.zeros(4096, np.int32)
    fired = {}

    def interrupt():
        fired["at"] = time.perf_counter()
        _thread.interrupt_main()  # what Ctrl-C does to the main thread

    timer = threading.Timer(0.5, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=100, verbose=0)
    delay = time.perf_counter() - fired["at"]
    timer.join()
    assert delay < 1.0, f"fit took {delay:.2f}s to stop"
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert model.predict(x[:4], verbose=0).shape == (4, 2)
    model.fit(x[:64], y[:64], epochs=1, verbose=0)  # and training can go on
