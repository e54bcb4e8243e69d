"""What a Keras user reaches for that seqattn does not have, and what to write instead.

The seqattn modules' `__getattr__` calls `missing` for a name they lack: the error
(AttributeError, so `hasattr` keeps working) names the nearest seqattn equivalent: from the
table below when there is a designed answer, else the closest spelling among the module's
names.
"""

from __future__ import annotations

import difflib

_ADVICE = {
    "layers": {
        "LSTM": "seqattn builds self-attention models: use MultiHeadAttention or "
                "TransformerEncoder over a TokenAndPositionEmbedding",
        "GRU": "use MultiHeadAttention or TransformerEncoder (seqattn has no recurrent layers)",
        "SimpleRNN": "use MultiHeadAttention or TransformerEncoder (seqattn has no recurrent "
                     "layers)",
        "Bidirectional": "attention already reads both directions: use MultiHeadAttention "
                         "(use_causal_mask=False)",
        "Attention": "use MultiHeadAttention",
        "AdditiveAttention": "use MultiHeadAttention",
        "BatchNormalization": "use LayerNormalization (the normalization of Transformers)",
        "GroupNormalization": "use LayerNormalization",
        "UnitNormalization": "use LayerNormalization",
        "Conv2D": "seqattn works on sequences (B, T, C): use Conv1D or MultiHeadAttention",
        "SpatialDropout1D": "use Dropout",
        "GaussianNoise": "use Dropout",
        "StringLookup": "use TextVectorization (its vocabulary maps tokens to ids)",
        "IntegerLookup": "use TextVectorization or an Embedding over the ids",
        "Hashing": "use TextVectorization",
        "Masking": "use Embedding(mask_zero=True): id 0 is padding and the mask flows on",
        "TimeDistributed": "Dense already applies to the last axis of (B, T, C)",
        "Rescaling": "use seqattn.ops (x * scale + offset) in a custom layer",
    },
    "losses": {
        "KLDivergence": "use CategoricalCrossentropy on probability targets",
        "CosineSimilarity": "seqattn trains classifiers and regressors: use "
                            "MeanSquaredError on normalised outputs",
    },
    "optimizers": {
        "Adadelta": "use RMSprop or Adagrad",
        "Adamax": "use Adam",
        "Nadam": "use Adam",
        "Ftrl": "use Adam or SGD",
        "Lion": "use AdamW",
    },
    "ops": {
        "einsum": "use ops.matmul, layers.Dense or layers.MultiHeadAttention",
        "dot": "use layers.Dense",
    },
    "callbacks": {
        "RemoteMonitor": "use CSVLogger or a LambdaCallback that sends the logs",
    },
    "regularizers": {
        "OrthogonalRegularizer": "use L2 (seqattn computes L1, L2 and L1L2 penalties in C++)",
    },
    "initializers": {
        "STFT": "use a callable initializer(shape, dtype=None) returning the array",
        "STFTInitializer": "use a callable initializer(shape, dtype=None) returning the array",
    },
}


def missing(module: str, name: str, available) -> AttributeError:
    """The error for `seqattn.<module>.<name>` that does not exist."""
    if name.startswith("__"):
        return AttributeError(f"module 'seqattn.{module}' has no attribute {name!r}")
    # the module's own public classes and functions (not its imports of numpy and the like)
    names = sorted(n for n, v in available.items() if not n.startswith("_") and callable(v)
                   and getattr(v, "__module__", "").startswith("seqattn." + module))
    advice = _ADVICE.get(module, {}).get(name)
    if advice is None:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        advice = ("did you mean " + " or ".join(close) + "?") if close else (
            "it has " + ", ".join(names) + ".")
    else:
        advice += "."
    return AttributeError(f"seqattn.{module} has no {name!r}: {advice} (README, 'Coming from "
                          "Keras', lists what differs from Keras.)")
