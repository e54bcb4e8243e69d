// Embedding and TokenAndPositionEmbedding: token ids (B, T) int32 -> vectors (B, T, C).
#pragma once
#include "layer.hpp"

namespace seqattn {

// y[b, t] = W[ids[b, t]]; mask = ids != 0 when mask_zero.
class Embedding : public Layer {
 public:
  Embedding(Index input_dim, Index output_dim, bool mask_zero);
  std::string kind() const override { return "Embedding"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  Index id_limit(std::size_t) const override { return V; }
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  Index V, C;
  bool mask_zero;
};

// y[b, t] = W_tok[ids[b, t]] + W_pos[t]; weights [(V, C), (Tmax, C)]; T <= Tmax.
// The mask comes from the token ids only.
class TokenAndPositionEmbedding : public Layer {
 public:
  TokenAndPositionEmbedding(Index vocabulary_size, Index sequence_length, Index embedding_dim,
                            bool mask_zero);
  std::string kind() const override { return "TokenAndPositionEmbedding"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  Index id_limit(std::size_t) const override { return V; }
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  Index V, Tmax, C;
  bool mask_zero;
};

void make_padding_mask(const Tensor& ids, Mask& mask);

}  // namespace seqattn
