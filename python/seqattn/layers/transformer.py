"""The keras-hub Transformer blocks: `_TransformerBlock` (what every block shares: arguments,
input checks, residual branches, weights, config) and `TransformerEncoder`; the decoder is in
transformer_decoder.py.

Called on a symbolic (B, T, C) tensor, a block adds its sub-layers' calls to the model graph,
so it runs on the same C++ path as everything else; `model.layers` shows the block as one
layer, and its weights are its sub-layers' weights in keras-hub's order.
"""

from __future__ import annotations

from .. import _validation as V
from .. import initializers
from .attention import MultiHeadAttention
from .base import Layer, is_symbolic
from .composite import set_composite_weights
from .dense import Dense, check_activation
from .dropout import Dropout
from .layer_norm import LayerNormalization
from .merge import Add
from .tracing import claim


class _TransformerBlock(Layer):
    """keras-hub's block arguments and the pieces the encoder and decoder share."""

    def __init__(self, intermediate_dim, num_heads, dropout=0.0, activation="relu",
                 layer_norm_epsilon=1e-5, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", normalize_first=False, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.intermediate_dim = V.positive_int("intermediate_dim", intermediate_dim,
                                               owner=self.name)
        self.num_heads = V.positive_int("num_heads", num_heads, owner=self.name)
        self.dropout = V.number("dropout", dropout, low=0.0, high=1.0, high_open=True,
                                owner=self.name)
        self.activation = check_activation(activation, self.name)
        self.layer_norm_epsilon = V.number("layer_norm_epsilon", layer_norm_epsilon, low=0.0,
                                           low_open=True, owner=self.name)
        self.normalize_first = V.boolean("normalize_first", normalize_first, owner=self.name)
        for arg, value in (("kernel_initializer", kernel_initializer),
                           ("bias_initializer", bias_initializer)):
            try:
                init = initializers.get(value)
            except (TypeError, ValueError) as e:
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): invalid "
                                 f"`{arg}`: {e}") from None
            if init is None:
                raise ValueError(f"Layer '{self.name}' ({type(self).__name__}): `{arg}` cannot "
                                 "be None; pass an initializer name, object or callable.")
            setattr(self, arg, init)
        self._sublayers = None

    # ------------------------------------------------------------------ pieces
    def _inits(self):
        return {"kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer}

    def _head_dim(self, C):
        if C % self.num_heads:
            raise ValueError(f"Layer '{self.name}': the model width {C} must be divisible by "
                             f"num_heads={self.num_heads} (key_dim = C // num_heads).")
        return C // self.num_heads

    def _attention(self, C, part):
        """An attention sub-layer, its LayerNorm, Dropout and residual Add (keras-hub names)."""
        n = self.name
        return {part: MultiHeadAttention(self.num_heads, self._head_dim(C), dropout=self.dropout,
                                         name=f"{n}/{part}", **self._inits()),
                f"{part}_norm": LayerNormalization(epsilon=self.layer_norm_epsilon,
                                                   name=f"{n}/{part}_norm"),
                f"{part}_dropout": Dropout(self.dropout, name=f"{n}/{part}_dropout"),
                f"{part}_add": Add(name=f"{n}/{part}_add")}

    def _feedforward(self, C):
        n = self.name
        return {"ffn_norm": LayerNormalization(epsilon=self.layer_norm_epsilon,
                                               name=f"{n}/feedforward_norm"),
                "intermediate": Dense(self.intermediate_dim, activation=self.activation,
                                      name=f"{n}/feedforward_intermediate", **self._inits()),
                "output": Dense(C, name=f"{n}/feedforward_output", **self._inits()),
                "ffn_dropout": Dropout(self.dropout, name=f"{n}/feedforward_dropout"),
                "ffn_add": Add(name=f"{n}/feedforward_add")}

    def _residual(self, x, part, branch):
        """x + Dropout(branch(x)), with the part's LayerNorm before the branch (pre-norm) or
        after the sum (post-norm)."""
        s = self._sublayers
        h = s[f"{part}_norm"](x) if self.normalize_first else x
        x = s[f"{part}_add"]([x, s[f"{part}_dropout"](branch(h))])
        return x if self.normalize_first else s[f"{part}_norm"](x)

    def _ffn_branch(self, h):
        s = self._sublayers
        return s["output"](s["intermediate"](h))

    def _check_sequence(self, x, arg, i):
        if not is_symbolic(x):
            raise TypeError(f"Layer '{self.name}' is a composite block: call it on symbolic "
                            "tensors while defining a model (x = seqattn.Input(...)), then use "
                            f"model.predict for arrays. Received `{arg}` of type "
                            f"{type(x).__name__}.")
        if len(x.shape) != 3 or x.dtype != "float32":
            raise ValueError(f"Input {i} (`{arg}`) of layer '{self.name}' must be float32 of "
                             f"shape (B, T, C); received {x.dtype} of shape {x.shape}")

    def _check_width(self, C):
        built = self._sublayers["output"].units
        if C != built:
            raise ValueError(f"Layer '{self.name}' was built for width {built}; a later call "
                             f"(layer sharing) received width {C}")

    def _run(self, C, thunk):
        try:
            return thunk()
        except ValueError as e:
            if "more than this machine's memory" not in str(e):
                raise
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) cannot be built "
                             f"with intermediate_dim={self.intermediate_dim} on width {C}: "
                             f"{e}") from None

    def _finish(self, x, args, kwargs):
        """The block owns the nodes its sub-layers just made (one summary row, one call)."""
        claim([layer._nodes[-1] for layer in self._sublayers.values() if layer._nodes],
              self, args, kwargs, x.node)
        self.built = True
        return x

    # ------------------------------------------------------------------ weights and config
    def get_weights(self):
        return [w for layer in self._weight_layers() for w in layer.get_weights()] if self.built \
            else []

    def set_weights(self, weights):
        set_composite_weights(self, weights)

    def get_config(self):
        return {**super().get_config(), "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads, "dropout": self.dropout,
                "activation": self.activation, "layer_norm_epsilon": self.layer_norm_epsilon,
                **{arg: initializers.serialize(init)
                   if isinstance(init, initializers.Initializer) else init
                   for arg, init in self._inits().items()},
                "normalize_first": self.normalize_first}


class TransformerEncoder(_TransformerBlock):
    """One Transformer encoder block, as keras-hub's `TransformerEncoder`.

    Post-norm (normalize_first=False):
        a = LN1(x + Dropout(MHA(x, x)));  y = LN2(a + Dropout(Dense_C(Dense_I(a, activation))))
    Pre-norm (normalize_first=True):
        a = x + Dropout(MHA(LN1(x)));      y = a + Dropout(Dense_C(Dense_I(LN2(a), activation)))

    The attention has `num_heads` heads of key_dim = C // num_heads and attention dropout
    `dropout`; the padding mask from the embedding flows through both residual branches, so
    it survives any number of stacked blocks into the pooling layer.

    Args:
        intermediate_dim: I, the width of the feed-forward layer.
        num_heads: H (C must be divisible by it).
        dropout: dropout rate after the attention and after the feed-forward network, and on
            the attention probabilities.
        activation: the feed-forward activation ("relu", "gelu", ...).
        layer_norm_epsilon: epsilon of both LayerNormalizations (keras-hub default 1e-5).
        kernel_initializer, bias_initializer: of the attention's and the feed-forward
            layers' kernels and biases (keras-hub), default "glorot_uniform" and "zeros".
        normalize_first: pre-norm instead of post-norm.

    Input shape: (B, T, C) float. Output shape: (B, T, C).
    Weights (keras-hub order): attention (8 arrays, see MultiHeadAttention), attention
    LayerNorm gamma, beta, feed-forward LayerNorm gamma, beta, intermediate kernel (C, I),
    bias (I,), output kernel (I, C), bias (C,).
    """

    def _build_sublayers(self, C):
        self._sublayers = {**self._attention(C, "self_attention"), **self._feedforward(C)}

    def __call__(self, inputs, **kwargs):
        if kwargs:
            raise TypeError(f"Layer '{self.name}' got unexpected call argument(s): "
                            + ", ".join(sorted(kwargs)))
        self._check_sequence(inputs, "inputs", 0)
        C = int(inputs.shape[-1])
        if self._sublayers is None:
            self._build_sublayers(C)
        self._check_width(C)
        return self._run(C, lambda: self._call_sublayers(inputs))

    def _call_sublayers(self, inputs):
        attention = self._sublayers["self_attention"]
        x = self._residual(inputs, "self_attention", lambda h: attention(h, h))
        x = self._residual(x, "ffn", self._ffn_branch)
        return self._finish(x, (inputs,), {})

    def _weight_layers(self):
        s = self._sublayers
        return [s["self_attention"], s["self_attention_norm"], s["ffn_norm"], s["intermediate"],
                s["output"]]
