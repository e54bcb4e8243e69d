"""Loading a keras.io example from examples/keras_io/ twice: as written (seqattn), and with its
imports swapped for Keras's, so a test can run the same code under both."""

import os
import types

import pytest


def load_example(path, name, imports, keras_imports=None):
    """The example as a module; with keras_imports, the same source under Keras 3 (skipped
    when Keras is absent). `imports` must be the example's import lines: only they differ."""
    source = path.read_text()
    assert imports in source  # only the imports differ from keras.io
    if keras_imports is not None:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        pytest.importorskip("keras")
        source = source.replace(imports, keras_imports)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module
