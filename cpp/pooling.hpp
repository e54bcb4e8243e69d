// Global pooling over time, honouring the padding mask: (B, T, C) -> (B, C).
// An all-masked row pools to 0 (never NaN).
#pragma once
#include "layer.hpp"

namespace seqattn {

// y[b] = Σ_t m[b,t] x[b,t] / Σ_t m[b,t]
class GlobalAveragePooling1D : public Layer {
 public:
  std::string kind() const override { return "GlobalAveragePooling1D"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  std::vector<float> inv_count_;  // (B,) 1 / number of real steps, 0 for an all-masked row
};

// y[b, c] = max over real steps t of x[b, t, c]
class GlobalMaxPooling1D : public Layer {
 public:
  std::string kind() const override { return "GlobalMaxPooling1D"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  std::vector<Index> argmax_;  // (B, C) the step that won, -1 for an all-masked row
};

}  // namespace seqattn
