// Dense: y = f(x · W + b) on (B, Cin) or (B, T, Cin) inputs (seen as (N, Cin) rows).
#pragma once
#include "activations.hpp"
#include "layer.hpp"

namespace seqattn {

class Dense : public Layer {
 public:
  Dense(Index input_dim, Index units, const std::string& activation, bool use_bias);
  std::string kind() const override { return "Dense"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  bool can_fuse_output_activation(const std::string& activation) const override {
    return activation_name(activation_) == activation;
  }
  void set_fused_output_activation(bool fused) override { fused_ = fused; }
  const Tensor* pre_activation() const override { return &z_; }

  Index Cin, U;
  bool use_bias;

 private:
  Activation activation_;
  bool fused_ = false;
  Tensor z_;   // (N, U) pre-activation, kept when the activation is not linear
  Tensor dz_;  // (N, U) gradient of the pre-activation
};

}  // namespace seqattn
