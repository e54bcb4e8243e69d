"""Token embeddings: ids (B, T) -> vectors (B, T, C)."""

from __future__ import annotations

from .. import _validation as V
from .base import Layer
from .weight_options import WeightOption


def _check_ids_input(layer, input_shapes):
    shape = input_shapes[0]
    if shape is None or len(shape) != 2:
        raise ValueError(f"Input 0 of layer '{layer.name}' is incompatible with the layer: "
                         f"expected token ids of shape (B, T), received input with shape {shape}")


class Embedding(Layer):
    """Turns token ids into dense vectors: y[b, t] = W[ids[b, t]].

    Args:
        input_dim: vocabulary size V (ids must lie in [0, V)).
        output_dim: embedding size C.
        mask_zero: when True, id 0 is padding: the layer emits the mask `ids != 0`, which
            attention and pooling layers downstream honour.
        embeddings_initializer: default "uniform" (RandomUniform(-0.05, 0.05)), as Keras.
        embeddings_regularizer: a Keras L1/L2/L1L2 penalty on the table.
        embeddings_constraint: None only (not implemented).

    Input shape: (B, T) integer ids (any rank, as in Keras: (T,) positions give (T, C)).
    Output shape: (B, T, C), the input shape plus C.
    Weights: `embeddings` (V, C), initialised uniform(-0.05, 0.05) as in Keras.
    """

    _weight_options = (WeightOption("embeddings", "uniform"),)

    def __init__(self, input_dim, output_dim, mask_zero=False, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.input_dim = V.positive_int("input_dim", input_dim, owner=self.name)
        self.output_dim = V.positive_int("output_dim", output_dim, owner=self.name)
        self.mask_zero = V.boolean("mask_zero", mask_zero, owner=self.name)

    @property
    def token_limit(self) -> int:
        """Ids must lie in [0, token_limit)."""
        return self.input_dim

    def _make_core(self, input_shapes):
        from .. import _core
        shape = input_shapes[0]
        if shape is None or len(shape) < 1:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected token ids of shape (B, T) (or any rank >= 1), received "
                             f"input with shape {shape}")
        if self.mask_zero and len(shape) != 2:
            raise ValueError(f"Layer '{self.name}': mask_zero=True needs token ids of shape "
                             f"(B, T) (the padding mask is per time step); received input with "
                             f"shape {tuple(shape)}")
        return _core.Embedding(self.input_dim, self.output_dim, self.mask_zero)

    def _initial_weights(self):
        return [self._draw("embeddings", (self.input_dim, self.output_dim))]

    def _output_has_mask(self, input_has_mask):
        return self.mask_zero

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim, "mask_zero": self.mask_zero}


class TokenAndPositionEmbedding(Layer):
    """Token embedding plus a learned position embedding (keras-hub semantics).

    y[b, t] = W_tok[ids[b, t]] + W_pos[t]

    Args:
        vocabulary_size: V.
        sequence_length: the longest T the position table covers (Tmax).
        embedding_dim: C.
        mask_zero: id 0 is padding; the mask comes from the token ids only.
        embeddings_initializer: both tables' initializer (keras-hub's argument), default
            "uniform" (RandomUniform(-0.05, 0.05)).

    Input shape: (B, T) ids with T <= sequence_length. Output shape: (B, T, C).
    Weights: `[(V, C), (Tmax, C)]` (token, then position), both uniform(-0.05, 0.05).
    """

    # keras-hub's layer takes only the initializer (no regularizer or constraint arguments).
    _weight_options = (WeightOption("embeddings", "uniform", regularizer=None,
                                    constraint=None),)

    def __init__(self, vocabulary_size, sequence_length, embedding_dim, mask_zero=False,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.vocabulary_size = V.positive_int("vocabulary_size", vocabulary_size, owner=self.name)
        self.sequence_length = V.positive_int("sequence_length", sequence_length, owner=self.name)
        self.embedding_dim = V.positive_int("embedding_dim", embedding_dim, owner=self.name)
        self.mask_zero = V.boolean("mask_zero", mask_zero, owner=self.name)

    @property
    def token_limit(self) -> int:
        """Ids must lie in [0, token_limit)."""
        return self.vocabulary_size

    def _output_has_mask(self, input_has_mask):
        return self.mask_zero

    def _make_core(self, input_shapes):
        from .. import _core
        _check_ids_input(self, input_shapes)
        T = input_shapes[0][1]
        if T is not None and T >= 16 and self.vocabulary_size == T < self.sequence_length:
            # keras.io's own TokenAndPositionEmbedding takes (maxlen, vocab_size, embed_dim):
            # a vocabulary exactly as long as real texts, with a longer position table, is
            # that order (tiny test models with T < 16 are left alone)
            raise ValueError(
                f"Layer '{self.name}': vocabulary_size={self.vocabulary_size} equals the input "
                f"length T={T}, and sequence_length={self.sequence_length}: the arguments look "
                "like keras.io's order (maxlen, vocab_size, embed_dim). seqattn's "
                "TokenAndPositionEmbedding follows keras-hub: TokenAndPositionEmbedding("
                f"vocabulary_size={self.sequence_length}, sequence_length={T}, "
                f"embedding_dim={self.embedding_dim}).")
        return _core.TokenAndPositionEmbedding(self.vocabulary_size, self.sequence_length,
                                               self.embedding_dim, self.mask_zero)

    def _initial_weights(self):
        return [self._draw("embeddings", (self.vocabulary_size, self.embedding_dim)),
                self._draw("embeddings", (self.sequence_length, self.embedding_dim))]

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "embedding_dim": self.embedding_dim,
                "mask_zero": self.mask_zero}
