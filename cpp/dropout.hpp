// Dropout (inverted): while training, y = x · keep / (1 - rate) with
//   keep = uniform01(seed, step, flat index) >= rate
// so the decisions depend only on (seed, step, element), never on the thread count.
// Not training (or rate 0): y = x. Any shape; the mask passes through.
#pragma once
#include <cstdint>

#include "layer.hpp"

namespace seqattn {

class Dropout : public Layer {
 public:
  explicit Dropout(float rate);
  std::string kind() const override { return "Dropout"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  float rate;

 private:
  bool dropped_ = false;             // the last forward dropped (training and rate > 0)
  std::vector<std::uint8_t> keep_;   // (size of x) keep decisions, when dropped_
};

}  // namespace seqattn
