"""MultiHeadAttention with Keras 3 semantics, weights and masks."""

from __future__ import annotations

from .. import _validation as V
from .base import Layer, Node, SymbolicTensor, is_symbolic
from .weight_options import WeightOption


class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention.

    Per head h: Q = query·Wq + bq, K = key·Wk + bk, V = value·Wv + bv,
    A = softmax(Q·Kᵀ / sqrt(key_dim), masked) (B, H, T, S), Z = A·V; the heads are merged by
    the output projection: y = concat_h(Z)·Wo + bo (B, T, Cout).

    Args:
        num_heads: H.
        key_dim: Dk, the size of each query/key head (no divisibility rule, as Keras).
        value_dim: Dv, the size of each value head; defaults to key_dim.
        dropout: dropout rate on the attention probabilities, while training.
        use_bias: biases on the four projections.
        output_shape: Cout, the output feature size; defaults to the query's last axis.
        kernel_initializer, bias_initializer: for all four projections, default
            "glorot_uniform" and "zeros" (Keras).
        kernel_regularizer, bias_regularizer: Keras L1/L2/L1L2 penalties on all four.
        kernel_constraint, bias_constraint: None only (not implemented).

    Call arguments: `query` (B, T, C), `value` (B, S, Cv) (defaults to `query`: in a
    `Sequential` the layer is self-attention), `key` (B, S, Ck) (defaults to `value`),
    `query_mask`/`value_mask`/`key_mask` (eager calls; in a model the padding mask flows from
    the embedding), `attention_mask` (B, T, S) with 1 = may attend, `use_causal_mask`,
    `return_attention_scores` (eager calls: returns `(output, scores)`, the scores (B, H, T, S)
    taken before dropout).

    Masks combine as in Keras: query mask & value mask & key mask & attention_mask & causal.
    A query row with nothing left to attend to gets an all-zero attention row (so its output
    is the output bias) and finite gradients — Keras gives a uniform row there, PyTorch NaN.

    Weights (Keras 3 order): query kernel (C, H, Dk), query bias (H, Dk), key kernel
    (Ck, H, Dk), key bias (H, Dk), value kernel (Cv, H, Dv), value bias (H, Dv), output kernel
    (H, Dv, Cout), output bias (Cout,). Kernels glorot-uniform with Keras's fans, biases zero.
    """

    _float_inputs = True  # ids must go through an Embedding first
    _weight_options = (WeightOption("kernel", "glorot_uniform"), WeightOption("bias", "zeros"))

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_heads = V.positive_int("num_heads", num_heads, owner=self.name)
        self.key_dim = V.positive_int("key_dim", key_dim, owner=self.name)
        self.value_dim = V.optional_positive_int("value_dim", value_dim, owner=self.name)
        self.dropout = V.number("dropout", dropout, low=0.0, high=1.0, high_open=True,
                                owner=self.name)
        self.use_bias = V.boolean("use_bias", use_bias, owner=self.name)
        if isinstance(output_shape, (tuple, list)) and len(output_shape) == 1:
            output_shape = output_shape[0]
        self.output_shape = V.optional_positive_int("output_shape", output_shape, owner=self.name)

    # ------------------------------------------------------------------- build
    def _make_core(self, input_shapes):
        from .. import _core
        from ..utils import draw_seed
        q, v, k = input_shapes[0], input_shapes[1] or input_shapes[0], input_shapes[2]
        for what, s in (("query", q), ("value", v), ("key", k)):
            if s is not None and (len(s) != 3 or s[-1] is None):
                raise ValueError(f"Layer '{self.name}' expected {what} of shape (B, T, C), "
                                 f"received input with shape {s}")
        self._dims = (int(q[-1]), int(v[-1]), int((k or v)[-1]))
        C, Cv, Ck = self._dims
        core = _core.MultiHeadAttention(C, Cv, Ck, self.num_heads, self.key_dim,
                                        self.value_dim or self.key_dim, self.dropout,
                                        self.use_bias, self.output_shape or C)
        core.seed = draw_seed()
        return core

    def _initial_weights(self):
        C, Cv, Ck = self._dims
        H, Dk, Dv = self.num_heads, self.key_dim, self.value_dim or self.key_dim
        Cout = self.output_shape or C
        shapes = [((C, H, Dk), (H, Dk)), ((Ck, H, Dk), (H, Dk)), ((Cv, H, Dv), (H, Dv)),
                  ((H, Dv, Cout), (Cout,))]
        weights = []
        for kernel, bias in shapes:
            weights.append(self._draw("kernel", kernel))
            if self.use_bias:
                weights.append(self._draw("bias", bias))
        return weights

    # -------------------------------------------------------------------- call
    def _input_list(self, query=None, value=None, key=None, query_mask=None, value_mask=None,
                    key_mask=None, attention_mask=None, return_attention_scores=False,
                    training=None, use_causal_mask=False):
        if query is None:
            raise TypeError(f"Layer '{self.name}' needs a `query` input.")
        V.boolean("use_causal_mask", use_causal_mask, owner=self.name)
        V.boolean("return_attention_scores", return_attention_scores, owner=self.name)
        if training not in (None, False):
            raise ValueError(f"Layer '{self.name}': eager and model-definition calls run in "
                             "inference mode; `fit` trains. Received: training=True")
        if is_symbolic(attention_mask) and attention_mask.dtype != "float32":
            raise ValueError(f"Layer '{self.name}': a symbolic `attention_mask` must be a float32 "
                             "input (1 = may attend). Declare it with "
                             "seqattn.Input(shape=(T, S), dtype='float32').")
        if is_symbolic(query) and any(m is not None for m in (query_mask, value_mask, key_mask)):
            raise ValueError(f"Layer '{self.name}': in a model the padding mask comes from the "
                             "embedding (mask_zero=True); query_mask/value_mask/key_mask are for "
                             "eager calls on arrays.")
        args = {"use_causal_mask": bool(use_causal_mask),
                "return_attention_scores": bool(return_attention_scores),
                "masks": (query_mask, value_mask, key_mask)}
        value = query if value is None else value
        return [query, value, key, attention_mask], args

    def _call_symbolic(self, inputs, call_args):
        output = super()._call_symbolic(inputs, call_args)
        if not call_args["return_attention_scores"]:
            return output
        # A second graph value: the (B, H, T, S) probabilities of this call, for a model that
        # outputs them. They carry no gradient, so such an output cannot take a loss.
        scores = _AttentionScores(self)
        q, v = inputs[0], inputs[1]
        node = Node(scores, [output])
        node.output = SymbolicTensor((None, self.num_heads, q.shape[1], v.shape[1]), "float32",
                                     node=node, name=f"{self.name}_scores", has_mask=False)
        scores._nodes.append(node)
        return output, node.output

    def _call_options(self, call_args):
        return {"causal": bool(call_args.get("use_causal_mask", False))}

    def _eager_masks(self, call_args, n):
        # As given: the C++ boundary checks their dtype (bool or 0/1 numbers) and shapes.
        masks = list(call_args["masks"])
        return masks + [None] * (n - len(masks))

    def _eager_result(self, result, call_args):
        if call_args["return_attention_scores"]:
            return result["y"], result["scores"]  # from the same call, under the layer's lock
        return result["y"]

    def compute_output_shape(self, input_shapes):
        q = input_shapes[0]
        return (None,) + tuple(q[1:-1]) + (self.output_shape or q[-1],)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_shape}


class _AttentionScores(Layer):
    """The graph node behind `mha(..., return_attention_scores=True)` in a model: it outputs
    that attention call's probabilities. Hidden from `model.layers`; no weights."""

    hidden = True

    def __init__(self, attention):
        super().__init__(name=f"{attention.name}_scores")
        from .. import _core
        self.attention = attention
        self._core = _core.AttentionScores(attention._core)
        self._core.name = self.name
        self.built = True

