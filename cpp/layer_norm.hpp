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
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  // Residual + LayerNorm fused (AddLayerNorm runs these when an Add of two unmasked inputs
  // feeds only this layer): x = a + b is written to `sum` (backward reads it) and normalised in the
  // same pass over each row; backward adds dx into da and db directly (either may be null),
  // skipping the Add's gradient buffer. Bit-identical to Add then LayerNormalization.
  void forward_add(const Tensor& a, const Tensor& b, Tensor& sum, LayerOutput& out);
  void backward_add(const Tensor& sum, const Tensor& dy, float* da, float* db);

  Index C;
  float epsilon;
  bool center, scale;

 private:
  // Forward over rows of x (a + b when b is not null, stored to x_out); backward adding dx
  // into d0 and d1 (either may be null).
  void forward_rows(const float* a, const float* b, float* x_out, float* y, Index N);
  void backward_rows(const float* x, const float* dy, float* d0, float* d1, Index N);

  int gamma_ = -1, beta_ = -1;  // indices into params_, -1 when absent
  // The cache is the minimum (llm.c): backward recomputes norm = (x - mean) · rstd.
  std::vector<float> mean_;     // (N) per-row mean
  std::vector<float> rstd_;     // (N) per-row 1 / sqrt(var + epsilon)
  std::vector<float> partial_;  // (row blocks, 2C) per-block sums for dgamma, dbeta
};

}  // namespace seqattn
