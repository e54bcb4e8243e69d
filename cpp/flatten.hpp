// Flatten: (B, d1, d2, ...) -> (B, d1·d2·...), a row-major copy. A padding mask cannot survive
// the merge of the time axis into the features, so the output has none; the Python layer warns
// (as Keras does) when a mask reaches it.
#pragma once
#include "layer.hpp"

namespace seqattn {

class Flatten : public Layer {
 public:
  std::string kind() const override { return "Flatten"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;
};

}  // namespace seqattn
