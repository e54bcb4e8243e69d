// Merge layers. Add: y = x_0 + x_1 + ... + x_{k-1} for k >= 2 inputs of one shape.
// Mask (Keras Merge): the logical AND of the inputs' masks that exist; none -> no mask.
#pragma once
#include "layer.hpp"

namespace seqattn {

class Add : public Layer {
 public:
  std::string kind() const override { return "Add"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;
};

}  // namespace seqattn
