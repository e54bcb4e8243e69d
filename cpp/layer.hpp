// The layer interface every C++ layer implements: forward and backward side by side.
//
// Contract:
//  * forward(in, out, ctx) writes out.y (resized by the layer) and out.mask (cleared when the
//    layer produces no mask). It may cache what backward needs as named members.
//  * backward(in, out, dy, dx, ctx) ACCUMULATES (+=) into dx[i] (already sized like in.x[i] and
//    zeroed by the caller; nullptr when input i needs no gradient, e.g. token ids) and into
//    every Param::grad (zeroed by the caller before the backward pass). Accumulating makes a
//    tensor used twice get the sum of both gradients with no special case.
//  * Shapes were validated at the boundary (Python build + Graph::check_inputs); nothing in
//    forward/backward throws on the hot path.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor.hpp"

namespace seqattn {

struct Context {
  bool training = false;
  std::uint64_t step = 0;  // training-step counter: feeds the dropout random stream
};

struct LayerInputs {
  std::vector<const Tensor*> x;   // one entry per input (MHA: query, value, key)
  std::vector<const Mask*> mask;  // same length as x; nullptr or empty = no mask
  const Mask* mask_of(std::size_t i) const {
    return (i < mask.size() && mask[i] && !mask[i]->empty()) ? mask[i] : nullptr;
  }
};

struct LayerOutput {
  Tensor y;
  Mask mask;
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;
  // Output shape for the given input shapes; throws std::invalid_argument with a message
  // naming the layer when the shapes cannot be used (called once per new shape, not per step).
  virtual Shape output_shape(const std::vector<Shape>& in) const = 0;
  // Value checks on a step's inputs that shapes cannot express (token ids in range); run by
  // the Graph before the step, outside the hot loops. Throws std::invalid_argument.
  virtual void check_values(const LayerInputs& /*in*/) const {}
  virtual void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) = 0;
  virtual void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                        const std::vector<Tensor*>& dx, const Context& ctx) = 0;
  std::vector<Param>& params() { return params_; }

  // Set by the Graph when the loss consumes this layer's pre-activation output directly
  // (softmax + sparse categorical cross-entropy, sigmoid + binary cross-entropy): then dy is
  // the gradient with respect to the pre-activation values and backward skips the activation.
  virtual bool can_fuse_output_activation(const std::string& /*activation*/) const { return false; }
  virtual void set_fused_output_activation(bool /*fused*/) {}
  virtual const Tensor* pre_activation() const { return nullptr; }

  std::string name;
  std::uint64_t seed = 0;  // for layers that draw random numbers (dropout)

 protected:
  std::vector<Param> params_;
};

// For layers that read float features: token ids (int32) reaching one is a wiring mistake
// (ids go through an Embedding first). Called from check_values, outside the hot loops.
inline void require_float_inputs(const Layer& layer, const LayerInputs& in) {
  for (std::size_t i = 0; i < in.x.size(); ++i)
    if (in.x[i] && in.x[i]->dtype != DType::Float32)
      throw std::invalid_argument(
          "Input " + std::to_string(i) + " of layer '" + layer.name + "' (" + layer.kind() +
          ") must hold float32 features; received int32 token ids of shape " +
          shape_str(in.x[i]->shape) + " (token ids go through an Embedding first)");
}

}  // namespace seqattn
