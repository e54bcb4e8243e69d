// Activation layer: y = f(x) for one of the activations in activations.hpp (softmax over the
// last axis). Any shape (B, ..., C); the mask passes through.
#pragma once
#include "activations.hpp"
#include "layer.hpp"

namespace seqattn {

// Named ActivationLayer in C++ (the enum is `Activation`); "Activation" in Python.
class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(const std::string& activation);
  std::string kind() const override { return "Activation"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  std::string activation_name() const { return seqattn::activation_name(activation_); }

 private:
  Activation activation_;
  Tensor dz_;  // (N, C) f'(x)·dy before it is added into dx (activation_backward overwrites)
};

}  // namespace seqattn
