"""TransformerEncoder: a composite block (keras-hub semantics) made of seqattn layers.

Called on a symbolic (B, T, C) tensor, the block adds its sub-layers' calls to the model
graph, so it runs on the same C++ path as everything else; `model.layers` shows the block as
one layer, and its weights are its sub-layers' weights in keras-hub's order.
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


class TransformerEncoder(Layer):
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
                raise ValueError(f"Layer '{self.name}' (TransformerEncoder): invalid `{arg}`: "
                                 f"{e}") from None
            if init is None:
                raise ValueError(f"Layer '{self.name}' (TransformerEncoder): `{arg}` cannot be "
                                 "None; pass an initializer name, object or callable.")
            setattr(self, arg, init)
        self._sublayers = None

    def _build_sublayers(self, C):
        if C % self.num_heads:
            raise ValueError(f"Layer '{self.name}': the model width {C} must be divisible by "
                             f"num_heads={self.num_heads} (key_dim = C // num_heads).")
        n, eps = self.name, self.layer_norm_epsilon
        inits = {"kernel_initializer": self.kernel_initializer,
                 "bias_initializer": self.bias_initializer}
        self._sublayers = {
            "attention": MultiHeadAttention(self.num_heads, C // self.num_heads,
                                            dropout=self.dropout, name=f"{n}/self_attention",
                                            **inits),
            "attention_norm": LayerNormalization(epsilon=eps, name=f"{n}/self_attention_norm"),
            "ffn_norm": LayerNormalization(epsilon=eps, name=f"{n}/feedforward_norm"),
            "intermediate": Dense(self.intermediate_dim, activation=self.activation,
                                  name=f"{n}/feedforward_intermediate", **inits),
            "output": Dense(C, name=f"{n}/feedforward_output", **inits),
            "attention_dropout": Dropout(self.dropout, name=f"{n}/self_attention_dropout"),
            "ffn_dropout": Dropout(self.dropout, name=f"{n}/feedforward_dropout"),
            "attention_add": Add(name=f"{n}/self_attention_add"),
            "ffn_add": Add(name=f"{n}/feedforward_add"),
        }

    def __call__(self, inputs, **kwargs):
        if kwargs:
            raise TypeError(f"Layer '{self.name}' got unexpected call argument(s): "
                            + ", ".join(sorted(kwargs)))
        if not is_symbolic(inputs):
            raise TypeError(f"Layer '{self.name}' is a composite block: call it on a symbolic "
                            "tensor while defining a model (x = seqattn.Input(...)), then use "
                            "model.predict for arrays.")
        if len(inputs.shape) != 3 or inputs.dtype != "float32":
            raise ValueError(f"Input 0 of layer '{self.name}' must be float32 of shape "
                             f"(B, T, C); received {inputs.dtype} of shape {inputs.shape}")
        if self._sublayers is None:
            self._build_sublayers(int(inputs.shape[-1]))
        elif int(inputs.shape[-1]) != self._sublayers["output"].units:
            raise ValueError(f"Layer '{self.name}' was built for width "
                             f"{self._sublayers['output'].units}; a later call (layer sharing) "
                             f"received width {inputs.shape[-1]}")
        try:
            return self._call_sublayers(inputs)
        except ValueError as e:
            if "more than this machine's memory" not in str(e):
                raise
            raise ValueError(f"Layer '{self.name}' (TransformerEncoder) cannot be built with "
                             f"intermediate_dim={self.intermediate_dim} on width "
                             f"{inputs.shape[-1]}: {e}") from None

    def _call_sublayers(self, inputs):
        s = self._sublayers
        x = inputs
        # Attention branch.
        h = s["attention_norm"](x) if self.normalize_first else x
        h = s["attention_dropout"](s["attention"](h, h))
        x = s["attention_add"]([x, h])
        if not self.normalize_first:
            x = s["attention_norm"](x)
        # Feed-forward branch.
        h = s["ffn_norm"](x) if self.normalize_first else x
        h = s["ffn_dropout"](s["output"](s["intermediate"](h)))
        x = s["ffn_add"]([x, h])
        if not self.normalize_first:
            x = s["ffn_norm"](x)
        claim([layer._nodes[-1] for layer in s.values()], self, (inputs,), {}, x.node)
        self.built = True
        return x

    def _weight_layers(self):
        s = self._sublayers
        return [s["attention"], s["attention_norm"], s["ffn_norm"], s["intermediate"],
                s["output"]]

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
                   for arg, init in (("kernel_initializer", self.kernel_initializer),
                                     ("bias_initializer", self.bias_initializer))},
                "normalize_first": self.normalize_first}

