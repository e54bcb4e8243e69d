// LayerNormalization over the last axis of (B, C) or (B, T, C) inputs (seen as (N, C) rows):
//   y = (x - mean) · rstd · gamma + beta,   rstd = 1 / sqrt(var + epsilon)
// with the biased variance over the C channels of a row (Keras).
#pragma once
#include "layer.hpp"

namespace seqattn {

class LayerNormalization : public Layer {
 public:
  LayerNormalization(Index channels, float epsilon, bool center, bool scale);
  std::string kind() const override { return "LayerNormalization"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void check_values(const LayerInputs& in) const override { require_float_inputs(*this, in); }
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  Index C;
  float epsilon;
  bool center, scale;

 private:
  int gamma_ = -1, beta_ = -1;  // indices into params_, -1 when absent
  // The cache is the minimum (llm.c): backward recomputes norm = (x - mean) · rstd.
  std::vector<float> mean_;     // (N) per-row mean
  std::vector<float> rstd_;     // (N) per-row 1 / sqrt(var + epsilon)
  std::vector<float> partial_;  // (row blocks, 2C) per-block sums for dgamma, dbeta
};

}  // namespace seqattn
