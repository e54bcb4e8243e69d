"""seqattn: self-attention sequence models with a C++ core and a Keras-like API.

    import seqattn
    model = seqattn.Sequential([
        seqattn.Input(shape=(32,), dtype="int32"),
        seqattn.layers.TokenAndPositionEmbedding(1000, 32, 32, mask_zero=True),
        seqattn.layers.MultiHeadAttention(num_heads=2, key_dim=16),
        seqattn.layers.GlobalAveragePooling1D(),
        seqattn.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""

from __future__ import annotations

import os

# Idle OpenMP threads sleep instead of spinning. On a busy machine (a notebook next to other
# work, a shared 2-core VM) spinning threads steal the core the main thread needs: the
# built-in-corpus training took 71-133 s with spinning and 5-9 s with PASSIVE under the same
# load, and the same time on an idle machine. Set before the extension (and so libgomp)
# loads; an explicit OMP_WAIT_POLICY from the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from importlib.metadata import PackageNotFoundError, version  # noqa: E402

from . import _core, callbacks, datasets, layers, losses, metrics, ops, optimizers, text, utils
from . import schedules  # noqa: E402
from . import initializers, regularizers  # noqa: E402
from .archive import FileFormatError  # noqa: E402
from .layers import Input  # noqa: E402
from .models import Model, Sequential  # noqa: E402
from . import saving  # noqa: E402
from .saving import load_model  # noqa: E402
from . import export  # noqa: E402  (ONNX export: imports onnx only when called)
from . import generation  # noqa: E402
from .generation import generate  # noqa: E402

try:
    __version__ = version("seqattn")
except PackageNotFoundError:  # running from a source tree
    __version__ = _core.build_info()["version"]


def build_info() -> dict:
    """How the C++ core was built: compiler, flags, SIMD level, OpenMP, Eigen, threads (and
    the OpenMP wait policy in effect)."""
    info = dict(_core.build_info())
    info["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "")
    return info


def set_num_threads(n: int) -> None:
    """Threads used by the C++ core (default: OMP_NUM_THREADS or all cores).

    Results are bit-identical for the same seed and the same thread count.
    """
    from ._validation import positive_int
    _core.set_num_threads(positive_int("n", n))


def get_num_threads() -> int:
    return int(_core.get_num_threads())


__all__ = ["FileFormatError", "Input", "Model", "Sequential", "build_info", "callbacks",
           "datasets", "export", "get_num_threads", "layers", "load_model", "losses", "metrics",
           "ops", "optimizers", "saving", "schedules", "set_num_threads", "text", "utils",
           "__version__", "initializers", "regularizers", "generation", "generate"]
