// Dense: y = f(x · W + b) on (B, Cin) or (B, T, Cin) inputs (seen as (N, Cin) rows).
#pragma once
#include "activations.hpp"
#include "layer.hpp"
#include "output_fusion.hpp"

namespace seqattn {

class Dense : public Layer, public OutputFusion {
 public:
  Dense(Index input_dim, Index units, const std::string& activation, bool use_bias);
  std::string kind() const override { return "Dense"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  // A loss may read z = x · W + b instead of f(z) (output_fusion.hpp).
  OutputFusion* output_fusion() override { return this; }
  bool has_output_activation(const std::string& activation) const override {
    return activation_name(activation_) == activation;
  }
  const Tensor& logits() const override { return z_; }
  void backward_from_logits(const LayerInputs& in, const Tensor& dz,
                            const std::vector<Tensor*>& dx) override;

  Index Cin, U;
  bool use_bias;

 private:
  Activation activation_;
  Tensor z_;   // (N, U) pre-activation, kept when the activation is neither linear nor ReLU
  Tensor dz_;  // (N, U) gradient of the pre-activation
};

}  // namespace seqattn
