// The layer interface every C++ layer implements: forward and backward side by side.
//
// Contract:
//  * forward(in, out, ctx) writes out.y (resized by the layer) and out.mask (cleared when the
//    layer produces no mask). It may cache what backward needs as named members.
//  * backward(in, out, dy, dx, ctx) ACCUMULATES (+=) into dx[i] (already sized like in.x[i] and
//    zeroed by the caller; nullptr when input i needs no gradient, e.g. token ids) and into
//    every Param::grad (zeroed by the caller before the backward pass). Accumulating makes a
//    tensor used twice get the sum of both gradients with no special case.
//  * Inputs were validated before the call (output_shape once per new shape, check_inputs
//    every step: dtypes, token-id ranges, masks); nothing in forward/backward throws.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor.hpp"

namespace seqattn {

class OutputFusion;

struct Context {
  bool training = false;
  std::uint64_t step = 0;  // training-step counter: feeds the dropout random stream
};

// Options of one call of a layer (Keras call arguments), kept per graph node or given to an
// eager call, and set on the layer under its mutex just before it runs: a layer shared by an
// eager call and a model never sees the other's options.
struct CallOptions {
  bool causal = false;  // MultiHeadAttention(use_causal_mask=True)
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
  // What input i holds: token ids in [0, id_limit(i)) when positive (embeddings), float
  // features when 0 (every other layer). The boundary (check.hpp) converts a caller's arrays
  // by this, and check_inputs enforces it on every step.
  virtual Index id_limit(std::size_t /*input*/) const { return 0; }
  // Checks a step's inputs before forward, outside the hot loops: empty axes, each input's
  // dtype against id_limit (id ranges were checked where the ids were made, to_token_ids),
  // then the layer's own check_values. Throws std::invalid_argument
  // naming the layer; after it, forward may trust its inputs. Virtual so that a graph's
  // fused step (graph_fusion.hpp) checks its inputs as the layer that reads them first would.
  virtual void check_inputs(const LayerInputs& in) const;
  // Layer-specific value checks that shapes cannot express (mask shapes).
  virtual void check_values(const LayerInputs& /*in*/) const {}
  virtual void apply_call_options(const CallOptions& /*options*/) {}
  virtual void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) = 0;
  virtual void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                        const std::vector<Tensor*>& dx, const Context& ctx) = 0;
  std::vector<Param>& params() { return params_; }

  // The layer's logits, for a loss that can read them instead of its output (output_fusion.hpp);
  // null for layers without an output activation to skip.
  virtual OutputFusion* output_fusion() { return nullptr; }

  std::string name;
  std::uint64_t seed = 0;  // for layers that draw random numbers (dropout)

  // Held by whoever runs, reads or writes this layer (a graph step, an eager call, weights
  // copied in or out): a layer caches activations and scratch between forward and backward,
  // so two threads must never run it at once. Taken without the GIL (bindings.cpp).
  std::mutex& mutex() const { return mutex_; }

 protected:
  std::vector<Param> params_;

 private:
  mutable std::mutex mutex_;
};

}  // namespace seqattn
