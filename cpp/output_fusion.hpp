// Output fusion: a layer whose output is act(z) for a fixed activation can hand a loss its
// pre-activation values z (the logits) and take dL/dz back. Softmax + sparse categorical
// cross-entropy and sigmoid + binary cross-entropy are then exact and never inf. The graph
// decides per output when it is compiled (graph_fusion.hpp) and runs that call through a
// LogitsOutput step; the layer keeps no fusion state, so an eager call of it, or another graph
// sharing it, still gets its ordinary backward.
#pragma once
#include <string>
#include <vector>

#include "layer.hpp"

namespace seqattn {

class OutputFusion {
 public:
  // Whether the layer's output activation is `activation` (Loss::fusable_activation()).
  virtual bool has_output_activation(const std::string& activation) const = 0;
  // z of the last forward, shaped like the output.
  virtual const Tensor& logits() const = 0;
  // Backward given dz = dL/dz instead of dL/dy: the activation's derivative is skipped. Same
  // contract as Layer::backward otherwise (accumulates into dx and the params' grads).
  virtual void backward_from_logits(const LayerInputs& in, const Tensor& dz,
                                    const std::vector<Tensor*>& dx) = 0;

 protected:
  ~OutputFusion() = default;
};

}  // namespace seqattn
