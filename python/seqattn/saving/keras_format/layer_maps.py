"""What a Keras 3 `.keras` file calls each seqattn layer, where Keras keeps its weights in
model.weights.h5, and which Keras config keys seqattn reads or tolerates.

Keras files a layer's variables under layers/<snake_case class name, numbered _1, _2, ... in
`model.layers` order>/vars/<i>, and a sub-layer's under the attribute that holds it
(MultiHeadAttention's query_dense, keras-hub's _self_attention_layer, ...). The paths below are
listed in `layer.get_weights()` order, which is Keras's `layer.weights` order throughout.
"""

from __future__ import annotations

import re

# seqattn class -> (Keras module, Keras registered_name). keras-hub's layers are registered
# as "keras_hub>Name": Keras resolves them only where keras_hub is imported.
_HUB = ("TransformerEncoder", "TransformerDecoder", "TokenAndPositionEmbedding",
        "PositionEmbedding", "SinePositionEncoding")
_KERAS = ("Activation", "Add", "Average", "AveragePooling1D", "Concatenate", "Conv1D", "Dense",
          "Dropout", "Embedding", "Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D",
          "LayerNormalization", "MaxPooling1D", "Maximum", "Minimum", "MultiHeadAttention",
          "Multiply", "Permute", "RepeatVector", "Reshape", "Subtract")
KERAS_NAMES = {**{name: ("keras.layers", None) for name in _KERAS},
               **{name: ("keras_hub.src.layers.modeling."
                         + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(), f"keras_hub>{name}")
                  for name in _HUB}}


def snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case: the h5 group of a layer class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def _own(n):
    return [f"vars/{i}" for i in range(n)]


def _attention(prefix, n):
    """MultiHeadAttention's 8 (or 4, without biases) weights: q, k, v, output EinsumDenses."""
    per = n // 4
    return [f"{prefix}{part}/vars/{i}" for part in ("query_dense", "key_dense", "value_dense",
                                                    "output_dense") for i in range(per)]


def _encoder(n):
    return (_attention("_self_attention_layer/", 8) + _own_of("_self_attention_layer_norm", 2)
            + _own_of("_feedforward_layer_norm", 2)
            + _own_of("_feedforward_intermediate_dense", 2)
            + _own_of("_feedforward_output_dense", 2))


def _decoder(n):
    cross = (_attention("_cross_attention_layer/", 8) + _own_of("_cross_attention_layer_norm", 2)
             if n == 26 else [])
    return (_attention("_self_attention_layer/", 8) + _own_of("_self_attention_layer_norm", 2)
            + cross + _own_of("_feedforward_intermediate_dense", 2)
            + _own_of("_feedforward_output_dense", 2) + _own_of("_feedforward_layer_norm", 2))


def _own_of(sub, n):
    return [f"{sub}/vars/{i}" for i in range(n)]


# class -> function(number of weights) -> h5 paths under layers/<group>/, in weights order
_PATHS = {
    "MultiHeadAttention": lambda n: _attention("", n),
    "TransformerEncoder": _encoder,
    "TransformerDecoder": _decoder,
    "TokenAndPositionEmbedding": lambda n: ["token_embedding/vars/0",
                                            "position_embedding/vars/0"],
}


def weight_paths(class_name: str, count: int) -> list:
    paths = _PATHS.get(class_name, _own)(count)
    if len(paths) != count:  # a layer whose weights this table does not describe
        raise ValueError(f"{class_name} has {count} weights; the Keras file layout of "
                         f"seqattn knows {len(paths)}")
    return paths


# Keras config keys that seqattn's layers do not take, with the values that mean what seqattn
# does anyway (Keras's defaults); any other value is refused naming the key.
_DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                 "registered_name": None}
TOLERATED = {
    "trainable": [True],
    "dtype": ["float32", None, _DTYPE_POLICY],
    "data_format": ["channels_last"],
    "keepdims": [False],
    "groups": [1],
    "use_gate": [False],
    "attention_axes": [None, [1], 1],
    "sliding_window": [None],
    "seed": [None],
    "activity_regularizer": [None],
    "rms_scaling": [False],
    "noise_shape": [None],
    "sparse": [False],
    "lora_rank": [None],
    "lora_alpha": [None],
    "tie_weights": [True, False],  # only keras-hub's reverse (logits) call reads it
    "quantization_config": [None],
    # keras-hub's decoder records the shapes it was built with; the saved call decides them
    "decoder_sequence_shape": lambda v: v is None or isinstance(v, list),
    "encoder_sequence_shape": lambda v: v is None or isinstance(v, list),
}


def tolerated(key, value) -> bool:
    if key not in TOLERATED:
        return False
    if key == "dtype" and isinstance(value, dict):  # shared_object_id varies per save
        value = {k: v for k, v in value.items() if k != "shared_object_id"}
    accepted = TOLERATED[key]
    if callable(accepted):
        return accepted(value)
    return any(value == ok for ok in accepted)


# Keras writes these as 1-element lists; seqattn's 1-D layers take the integer.
ONE_ELEMENT = {"Conv1D": ("kernel_size", "strides", "dilation_rate"),
               "MaxPooling1D": ("pool_size", "strides"),
               "AveragePooling1D": ("pool_size", "strides"),
               "LayerNormalization": ("axis",)}
