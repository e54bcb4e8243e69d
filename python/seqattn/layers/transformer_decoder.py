"""TransformerDecoder: keras-hub's decoder block, a composite of seqattn layers."""

from __future__ import annotations

from .transformer import _TransformerBlock

# keras-hub's mask arguments: here masks flow from the embeddings (mask_zero=True), as in a
# seqattn model everywhere else.
_MASK_ARGUMENTS = ("decoder_padding_mask", "decoder_attention_mask", "encoder_padding_mask",
                   "encoder_attention_mask")
_CACHE_ARGUMENTS = ("self_attention_cache", "self_attention_cache_update_index",
                    "cross_attention_cache", "cross_attention_cache_update_index")


class TransformerDecoder(_TransformerBlock):
    """One Transformer decoder block, as keras-hub's `TransformerDecoder`.

    Called as `decoder(decoder_sequence)` it is a decoder-only block (GPT): causal
    self-attention and a feed-forward network. Called as
    `decoder(decoder_sequence, encoder_sequence)` it adds cross-attention to the encoder's
    output between the two (the original Transformer's decoder). Post-norm
    (normalize_first=False), with x = decoder_sequence (B, T, C) and e = encoder_sequence:

        a = LN1(x + Dropout(MHA(x, x, causal)))
        b = LN2(a + Dropout(MHA(a, e)))                  (cross-attention, when e is given)
        y = LN3(b + Dropout(Dense_C(Dense_I(b, activation))))

    Pre-norm (normalize_first=True) moves each LayerNorm to the start of its branch. Masks:
    the decoder's padding mask (from its embedding, mask_zero=True) masks the self-attention's
    keys and flows to the output; the encoder's padding mask masks the cross-attention's keys.

    Args:
        intermediate_dim, num_heads, dropout, activation, layer_norm_epsilon,
        kernel_initializer, bias_initializer, normalize_first: as `TransformerEncoder`.

    Call arguments:
        decoder_sequence: (B, T, C) float.
        encoder_sequence: (B, S, Ce) float or None; a block is built with or without
            cross-attention by its first call, and later calls must agree (as keras-hub).
        use_causal_mask: each position attends only to itself and earlier ones (default True).

    Output shape: (B, T, C).
    Attention maps: `model.attention_scores(x)` lists this block's as "<name>/self_attention"
    and "<name>/cross_attention", (B, H, T, T) and (B, H, T, S) probabilities;
    `seqattn.generation.cross_attention(model, source, decoder_ids)` gives one example's
    cross-attention (H, T, S).
    Weights (keras-hub order): self-attention (8 arrays, see MultiHeadAttention), its
    LayerNorm gamma, beta; with cross-attention, its 8 arrays and its LayerNorm gamma, beta;
    feed-forward intermediate kernel (C, I), bias (I,), output kernel (I, C), bias (C,),
    feed-forward LayerNorm gamma, beta.
    """

    def _build_sublayers(self, C, cross):
        self._sublayers = {**self._attention(C, "self_attention"),
                           **(self._attention(C, "cross_attention") if cross else {}),
                           **self._feedforward(C)}

    @property
    def _has_cross_attention(self):
        return self._sublayers is not None and "cross_attention" in self._sublayers

    def __call__(self, decoder_sequence, encoder_sequence=None, use_causal_mask=True,
                 training=None, **kwargs):
        for arg in _MASK_ARGUMENTS:
            if kwargs.pop(arg, None) is not None:
                raise ValueError(f"Layer '{self.name}': `{arg}` is not supported; in seqattn the "
                                 "padding masks come with the sequences (an Embedding or "
                                 "TokenAndPositionEmbedding with mask_zero=True) and flow into "
                                 "both attentions.")
        for arg in _CACHE_ARGUMENTS:
            if kwargs.pop(arg, None) is not None:
                raise ValueError(f"Layer '{self.name}': `{arg}` is not supported; generation "
                                 "with a key/value cache is seqattn.generate(model, ...).")
        if kwargs:
            raise TypeError(f"Layer '{self.name}' got unexpected call argument(s): "
                            + ", ".join(sorted(kwargs)))
        if not isinstance(use_causal_mask, bool):
            raise TypeError(f"Layer '{self.name}': `use_causal_mask` must be True or False. "
                            f"Received: use_causal_mask={use_causal_mask!r}")
        if training:
            raise ValueError(f"Layer '{self.name}': model-definition calls run in inference "
                             "mode; `fit` trains. Received: training=True")
        self._check_sequence(decoder_sequence, "decoder_sequence", 0)
        if encoder_sequence is not None:
            self._check_sequence(encoder_sequence, "encoder_sequence", 1)
        C = int(decoder_sequence.shape[-1])
        cross = encoder_sequence is not None
        if self._sublayers is None:
            self._build_sublayers(C, cross)
        elif cross != self._has_cross_attention:
            built = "with" if self._has_cross_attention else "without"
            raise ValueError(f"Layer '{self.name}' was built {built} cross-attention by its "
                             "first call; call it as decoder(decoder_sequence, encoder_sequence) "
                             "every time or as decoder(decoder_sequence) every time.")
        self._check_width(C)
        return self._run(C, lambda: self._call_sublayers(decoder_sequence, encoder_sequence,
                                                         use_causal_mask))

    def _call_sublayers(self, x, e, causal):
        s = self._sublayers
        args, kwargs = (x,) if e is None else (x, e), {"use_causal_mask": causal}
        self_attention = s["self_attention"]
        y = self._residual(x, "self_attention",
                           lambda h: self_attention(h, h, use_causal_mask=causal))
        if e is not None:
            cross_attention = s["cross_attention"]
            y = self._residual(y, "cross_attention", lambda h: cross_attention(h, e))
        y = self._residual(y, "ffn", self._ffn_branch)
        return self._finish(y, args, kwargs)

    def _weight_layers(self):
        s = self._sublayers
        cross = [s["cross_attention"], s["cross_attention_norm"]] if self._has_cross_attention \
            else []
        return [s["self_attention"], s["self_attention_norm"], *cross, s["intermediate"],
                s["output"], s["ffn_norm"]]
